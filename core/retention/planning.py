"""What a retention run on an as-of date would delete or anonymise, read from the database,
nothing written (the preview; core/retention/runs.py stores it as a run's items).

- **Documents** (core.kernel.archive): due when their category's period (core/retention/rules.py)
  has passed since the end of the year they were made; blocked when a legal hold names the
  document, or when their person is blocked (core/retention/blocks.py).
- **Notification e-mails** (the outbox's and the delivery's notifications, once sent or given
  up): due after their (short) period; they are not tied to a person's blocks.
- **Bank statement lines** (core.payments.bank): the counterparty's name and IBAN, after the
  booking-record period from the booking date; amount, references and the booking stay. Blocked
  by their person's blocks, and while a clerk still has to clear the line.
- **Persons**: anonymised when nothing is left to keep — no booking, claim or payment of theirs
  within the booking-record period, every document of theirs due or deleted already, and no
  block. Their ledger rows stay (core/retention/erasure.py says why).

A record deleted by an earlier run (an item done) is not found again: a second run deletes
nothing. Years are Berlin's calendar years (a document of 1 January 00:30 is of that year).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.delivery.models import Dispatch, DispatchStatus
from core.kernel.archive import Document
from core.kernel.id_lists import IDS, ids_in
from core.kernel.mail import OutboxMessage
from core.ledger.models import Claim, JournalEntry, Payment
from core.payments.bank.models import BankLine
from core.persons.models import Person
from core.retention import rules as retention_rules
from core.retention.blocks import document_holds, person_blocks
from core.retention.models import ObjectType, RetentionItem
from core.retention.rules import CATEGORIES, DOCUMENT_KINDS, RetentionRules

BERLIN = ZoneInfo("Europe/Berlin")
HELD_DOCUMENT = "ein Dokument der Person ist gesperrt"
UNCLEARED = "Kontoumsatz noch nicht geklärt"


@dataclass(frozen=True)
class Found:
    object_type: ObjectType
    object_id: int
    category: str
    person_id: int | None
    made_on: date
    due_on: date
    rule: str
    blocked: str | None
    details: dict[str, str] = field(default_factory=dict)


def local_date(moment: datetime) -> date:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BERLIN).date()


def made_before(as_of: date, years: int) -> datetime:
    """The instant before which a record is due on ``as_of`` for a period of ``years``: made in
    a (Berlin) year up to ``as_of.year - years - 1``."""
    return datetime(as_of.year - years, 1, 1, tzinfo=BERLIN).astimezone(UTC)


def erased(session: Session, municipality_id: int, object_type: ObjectType) -> set[int]:
    return set(
        session.scalars(
            select(RetentionItem.object_id).where(
                RetentionItem.municipality_id == municipality_id,
                RetentionItem.object_type == object_type,
                RetentionItem.done_at.is_not(None),
            )
        )
    )


def find(session: Session, municipality_id: int, as_of: date, rules: RetentionRules) -> list[Found]:
    """Everything due on ``as_of``, blocked ones with their reason; documents first, persons
    last (a person is anonymised after their documents)."""
    documents = _documents(session, municipality_id, as_of, rules)
    mails = _outbox(session, municipality_id, as_of, rules)
    lines = _bank_lines(session, municipality_id, as_of, rules)
    persons = _persons(session, municipality_id, as_of, rules)
    person_ids = {d.person_id for d in documents + lines if d.person_id} | {
        p.object_id for p in persons
    }
    blocks = person_blocks(session, municipality_id, person_ids, as_of)
    holds = document_holds(session, [d.object_id for d in documents], as_of)

    held = {d.person_id for d in documents if d.object_id in holds}

    def blocked(item: Found) -> Found:
        reasons = list(blocks.get(item.person_id, [])) if item.person_id else []
        if item.object_type is ObjectType.DOCUMENT and item.object_id in holds:
            reasons.insert(0, holds[item.object_id])
        if item.object_type is ObjectType.PERSON and item.object_id in held:
            reasons.append(HELD_DOCUMENT)
        if item.object_type is ObjectType.BANK_LINE and item.details.get("status") == "queued":
            reasons.insert(0, UNCLEARED)
        if not reasons:
            return item
        return Found(**{**item.__dict__, "blocked": "; ".join(reasons)[:300]})

    return (
        [blocked(item) for item in documents]
        + mails
        + [blocked(line) for line in lines]
        + [blocked(p) for p in persons]
    )


def _documents(
    session: Session, municipality_id: int, as_of: date, rules: RetentionRules
) -> list[Found]:
    done = erased(session, municipality_id, ObjectType.DOCUMENT)
    found: list[Found] = []
    for category in CATEGORIES:
        years = rules.years(category)
        kinds = [k for k, c in DOCUMENT_KINDS.items() if c == category]
        kind_filter = (
            Document.kind.in_(kinds)
            if category != "buchungsbeleg"
            else Document.kind.not_in([k for k, c in DOCUMENT_KINDS.items() if c != category])
        )
        if not kinds and category != "buchungsbeleg":
            continue
        rows = session.execute(
            select(Document.id, Document.kind, Document.person_id, Document.created_at)
            .where(
                Document.municipality_id == municipality_id,
                kind_filter,
                Document.created_at < made_before(as_of, years),
            )
            .order_by(Document.id)
        )
        rule = rules.rule_text(category)
        for doc_id, kind, person_id, created_at in rows:
            if doc_id in done:
                continue
            made = local_date(created_at)
            found.append(
                Found(
                    ObjectType.DOCUMENT, doc_id, category, person_id, made,
                    retention_rules.due_on(made, years), rule, None, {"kind": kind},
                )
            )  # fmt: skip
    found.sort(key=lambda f: f.object_id)
    return found


def _outbox(
    session: Session, municipality_id: int, as_of: date, rules: RetentionRules
) -> list[Found]:
    """The outbox's e-mails and the delivery's notifications (not those still to be sent)."""
    category = retention_rules.OUTBOX
    years, rule = rules.years(category), rules.rule_text(category)
    found: list[Found] = []
    for object_type, table in ((ObjectType.OUTBOX, OutboxMessage), (ObjectType.DISPATCH, Dispatch)):
        done = erased(session, municipality_id, object_type)
        query = (
            select(table.id, table.created_at)
            .where(
                table.municipality_id == municipality_id,
                table.created_at < made_before(as_of, years),
            )
            .order_by(table.id)
        )
        if table is Dispatch:
            query = query.where(Dispatch.status != DispatchStatus.PENDING)
        for row_id, created_at in session.execute(query):
            if row_id in done:
                continue
            made = local_date(created_at)
            found.append(
                Found(
                    object_type, row_id, category, None, made,
                    retention_rules.due_on(made, years), rule, None,
                )
            )  # fmt: skip
    return found


def _bank_lines(
    session: Session, municipality_id: int, as_of: date, rules: RetentionRules
) -> list[Found]:
    """Statement lines whose counterparty is still named, booked before the period."""
    category = retention_rules.BANK_LINE
    years, rule = rules.years(category), rules.rule_text(category)
    done = erased(session, municipality_id, ObjectType.BANK_LINE)
    rows = session.execute(
        select(BankLine.id, BankLine.person_id, BankLine.booking_date, BankLine.status)
        .where(
            BankLine.municipality_id == municipality_id,
            BankLine.booking_date < date(as_of.year - years, 1, 1),
            or_(BankLine.counterparty_name.is_not(None), BankLine.counterparty_iban.is_not(None)),
        )
        .order_by(BankLine.id)
    )
    found = []
    for line_id, person_id, booked, status in rows:
        if line_id in done:
            continue
        found.append(
            Found(
                ObjectType.BANK_LINE, line_id, category, person_id, booked,
                retention_rules.due_on(booked, years), rule, None, {"status": status.value},
            )
        )  # fmt: skip
    return found


def _persons(
    session: Session, municipality_id: int, as_of: date, rules: RetentionRules
) -> list[Found]:
    """Persons whose own records are all past the booking-record period."""
    category = retention_rules.PERSON
    years = rules.years(category)
    first_kept = date(as_of.year - years, 1, 1)  # a booking of this day or later is kept
    done = erased(session, municipality_id, ObjectType.PERSON)
    recent = (
        select(JournalEntry.person_id.label("pid"))
        .where(
            JournalEntry.municipality_id == municipality_id, JournalEntry.value_date >= first_kept
        )
        .union(
            select(Claim.person_id).where(
                Claim.municipality_id == municipality_id, Claim.due_date >= first_kept
            ),
            select(Payment.person_id).where(
                Payment.municipality_id == municipality_id, Payment.received_on >= first_kept
            ),
        )
        .subquery()
    )
    candidates = session.execute(
        select(Person.id, Person.number, Person.created_at)
        .where(
            Person.municipality_id == municipality_id,
            Person.created_at < made_before(as_of, years),
            Person.id.not_in(select(recent.c.pid).where(recent.c.pid.is_not(None))),
        )
        .order_by(Person.id)
    ).all()
    keep = _persons_with_kept_documents(session, municipality_id, as_of, rules)
    rule = rules.rule_text(category)
    candidates = [c for c in candidates if c[0] not in done and c[0] not in keep]
    bookings = _last_bookings(session, [c[0] for c in candidates])
    found = []
    for person_id, number, created_at in candidates:
        last = bookings.get(person_id) or local_date(created_at)
        found.append(
            Found(
                ObjectType.PERSON, person_id, category, person_id, last,
                retention_rules.due_on(last, years), rule, None, {"number": str(number)},
            )
        )  # fmt: skip
    return found


def _persons_with_kept_documents(
    session: Session, municipality_id: int, as_of: date, rules: RetentionRules
) -> set[int]:
    """Persons with a document that is not due yet (their data is still needed for it)."""
    keep: set[int] = set()
    for category in CATEGORIES:
        others = [k for k, c in DOCUMENT_KINDS.items() if c != category]
        mine = [k for k, c in DOCUMENT_KINDS.items() if c == category]
        condition = (
            Document.kind.not_in(others) if category == "buchungsbeleg" else Document.kind.in_(mine)
        )
        keep.update(
            pid
            for (pid,) in session.execute(
                select(Document.person_id)
                .where(
                    Document.municipality_id == municipality_id,
                    Document.person_id.is_not(None),
                    condition,
                    Document.created_at >= made_before(as_of, rules.years(category)),
                )
                .distinct()
            )
            if pid is not None
        )
    return keep


def _last_bookings(session: Session, person_ids: list[int]) -> dict[int, date]:
    """Per person the value date of their last booking (persons without one left out)."""
    found: dict[int, date] = {}
    for start in range(0, len(person_ids), IDS):
        rows = session.execute(
            select(JournalEntry.person_id, func.max(JournalEntry.value_date))
            .where(ids_in(JournalEntry.person_id, person_ids[start : start + IDS]))
            .group_by(JournalEntry.person_id)
        )
        found.update((int(pid or 0), last) for pid, last in rows if isinstance(last, date))
    return found
