"""Shared by the delivery tests: a real notice (a dog-tax registration goes straight through
and issues one) and a real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from itertools import count
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.levies.dog_tax.services import Registration, submit_registration
from core.notices.records import Notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from tests.pg import free_port

ISSUED = date(2026, 3, 10)  # after the factories' addresses begin (1.3.2026)
_chips = count(1)


def issue_notice(db: Session, town: Municipality, person: Person) -> Notice:
    """A dog-tax notice for ``person`` (the newest of the person's notices)."""
    submit_registration(
        db,
        person=person,
        municipality=town,
        registration=Registration(
            name="Bello",
            breed="Labrador Retriever",
            born_on=date(2022, 1, 1),
            acquired_on=date(2026, 2, 1),
            chip_number=f"2760981{next(_chips):08d}",
        ),
        as_of=ISSUED,
        actor="test",
    )
    notice = db.scalars(
        select(Notice).where(Notice.person_id == person.id).order_by(Notice.id.desc())
    ).first()
    assert notice is not None
    return notice


@dataclass
class Inbox:
    """What the loopback SMTP server received; ``refuse``: addresses it answers with 550."""

    refuse: set[str] = field(default_factory=set)
    messages: list[Any] = field(default_factory=list)

    async def handle_RCPT(
        self, _server: Any, session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 Mailbox unbekannt"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@contextmanager
def smtp_server(inbox: Inbox) -> Iterator[int]:
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()
