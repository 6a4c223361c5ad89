"""Receiving an objection from the citizen's account and the clerk's decision on suspension.

Whether a levy's notices can be objected to is statute data: the flag ``objection`` of the
levy's statute (default True). Some Länder abolished the Widerspruchsverfahren for these
notices: in North Rhine-Westphalia § 110 (1) JustG NRW (with § 68 (1) Satz 2 VwGO) — the
remedy there is a suit at the Verwaltungsgericht (the demo's Rechtsbehelfsbelehrung in
core/demo/statutes.py and core/demo/realtax.py), so its statutes say ``"objection": false``.

A request for suspension of enforcement (Aussetzung der Vollziehung, § 361 AO / § 80 (4) VwGO)
blocks dunning of the notice's open claims (core.dunning.blocks, reason "suspension") from the
day received until the clerk decides: granted keeps the blocks, refused ends them that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.delivery.models import Delivery
from core.delivery.service import local_day
from core.dunning import blocks
from core.dunning.models import BlockReason, DunningBlock
from core.kernel import audit, clock
from core.kernel.db import get_scoped
from core.kernel.errors import IllegalTransition, NotFound, ValidationError
from core.ledger.models import Claim
from core.notices.records import Notice
from core.objections.deadline import objection_deadline
from core.objections.models import (
    DecisionStatus,
    Objection,
    ObjectionDecision,
    SuspensionDecision,
)
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import statute_on

MAX_REASONS = 5000


def objection_allowed(session: Session, notice: Notice) -> bool:
    """The levy's statute in force on the notice's date decides (``objection``, default True)."""
    try:
        statute = statute_on(session, notice.municipality_id, notice.levy, notice.issued_on)
    except NotFound:
        return True
    return bool(statute.data.get("objection", True))


def deemed_on(session: Session, notice: Notice) -> date | None:
    """The notice's deemed delivery date (Bekanntgabe), None while there is none yet."""
    return session.scalar(select(Delivery.deemed_on).where(Delivery.notice_id == notice.id))


@dataclass(frozen=True)
class Period:
    deemed_on: date | None
    deadline: date | None


def period_of(session: Session, notice: Notice, land: str) -> Period:
    made_known = deemed_on(session, notice)
    return Period(made_known, objection_deadline(made_known, land) if made_known else None)


def _claims(session: Session, notice: Notice) -> list[Claim]:
    return list(
        session.scalars(
            select(Claim)
            .where(
                Claim.municipality_id == notice.municipality_id,
                Claim.person_id == notice.person_id,
                Claim.kassenzeichen == notice.kassenzeichen,
                Claim.cancelled_by_entry_id.is_(None),
            )
            .order_by(Claim.id)
        )
    )


def _suspend(
    session: Session, objection: Objection, notice: Notice, person: Person, actor: str
) -> list[int]:
    """Block dunning of the notice's claims from the day received until the clerk decides."""
    return [
        blocks.add_block(
            session,
            person=person,
            claim=claim,
            reason=BlockReason.SUSPENSION,
            starts_on=local_day(objection.received_at),
            actor=actor,
            note=f"Antrag auf Aussetzung der Vollziehung mit Widerspruch Nr. {objection.id}",
        ).id
        for claim in _claims(session, notice)
    ]


def lodge(
    session: Session,
    *,
    municipality: Municipality,
    person: Person,
    notice: Notice,
    reasons: str,
    suspension: bool,
    actor: str,
    document_id: int | None = None,
    now: datetime | None = None,
) -> Objection:
    """Record an objection received ``now``; a late one is received too, marked ``late``."""
    if notice.person_id != person.id or notice.municipality_id != municipality.id:
        raise NotFound("Dieser Bescheid wurde nicht gefunden.")
    if not objection_allowed(session, notice):
        raise ValidationError("Gegen diesen Bescheid ist kein Widerspruch möglich, nur Klage.")
    text = (reasons or "").strip()
    if not text:
        raise ValidationError("Bitte begründen Sie Ihren Widerspruch.")
    received = now or clock.now()
    period = period_of(session, notice, municipality.state)
    objection = Objection(
        municipality_id=municipality.id,
        person_id=person.id,
        notice_id=notice.id,
        received_at=received,
        deemed_on=period.deemed_on,
        deadline=period.deadline,
        late=period.deadline is not None and local_day(received) > period.deadline,
        reasons=text[:MAX_REASONS],
        document_id=document_id,
        suspension=SuspensionDecision.OPEN if suspension else SuspensionDecision.NONE,
        block_ids=[],
    )
    session.add(objection)
    session.flush()
    if suspension:
        objection.block_ids = _suspend(session, objection, notice, person, actor)
    audit.record(
        session,
        actor=actor,
        action="objection.received",
        obj=objection,
        municipality_id=municipality.id,
        after={
            "notice_id": notice.id,
            "deadline": period.deadline.isoformat() if period.deadline else None,
            "late": objection.late,
            "suspension": objection.suspension.value,
            "blocks": list(objection.block_ids),
        },
    )
    session.flush()
    return objection


def decide_suspension(
    session: Session, objection: Objection, *, grant: bool, day: date, actor: str, note: str = ""
) -> None:
    """Grant (the blocks stay) or refuse (the blocks end on ``day``) the suspension requested."""
    if objection.suspension is not SuspensionDecision.OPEN:
        raise IllegalTransition("Über die Aussetzung der Vollziehung ist schon entschieden.")
    if objection_decided(session, objection):
        raise IllegalTransition(
            "Über den Widerspruch ist entschieden; die Mahnsperre ist damit beendet."
        )
    if not grant:
        for block_id in objection.block_ids:
            block = session.get(DunningBlock, block_id)
            if block is not None and (block.ends_on is None or block.ends_on > day):
                blocks.end_block(session, block, last_day=max(day, block.starts_on), actor=actor)
    objection.suspension = SuspensionDecision.GRANTED if grant else SuspensionDecision.REFUSED
    objection.decided_by, objection.decided_on = actor, day
    objection.decision_note = note.strip()[:500]
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="objection.suspension_decided",
        obj=objection,
        municipality_id=objection.municipality_id,
        before={"suspension": SuspensionDecision.OPEN.value},
        after={"suspension": objection.suspension.value, "on": day.isoformat()},
    )


def objection_decided(session: Session, objection: Objection) -> bool:
    """Whether the objection itself is decided for good (core.objections.decisions)."""
    return (
        session.scalar(
            select(ObjectionDecision.id).where(
                ObjectionDecision.objection_id == objection.id,
                ObjectionDecision.status == DecisionStatus.FINAL,
            )
        )
        is not None
    )


def get_objection(session: Session, municipality_id: int, objection_id: int) -> Objection:
    return get_scoped(
        session,
        Objection,
        municipality_id,
        objection_id,
        not_found="Dieser Widerspruch wurde nicht gefunden.",
    )


def objections_of_municipality(session: Session, municipality_id: int) -> list[Objection]:
    return list(
        session.scalars(
            select(Objection)
            .where(Objection.municipality_id == municipality_id)
            .order_by(Objection.received_at.desc(), Objection.id.desc())
        )
    )


def objections_of_notice(session: Session, notice: Notice) -> list[Objection]:
    return list(
        session.scalars(
            select(Objection)
            .where(Objection.notice_id == notice.id, Objection.person_id == notice.person_id)
            .order_by(Objection.id)
        )
    )
