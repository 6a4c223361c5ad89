"""The one place that asks the system for the date and time.

Rules never call this: they take ``as_of``. The edges call :func:`today`/:func:`now` once per
request or command. ``OPENKASSE_TODAY`` (YYYY-MM-DD) pins the date for demos and tests.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

_ZONE_NOTE = "Times are stored in UTC; dates are local calendar dates (Europe/Berlin)."


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    pinned = os.environ.get("OPENKASSE_TODAY")
    if pinned:
        return date.fromisoformat(pinned)
    # Local calendar date in Germany: due dates and notices follow the German calendar.
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Europe/Berlin")).date()
