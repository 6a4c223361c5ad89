"""No Säumniszuschläge while a claim is deferred (§ 240 (1) S. 1 AO, core/dunning/surcharges.py):
oracle cases worked out by hand and the property that no month of Säumnis starts inside a
deferral (so none lies fully inside one); the statute switch for suspensions (AdV)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.dunning.blocks import surcharge_reasons
from core.dunning.models import BlockReason
from core.dunning.procedure import DunningRules
from core.dunning.surcharges import Payment, saumnis_segments, surcharges
from core.kernel.errors import ValidationError

NW = "NW"
DUE = date(2027, 5, 10)  # a Monday: months of Säumnis end 10.06., 10.07., 10.08., …
untimed = settings(deadline=None)


def _total(
    free: list[tuple[date, date | None]], as_of: date, payments: tuple[Payment, ...] = ()
) -> int:
    return surcharges(100_000, DUE, payments, as_of, NW, free=free).total_cents


def test_without_deferral_every_started_month_is_charged() -> None:
    assert _total([], date(2027, 9, 1)) == 4 * 1000  # 11.05., 11.06., 11.07., 11.08.


def test_months_started_before_the_deferral_remain_none_during_it() -> None:
    # month 1 (from 11.05.) started before the plan of 20.05.; the plan still runs
    assert _total([(date(2027, 5, 20), None)], date(2027, 12, 1)) == 1000


def test_a_deferral_from_before_the_due_date_leaves_nothing() -> None:
    assert _total([(date(2027, 5, 1), None)], date(2027, 12, 1)) == 0


def test_a_plan_ended_by_a_missed_instalment_starts_a_new_saumnis_from_its_end() -> None:
    # deferred 01.05.–30.06.2027 (Wednesday): due again 30.06., months from 01.07., 01.08., …
    free: list[tuple[date, date | None]] = [(date(2027, 5, 1), date(2027, 6, 30))]
    assert _total(free, date(2027, 6, 30)) == 0
    assert _total(free, date(2027, 7, 3)) == 0  # within the new Schonfrist
    assert _total(free, date(2027, 7, 6)) == 1000  # first new month, 01.07.–30.07.
    assert _total(free, date(2027, 8, 2)) == 2000  # second from 31.07.
    months = surcharges(100_000, DUE, [], date(2027, 8, 2), NW, free=free).months
    assert [m.starts for m in months] == [date(2027, 7, 1), date(2027, 7, 31)]


def test_a_block_ending_on_a_weekend_moves_the_new_due_date() -> None:
    # ends Saturday 31.07.2027: due Monday 02.08., grace to Thursday 05.08.
    free: list[tuple[date, date | None]] = [(date(2027, 5, 1), date(2027, 7, 31))]
    assert saumnis_segments(DUE, free, date(2027, 9, 1), NW) == [
        (date(2027, 8, 2), date(2027, 9, 1))
    ]
    assert _total(free, date(2027, 8, 5)) == 0
    assert _total(free, date(2027, 8, 6)) == 1000


def test_instalments_paid_during_the_plan_lower_the_new_base() -> None:
    free: list[tuple[date, date | None]] = [(date(2027, 5, 1), date(2027, 6, 30))]
    paid = (Payment(date(2027, 5, 15), 30_000), Payment(date(2027, 6, 15), 30_000))
    # 400 € left when the plan ended: 4 € a month from 01.07.
    assert _total(free, date(2027, 8, 2), paid) == 2 * 400


def test_paid_in_full_by_the_plan_nothing_after_it() -> None:
    free: list[tuple[date, date | None]] = [(date(2027, 5, 20), date(2027, 9, 30))]
    paid = (Payment(date(2027, 6, 15), 50_000), Payment(date(2027, 9, 15), 50_000))
    assert _total(free, date(2027, 12, 1), paid) == 1000  # only month 1, before the plan


def test_two_deferrals_each_pause_the_saumnis() -> None:
    free: list[tuple[date, date | None]] = [
        (date(2027, 5, 20), date(2027, 6, 30)),
        (date(2027, 7, 20), None),
    ]
    # month 1 before the first, month 1 of the second Säumnis (01.07.) before the second
    assert _total(free, date(2027, 12, 1)) == 2000


def _rules(**extra: object) -> DunningRules:
    data = {"levels": [{"name": "Mahnung", "days_after_due": 7, "payment_days": 7}], **extra}
    return DunningRules.from_data(data, "Test")


def test_suspension_stops_surcharges_only_where_the_statute_says_so() -> None:
    assert surcharge_reasons(_rules()) == {BlockReason.DEFERRAL}
    both = surcharge_reasons(_rules(suspension_stops_surcharges=True))
    assert both == {BlockReason.DEFERRAL, BlockReason.SUSPENSION}
    assert BlockReason.INSOLVENCY not in both and BlockReason.CLERK not in both
    with pytest.raises(ValidationError, match="suspension_stops_surcharges"):
        _rules(suspension_stops_surcharges="ja")


days = st.integers(min_value=-20, max_value=400).map(lambda n: DUE + timedelta(days=n))


@st.composite
def _periods(draw: st.DrawFn) -> list[tuple[date, date | None]]:
    found: list[tuple[date, date | None]] = []
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        starts = draw(days)
        length = draw(st.none() | st.integers(min_value=0, max_value=200))
        found.append((starts, None if length is None else starts + timedelta(days=length)))
    return found


@untimed
@given(
    amount=st.integers(min_value=0, max_value=10_000_000),
    free=_periods(),
    paid=st.lists(st.tuples(days, st.integers(min_value=1, max_value=5_000_000)), max_size=4),
    as_of=days,
)
def test_no_month_of_saumnis_starts_inside_a_deferral(
    amount: int, free: list[tuple[date, date | None]], paid: list[tuple[date, int]], as_of: date
) -> None:
    payments = [Payment(day, cents) for day, cents in paid]
    result = surcharges(amount, DUE, payments, as_of, NW, free=free)
    for month in result.months:
        for starts, ends in free:
            inside = starts <= month.starts and (ends is None or month.starts <= ends)
            assert not inside, (month, starts, ends)
            fully = starts <= month.starts and (ends is None or month.ends <= ends)
            assert not fully
    later = surcharges(amount, DUE, payments, as_of + timedelta(days=31), NW, free=free)
    assert later.total_cents >= result.total_cents  # still monotone in time
