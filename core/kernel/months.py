"""Calendar months: the one month arithmetic of every levy, mandate and deadline (pure)."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's last day (31.1. + 1 → 28./29.2.;
    31 August + 6 months = 29 February in a leap year)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def month_index(day: date) -> int:
    """Months since year 0: the difference of two indexes counts calendar months."""
    return day.year * 12 + day.month - 1


def months_between(earlier: date, later: date) -> int:
    """Calendar months from ``earlier``'s month to ``later``'s (days ignored)."""
    return month_index(later) - month_index(earlier)


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])
