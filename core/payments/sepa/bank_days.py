"""TARGET2 business days, on which SEPA collections settle (ECB TARGET holiday calendar)."""

from __future__ import annotations

from datetime import date, timedelta

from core.kernel.errors import ValidationError
from core.tenancy.holidays import easter_sunday


def is_target_day(day: date) -> bool:
    """A TARGET2 business day, on which SEPA collections settle: not a weekend, New Year,
    Good Friday, Easter Monday, 1 May, 25 or 26 December (ECB TARGET holiday calendar)."""
    if day.weekday() >= 5 or (day.month, day.day) in ((1, 1), (5, 1), (12, 25), (12, 26)):
        return False
    easter = easter_sunday(day.year)
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
