"""The objection period (§ 355 (1) AO, § 70 VwGO, § 108 AO): one month after the deemed
delivery date, clamped to the month's end, moved past weekends and the Land's holidays."""

from __future__ import annotations

from datetime import date

import pytest

from core.objections.deadline import objection_deadline


@pytest.mark.parametrize(
    ("made_known", "land", "deadline"),
    [
        (date(2026, 3, 15), "NW", date(2026, 4, 15)),  # a Wednesday: stays
        (date(2026, 1, 31), "NW", date(2026, 3, 2)),  # 28.2. (no 31st) is a Saturday → Monday
        (date(2024, 1, 31), "BY", date(2024, 2, 29)),  # leap year: the last day, a Thursday
        (date(2026, 4, 1), "NW", date(2026, 5, 4)),  # 1 May holiday (Friday), weekend → Monday
        (date(2026, 11, 25), "BY", date(2026, 12, 28)),  # both Christmas days, Sunday → 28.12.
        (date(2027, 10, 1), "NW", date(2027, 11, 2)),  # All Saints' Day is a holiday in NRW …
        (date(2027, 10, 1), "BE", date(2027, 11, 1)),  # … not in Berlin
    ],
)
def test_objection_deadline(made_known: date, land: str, deadline: date) -> None:
    assert objection_deadline(made_known, land) == deadline
