"""The payouts booked for a person (person page, citizen's account)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.payments.payouts.models import PayoutItem, PayoutRun
from core.persons.models import Person


@dataclass(frozen=True)
class PaidOut:
    item: PayoutItem
    execution_date: date


def payouts_of(session: Session, person: Person) -> list[PaidOut]:
    """The person's booked payouts, newest first (person page, citizen's account)."""
    rows = session.execute(
        select(PayoutItem, PayoutRun.execution_date)
        .join(PayoutRun, PayoutRun.id == PayoutItem.run_id)
        .where(
            PayoutItem.person_id == person.id,
            PayoutItem.municipality_id == person.municipality_id,
            PayoutItem.entry_id.is_not(None),
        )
        .order_by(PayoutItem.id.desc())
    )
    return [PaidOut(item, day) for item, day in rows]
