"""Objections on SQLite and PostgreSQL: received with the deadline from the deemed delivery,
late ones marked, the suspension request blocking the notice's claims until the clerk decides,
the statute flag (NRW: Klage) and another person's notice."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.delivery import consent
from core.delivery.adapters import PostboxDispatcher
from core.delivery.models import Channel
from core.delivery.service import make_available, send_due
from core.dunning import blocks
from core.dunning.models import BlockReason, DunningBlock
from core.kernel.audit import AuditEvent
from core.kernel.errors import IllegalTransition, NotFound, ValidationError
from core.ledger.models import Claim
from core.objections import service
from core.objections.models import SuspensionDecision
from tests.delivery_helpers import issue_notice

SENT = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)  # deemed 28.12.2026 (Christmas, weekend)


def _delivered(db: Session, make: Any, *, objection: bool = True) -> Any:
    m = make.municipality(state="NW")
    make.dog_tax_statute(m, objection=objection)
    person = make.person(m, user=make.user())
    consent.give(db, person, channel=Channel.POSTBOX, address=None, how="t", actor="t")
    notice = issue_notice(db, m, person)
    make_available(db, m, now=SENT, portal_url="http://localhost", actor="t")
    send_due(db, {Channel.POSTBOX: PostboxDispatcher()}, now=SENT, actor="t")
    return m, person, notice


def test_objection_in_time_with_suspension_blocks_until_refused(db: Session, make: Any) -> None:
    m, person, notice = _delivered(db, make)
    received = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
    objection = service.lodge(
        db, municipality=m, person=person, notice=notice, reasons=" Der Hund ist verstorben. ",
        suspension=True, actor="citizen", now=received,
    )  # fmt: skip
    assert (objection.deemed_on, objection.deadline) == (date(2026, 12, 28), date(2027, 1, 28))
    assert not objection.late and objection.reasons == "Der Hund ist verstorben."
    claims = db.scalars(select(Claim).where(Claim.kassenzeichen == notice.kassenzeichen)).all()
    assert claims and len(objection.block_ids) == len(claims)
    assert all(blocks.is_blocked(db, c, date(2027, 1, 20)) for c in claims)
    block = db.get(DunningBlock, objection.block_ids[0])
    assert block is not None and block.reason is BlockReason.SUSPENSION and block.ends_on is None

    service.decide_suspension(db, objection, grant=False, day=date(2027, 2, 1), actor="clerk")
    assert objection.suspension is SuspensionDecision.REFUSED
    assert block.ends_on == date(2027, 2, 1) and block.ended_by == "clerk"
    assert not any(blocks.is_blocked(db, c, date(2027, 2, 2)) for c in claims)
    with pytest.raises(IllegalTransition):
        service.decide_suspension(db, objection, grant=True, day=date(2027, 2, 2), actor="clerk")
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"objection.received", "objection.suspension_decided", "dunning_block.ended"} <= actions


def test_granted_suspension_keeps_the_block(db: Session, make: Any) -> None:
    m, person, notice = _delivered(db, make)
    objection = service.lodge(
        db, municipality=m, person=person, notice=notice, reasons="Zu hoch.", suspension=True,
        actor="citizen", now=datetime(2027, 1, 5, tzinfo=UTC),
    )  # fmt: skip
    service.decide_suspension(db, objection, grant=True, day=date(2027, 2, 1), actor="clerk")
    assert objection.suspension is SuspensionDecision.GRANTED
    kept = [db.get(DunningBlock, i) for i in objection.block_ids]
    assert kept and all(b is not None and b.ends_on is None for b in kept)


def test_late_objection_is_received_and_marked(db: Session, make: Any) -> None:
    m, person, notice = _delivered(db, make)
    objection = service.lodge(
        db, municipality=m, person=person, notice=notice, reasons="Zu hoch.", suspension=False,
        actor="citizen", now=datetime(2027, 1, 28, 23, 30, tzinfo=UTC),  # 29.1. in Germany
    )  # fmt: skip
    assert objection.late and objection.block_ids == []
    assert objection.suspension is SuspensionDecision.NONE


def test_without_deemed_date_there_is_no_deadline_yet(db: Session, make: Any) -> None:
    m = make.municipality(state="BY")
    make.dog_tax_statute(m, objection=True)
    person = make.person(m)
    notice = issue_notice(db, m, person)
    assert service.period_of(db, notice, m.state).deadline is None
    objection = service.lodge(
        db, municipality=m, person=person, notice=notice, reasons="Zu hoch.", suspension=False,
        actor="citizen",
    )  # fmt: skip
    assert objection.deadline is None and not objection.late


def test_statute_without_objection_and_foreign_notice_are_refused(db: Session, make: Any) -> None:
    m, person, notice = _delivered(db, make, objection=False)
    assert not service.objection_allowed(db, notice)
    with pytest.raises(ValidationError):
        service.lodge(
            db, municipality=m, person=person, notice=notice, reasons="x", suspension=False,
            actor="citizen",
        )  # fmt: skip
    other = make.person(m)
    with pytest.raises(NotFound):
        service.lodge(
            db, municipality=m, person=other, notice=notice, reasons="x", suspension=False,
            actor="citizen",
        )  # fmt: skip
