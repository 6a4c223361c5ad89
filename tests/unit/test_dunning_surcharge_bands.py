"""The surcharges of a claim without payments or deferrals are computed once per due date and
50 € band (core.dunning.compose._plain): the same figure as the month-by-month rule gives for
the exact amount (§ 240 (1) AO: the base is rounded down to 50 €)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.dunning.compose import _plain
from core.dunning.surcharges import BASE_STEP_CENTS, surcharges
from core.tenancy.holidays import LANDS

days = st.dates(date(2024, 1, 1), date(2027, 12, 31))


@given(
    amount=st.integers(0, 10_000_000),
    due=days,
    after=st.integers(0, 800),
    land=st.sampled_from(sorted(LANDS)),
)
def test_one_computation_per_band_equals_the_rule_for_the_exact_amount(
    amount: int, due: date, after: int, land: str
) -> None:
    run_date = due + timedelta(days=after)
    exact = surcharges(amount, due, [], run_date, land).total_cents
    assert _plain(amount // BASE_STEP_CENTS, due, run_date, land) == exact
