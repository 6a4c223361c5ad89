"""What a trade-tax notice computes (core.levies.trade_tax.figures), pure: DOMAIN.md's example
(Messbetrag 1,242.50 at 400 % → 4,970.00 €, advance payments 1,242 € each) as a first notice,
the settlement against advance payments paid (Abschlusszahlung one month after the notice,
or a refund of what was paid beyond the tax), an increase for passed due dates, the statute's
four-eyes limit; properties: the new advance payments are whole euro and ≥ 50 € or absent,
the year's targets add up to the tax and the next year's to four advance payments."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from core.levies.trade_tax import figures as fig
from core.levies.trade_tax.rules import TradeTaxRules

untimed = settings(deadline=None)  # Hypothesis's deadline would be a timed assertion
RULES = TradeTaxRules.from_data({"hebesatz_percent": 400, "approval_above_euro": 10000}, "T")
OID = 7
JUNE = date(2026, 6, 1)


def k(year: int, part: str) -> str:
    return fig.key(year, OID, part)


def facts(share: int | Fraction | None = 124250, **kw: object) -> fig.Facts:
    values: dict[str, object] = {
        "tax_object_id": OID,
        "reference": "5315/001/00042",
        "name": "Krume GmbH",
        "share_cents": None if share is None else Fraction(share),
        "basis_notice_id": 1,
        "basis_notice_date": date(2026, 5, 4),
        "advance_share_cents": None,
        "booked": {},
        "paid": {},
        "next_year_assessed": False,
        **kw,
    }
    return fig.Facts(**values)  # type: ignore[arg-type]


def amounts(targets: list[fig.Target]) -> dict[str, int]:
    return {t.key: t.amount_cents for t in targets}


def test_domain_example_as_a_first_notice() -> None:
    done = fig.compute(facts(), 2025, JUNE, RULES, RULES)
    f = done.figures
    assert (f.tax_cents, f.next_quarters) == (497000, (124200,) * 4)
    assert f.settlement_kind == "Abschlusszahlung" and f.final_due == "2026-07-01"
    assert amounts(done.year_targets) == {k(2025, "final"): 497000}
    assert amounts(done.next_targets) == {
        k(2026, "late"): 248400,  # 15.2. and 15.5. have passed: due one month after
        k(2026, "q3"): 124200,
        k(2026, "q4"): 124200,
    }
    assert fig.approval_reasons(f, RULES) == []


def test_settlement_against_advance_payments_paid() -> None:
    booked = {k(2025, f"q{i}"): 100000 for i in range(1, 5)}  # 4,000 € fixed
    paid = {k(2025, "q1"): 100000, k(2025, "q2"): 100000, k(2025, "q3"): 100000}
    done = fig.compute(facts(booked=booked, paid=paid), 2025, JUNE, RULES, RULES)
    f = done.figures
    # 4,970 € tax: the 4th advance stays due (unpaid), 970 € Abschlusszahlung on top
    assert (f.advances_fixed_cents, f.advances_paid_cents) == (400000, 300000)
    assert (f.settlement_cents, f.final_cents, f.refund_cents) == (197000, 97000, 0)
    assert amounts(done.year_targets)[k(2025, "final")] == 97000
    assert amounts(done.year_targets)[k(2025, "q4")] == 100000


def test_a_tax_below_the_advances_cancels_unpaid_ones_then_refunds() -> None:
    booked = {k(2025, f"q{i}"): 200000 for i in range(1, 5)}  # 8,000 € fixed
    paid = {k(2025, f"q{i}"): 200000 for i in range(1, 4)}  # 6,000 € paid
    done = fig.compute(facts(booked=booked, paid=paid), 2025, JUNE, RULES, RULES)
    f = done.figures
    year = amounts(done.year_targets)
    assert k(2025, "q4") not in year  # the unpaid 4th advance is cancelled first
    assert year[k(2025, "q3")] == 97000 and sum(year.values()) == 497000
    assert (f.settlement_kind, f.settlement_cents, f.refund_cents) == (
        "Erstattung",
        -103000,
        103000,
    )
    assert fig.approval_reasons(f, RULES) == ["Erstattung"]


def test_above_the_limit_needs_an_approver() -> None:
    f = fig.compute(facts(share=300000), 2025, JUNE, RULES, RULES).figures
    assert f.tax_cents == 1200000
    assert fig.approval_reasons(f, RULES) == ["Steuer über der Freigabegrenze von 10.000 €"]


def test_small_tax_sets_no_advance_payments_and_a_late_year_none() -> None:
    small = fig.compute(facts(share=4999), 2025, JUNE, RULES, RULES)  # 199.96 € → 49 € a quarter
    assert small.figures.next_quarters == (0, 0, 0, 0) and small.next_targets == []
    late = fig.compute(facts(), 2024, JUNE, RULES, RULES)  # 2025 is past: its own notice
    assert late.figures.next_year is None and late.next_targets == []


def test_a_zerlegung_share_is_exact() -> None:
    f = fig.compute(facts(share=Fraction(124250, 3)), 2025, JUNE, RULES, RULES).figures
    assert f.messbetrag_cents == 41416 and f.tax_cents == 165666  # 41,416.67 × 4 = 165,666.67


cents = st.integers(min_value=0, max_value=5_000_000)


@untimed
@given(
    share=st.integers(min_value=0, max_value=10_000_000),
    hebesatz=st.integers(min_value=200, max_value=900),
    advances=st.lists(cents, min_size=5, max_size=5),
    paid_share=st.lists(st.fractions(min_value=0, max_value=1), min_size=5, max_size=5),
    next_booked=st.lists(cents, min_size=5, max_size=5),
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 12, 31)),
)
def test_targets_balance_and_advances_are_whole_euro(
    share: int,
    hebesatz: int,
    advances: list[int],
    paid_share: list[Fraction],
    next_booked: list[int],
    day: date,
) -> None:
    rules = TradeTaxRules.from_data({"hebesatz_percent": hebesatz}, "T")
    parts = fig.ADVANCE_PARTS
    booked = {k(2025, p): a for p, a in zip(parts, advances, strict=True)}
    booked |= {k(2026, p): a for p, a in zip(parts, next_booked, strict=True)}
    paid = {k(2025, p): int(a * s) for p, a, s in zip(parts, advances, paid_share, strict=True)}
    done = fig.compute(facts(share, booked=booked, paid=paid), 2025, day, rules, rules)
    f = done.figures
    # settlement + advance payments balance: the year's targets are the tax
    assert sum(amounts(done.year_targets).values()) == f.tax_cents
    assert f.settlement_cents == f.tax_cents - f.advances_paid_cents
    quarter = f.next_quarters[0]
    assert set(f.next_quarters) == {quarter}
    assert quarter % 100 == 0 and (quarter >= 5000 or quarter == 0)
    assert quarter == f.tax_cents // 4 // 100 * 100 or quarter == 0
    assert sum(amounts(done.next_targets).values()) == 4 * quarter
    assert all(t.amount_cents > 0 for t in done.year_targets + done.next_targets)


def test_interest_under_233a_where_the_statute_charges_it() -> None:
    data = {"hebesatz_percent": 400, "interest": {"rate_per_month_percent": "0,15"}}
    rules = TradeTaxRules.from_data(data, "T")
    done = fig.compute(facts(), 2023, JUNE, rules, rules)
    # from 1.4.2025 to 1.6.2026: 14 full months on 4,950 € (down to 50 €) × 0.15 % = 103.95 €
    assert done.figures.interest_cents == 10300
    assert amounts(done.year_targets) == {k(2023, "final"): 497000, k(2023, "interest"): 10300}
    assert done.figures.next_year is None  # 2024 is past: it has its own notice
