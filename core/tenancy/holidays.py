"""Public holidays per Land and working days (§ 108 (3) AO): pure data, no database.

Deadlines of the tax procedure that end on a Saturday, Sunday or public holiday end on the next
working day (§ 108 (3) AO, § 193 BGB); which days are public holidays is Land law, except the
Tag der Deutschen Einheit (Art. 2 (2) Einigungsvertrag). The municipality's ``state`` (ISO
3166-2:DE suffix, core/tenancy/municipalities.py) picks the Land.

Sources, the Länder's holiday acts as in force in 2025:
BW Feiertagsgesetz (FTG) § 1; BY Feiertagsgesetz (FTG) Art. 1; BE Gesetz über die Sonn- und
Feiertage § 1 (Frauentag since 2019, one-off 8 May 2020 and 2025); BB Feiertagsgesetz (FTG) § 2;
HB Gesetz über die Sonn- und Feiertage § 1 (Reformationstag since 2018); HH Feiertagsgesetz § 1
(Reformationstag since 2018); HE Hessisches Feiertagsgesetz (HFeiertagsG) § 1; MV Feiertagsgesetz
(FTG M-V) § 2 (Frauentag since 2023); NI Niedersächsisches Gesetz über die Feiertage (NFeiertagsG)
§ 2 (Reformationstag since 2018); NW Feiertagsgesetz NW (FTG NW) § 2; RP Landesgesetz über den
Schutz der Sonn- und Feiertage (LFtG) § 2; SL Gesetz über die Sonn- und Feiertage (SFG) § 2;
SN Gesetz über Sonn- und Feiertage im Freistaat Sachsen (SächsSFG) § 1; ST Gesetz über die Sonn-
und Feiertage (FeiertG LSA) § 2; SH Sonn- und Feiertagsgesetz (SFTG) § 2 (Reformationstag since
2018); TH Thüringer Feiertagsgesetz (ThürFtG) § 2 (Weltkindertag since 2019). Reformationstag
2017 (500 years) was a one-off holiday in every Land.

Left out on purpose, because they hold only in part of a Land and a municipality's Land does not
tell: Mariä Himmelfahrt in Bavaria (only in communities with a Catholic majority, Art. 1 (1)
Nr. 2 FTG BY), Fronleichnam in parts of Saxony and Thuringia, and Augsburg's Friedensfest
(8 August, Art. 1 (2) FTG BY). Ostersonntag and Pfingstsonntag (BB, HE) are listed, though being
Sundays they never change a working day. The calendar starts in 1995, the first year without the
nationwide Buß- und Bettag; it has only been abolished outside Saxony since then.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

from core.kernel.errors import ValidationError

FIRST_YEAR = 1995
LANDS = frozenset(
    {"BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH"}
)


def easter_sunday(year: int) -> date:
    """Easter Sunday by the Gregorian computus (the anonymous algorithm, Meeus/Jones/Butcher),
    in integers; checked against dateutil.easter in the tests."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * j) // 451
    month, day = divmod(h + j - 7 * m + 114, 31)
    return date(year, month, day + 1)


def repentance_day(year: int) -> date:
    """Buß- und Bettag: the Wednesday before 23 November (the last Sunday of the church year)."""
    nov22 = date(year, 11, 22)
    return nov22 - timedelta(days=(nov22.weekday() - 2) % 7)


@dataclass(frozen=True)
class Holiday:
    name: str
    on: Callable[[int], date]  # year → the day
    lands: frozenset[str]
    first_year: int = FIRST_YEAR  # the first year it is a holiday (by the act introducing it)
    last_year: int | None = None  # the last year; None: still in force


def _fixed(month: int, day: int) -> Callable[[int], date]:
    return lambda year: date(year, month, day)


def _easter(offset: int) -> Callable[[int], date]:
    return lambda year: easter_sunday(year) + timedelta(days=offset)


def _lands(*codes: str) -> frozenset[str]:
    return frozenset(codes)


