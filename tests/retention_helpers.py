"""Old records for the retention tests: documents, notices, bookings and e-mails made years
ago (the archive is append-only, so a document gets its date when it is written)."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from core.delivery.models import Channel, Delivery, DeliveryStatus, Dispatch, DispatchStatus, Route
from core.kernel.archive import Document
from core.kernel.mail import OutboxMessage
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.notices.records import Notice
from core.objections.models import Objection, SuspensionDecision
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

_numbers = itertools.count(9000)
PDF = b"%PDF-1.7 Bescheid an Erika Mustermann, Musterweg 1"


class Make:
    """tests.factories bound to one session, as the ``make`` fixture (for tests that open
    their own sessions: the command line's and the browser's)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __getattr__(self, name: str) -> Any:
        from tests import factories

        made = getattr(factories, name)
        return lambda *a, **kw: made(self.session, *a, **kw)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


def document(
    db: Session, m: Municipality, person: Person | None, made: date, kind: str = "notice"
) -> Document:
    doc = Document(
        municipality_id=m.id,
        person_id=person.id if person else None,
        kind=kind,
        filename=f"{kind}.pdf",
        sha256=hashlib.sha256(PDF).hexdigest(),
        size_bytes=len(PDF),
        content=PDF,
        created_at=at(made),
    )
    db.add(doc)
    db.flush()
    return doc


def notice(db: Session, m: Municipality, person: Person, made: date) -> Notice:
    doc = document(db, m, person, made)
    row = Notice(
        municipality_id=m.id,
        person_id=person.id,
        levy="dog_tax",
        year=made.year,
        number=next(_numbers),
        issued_on=made,
        title=f"Hundesteuerbescheid {made.year}",
        kassenzeichen="123",
        total_cents=10000,
        previous_cents=0,
        data={"recipient": {"name": person.display_name, "lines": ["Weg 1", "12345 Stadt"]}},
        document_id=doc.id,
    )
    db.add(row)
    db.flush()
    return row


def old_person(db: Session, make: Any, m: Municipality, made: date, **kw: Any) -> Person:
    """A person registered on ``made`` with a claim of that year paid in full."""
    person: Person = make.person(m, **kw)
    person.created_at = at(made)
    claim: Claim = make.claim(m, person, amount=5000, due=made, as_of=made)
    record_payment(
        db, person=person, amount_cents=5000, received_on=made,
        channel=PaymentChannel.BANK_TRANSFER, as_of=made, actor="test", claim_ids=[claim.id],
    )  # fmt: skip
    db.flush()
    return person


def objection(db: Session, m: Municipality, person: Person, on_notice: Notice) -> Objection:
    row = Objection(
        municipality_id=m.id,
        person_id=person.id,
        notice_id=on_notice.id,
        reasons="Zu hoch.",
        suspension=SuspensionDecision.NONE,
    )
    db.add(row)
    db.flush()
    return row


def mail(db: Session, m: Municipality, made: date) -> OutboxMessage:
    row = OutboxMessage(
        municipality_id=m.id,
        recipient="erika@test.example",
        subject="Ihr Bescheid ist abrufbar",
        body="Guten Tag Frau Mustermann, …",
        created_at=at(made),
        sent_at=at(made),
    )
    db.add(row)
    db.flush()
    return row


def notification(db: Session, m: Municipality, notice: Notice, made: date) -> Dispatch:
    """The notice's electronic delivery and its notification e-mail, sent on ``made``."""
    delivery = Delivery(
        municipality_id=m.id, notice_id=notice.id, person_id=notice.person_id,
        route=Route.ELECTRONIC, status=DeliveryStatus.NOTIFIED, made_available_at=at(made),
        notified_at=at(made), notified_to="erika@test.example", created_at=at(made),
    )  # fmt: skip
    db.add(delivery)
    db.flush()
    dispatch = Dispatch(
        municipality_id=m.id, delivery_id=delivery.id, channel=Channel.EMAIL,
        recipient="erika@test.example", subject="Neuer Bescheid",
        body="Guten Tag Frau Mustermann, …", status=DispatchStatus.SENT, sent_at=at(made),
        created_at=at(made),
    )  # fmt: skip
    db.add(dispatch)
    db.flush()
    return dispatch


def bank_line(
    db: Session,
    m: Municipality,
    booked: date,
    *,
    person: Person | None = None,
    status: str = "booked",
    payment_id: int | None = None,
) -> Any:
    """One line of an imported statement, booked on ``booked``, naming its counterparty."""
    from core.payments.bank.models import BankLine, LineStatus, StatementImport

    n = next(_numbers)
    statement = StatementImport(
        municipality_id=m.id, filename=f"camt-{n}.xml", sha256=f"{n:064d}",
        kind="camt.053.001.08", message_id=f"MSG-{n}", statement_id=f"STM-{n}",
        iban="DE02120300000000202051", report={}, imported_at=at(booked), imported_by="test",
    )  # fmt: skip
    db.add(statement)
    db.flush()
    line = BankLine(
        municipality_id=m.id, import_id=statement.id, entry_index=1, external_ref=f"REF-{n}",
        amount_cents=5000, credit=True, booking_date=booked,
        counterparty_name="Erika Mustermann", counterparty_iban="DE89370400440532013000",
        remittance="Kassenzeichen 123", end_to_end_id=f"E2E-{n}", status=LineStatus(status),
        person_id=person.id if person else None, payment_id=payment_id,
    )  # fmt: skip
    db.add(line)
    db.flush()
    return line
