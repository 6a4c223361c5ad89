"""Oracle tests of the waste-fee computation against DOMAIN.md (Eichenzell fee table)."""

from datetime import date
from typing import Any

import pytest

from core.kernel.errors import ValidationError
from core.levies.waste.rules import (
    BinFacts,
    PropertyFacts,
    WasteFeeRules,
    compute_year,
)

EICHENZELL = {
    "base_fee_per_resident_month_cents": 230,
    "bin_fees_month_cents": {
        "120": {"fortnightly": 616, "four_weekly": 308},
        "240": {"fortnightly": 1232, "four_weekly": 616},
        "360": {"fortnightly": 1848, "four_weekly": 924},
        "660": {"fortnightly": 3389, "four_weekly": 1694},
        "1100": {"fortnightly": 5648, "four_weekly": 2824},
    },
    "liability_start": "same_month",
    "due_dates": [[2, 15], [5, 15], [8, 15], [11, 15]],
    "min_litres_per_resident_week": 10,
}


def rules(**changes: Any) -> WasteFeeRules:
    return WasteFeeRules.from_data({**EICHENZELL, **changes}, "Eichenzell (Beispiel)")


def prop(residents: int, *bins: BinFacts, liable_from: date = date(2020, 1, 1)) -> PropertyFacts:
    return PropertyFacts(1, "Hauptstraße 1", residents, liable_from, bins)


def bin_(
    bin_id: int, litres: int, rhythm: str, start: date = date(2020, 1, 1), end: date | None = None
) -> BinFacts:
    return BinFacts(bin_id, bin_id, litres, rhythm, start, end)


def test_domain_example_three_residents_one_120_litre_bin() -> None:
    # (3 × 2.30 + 6.16) × 12 = 156.72 € a year
    result = compute_year(prop(3, bin_(10, 120, "fortnightly")), lambda _m: rules(), 2026)
    assert result.total_cents == 15672
    assert [i.amount_cents for i in result.instalments] == [3918, 3918, 3918, 3918]


def test_a_bin_changed_in_the_middle_of_the_year() -> None:
    # 120 l fortnightly until 30 June, then 240 l fortnightly from 1 July
    small = bin_(10, 120, "fortnightly", end=date(2026, 6, 30))
    large = bin_(11, 240, "fortnightly", start=date(2026, 7, 1))
    result = compute_year(prop(3, small, large), lambda _m: rules(), 2026)
    assert result.total_cents == 3 * 230 * 12 + 616 * 6 + 1232 * 6
    assert [(ln.description, ln.months) for ln in result.lines][1:] == [
        ("Behälter Nr. 10 (120 l, 14-täglich)", 6),
        ("Behälter Nr. 11 (240 l, 14-täglich)", 6),
    ]


def test_liability_month_after_delivery() -> None:
    late = bin_(10, 120, "four_weekly", start=date(2026, 3, 17))
    same = compute_year(prop(0, late), lambda _m: rules(), 2026).total_cents
    after = compute_year(
        prop(0, late), lambda _m: rules(liability_start="month_after"), 2026
    ).total_cents
    assert (same, after) == (308 * 10, 308 * 9)


def test_minimum_volume_per_resident() -> None:
    r = rules()
    assert r.litres_per_week(120, "four_weekly") == 30
    assert r.below_minimum(4, [(120, "four_weekly")])  # 30 l < 40 l
    assert not r.below_minimum(3, [(120, "four_weekly")])
    assert not rules(min_litres_per_resident_week=None).below_minimum(9, [(120, "four_weekly")])


def test_unknown_bin_or_rhythm_is_refused_in_german() -> None:
    with pytest.raises(ValidationError, match="keine Gebühr"):
        compute_year(prop(1, bin_(1, 80, "fortnightly")), lambda _m: rules(), 2026)
    with pytest.raises(ValidationError, match="Abfuhrrhythmus"):
        rules(bin_fees_month_cents={"120": {"daily": 1}})


@pytest.mark.parametrize("start_rule", ["same_month", "month_after"])
@pytest.mark.parametrize("change_day", [date(2026, 7, 1), date(2026, 7, 15)])
def test_a_change_leaves_no_month_without_and_none_with_two_bin_fees(
    start_rule: str, change_day: date
) -> None:
    from datetime import timedelta

    old = bin_(10, 120, "fortnightly", end=change_day - timedelta(days=1))
    new = BinFacts(11, 11, 240, "fortnightly", change_day, None, replaces=True)
    result = compute_year(prop(0, old, new), lambda _m: rules(liability_start=start_rule), 2026)
    months = {ln.object_id: ln.months for ln in result.lines}
    assert months[10] + months[11] == 12
