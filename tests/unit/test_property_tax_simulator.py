"""The Hebesatz simulator's core: the same numbers as adding up the per-object rule
(:func:`annual_tax`, one code path), the years before the scenario unchanged, the change per
object counted into buckets and the largest increases found (issue #14 "Statute simulator")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.kernel.errors import ValidationError
from core.levies.property_tax.rules import (
    KINDS,
    NON_RESIDENTIAL,
    RESIDENTIAL,
    PropertyTaxRules,
    annual_tax,
)
from core.levies.property_tax.simulate import DEFAULT_EDGES, simulate

untimed = settings(deadline=None)  # Hypothesis's deadline would be a timed assertion

OLD = PropertyTaxRules.from_data({"hebesatz_percent": {"A": 300, "B": 480}}, "bis 2025")
NEW = PropertyTaxRules.from_data(
    {
        "hebesatz_percent": {"A": 310, "B_residential": 500, "B_non_residential": 900},
        "differentiation_basis": "NRW 2024",
    },
    "ab 2026",
)


def current(year: int) -> PropertyTaxRules:
    return OLD if year < 2026 else NEW


def test_domain_example_object_and_a_rate_change() -> None:
    # DOMAIN.md: Messbetrag 60.00 at 480 % → 288.00 €; at 500 % → 300.00 €: 12 € more
    objects = [("1", RESIDENTIAL, 6000), ("2", "A", 1000)]
    s = simulate(
        objects, lambda y: OLD, {RESIDENTIAL: 50000, NON_RESIDENTIAL: 50000}, 2026, [2025, 2026]
    )
    assert [(y.year, y.current_cents, y.simulated_cents) for y in s.years] == [
        (2025, 28800 + 3000, 28800 + 3000),
        (2026, 28800 + 3000, 30000 + 3000),
    ]
    assert [(c.key, c.change_cents) for c in s.largest_increases] == [("1", 1200)]
    counts = {b.label: b.count for b in s.buckets}
    assert counts["unverändert"] == 1 and counts["mehr bis 50,00 €"] == 1 and s.objects == 2


def test_separate_rates_refused_where_the_statute_has_none_unless_a_basis_is_named() -> None:
    objects = [("1", RESIDENTIAL, 6000)]
    split = {RESIDENTIAL: 50000, NON_RESIDENTIAL: 90000}
    with pytest.raises(ValidationError, match="Landesrecht"):
        simulate(objects, lambda y: OLD, split, 2026, [2026])
    s = simulate(objects, lambda y: OLD, split, 2026, [2026], differentiation_basis="NRW 2024")
    assert s.years[0].simulated_cents == 30000


@pytest.mark.parametrize("years", [[], list(range(2000, 2031))])
def test_year_range_checked(years: list[int]) -> None:
    with pytest.raises(ValidationError, match="Jahre"):
        simulate([], current, {}, 2026, years)


def test_bucket_edges_checked() -> None:
    with pytest.raises(ValidationError, match="Klassengrenzen"):
        simulate([], current, {}, 2026, [2026], edges=[100, 50])


def test_decreases_and_the_top_limit() -> None:
    objects = [(str(i), NON_RESIDENTIAL, 1000 * i) for i in range(1, 30)]
    lower = {NON_RESIDENTIAL: 50000}  # 900 % → 500 %
    s = simulate(objects, current, lower, 2027, [2026, 2027, 2028], top=5)
    assert s.largest_increases == ()
    assert {b.label: b.count for b in s.buckets}["Entlastung"] == 29
    higher = simulate(objects, current, {NON_RESIDENTIAL: 100000}, 2027, [2027], top=5)
    assert [c.key for c in higher.largest_increases] == ["29", "28", "27", "26", "25"]


objects_strategy = st.lists(
    st.tuples(
        st.text("abcdef0123", min_size=1, max_size=6),
        st.sampled_from(KINDS),
        st.integers(0, 5_000_000),
    ),
    max_size=60,
)
rates = st.integers(0, 200_000)


@untimed
@given(objects_strategy, rates, rates, rates, st.integers(2024, 2028), st.integers(0, 8))
def test_simulator_equals_summing_the_per_object_rule(
    objects: list[tuple[str, str, int]], a: int, home: int, other: int, from_year: int, top: int
) -> None:
    hebesatz = {"A": a, RESIDENTIAL: home, NON_RESIDENTIAL: other, "C": other}
    years = list(range(2024, 2030))
    s = simulate(objects, current, hebesatz, from_year, years, top=top, differentiation_basis="x")
    for row in s.years:
        rules = current(row.year)
        then = rules.with_rates(hebesatz, "x") if row.year >= from_year else rules
        assert row.current_cents == sum(annual_tax(m, k, rules) for _, k, m in objects)
        assert row.simulated_cents == sum(annual_tax(m, k, then) for _, k, m in objects)
    base, scenario = current(from_year), current(from_year).with_rates(hebesatz, "x")
    changes = [annual_tax(m, k, scenario) - annual_tax(m, k, base) for _, k, m in objects]
    assert sum(b.count for b in s.buckets) == len(objects) == s.objects
    assert s.buckets[0].count == sum(c < 0 for c in changes)
    assert s.buckets[1].count == sum(c == 0 for c in changes)
    assert s.buckets[-1].count == sum(c > DEFAULT_EDGES[-1] for c in changes)
    increases = sorted((c for c in changes if c > 0), reverse=True)[:top]
    assert [c.change_cents for c in s.largest_increases] == increases
