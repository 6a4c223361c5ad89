"""Erstattungszinsen (§ 233a AO) of a refund, pure: the DOMAIN.md rule (from 15 months after the
year's end, 0.15 % per full month) with the AO's roundings (base down to 50 €, interest up to
full euro in the taxpayer's favour, none below 10 €), as examples and as properties."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.levies.trade_tax.rules import TradeTaxRules, interest_basis, settle

RULES = TradeTaxRules.from_data(
    {"hebesatz_percent": 400, "interest": {"rate_per_month_percent": "0,15"}}, "Test"
)
assert RULES.interest is not None
INTEREST = RULES.interest


def test_oracle_refund_of_2968_euro_after_14_months() -> None:
    # 2023: interest from 01.04.2025; by 01.06.2026 14 full months; 2,968 € → 2,950 €
    s = settle(200_000, 496_800, 2023, date(2026, 6, 1), RULES)
    assert (s.kind, s.amount_cents) == ("Erstattung", -296_800)
    assert s.interest_cents == -6200  # 2,950 × 0.15 % × 14 = 61.95 € → 62 € (up)
    assert interest_basis(-296_800, 296_800, 2023, date(2026, 6, 1), INTEREST) == (
        295_000,
        14,
        date(2025, 4, 1),
    )


def test_no_refund_interest_before_the_period_or_below_10_euro() -> None:
    assert settle(200_000, 496_800, 2023, date(2025, 3, 31), RULES).interest_cents == 0
    # 700 € refunded, 1 month: 1.05 € < 10 €
    assert settle(100_000, 170_000, 2023, date(2025, 5, 1), RULES).interest_cents == 0


@given(
    tax=st.integers(min_value=0, max_value=10_000_000),
    refund=st.integers(min_value=1, max_value=10_000_000),
    days=st.integers(min_value=0, max_value=3_000),
)
def test_refund_interest_properties(tax: int, refund: int, days: int) -> None:
    on = date(2025, 4, 1) + timedelta(days=days)
    s = settle(tax, tax + refund, 2023, on, RULES)
    interest = -s.interest_cents
    base, months, _start = interest_basis(-refund, refund, 2023, on, INTEREST)
    exact = base * 15 * months  # cents × 10_000
    assert interest % 100 == 0 and (interest == 0 or interest >= 1000)
    assert base % 5000 == 0 and refund - 5000 < base <= refund
    if interest:
        assert (interest - 100) * 10_000 < exact <= interest * 10_000  # up to full euro
    else:
        assert exact < 1000 * 10_000
    later = settle(tax, tax + refund, 2023, on + timedelta(days=31), RULES)
    assert -later.interest_cents >= interest  # never less interest later
