"""What the back office shows of delivery: the outbox with attempts and errors, the deliveries
by state (with notice and person), the print batches, and a person's part."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from core.delivery.consent import history, in_force
from core.delivery.models import (
    LETTER_KINDS,
    Delivery,
    DeliveryConsent,
    DeliveryStatus,
    Dispatch,
    DispatchStatus,
    PrintBatch,
)
from core.delivery.service import deliveries_by_notice, first_downloads
from core.kernel import archive
from core.notices.records import Notice, notices_of
from core.persons.models import Person


def dispatches(session: Session, municipality_id: int, limit: int = 100) -> list[Dispatch]:
    """The outbox: waiting, failed and refused messages first, then the newest sent."""
    order = case(
        (Dispatch.status == DispatchStatus.PENDING, 0),
        (Dispatch.status.in_([DispatchStatus.FAILED, DispatchStatus.BOUNCED]), 1),
        else_=2,
    )
    return list(
        session.scalars(
            select(Dispatch)
            .where(Dispatch.municipality_id == municipality_id)
            .order_by(order, Dispatch.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class DeliveryRow:
    delivery: Delivery
    notice: Notice | None  # None: a letter (LETTER_KINDS)
    person: Person
    title: str  # "Bescheid 1234" or the letter's kind and file name


def deliveries(
    session: Session, municipality_id: int, statuses: list[DeliveryStatus], limit: int = 100
) -> list[DeliveryRow]:
    rows = session.execute(
        select(Delivery, Notice, Person, archive.Document.kind, archive.Document.filename)
        .outerjoin(Notice, Notice.id == Delivery.notice_id)
        .outerjoin(archive.Document, archive.Document.id == Delivery.document_id)
        .join(Person, Person.id == Delivery.person_id)
        .where(Delivery.municipality_id == municipality_id, Delivery.status.in_(statuses))
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return [DeliveryRow(d, n, p, _title(n, kind, name)) for d, n, p, kind, name in rows]


def _title(notice: Notice | None, kind: str | None, filename: str | None) -> str:
    if notice is not None:
        return f"Bescheid {notice.number}"
    return f"{LETTER_KINDS.get(kind or '', 'Schreiben')} ({filename})"


def batches(session: Session, municipality_id: int, limit: int = 20) -> list[PrintBatch]:
    return list(
        session.scalars(
            select(PrintBatch)
            .where(PrintBatch.municipality_id == municipality_id)
            .order_by(PrintBatch.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class PersonDelivery:
    consent: DeliveryConsent | None
    history: list[DeliveryConsent]
    by_notice: dict[int, Delivery]
    first_download: dict[int, Any]


def of_person(session: Session, person: Person) -> PersonDelivery:
    found = notices_of(session, person.id, person.municipality_id)
    return PersonDelivery(
        consent=in_force(session, person.id, person.municipality_id),
        history=history(session, person),
        by_notice=deliveries_by_notice(session, [n.id for n in found]),
        first_download=first_downloads(session, found),
    )
