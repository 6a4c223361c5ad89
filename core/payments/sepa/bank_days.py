"""TARGET2 business days, on which SEPA collections settle (ECB TARGET holiday calendar)."""

from __future__ import annotations

from datetime import date, timedelta

from core.kernel.errors import ValidationError


def _easter(year: int) -> date:
    """Easter Sunday (Gregorian; the anonymous algorithm of Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * j) // 451
    month, day = divmod(h + j - 7 * m + 114, 31)
    return date(year, month, day + 1)


def is_target_day(day: date) -> bool:
    """A TARGET2 business day, on which SEPA collections settle: not a weekend, New Year,
    Good Friday, Easter Monday, 1 May, 25 or 26 December (ECB TARGET holiday calendar)."""
    if day.weekday() >= 5 or (day.month, day.day) in ((1, 1), (5, 1), (12, 25), (12, 26)):
        return False
    easter = _easter(day.year)
    return day not in (easter - timedelta(days=2), easter + timedelta(days=1))


def next_target_day(day: date) -> date:
    while not is_target_day(day):
        day += timedelta(days=1)
    return day


def check_bank_day(day: date) -> None:
    if not is_target_day(day):
        raise ValidationError(
            f"Der {day:%d.%m.%Y} ist kein Bankarbeitstag (TARGET2); nächster möglicher "
            f"Einzugstag: {next_target_day(day):%d.%m.%Y}."
        )
