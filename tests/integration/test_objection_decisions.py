"""The decision on an objection, on SQLite and PostgreSQL: Abhilfe (full and partial: exactly
the difference in cents taken off the notice's claims, the ledger balancing), Zurückweisung
and Rücknahme; the suspension blocks ended; decided once; four eyes for a refund or above the
statute's limit (an approver, not the preparer); the letter archived for the citizen."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.dunning.models import DunningBlock
from core.identity.models import Role
from core.kernel.archive import Document
from core.kernel.audit import AuditEvent
from core.kernel.errors import AccessDenied, IllegalTransition, ValidationError
from core.ledger.balances import credit_balance, trial_balance
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.objections import decisions, service
from core.objections.models import DecisionKind, DecisionStatus, Objection, ObjectionDecision
from tests.delivery_helpers import issue_notice

DAY = date(2026, 4, 20)


def _objection(db: Session, make: Any, *, suspension: bool = True, **statute: Any) -> Any:
    m = make.municipality(state="BY")
    make.dog_tax_statute(m, objection=True, **statute)
    person = make.person(m)
    notice = issue_notice(db, m, person)
    objection = service.lodge(
        db, municipality=m, person=person, notice=notice, reasons="Zu hoch.",
        suspension=suspension, actor="citizen", now=datetime(2026, 4, 1, 10, tzinfo=UTC),
    )  # fmt: skip
    return m, person, notice, objection


def _actor(user: Any) -> str:
    return f"user:{user.id}"


def _balanced(db: Session, m: Any) -> None:
    assert sum(trial_balance(db, m.id).values()) == 0


def _blocks_ended(db: Session, objection: Objection) -> None:
    found = [db.get(DunningBlock, i) for i in objection.block_ids]
    assert found and all(b is not None and b.ends_on == DAY for b in found)


def test_partial_abhilfe_books_exactly_the_difference(db: Session, make: Any) -> None:
    m, _, notice, objection = _objection(db, make)
    before = decisions.standing_cents(db, notice)
    assert before == notice.total_cents > 1001
    decision = decisions.decide(
        db, objection, kind=DecisionKind.GRANTED_PARTIAL, after_cents=before - 1001,
        reasons="Der Hund wurde erst im März angeschafft.", day=DAY, actor="user:1",
    )  # fmt: skip
    assert decision.status is DecisionStatus.FINAL and decision.decided_on == DAY
    assert decisions.standing_cents(db, notice) == before - 1001
    assert (decision.before_cents, decision.after_cents) == (before, before - 1001)
    reduced = db.scalars(select(AuditEvent.after).where(AuditEvent.action == "claim.reduced"))
    assert sum(int(a["by_cents"]) for a in reduced if a) == 1001  # the difference, to the cent
    _balanced(db, m)
    _blocks_ended(db, objection)
    document = db.get(Document, decision.document_id)
    assert document is not None and document.person_id == objection.person_id
    assert document.kind == "objection_decision" and document.content.startswith(b"%PDF")
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"objection.decided", "objection.decision_final", "claim.reduced"} <= actions
    with pytest.raises(IllegalTransition):
        decisions.decide(
            db, objection, kind=DecisionKind.REJECTED, reasons="x", day=DAY, actor="user:1"
        )
    with pytest.raises(IllegalTransition, match="Mahnsperre ist damit beendet"):
        service.decide_suspension(db, objection, grant=True, day=DAY, actor="user:1")
    twin = ObjectionDecision(
        municipality_id=m.id, objection_id=objection.id, kind=DecisionKind.REJECTED,
        status=DecisionStatus.FINAL, before_cents=before, after_cents=before, reasons="x",
        proposed_by="user:2",
    )  # fmt: skip
    savepoint = db.begin_nested()
    db.add(twin)
    with pytest.raises(IntegrityError):  # the database, too, keeps one live decision
        db.flush()
    savepoint.rollback()


def test_full_abhilfe_to_nothing_cancels_the_claims(db: Session, make: Any) -> None:
    m, _, notice, objection = _objection(db, make)
    decisions.decide(
        db, objection, kind=DecisionKind.GRANTED_FULL, after_cents=0,
        reasons="Keine Steuerpflicht.", day=DAY, actor="user:1",
    )  # fmt: skip
    assert decisions.standing_cents(db, notice) == 0
    assert decisions.notice_claims(db, notice) == []  # reduced to nothing: cancelled
    _balanced(db, m)


@pytest.mark.parametrize("kind", [DecisionKind.REJECTED, DecisionKind.WITHDRAWN])
def test_rejection_and_withdrawal_book_nothing(db: Session, make: Any, kind: DecisionKind) -> None:
    _, _, notice, objection = _objection(db, make)
    before = decisions.standing_cents(db, notice)
    decision = decisions.decide(
        db, objection, kind=kind, reasons="Die Satzung ist anzuwenden.", day=DAY, actor="user:1"
    )
    assert decision.status is DecisionStatus.FINAL and decision.document_id is not None
    assert decisions.standing_cents(db, notice) == before == decision.after_cents
    _blocks_ended(db, objection)


def test_invalid_decisions_are_refused_in_german(db: Session, make: Any) -> None:
    _, _, notice, objection = _objection(db, make, suspension=False)
    before = decisions.standing_cents(db, notice)
    for kind, after in [(DecisionKind.GRANTED_PARTIAL, before), (DecisionKind.GRANTED_FULL, -1)]:
        with pytest.raises(ValidationError, match="neue Betrag muss kleiner"):
            decisions.decide(
                db, objection, kind=kind, after_cents=after, reasons="x", day=DAY, actor="u"
            )
    with pytest.raises(ValidationError, match="neuen Betrag"):
        decisions.decide(db, objection, kind=DecisionKind.GRANTED_FULL, reasons="x", day=DAY,
                         actor="u")  # fmt: skip
    with pytest.raises(ValidationError, match="begründen"):
        decisions.decide(db, objection, kind=DecisionKind.REJECTED, reasons=" ", day=DAY,
                         actor="u")  # fmt: skip
    assert decisions.current(db, objection) is None


def test_abhilfe_with_a_refund_needs_a_second_person(db: Session, make: Any) -> None:
    m, person, notice, objection = _objection(db, make)
    before = decisions.standing_cents(db, notice)
    record_payment(
        db, person=person, amount_cents=before, received_on=DAY,
        channel=PaymentChannel.BANK_TRANSFER, as_of=DAY, actor="bank",
        kassenzeichen=notice.kassenzeichen,
    )  # fmt: skip
    clerk = make.user(role=Role.APPROVER, municipality=m)  # prepares: may not approve it too
    approver = make.user(role=Role.APPROVER, municipality=m)
    decision = decisions.decide(
        db, objection, kind=DecisionKind.GRANTED_PARTIAL, after_cents=before - 2500,
        reasons="Ermäßigung.", day=DAY, actor=_actor(clerk),
    )  # fmt: skip
    assert decision.status is DecisionStatus.PENDING and decision.review_reasons == ["Erstattung"]
    assert decision.refund_cents == 2500 and decision.document_id is None
    assert decisions.standing_cents(db, notice) == before  # nothing booked yet
    assert all(db.get(DunningBlock, i).ends_on is None for i in objection.block_ids)  # type: ignore[union-attr]
    with pytest.raises(AccessDenied, match="Vier-Augen"):
        decisions.approve(db, decision, day=DAY, actor=_actor(clerk))
    other_clerk = make.user(role=Role.CLERK, municipality=m)
    with pytest.raises(AccessDenied, match="Freigabe berechtigt"):
        decisions.approve(db, decision, day=DAY, actor=_actor(other_clerk))
    decisions.approve(db, decision, day=DAY, actor=_actor(approver))
    assert decision.status is DecisionStatus.FINAL and decision.approved_by == _actor(approver)
    assert decisions.standing_cents(db, notice) == before - 2500
    assert credit_balance(db, person) == 2500
    _balanced(db, m)
    _blocks_ended(db, objection)
    with pytest.raises(IllegalTransition):
        decisions.approve(db, decision, day=DAY, actor=_actor(approver))


def test_above_the_limit_waits_and_a_refused_proposal_reopens(db: Session, make: Any) -> None:
    m, _, notice, objection = _objection(db, make, objection_approval_above_euro=10)
    before = decisions.standing_cents(db, notice)
    clerk = make.user(role=Role.CLERK, municipality=m)
    approver = make.user(role=Role.APPROVER, municipality=m)
    small = decisions.decide(
        db, objection, kind=DecisionKind.GRANTED_FULL, after_cents=before - 1001,
        reasons="Ermäßigung.", day=DAY, actor=_actor(clerk),
    )  # fmt: skip
    assert small.status is DecisionStatus.PENDING
    assert small.review_reasons == ["Minderung über der Freigabegrenze von 10 €"]
    decisions.refuse(db, small, actor=_actor(approver))
    assert small.status is DecisionStatus.DISCARDED and decisions.current(db, objection) is None
    assert decisions.standing_cents(db, notice) == before
    again = decisions.decide(
        db, objection, kind=DecisionKind.GRANTED_PARTIAL, after_cents=before - 1000,
        reasons="Ermäßigung.", day=DAY, actor=_actor(clerk),
    )  # fmt: skip
    assert again.status is DecisionStatus.FINAL  # exactly 10 € is not above the limit
    assert decisions.standing_cents(db, notice) == before - 1000
