"""The clerk's queue of basis notices whose person the import could not tell: suggestions by
name and by the address of the object (core.persons' search), and the assignment, which applies
the record — and every other waiting record of the same object — to the chosen person (and
then, one layer up, assesses them as an import's: core.levies.basis_import)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.kernel.db import get_scoped
from core.kernel.errors import ValidationError
from core.levies.basis_notices.applying import Item, apply_records, find_object
from core.levies.basis_notices.models import BasisNotice, PendingNotice, PendingState
from core.levies.basis_notices.reader import NoticeRecord
from core.persons.models import Address, Person, search_persons

MAX_SUGGESTIONS = 10


def open_pending(
    session: Session, municipality_id: int, *, limit: int = 200
) -> list[PendingNotice]:
    return list(
        session.scalars(
            select(PendingNotice)
            .where(
                PendingNotice.municipality_id == municipality_id,
                PendingNotice.state == PendingState.OPEN,
            )
            .order_by(PendingNotice.id)
            .limit(limit)
        )
    )


def open_count(session: Session, municipality_id: int) -> int:
    return (
        session.scalar(
            select(func.count(PendingNotice.id)).where(
                PendingNotice.municipality_id == municipality_id,
                PendingNotice.state == PendingState.OPEN,
            )
        )
        or 0
    )


def get_pending(session: Session, municipality_id: int, pending_id: int) -> PendingNotice:
    return get_scoped(
        session,
        PendingNotice,
        municipality_id,
        pending_id,
        not_found="Dieser Bescheid zur Klärung wurde nicht gefunden.",
    )


def record_of(pending: PendingNotice) -> NoticeRecord:
    return NoticeRecord.from_data(pending.record)


def suggestions(session: Session, pending: PendingNotice) -> list[Person]:
    """Persons the record may be for: by the name it gives, then at the object's address."""
    record = record_of(pending)
    found: dict[int, Person] = {}
    if record.name:
        for person in search_persons(session, pending.municipality_id, record.name, limit=5):
            found.setdefault(person.id, person)
    if record.street and record.postal_code:
        at_address = session.scalars(
            select(Person)
            .join(Address, Address.person_id == Person.id)
            .where(
                Person.municipality_id == pending.municipality_id,
                Address.valid_to.is_(None),
                func.lower(Address.street) == record.street.lower(),
                Address.postal_code == record.postal_code,
                *(
                    [func.lower(Address.house_number) == record.house_number.lower()]
                    if record.house_number
                    else []
                ),
            )
            .order_by(Person.number)
            .limit(MAX_SUGGESTIONS)
        )
        for person in at_address:
            found.setdefault(person.id, person)
    return list(found.values())[:MAX_SUGGESTIONS]


def assign(session: Session, pending: PendingNotice, person: Person, *, actor: str) -> int:
    """Apply ``pending`` (and the other waiting records of its object, in file order) to
    ``person``; returns how many notices were applied."""
    return len(assign_notices(session, pending, person, actor=actor))


def assign_notices(
    session: Session, pending: PendingNotice, person: Person, *, actor: str
) -> list[BasisNotice]:
    """As :func:`assign`; returns the basis notices applied (what they call for is assessed
    one layer up: core.levies.basis_import.assess_assigned)."""
    if pending.state is not PendingState.OPEN:
        raise ValidationError("Dieser Bescheid wurde bereits zugeordnet.")
    if person.municipality_id != pending.municipality_id:
        raise ValidationError("Diese Person gehört zu einer anderen Kommune.")
    obj = find_object(session, pending.municipality_id, pending.tax, pending.reference)
    if obj is not None and obj.person_id != person.id:
        raise ValidationError(
            f"Das Aktenzeichen {pending.reference} gehört schon einer anderen Person; "
            "bitte diese wählen."
        )
    siblings = session.scalars(
        select(PendingNotice)
        .where(
            PendingNotice.municipality_id == pending.municipality_id,
            PendingNotice.state == PendingState.OPEN,
            PendingNotice.tax == pending.tax,
            PendingNotice.reference == pending.reference,
        )
        .order_by(PendingNotice.import_id, PendingNotice.line)
    ).all()
    notices = apply_records(
        session,
        municipality_id=pending.municipality_id,
        items=[Item(record_of(i), person.id, i.import_id) for i in siblings],
        actor=actor,
    )
    for item, notice in zip(siblings, notices, strict=True):
        item.state, item.person_id, item.notice_id = PendingState.APPLIED, person.id, notice.id
        item.resolved_by, item.resolved_at = actor, clock.now()
        audit.record(
            session,
            actor=actor,
            action="basis_notice_pending.assigned",
            municipality_id=item.municipality_id,
            obj=item,
            after={"person_id": person.id, "notice_id": notice.id},
        )
    session.flush()
    return notices
