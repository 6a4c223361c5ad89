"""Deemed-delivery dates (Bekanntgabefiktion): pure rules, no database.

- Electronic notices made available for download (§ 122a (4) AO): notified on the 4th day after
  the electronic notification was sent, for notices made available after 31.12.2024; the 3rd day
  before (the Postrechtsmodernisierungsgesetz of 2024 changed "dritten" to "vierten").
- Postal notices within Germany (§ 122 (2) Nr. 1 AO): the 4th day after posting from 1.1.2025,
  the 3rd day before.
- Either day moves to the next working day when it is a Saturday, Sunday or public holiday of the
  municipality's Land (§ 108 (3) AO; the holidays are data: core.tenancy.holidays).
"""

from __future__ import annotations

from datetime import date, timedelta

from core.tenancy.holidays import next_working_day

FOUR_DAYS_FROM = date(2025, 1, 1)  # first day the 4-day rule applies (§ 122, § 122a AO, 2024 act)


def _days_for(start: date) -> int:
    return 4 if start >= FOUR_DAYS_FROM else 3


def deemed_electronic(made_available_on: date, notified_on: date, land: str) -> date:
    """The day an electronic notice counts as notified: ``notified_on`` + 4 (3 for notices made
    available before 2025), moved to the next working day of ``land``."""
    if notified_on < made_available_on:
        raise ValueError("a notification cannot precede the notice being made available")
    return next_working_day(notified_on + timedelta(days=_days_for(made_available_on)), land)


def deemed_postal(posted_on: date, land: str) -> date:
    """The day a posted notice counts as delivered: ``posted_on`` + 4 (3 before 2025), moved to
    the next working day of ``land``."""
    return next_working_day(posted_on + timedelta(days=_days_for(posted_on)), land)
