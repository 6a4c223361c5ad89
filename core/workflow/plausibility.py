"""Plausibility checks of dates that the online services share (German messages per field)."""

from __future__ import annotations

from datetime import date, timedelta

# How far in the future a date may lie (an announced move, a dog picked up next week).
FUTURE_LIMIT_DAYS = 31
PAST_LIMIT = timedelta(days=10 * 366)  # an older date is more likely a typing error


def too_far_ahead(day: date, as_of: date) -> str | None:
    if day > as_of + timedelta(days=FUTURE_LIMIT_DAYS):
        return f"Das Datum darf höchstens {FUTURE_LIMIT_DAYS} Tage in der Zukunft liegen."
    return None


def too_long_ago(day: date, as_of: date) -> str | None:
    if day < as_of - PAST_LIMIT:
        return "Bitte prüfen Sie das Datum: es liegt mehr als zehn Jahre zurück."
    return None
