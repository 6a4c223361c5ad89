"""The clerks' matching queue (bank lines waiting for a clerk), one page at a time.

A statement of 36,000 unmatched lines once made a 22.9 MB page: the queue is read in pages of
``PAGE_SIZE`` lines (oldest booking day first), with the count and the sum of everything that
matches the filters — direction (incoming / outgoing) and a text in the payer's name or the
remittance text — so the clerk sees how much is open without loading it all. A clerk assigns
a parked credit to a person or closes a line with a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.kernel.db import get_scoped
from core.kernel.errors import IllegalTransition, NotFound, ValidationError
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.bank.booking import SUSPENSE_ACCOUNT
from core.payments.bank.models import BankLine, LineStatus
from core.persons.models import Person

PAGE_SIZE = 50
MAX_SEARCH = 100  # characters of the search text that are used


@dataclass(frozen=True)
class QueueFilter:
    credit: bool | None = None  # True: incoming only, False: outgoing only, None: both
    search: str = ""


@dataclass(frozen=True)
class QueuePage:
    lines: list[BankLine]
    page: int  # 1-based, within 1..pages
    pages: int  # at least 1
    total: int  # lines matching the filter
    total_cents: int  # their sum (incoming minus outgoing is not meant: amounts as shown)

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(municipality_id: int, wanted: QueueFilter) -> ColumnElement[bool]:
    conditions = [BankLine.municipality_id == municipality_id, BankLine.status == LineStatus.QUEUED]
    if wanted.credit is not None:
        conditions.append(BankLine.credit.is_(wanted.credit))
    search = wanted.search.strip()[:MAX_SEARCH].lower()
    if search:
        pattern = _like(search)
        conditions.append(
            or_(
                func.lower(BankLine.counterparty_name).like(pattern, escape="\\"),
                func.lower(BankLine.remittance).like(pattern, escape="\\"),
                func.lower(BankLine.end_to_end_id).like(pattern, escape="\\"),
            )
        )
    return and_(*conditions)


def queue_page(
    session: Session,
    municipality_id: int,
    *,
    page: int = 1,
    wanted: QueueFilter | None = None,
    per_page: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the queue; a page beyond the last shows the last one."""
    where = _conditions(municipality_id, wanted or QueueFilter())
    total, total_cents = session.execute(
        select(func.count(BankLine.id), func.coalesce(func.sum(BankLine.amount_cents), 0)).where(
            where
        )
    ).one()
    pages = max(1, -(-int(total) // per_page))
    page = min(max(page, 1), pages)
    lines = list(
        session.scalars(
            select(BankLine)
            .where(where)
            .order_by(BankLine.booking_date, BankLine.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return QueuePage(lines, page, pages, int(total), int(total_cents))


def import_page(
    session: Session, municipality_id: int, import_id: int, *, page: int = 1, per_page: int = 100
) -> QueuePage:
    """One page of the lines of one imported statement, in statement order (a statement of
    12,000 lines is shown 100 at a time)."""
    where = and_(BankLine.municipality_id == municipality_id, BankLine.import_id == import_id)
    total, total_cents = session.execute(
        select(func.count(BankLine.id), func.coalesce(func.sum(BankLine.amount_cents), 0)).where(
            where
        )
    ).one()
    pages = max(1, -(-int(total) // per_page))
    page = min(max(page, 1), pages)
    lines = list(
        session.scalars(
            select(BankLine)
            .where(where)
            .order_by(BankLine.entry_index, BankLine.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return QueuePage(lines, page, pages, int(total), int(total_cents))


def queued_count(session: Session, municipality_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(BankLine.id)).where(_conditions(municipality_id, QueueFilter()))
        )
        or 0
    )


def queued_lines(session: Session, municipality_id: int) -> list[BankLine]:
    return list(
        session.scalars(
            select(BankLine)
            .where(
                BankLine.municipality_id == municipality_id, BankLine.status == LineStatus.QUEUED
            )
            .order_by(BankLine.booking_date, BankLine.id)
        )
    )


def get_line(session: Session, municipality_id: int, line_id: int) -> BankLine:
    return get_scoped(
        session, BankLine, municipality_id, line_id, not_found="Dieser Umsatz wurde nicht gefunden."
    )


def _resolve(line: BankLine, status: LineStatus, actor: str) -> None:
    if line.status is not LineStatus.QUEUED:
        raise IllegalTransition("Dieser Umsatz ist bereits geklärt.")
    line.status, line.resolved_by, line.resolved_at = status, actor, clock.now()


def assign_line(
    session: Session,
    line: BankLine,
    person: Person,
    *,
    claim_ids: list[int],
    as_of: date,
    actor: str,
) -> None:
    """A clerk assigns a parked credit to a person (and optionally to claims): it is booked
    from suspense and allocated (§ 225 AO, the named claims first)."""
    if not line.credit:
        raise IllegalTransition("Nur Gutschriften können einer Person zugeordnet werden.")
    if person.municipality_id != line.municipality_id:
        raise NotFound("Diese Person wurde nicht gefunden.")
    _resolve(line, LineStatus.ASSIGNED, actor)
    payment = record_payment(
        session,
        person=person,
        amount_cents=line.amount_cents,
        received_on=line.booking_date,
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=as_of,
        actor=actor,
        reference_text=line.remittance[:140],
        claim_ids=claim_ids,
        external_ref=line.external_ref,
        cash_account=SUSPENSE_ACCOUNT,
    )
    line.person_id, line.payment_id, line.method = person.id, payment.id, "clerk"
    audit.record(
        session,
        actor=actor,
        action="bank.line_assigned",
        obj=line,
        municipality_id=line.municipality_id,
        after={"person_id": person.id, "claim_ids": claim_ids},
    )
    session.flush()


def close_line(session: Session, line: BankLine, *, note: str, actor: str) -> None:
    """A clerk closes a line that belongs to no claim (bank charges, money sent back, …); the
    amount stays in suspense for the general ledger, with the note."""
    if not note.strip():
        raise ValidationError("Bitte vermerken Sie, was mit dem Umsatz geschehen ist.")
    _resolve(line, LineStatus.CLOSED, actor)
    line.note = note.strip()[:500]
    audit.record(
        session,
        actor=actor,
        action="bank.line_closed",
        obj=line,
        municipality_id=line.municipality_id,
        after={"note": line.note},
    )
    session.flush()
