"""Oracle tests of the deemed-delivery dates (DOMAIN.md: § 122a (4), § 122 (2) Nr. 1, § 108 (3)
AO): the 4th day after the notification or posting from 2025 (the 3rd before), moved to the next
working day of the Land; dates worked out by hand from the calendar."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.delivery.dates import deemed_electronic, deemed_postal
from core.tenancy.holidays import is_working_day


@pytest.mark.parametrize(
    ("sent", "deemed"),
    [
        # an ordinary week: Monday → Friday; Tuesday → Saturday → Monday
        (date(2026, 12, 7), date(2026, 12, 11)),
        (date(2026, 12, 1), date(2026, 12, 7)),
        (date(2026, 12, 2), date(2026, 12, 7)),  # Sunday → Monday
        (date(2026, 12, 3), date(2026, 12, 7)),  # Monday itself
        # Easter 2026 (Easter Sunday 5.4.): Karfreitag 3.4. … Ostermontag 6.4. → Tuesday 7.4.
        (date(2026, 3, 30), date(2026, 4, 7)),
        (date(2026, 3, 31), date(2026, 4, 7)),
        (date(2026, 4, 1), date(2026, 4, 7)),
        (date(2026, 4, 2), date(2026, 4, 7)),
        (date(2026, 4, 3), date(2026, 4, 7)),
        # Christmas 2026: 25.12. a Friday, 26./27. the weekend → Monday 28.12.
        (date(2026, 12, 21), date(2026, 12, 28)),
        (date(2026, 12, 22), date(2026, 12, 28)),
        (date(2026, 12, 23), date(2026, 12, 28)),  # Sunday 27.12.
        (date(2026, 12, 24), date(2026, 12, 28)),
        # New Year 2027: Neujahr a Friday, then the weekend → Monday 4.1.2027
        (date(2026, 12, 28), date(2027, 1, 4)),
        (date(2026, 12, 29), date(2027, 1, 4)),
        (date(2026, 12, 30), date(2027, 1, 4)),
        (date(2026, 12, 31), date(2027, 1, 4)),
    ],
)
def test_electronic_notice_is_notified_on_the_fourth_day_or_the_next_working_day(
    sent: date, deemed: date
) -> None:
    assert deemed_electronic(sent, sent, "NW") == deemed


def test_the_counted_days_start_at_the_notification_not_at_making_available() -> None:
    # Made available on Friday 4.12.2026, notified Monday 7.12.: Friday 11.12.
    assert deemed_electronic(date(2026, 12, 4), date(2026, 12, 7), "NW") == date(2026, 12, 11)


def test_notices_made_available_before_2025_count_three_days() -> None:
    assert deemed_electronic(date(2024, 12, 20), date(2024, 12, 20), "NW") == date(2024, 12, 23)
    # 26.12.2024 (2. Weihnachtstag) → Friday 27.12.2024
    assert deemed_electronic(date(2024, 12, 23), date(2024, 12, 23), "NW") == date(2024, 12, 27)
    # the last day of the old rule: 31.12.2024 + 3 = Friday 3.1.2025
    assert deemed_electronic(date(2024, 12, 31), date(2024, 12, 31), "NW") == date(2025, 1, 3)
    # a notice made available in 2024 but notified in 2025 still counts three days
    assert deemed_electronic(date(2024, 12, 31), date(2025, 1, 2), "NW") == date(2025, 1, 6)


def test_the_lands_holidays_decide() -> None:
    # 2.1.2025 + 4 = Monday 6.1.2025: Heilige Drei Könige in Bavaria, not in NRW
    assert deemed_electronic(date(2025, 1, 2), date(2025, 1, 2), "NW") == date(2025, 1, 6)
    assert deemed_electronic(date(2025, 1, 2), date(2025, 1, 2), "BY") == date(2025, 1, 7)
    # 27.10.2025 + 4 = Friday 31.10.2025: Reformationstag in Lower Saxony → Monday 3.11.
    assert deemed_electronic(date(2025, 10, 27), date(2025, 10, 27), "NI") == date(2025, 11, 3)
    assert deemed_electronic(date(2025, 10, 27), date(2025, 10, 27), "NW") == date(2025, 10, 31)


def test_a_notification_cannot_precede_making_available() -> None:
    with pytest.raises(ValueError, match="cannot precede"):
        deemed_electronic(date(2026, 12, 7), date(2026, 12, 4), "NW")


@pytest.mark.parametrize(
    ("posted", "deemed"),
    [
        (date(2026, 12, 24), date(2026, 12, 28)),  # 28.12. a Monday
        (date(2026, 12, 29), date(2027, 1, 4)),  # 2.1.2027 a Saturday
        (date(2026, 4, 1), date(2026, 4, 7)),  # Easter Sunday 5.4.2026, Ostermontag 6.4.
        (date(2024, 12, 30), date(2025, 1, 2)),  # posted in 2024: three days
        (date(2025, 1, 1), date(2025, 1, 6)),  # posted on New Year's Day 2025: four days
    ],
)
def test_posted_notice_is_delivered_on_the_fourth_day(posted: date, deemed: date) -> None:
    assert deemed_postal(posted, "NW") == deemed


def test_every_deemed_date_is_a_working_day_at_least_four_days_on() -> None:
    day = date(2025, 1, 1)
    while day < date(2028, 1, 1):
        for land in ("NW", "BY", "SN", "BE"):
            deemed = deemed_postal(day, land)
            assert is_working_day(deemed, land)
            assert timedelta(days=4) <= deemed - day <= timedelta(days=8)
        day += timedelta(days=1)
