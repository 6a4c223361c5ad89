"""The basis of a property-tax notice and the instalments booked on a standing notice, pure:
examples and properties (equal bases give equal taxes and due dates; the instalments booked
on the standing notice add up to the year's tax on the § 28 GrStG dates of that year)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from core.levies.property_tax import standing
from core.levies.property_tax.plots import Plot, StandingNotice
from core.levies.property_tax.rules import (
    NON_RESIDENTIAL,
    RESIDENTIAL,
    PropertyTaxRules,
    annual_tax,
)

RULES = PropertyTaxRules.from_data(
    {"hebesatz_percent": {"A": 300, "B": 480}, "small_amounts": True}, "T"
)
KINDS = ("A", RESIDENTIAL, NON_RESIDENTIAL)
NOTICE = StandingNotice(7, 42, date(2025, 1, 10), "GR0000001", None)


def _plots(values: list[tuple[int, str]]) -> list[Plot]:
    return [Plot(i + 1, f"3150/{i}", "", kind, m, 100 + i) for i, (m, kind) in enumerate(values)]


def test_domain_example_books_72_euro_a_quarter_naming_the_notice() -> None:
    targets = standing.targets(2026, RULES, 28800, NOTICE, annual_payment=False)
    assert [(t.due_date, t.amount_cents) for t in targets] == [
        (date(2026, 2, 15), 7200),
        (date(2026, 5, 15), 7200),
        (date(2026, 8, 15), 7200),
        (date(2026, 11, 15), 7200),
    ]
    assert targets[0].description == (
        "Grundsteuer 2026, 1. Quartal (Bescheid Nr. 42 vom 10.01.2025, gilt bis auf Weiteres)"
    )


plots_strategy = st.lists(
    st.tuples(st.integers(min_value=0, max_value=5_000_000), st.sampled_from(KINDS)),
    min_size=1,
    max_size=6,
)


@given(
    values=plots_strategy, year=st.integers(min_value=2025, max_value=2040), annual=st.booleans()
)
def test_instalments_on_the_standing_notice_add_up_to_the_tax(
    values: list[tuple[int, str]], year: int, annual: bool
) -> None:
    held = _plots(values)
    total = sum(annual_tax(p.messbetrag_cents, p.kind, RULES) for p in held)
    targets = standing.targets(year, RULES, total, NOTICE, annual_payment=annual)
    assert sum(t.amount_cents for t in targets) == total
    assert all(t.due_date.year == year and t.amount_cents > 0 for t in targets)
    assert len({t.key for t in targets}) == len(targets)
    # the basis names the year's due dates by month and day: the same in every year
    assert standing.basis_of(held, RULES, year, annual_payment=annual) == standing.basis_of(
        held, RULES, 2030, annual_payment=annual
    )


@given(values=plots_strategy, other=st.integers(min_value=1, max_value=100))
def test_another_hebesatz_or_messbetrag_is_another_basis(
    values: list[tuple[int, str]], other: int
) -> None:
    held = _plots(values)
    basis = standing.basis_of(held, RULES, 2026, annual_payment=False)
    raised = RULES.with_rates(
        {k: RULES.rate(k) + other for k in ("A", RESIDENTIAL, NON_RESIDENTIAL, "C")}
    )
    assert standing.basis_of(held, raised, 2026, annual_payment=False) != basis
    first = held[0]
    more = first.messbetrag_cents + other
    changed = [
        Plot(first.object_id, first.reference, "", first.kind, more, first.basis_notice_id),
        *held[1:],
    ]
    assert standing.basis_of(changed, RULES, 2026, annual_payment=False) != basis
    assert standing.basis_of(list(reversed(held)), RULES, 2026, annual_payment=False) == basis
