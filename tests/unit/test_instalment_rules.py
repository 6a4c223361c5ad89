"""The arithmetic of deferrals and instalment plans (core.dunning.instalment_rules): amounts
that sum exactly, interest per § 234 AO with the §§ 238, 239 AO rounding, the statute's limits."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.demo.statutes import instalment_statute
from core.dunning.instalment_rules import (
    InstalmentRules,
    full_months,
    interest,
    over_limit,
    schedule,
    split_cents,
    suggested_dates,
)
from core.kernel.errors import ValidationError

START = date(2026, 3, 1)


def _rules(**overrides: int) -> InstalmentRules:
    town = type("M", (), {"name": "Musterstadt"})()
    return InstalmentRules.from_data({**instalment_statute(town), **overrides}, "Test")  # type: ignore[arg-type]


@given(total=st.integers(min_value=0, max_value=10**11), count=st.integers(1, 500))
def test_parts_sum_exactly_and_differ_by_at_most_a_cent(total: int, count: int) -> None:
    parts = split_cents(total, count)
    assert len(parts) == count and sum(parts) == total
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)  # the higher ones come first


@given(
    deferred=st.integers(min_value=2500, max_value=10**9),
    count=st.integers(1, 24),
    first=st.dates(min_value=START, max_value=date(2026, 12, 31)),
)
def test_a_schedule_sums_to_deferred_amount_plus_interest(
    deferred: int, count: int, first: date
) -> None:
    rules = _rules(min_instalment_cents=0, max_months=60)
    planned = schedule(rules, deferred, suggested_dates(first, count), START)
    assert sum(planned.amounts) == planned.deferred_cents + planned.interest_cents
    assert max(planned.amounts) - min(planned.amounts) <= 1
    assert planned.interest_cents % 100 == 0  # whole euros (§ 239 (2) AO)


def test_full_months_ignore_a_started_month() -> None:
    assert full_months(date(2026, 3, 1), date(2026, 3, 31)) == 0
    assert full_months(date(2026, 3, 1), date(2026, 4, 1)) == 1
    assert full_months(date(2026, 1, 31), date(2026, 2, 28)) == 1  # clamped month end
    assert full_months(date(2026, 3, 15), date(2026, 9, 14)) == 5
    assert full_months(date(2026, 3, 15), date(2026, 3, 1)) == 0


def test_interest_half_a_percent_per_full_month_on_a_base_down_to_50_euros() -> None:
    rules = _rules()
    # 2,000 € in one instalment after six full months: 2,000 × 0.5 % × 6 = 60 €.
    assert interest(rules, 200000, [date(2026, 9, 1)], START) == 6000
    # 2,049.99 €: the base is rounded down to 2,000 €.
    assert interest(rules, 204999, [date(2026, 9, 1)], START) == 6000
    # Two instalments of 1,000 € after 1 and 2 months: 5 € + 10 € = 15 €.
    assert interest(rules, 200000, [date(2026, 4, 1), date(2026, 5, 1)], START) == 1500
    # Under 10 € it is not charged (§ 239 (2) S. 2 AO): 1,000 € for one month = 5 €.
    assert interest(rules, 100000, [date(2026, 4, 1)], START) == 0
    assert interest(_rules(interest_waived_below_cents=0), 100000, [date(2026, 4, 1)], START) == 500


def test_the_statute_limits_are_refused_in_german() -> None:
    rules = _rules()
    with pytest.raises(ValidationError, match=r"mindestens 25,00 €.*höchstens 2 Raten"):
        schedule(rules, 6000, suggested_dates(START, 3), START)
    with pytest.raises(ValidationError, match="nach der vorigen"):
        schedule(rules, 60000, [date(2026, 4, 1), date(2026, 4, 1)], START)
    with pytest.raises(ValidationError, match=r"nicht vor dem 01\.03\.2026"):
        schedule(rules, 60000, [date(2026, 2, 1)], START)
    with pytest.raises(ValidationError, match="höchstens 24 Monate"):
        schedule(rules, 60000, [date(2028, 4, 1)], START)
    with pytest.raises(ValidationError, match="zwischen 1 und 24 Raten"):
        schedule(rules, 10**8, suggested_dates(START, 25), START)


def test_straight_through_up_to_1000_euros_and_six_months() -> None:
    rules = _rules()
    assert over_limit(rules, 100000, date(2026, 9, 1), START) == ""
    assert over_limit(rules, 100001, date(2026, 9, 1), START) == "mehr als 1.000,00 €"
    assert over_limit(rules, 50000, date(2026, 9, 2), START) == "länger als 6 Monate"


def test_incomplete_statute_data_is_refused() -> None:
    with pytest.raises(ValidationError, match="unvollständig"):
        InstalmentRules.from_data({"auto_max_cents": 1}, "Test")
    with pytest.raises(ValidationError, match="ganze Zahl"):
        _rules(late_days=-1)
