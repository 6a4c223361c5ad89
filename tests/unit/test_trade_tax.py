"""Trade tax (Gewerbesteuer): DOMAIN.md's example ("Property tax and trade tax": Messbetrag
1,242.50 at 400 % → tax 4,970.00 €, advance payments 1,242 € each), § 16 (4) GewStG's minimum
Hebesatz, § 19 GewStG advance payments and their adjustment, § 20 GewStG settlement and
§ 233a AO interest ("Trade tax settlement": 15 months, 0.15 % a month), worked out by hand;
properties: advance payments are multiples of 100 cents and ≥ 5,000 cents or absent."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.kernel.errors import ValidationError
from core.levies.realtax import Payment, total
from core.levies.trade_tax.rules import (
    TradeTaxRules,
    adjust_advance_payments,
    advance_payments,
    full_months,
    interest_start,
    quarterly_advance,
    settle,
    trade_tax,
)

untimed = settings(deadline=None)  # Hypothesis's deadline would be a timed assertion
QUARTER_DATES = [(2, 15), (5, 15), (8, 15), (11, 15)]
WITH_INTEREST = {"hebesatz_percent": 400, "interest": {"rate_per_month_percent": "0,15"}}


def rules(data: dict[str, object] | None = None) -> TradeTaxRules:
    data = {"hebesatz_percent": 400} if data is None else data
    return TradeTaxRules.from_data(data, "Hebesatzsatzung Test")


def test_domain_example_4970_euro_and_1242_euro_advance_payments() -> None:
    tax = trade_tax(124250, rules())
    assert tax == 497000
    assert advance_payments(tax, 2027) == tuple(
        Payment(date(2027, m, d), 124200, f"Vorauszahlung {i}. Quartal")
        for i, (m, d) in enumerate(QUARTER_DATES, start=1)
    )


@pytest.mark.parametrize("hebesatz", [199, 0, "199,99"])
def test_hebesatz_below_200_percent_refused_in_german(hebesatz: object) -> None:
    with pytest.raises(ValidationError, match=r"mindestens 200 % .*§ 16 Abs. 4 Satz 2 GewStG"):
        rules({"hebesatz_percent": hebesatz})


def test_exactly_200_percent_allowed() -> None:
    assert trade_tax(10000, rules({"hebesatz_percent": 200})) == 20000


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "unvollständig"),
        ({"hebesatz_percent": 400, "interest": {"rate_per_month_percent": 0}}, "positiv"),
        ({"hebesatz_percent": 400, "interest": {"waiting_months": 15}}, "unvollständig"),
        ({"hebesatz_percent": 400, "late_due_months": 13}, "12 Monate"),
    ],
)
def test_faulty_statute_data_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        rules(data)


@pytest.mark.parametrize(
    ("tax", "quarter"),
    [
        (20000, 5000),  # 200 € → 50 € exactly: fixed
        (19999, 0),  # 49.99 € a quarter → 49 € < 50 €: none
        (20399, 5000),  # 50.99 € → 50 €
        (20400, 5100),
        (0, 0),
    ],
)
def test_advance_payment_down_to_full_euro_and_at_least_50(tax: int, quarter: int) -> None:
    assert quarterly_advance(tax) == quarter
    assert len(advance_payments(tax, 2027)) == (4 if quarter else 0)


def test_increase_during_the_year_due_one_month_after_the_notice() -> None:
    # from 1,242 € to 2,000 € a quarter, notified 20.6.: 2 × 758 € one month later, then 758 € more
    got = adjust_advance_payments(497000, 800000, 2027, date(2027, 6, 20), rules())
    assert [(p.due_date, p.amount_cents) for p in got] == [
        (date(2027, 7, 20), 151600),
        (date(2027, 8, 15), 75800),
        (date(2027, 11, 15), 75800),
    ]


def test_final_settlement_abschlusszahlung_one_month_after_notice() -> None:
    s = settle(600000, 497000, 2025, date(2026, 11, 3), rules())
    assert (s.kind, s.amount_cents, s.due_date, s.interest_cents) == (
        "Abschlusszahlung",
        103000,
        date(2026, 12, 3),
        0,  # no interest: the notice falls before the 15 months and the statute has none
    )


def test_final_settlement_refund() -> None:
    s = settle(400000, 497000, 2025, date(2026, 11, 3), rules())
    assert (s.kind, s.amount_cents, s.due_date) == ("Erstattung", -97000, date(2026, 11, 3))
    assert settle(4000, 4000, 2025, date(2026, 11, 3), rules()).kind == "ausgeglichen"


def test_interest_period_starts_15_months_after_the_year() -> None:
    assert interest_start(2024) == date(2026, 4, 1)
    assert full_months(date(2026, 4, 1), date(2026, 5, 31)) == 2
    assert full_months(date(2026, 4, 1), date(2026, 6, 30)) == 3
    assert full_months(date(2026, 4, 1), date(2026, 6, 29)) == 2
    assert full_months(date(2026, 4, 1), date(2026, 3, 31)) == 0


def test_interest_on_an_abschlusszahlung() -> None:
    # 2024: tax 10,000 €, advance payments 4,000 €; notice effective 10.9.2026:
    # 1.4.–31.8.2026 = 5 full months × 0.15 % × 6,000 € = 45 €
    s = settle(1_000_000, 400_000, 2024, date(2026, 9, 10), rules(WITH_INTEREST))
    assert (s.amount_cents, s.interest_cents, s.total_cents) == (600_000, 4500, 604_500)


def test_interest_base_down_to_50_euro_and_result_down_to_full_euro() -> None:
    # difference 6,049.99 € → 6,000 € base; 7 months × 0.15 % = 63.00 €
    s = settle(1_004_999, 400_000, 2024, date(2026, 11, 1), rules(WITH_INTEREST))
    assert s.interest_cents == 6300
    # 1,234.56 € → 1,200 € × 0.15 % × 5 = 9.00 € < 10 €: none (§ 239 (2) AO)
    assert (
        settle(523_456, 400_000, 2024, date(2026, 9, 10), rules(WITH_INTEREST)).interest_cents == 0
    )


def test_refund_interest_rounded_up_and_limited_to_the_refund() -> None:
    # paid 4,000 €, tax 1,000 €: refund 3,000 €; 11 months × 0.15 % × 3,000 € = 49.50 → 50 €
    s = settle(100_000, 400_000, 2024, date(2027, 3, 1), rules(WITH_INTEREST))
    assert (s.kind, s.amount_cents, s.interest_cents) == ("Erstattung", -300_000, -5000)
    # fixed 4,000 € but only 1,000 € paid: refund interest only on nothing refunded
    unpaid = settle(
        100_000, 100_000, 2024, date(2027, 3, 1), rules(WITH_INTEREST), advance_fixed_cents=400_000
    )
    assert unpaid.interest_cents == 0


@untimed
@given(st.integers(0, 10**11))
def test_advance_payments_are_whole_euros_of_at_least_50_or_absent(tax: int) -> None:
    payments = advance_payments(tax, 2027)
    assert len(payments) in (0, 4)
    for p in payments:
        assert p.amount_cents % 100 == 0 and p.amount_cents >= 5000
        assert (p.due_date.month, p.due_date.day) in QUARTER_DATES
    assert 0 <= tax - total(payments) < (20000 if not payments else 400)


@untimed
@given(
    st.integers(0, 10**10), st.integers(0, 10**10), st.dates(date(2026, 12, 1), date(2028, 2, 1))
)
def test_original_advance_payments_plus_adjustment_are_the_new_ones(
    old: int, new: int, notified: date
) -> None:
    change = adjust_advance_payments(old, new, 2027, notified, rules())
    assert total(advance_payments(old, 2027)) + total(change) == total(advance_payments(new, 2027))


@untimed
@given(st.integers(0, 10**10), st.integers(0, 10**10), st.dates(date(2026, 1, 1), date(2030, 1, 1)))
def test_settlement_balances_tax_and_payments(tax: int, paid: int, notified: date) -> None:
    s = settle(tax, paid, 2025, notified, rules(WITH_INTEREST))
    assert s.advance_paid_cents + s.amount_cents == tax
    assert s.interest_cents % 100 == 0 and (s.interest_cents == 0 or abs(s.interest_cents) >= 1000)
    assert (s.interest_cents > 0) <= (tax > paid) and (s.interest_cents < 0) <= (tax < paid)


def test_negative_figures_refused() -> None:
    with pytest.raises(ValidationError, match="negativ"):
        settle(-1, 0, 2025, date(2026, 11, 3), rules())
    with pytest.raises(ValidationError, match="negativ"):
        quarterly_advance(-400)