_REFORMATION_1995 = _lands("BB", "MV", "SN", "ST", "TH")
_REFORMATION_2018 = _lands("HB", "HH", "NI", "SH")

HOLIDAYS: tuple[Holiday, ...] = (
    Holiday("Neujahr", _fixed(1, 1), LANDS),
    Holiday("Heilige Drei Könige", _fixed(1, 6), _lands("BW", "BY", "ST")),
    Holiday("Internationaler Frauentag", _fixed(3, 8), _lands("BE"), first_year=2019),
    Holiday("Internationaler Frauentag", _fixed(3, 8), _lands("MV"), first_year=2023),
    Holiday("Karfreitag", _easter(-2), LANDS),
    Holiday("Ostersonntag", _easter(0), _lands("BB", "HE")),
    Holiday("Ostermontag", _easter(1), LANDS),
    Holiday("Tag der Arbeit", _fixed(5, 1), LANDS),
    Holiday("Tag der Befreiung", _fixed(5, 8), _lands("BE"), first_year=2020, last_year=2020),
    Holiday("Tag der Befreiung", _fixed(5, 8), _lands("BE"), first_year=2025, last_year=2025),
    Holiday("Christi Himmelfahrt", _easter(39), LANDS),
    Holiday("Pfingstsonntag", _easter(49), _lands("BB", "HE")),
    Holiday("Pfingstmontag", _easter(50), LANDS),
    Holiday("Fronleichnam", _easter(60), _lands("BW", "BY", "HE", "NW", "RP", "SL")),
    Holiday("Mariä Himmelfahrt", _fixed(8, 15), _lands("SL")),
    Holiday("Weltkindertag", _fixed(9, 20), _lands("TH"), first_year=2019),
    Holiday("Tag der Deutschen Einheit", _fixed(10, 3), LANDS),
    Holiday("Reformationstag", _fixed(10, 31), _REFORMATION_1995),
    Holiday("Reformationstag", _fixed(10, 31), LANDS - _REFORMATION_1995, 2017, 2017),
    Holiday("Reformationstag", _fixed(10, 31), _REFORMATION_2018, first_year=2018),
    Holiday("Allerheiligen", _fixed(11, 1), _lands("BW", "BY", "NW", "RP", "SL")),
    Holiday("Buß- und Bettag", repentance_day, _lands("SN")),
    Holiday("1. Weihnachtstag", _fixed(12, 25), LANDS),
    Holiday("2. Weihnachtstag", _fixed(12, 26), LANDS),
)


def check_land(land: str) -> str:
    if land not in LANDS:
        raise ValidationError(f"„{land}“ ist kein Land (ISO 3166-2:DE, z. B. NW, BY).")
    return land


@lru_cache(maxsize=512)
def holidays(year: int, land: str) -> Mapping[date, str]:
    """The public holidays of ``land`` in ``year``: day → German name."""
    check_land(land)
    if year < FIRST_YEAR:
        raise ValidationError(f"Feiertage sind erst ab {FIRST_YEAR} hinterlegt, nicht für {year}.")
    days: dict[date, str] = {}
    for h in HOLIDAYS:
        if (
            land in h.lands
            and h.first_year <= year
            and (h.last_year is None or year <= h.last_year)
        ):
            day = h.on(year)
            days[day] = f"{days[day]} / {h.name}" if day in days else h.name  # 1.5.2008
    return MappingProxyType(days)


def is_holiday(day: date, land: str) -> bool:
    return day in holidays(day.year, land)


def is_working_day(day: date, land: str) -> bool:
    """Monday to Friday and not a public holiday of ``land`` (§ 108 (3) AO: Saturdays count
    with Sundays and holidays)."""
    return day.weekday() < 5 and not is_holiday(day, land)


def next_working_day(day: date, land: str) -> date:
    """``day`` itself if it is a working day, else the next one: where a deadline ends on a
    Saturday, Sunday or public holiday, it ends on the next working day (§ 108 (3) AO)."""
    while not is_working_day(day, land):
        day += timedelta(days=1)
    return day
