"""Oracle tests for the public holidays per Land (the Länder's Feiertagsgesetze) and § 108 (3)
AO working days: Easter of published years, Fronleichnam, Buß- und Bettag, holidays introduced
in a given year, and the number of holidays each Land's act lists."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.kernel.errors import ValidationError
from core.tenancy.holidays import (
    LANDS,
    easter_sunday,
    holidays,
    is_holiday,
    is_working_day,
    next_working_day,
    repentance_day,
)


@pytest.mark.parametrize(
    "easter",
    [
        date(2000, 4, 23),
        date(2008, 3, 23),  # early: Easter Monday before spring
        date(2011, 4, 24),
        date(2019, 4, 21),
        date(2024, 3, 31),
        date(2025, 4, 20),
        date(2026, 4, 5),
        date(2027, 3, 28),
        date(2038, 4, 25),  # the latest possible date
        date(2285, 3, 22),  # the earliest possible date
    ],
)
def test_easter_of_published_years(easter: date) -> None:
    assert easter_sunday(easter.year) == easter


def test_easter_agrees_with_dateutil_over_the_gregorian_range() -> None:
    dateutil_easter = pytest.importorskip("dateutil.easter")
    for year in range(1583, 4100):
        assert easter_sunday(year) == dateutil_easter.easter(year), year


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 4, 3), "Karfreitag"),
        (date(2026, 4, 6), "Ostermontag"),
        (date(2026, 5, 14), "Christi Himmelfahrt"),
        (date(2026, 5, 25), "Pfingstmontag"),
        (date(2026, 6, 4), "Fronleichnam"),
        (date(2025, 6, 19), "Fronleichnam"),
        (date(2024, 5, 30), "Fronleichnam"),
        (date(2026, 11, 1), "Allerheiligen"),
        (date(2026, 10, 3), "Tag der Deutschen Einheit"),
    ],
)
def test_movable_and_fixed_feasts_in_nrw(day: date, name: str) -> None:
    assert holidays(day.year, "NW")[day] == name


@pytest.mark.parametrize(
    "day",
    [date(2017, 11, 22), date(2023, 11, 22), date(2024, 11, 20), date(2025, 11, 19)],
)
def test_buss_und_bettag_only_in_saxony(day: date) -> None:
    assert repentance_day(day.year) == day
    assert day.weekday() == 2 and date(day.year, 11, 16) <= day <= date(day.year, 11, 22)
    assert holidays(day.year, "SN")[day] == "Buß- und Bettag"
    assert all(not is_holiday(day, land) for land in LANDS - {"SN"})


def test_first_of_may_and_ascension_on_one_day_keep_both_names() -> None:
    assert holidays(2008, "NW")[date(2008, 5, 1)] == "Tag der Arbeit / Christi Himmelfahrt"


@pytest.mark.parametrize(
    ("land", "day", "holiday"),
    [
        ("BE", date(2018, 3, 8), False),
        ("BE", date(2019, 3, 8), True),  # Frauentag in Berlin since 2019
        ("MV", date(2022, 3, 8), False),
        ("MV", date(2023, 3, 8), True),  # and in Mecklenburg-Vorpommern since 2023
        ("NW", date(2023, 3, 8), False),
        ("TH", date(2018, 9, 20), False),
        ("TH", date(2019, 9, 20), True),  # Weltkindertag in Thuringia since 2019
        ("NI", date(2016, 10, 31), False),
        ("NI", date(2017, 10, 31), True),  # Reformation's 500th anniversary everywhere
        ("NW", date(2017, 10, 31), True),
        ("NW", date(2018, 10, 31), False),
        ("NI", date(2018, 10, 31), True),  # HB, HH, NI, SH since 2018
        ("SH", date(2018, 10, 31), True),
        ("BB", date(2016, 10, 31), True),  # the eastern Länder always
        ("BE", date(2020, 5, 8), True),  # one-off Tag der Befreiung 2020 and 2025
        ("BE", date(2025, 5, 8), True),
        ("BE", date(2026, 5, 8), False),
        ("ST", date(2026, 1, 6), True),
        ("SN", date(2026, 1, 6), False),
        ("SL", date(2026, 8, 15), True),
        ("BY", date(2026, 8, 15), False),  # only in Catholic communities: left out
        ("BY", date(2026, 8, 8), False),  # Augsburg's Friedensfest: left out
        ("HE", date(2026, 6, 4), True),
        ("SN", date(2026, 6, 4), False),  # Fronleichnam only in part of Saxony: left out
    ],
)
def test_holidays_by_land_and_year(land: str, day: date, holiday: bool) -> None:
    assert is_holiday(day, land) is holiday


# Holidays of 2026 on weekdays or not, as each Land's act lists them (nine are everywhere).
COUNTS_2026 = {
    "BW": 12, "BY": 12, "BE": 10, "BB": 12, "HB": 10, "HH": 10, "HE": 12, "MV": 11,
    "NI": 10, "NW": 11, "RP": 11, "SL": 12, "SN": 11, "ST": 11, "SH": 10, "TH": 11,
}  # fmt: skip


@pytest.mark.parametrize("land", sorted(LANDS))
def test_number_of_holidays_per_land(land: str) -> None:
    assert len(holidays(2026, land)) == COUNTS_2026[land]


@pytest.mark.parametrize(
    ("land", "day", "next_day"),
    [
        ("NW", date(2026, 3, 4), date(2026, 3, 4)),  # a Wednesday stays
        ("NW", date(2026, 3, 7), date(2026, 3, 9)),  # Saturday → Monday
        ("NW", date(2026, 4, 3), date(2026, 4, 7)),  # Good Friday → Tuesday after Easter
        ("NW", date(2026, 12, 25), date(2026, 12, 28)),  # Christmas, weekend → Monday
        ("NI", date(2025, 10, 31), date(2025, 11, 3)),  # Reformationstag (Friday) → Monday
        ("NW", date(2025, 10, 31), date(2025, 10, 31)),  # no holiday in NRW
        ("BY", date(2025, 11, 1), date(2025, 11, 3)),  # Allerheiligen on a Saturday
        ("SN", date(2025, 11, 19), date(2025, 11, 20)),  # Buß- und Bettag
        ("BW", date(2026, 1, 6), date(2026, 1, 7)),
        ("BE", date(2026, 1, 6), date(2026, 1, 6)),
    ],
)
def test_next_working_day(land: str, day: date, next_day: date) -> None:
    assert next_working_day(day, land) == next_day
    assert is_working_day(next_day, land)
    assert is_working_day(day, land) is (day == next_day)


def test_every_day_between_is_no_working_day() -> None:
    day = date(2026, 12, 24)
    moved = next_working_day(day + timedelta(days=1), "HE")
    assert moved == date(2026, 12, 28)
    assert not any(is_working_day(date(2026, 12, d), "HE") for d in (25, 26, 27))


def test_unknown_land_and_years_before_the_calendar_are_refused() -> None:
    with pytest.raises(ValidationError, match="kein Land"):
        is_working_day(date(2026, 1, 2), "XX")
    with pytest.raises(ValidationError, match="erst ab 1995"):
        is_working_day(date(1994, 1, 3), "NW")
