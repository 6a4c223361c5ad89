"""The municipality's delivery settings as statute data (levy ``delivery``), with defaults.

No statute fixes when an unfetched electronic notice is to be posted instead; § 122a AO only says
the notice counts as notified on the 4th day after the notification unless it did not arrive.
The defaults below are this project's choice and are overridden by a ``delivery`` statute of the
municipality (e.g. "Dienstanweisung elektronische Bekanntgabe"):

- ``download_deadline_days``: 10 — days after the notification was sent; a notice not downloaded
  by then is printed and posted (the postal notice then follows § 122 (2) Nr. 1 AO).
- ``postage_class``: "Standardbrief" — what the manifest tells the print service.
- ``max_attempts``: 5 — attempts of a notification before it counts as failed (then by post).
- ``retry_minutes``: [5, 30, 120, 480] — the pause before the 2nd, 3rd, … attempt.
- ``applies_from``: none — the first issue date delivery looks after (ISO date); notices issued
  before it (delivered the old way, before OpenKasse decided) get no delivery record, so the
  first fallback run does not post the municipality's whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from core.kernel.errors import NotFound
from core.tenancy.statutes import statute_on

LEVY = "delivery"


@dataclass(frozen=True)
class DeliveryRules:
    download_deadline_days: int = 10
    postage_class: str = "Standardbrief"
    max_attempts: int = 5
    retry_minutes: tuple[int, ...] = (5, 30, 120, 480)
    source: str = "Voreinstellung von OpenKasse (keine Satzung hinterlegt)"
    applies_from: date | None = None

    def pause_after(self, attempts: int) -> timedelta:
        """The pause after ``attempts`` failed attempts (the last pause repeats)."""
        steps = self.retry_minutes or (60,)
        return timedelta(minutes=steps[min(attempts, len(steps)) - 1])


def rules_on(session: Session, municipality_id: int, day: date) -> DeliveryRules:
    try:
        statute = statute_on(session, municipality_id, LEVY, day)
    except NotFound:
        return DeliveryRules()
    data = statute.data
    default = DeliveryRules()
    return DeliveryRules(
        download_deadline_days=int(data.get("download_deadline_days", 10)),
        postage_class=str(data.get("postage_class", default.postage_class)),
        max_attempts=int(data.get("max_attempts", default.max_attempts)),
        retry_minutes=tuple(int(m) for m in data.get("retry_minutes", default.retry_minutes)),
        source=statute.source,
        applies_from=date.fromisoformat(data["applies_from"]) if data.get("applies_from") else None,
    )
