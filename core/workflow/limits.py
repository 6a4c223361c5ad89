"""How many online applications one account may submit per day.

Without a limit one account (or a script behind it) can fill the clerks' review queue and the
audit trail with thousands of applications a day. Every online service goes through
:func:`core.workflow.pipeline.submit`, which calls :func:`check_daily_limit` first.

The limit is per person of the municipality — the citizen account's identity there — and per
calendar day in Germany (Europe/Berlin). It is counted in the database, so it holds across any
number of web workers; the person's row is locked while counting (PostgreSQL; SQLite's write
transactions are serialised anyway), so two parallel submissions cannot both take the last slot.

The number is statute data of the municipality — levy ``online_services``, key
``daily_application_limit``, typically from the portal's Nutzungsbedingungen (terms of use) —
and :data:`DEFAULT_DAILY_LIMIT` where a municipality has none.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel.errors import FieldErrors, NotFound
from core.persons.models import Person
from core.tenancy.statutes import statute_on
from core.workflow.applications import Application

ONLINE_SERVICES = "online_services"  # the statute's "levy" key
DEFAULT_DAILY_LIMIT = 20  # far above what a household needs on one day
LOCAL_ZONE = ZoneInfo("Europe/Berlin")
FORM_ERROR = "__form__"  # FieldErrors key for the form as a whole (no field of that name)


class DailyLimitReached(FieldErrors):
    """Too many applications today; shown on the form (the typed input stays)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            {
                FORM_ERROR: (
                    f"Sie haben heute bereits {limit} {'Antrag' if limit == 1 else 'Anträge'} "
                    "gestellt – mehr sind an einem Tag nicht möglich. Bitte stellen Sie diesen "
                    "Antrag morgen. In dringenden Fällen wenden Sie sich bitte an die Kasse "
                    "Ihrer Kommune."
                )
            }
        )
        self.limit = limit


def daily_limit(session: Session, municipality_id: int, day: date) -> int:
    try:
        statute = statute_on(session, municipality_id, ONLINE_SERVICES, day)
    except NotFound:
        return DEFAULT_DAILY_LIMIT
    value = statute.data.get("daily_application_limit", DEFAULT_DAILY_LIMIT)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"statute {statute.id}: daily_application_limit must be a positive int")
    return value


def local_day_bounds(moment: datetime) -> tuple[date, datetime, datetime]:
    """The German calendar day of ``moment`` and its start and end as aware datetimes."""
    day = moment.astimezone(LOCAL_ZONE).date()
    start = datetime.combine(day, time.min, LOCAL_ZONE)
    end = datetime.combine(day + timedelta(days=1), time.min, LOCAL_ZONE)
    return day, start, end


def check_daily_limit(
    session: Session, *, person_id: int, municipality_id: int, now: datetime
) -> None:
    """Raise :class:`DailyLimitReached` if the person has used up today's applications."""
    day, start, end = local_day_bounds(now)
    limit = daily_limit(session, municipality_id, day)
    session.execute(select(Person.id).where(Person.id == person_id).with_for_update())
    submitted_today = session.scalar(
        select(func.count(Application.id)).where(
            Application.person_id == person_id,
            Application.municipality_id == municipality_id,
            Application.submitted_at >= start,
            Application.submitted_at < end,
        )
    )
    if (submitted_today or 0) >= limit:
        raise DailyLimitReached(limit)
