"""The dunning procedure as statute data: the demo procedures parse, wrong data is refused with
a German message, and the step rule of a run (one step at most, not before one week after the
due date, the previous deadline first, deadlines moved to working days) on hand-worked dates."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.demo.statutes import dunning_statute
from core.dunning.procedure import ClaimDunning, DunningRules, next_step, ready_for_enforcement
from core.kernel.errors import ValidationError
from core.tenancy.holidays import is_working_day

NW = "NW"

untimed = settings(deadline=None)  # Hypothesis's deadline would be a timed assertion


def demo(slug: str = "musterstadt", **overrides: Any) -> DunningRules:
    data = {**dunning_statute(type("M", (), {"slug": slug})()), **overrides}
    return DunningRules.from_data(data, "Mahnordnung (Test)")


def test_demo_procedures_parse() -> None:
    rules = demo()
    assert [level.name for level in rules.levels] == [
        "Zahlungserinnerung",
        "Mahnung",
        "Ankündigung der Vollstreckung",
    ]
    assert [level.fee.model for level in rules.levels] == ["none", "nrw", "nrw"]
    assert rules.surcharges and rules.tolerance_cents == 500 and rules.delivery_days == 4
    assert [level.fee.model for level in demo("beispielhausen").levels][1:] == ["federal"] * 2


def test_letter_fees_follow_the_procedure() -> None:
    rules = demo()
    reminder, mahnung, _ = rules.levels
    assert rules.fee(reminder, 1_000_000) == 0
    assert rules.fee(mahnung, 1_000_000) == 5200  # NRW, capped: surcharges are charged
    assert rules.fee(mahnung, 1_000_000, already_charged=True) == 0  # once per claim
    assert demo(surcharges=False).fee(mahnung, 1_000_000) == 10500
    federal = demo("beispielhausen")
    assert federal.fee(federal.levels[2], 1_000_000, already_charged=True) == 5000


def level(name: str, days: int, pay: int = 7, **kw: Any) -> dict[str, Any]:
    return {"name": name, "days_after_due": days, "payment_days": pay, **kw}


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ([], "mindestens eine Mahnstufe"),
        ([level("Zahlungserinnerung", 6)], "frühestens eine Woche nach Fälligkeit"),
        ([level("Mahnung", 7, pay=6)], "mindestens eine Woche betragen"),
        ([level("A", 7), level("B", 7)], "muss später als Stufe 1"),
        ([level("A", 14), level("B", 10)], "muss später als Stufe 1"),
        ([level("A", 7), level("A", 21)], "eigenen Namen"),
        ([level(" ", 7)], "keinen Namen"),
        ([level("A", "sieben")], "ganze Zahl"),
        ([level("A", 7, fee={"model": "teuer"})], "Unbekanntes Gebührenmodell"),
        ([{"name": "A", "days_after_due": 7}], "unvollständig"),
    ],
)
def test_wrong_procedures_are_refused_in_german(levels: list[Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        demo(levels=levels)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tolerance_cents", -1, "Bagatellgrenze"),
        ("tolerance_cents", True, "Bagatellgrenze"),
        ("surcharges", "ja", "surcharges"),
        ("delivery_days", -4, "Postlauf"),
    ],
)
def test_wrong_settings_are_refused_in_german(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        demo(**{field: value})


DUE = date(2026, 3, 2)  # a Monday


def test_the_demo_procedure_step_by_step() -> None:
    rules = demo()
    claim = ClaimDunning(DUE, 10_000)
    assert next_step(rules, claim, date(2026, 3, 8), NW) is None  # six days: too early
    first = next_step(rules, claim, date(2026, 3, 9), NW)
    assert first is not None and first.level.name == "Zahlungserinnerung"
    assert (first.delivered_on, first.deadline) == (date(2026, 3, 13), date(2026, 3, 20))

    claim = ClaimDunning(DUE, 10_000, level=1, last_dunned_on=date(2026, 3, 9))
    assert next_step(rules, claim, date(2026, 3, 20), NW) is None  # the deadline still runs
    second = next_step(rules, claim, date(2026, 3, 23), NW)  # 21 days after the due date
    assert second is not None and second.level.name == "Mahnung"
    # delivered Friday 27.03., a week later is Good Friday: deadline Tuesday after Easter
    assert (second.delivered_on, second.deadline) == (date(2026, 3, 27), date(2026, 4, 7))

    claim = ClaimDunning(DUE, 10_000, level=2, last_dunned_on=date(2026, 3, 23))
    assert next_step(rules, claim, date(2026, 4, 7), NW) is None
    assert next_step(rules, claim, date(2026, 4, 8), NW) is None  # 42 days not yet over
    third = next_step(rules, claim, date(2026, 4, 13), NW)
    assert third is not None and third.level.name == "Ankündigung der Vollstreckung"
    # delivered 17.04., fourteen days later is 1 May (a Friday): Monday 04.05.
    assert (third.delivered_on, third.deadline) == (date(2026, 4, 17), date(2026, 5, 4))

    claim = ClaimDunning(DUE, 10_000, level=3, last_dunned_on=date(2026, 4, 13))
    assert next_step(rules, claim, date(2026, 6, 1), NW) is None  # after the last level
    assert not ready_for_enforcement(rules, claim, date(2026, 5, 4), NW)
    assert ready_for_enforcement(rules, claim, date(2026, 5, 5), NW)
    paid = ClaimDunning(DUE, 0, level=3, last_dunned_on=date(2026, 4, 13))
    assert not ready_for_enforcement(rules, paid, date(2026, 6, 1), NW)


def test_one_step_per_run_however_late() -> None:
    step = next_step(demo(), ClaimDunning(date(2025, 1, 10), 10_000), date(2026, 3, 9), NW)
    assert step is not None and step.level.number == 1


def test_nothing_below_the_tolerance() -> None:
    rules = demo()
    assert next_step(rules, ClaimDunning(DUE, 499), date(2026, 3, 9), NW) is None
    assert next_step(rules, ClaimDunning(DUE, 500), date(2026, 3, 9), NW) is not None
    assert next_step(rules, ClaimDunning(DUE, 0), date(2026, 3, 9), NW) is None


def test_a_due_date_on_a_weekend_moves_the_first_letter() -> None:
    saturday = date(2026, 3, 7)  # due moves to Monday 09.03.: first letter from 16.03.
    assert next_step(demo(), ClaimDunning(saturday, 10_000), date(2026, 3, 14), NW) is None
    assert next_step(demo(), ClaimDunning(saturday, 10_000), date(2026, 3, 16), NW) is not None


def test_the_deemed_delivery_moves_off_easter() -> None:
    step = next_step(demo(), ClaimDunning(DUE, 10_000), date(2026, 3, 31), NW)
    assert step is not None
    assert step.delivered_on == date(2026, 4, 7)  # 04.04. Easter Saturday … Easter Monday
    assert step.deadline == date(2026, 4, 14)


def test_inconsistent_claim_states_are_refused() -> None:
    rules = demo()
    with pytest.raises(ValidationError, match="vor der letzten Mahnung"):
        next_step(rules, ClaimDunning(DUE, 10_000, 1, date(2026, 3, 9)), date(2026, 3, 8), NW)
    with pytest.raises(ValidationError, match="fehlt das Datum"):
        next_step(rules, ClaimDunning(DUE, 10_000, 1), date(2026, 3, 20), NW)
    with pytest.raises(ValidationError, match="Mahnstufe 4 gibt es"):
        next_step(rules, ClaimDunning(DUE, 10_000, 4, date(2026, 3, 9)), date(2026, 6, 1), NW)


@untimed
@given(
    st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(0, 400),
    st.sampled_from(["NW", "BY", "SN", "BE", "TH"]),
)
def test_every_letter_keeps_the_minimum_periods(due: date, days: int, land: str) -> None:
    rules = demo()
    claim = ClaimDunning(due, 10_000)
    run = due + timedelta(days=days)
    step = next_step(rules, claim, run, land)
    if step is None:
        return
    assert run >= due + timedelta(days=7)
    assert step.deadline >= step.delivered_on + timedelta(days=step.level.payment_days)
    assert step.delivered_on >= run + timedelta(days=rules.delivery_days)
    assert is_working_day(step.deadline, land) and is_working_day(step.delivered_on, land)
