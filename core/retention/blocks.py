"""What keeps a person's records past their period (§ 147 (3) sentence 5 AO, Art. 17 (3)
lit. b, e DSGVO): an open claim or a credit, an enforcement case still with the bailiff, an
objection not decided, an instalment plan that runs, a legal hold (Löschsperre) — and legal
holds of single documents. Each found as one query over many persons (the preview of a large
town asks for thousands)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.dunning.enforcement_models import CaseStatus, EnforcementCase
from core.dunning.instalment_models import InstalmentPlan, PlanState
from core.kernel import audit
from core.kernel.archive import get_document
from core.kernel.errors import ValidationError
from core.ledger.balances import claim_totals
from core.ledger.bulk import with_credit
from core.ledger.models import Claim
from core.objections.models import Objection
from core.payments.sepa.models import Mandate, MandateStatus
from core.persons.models import Person
from core.retention.models import LegalHold

CHUNK = 900  # ids per IN (SQLite allows 999 parameters)


def _chunks(ids: Collection[int]) -> Iterable[list[int]]:
    items = sorted(ids)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _add(found: dict[int, list[str]], person_id: int, reason: str) -> None:
    reasons = found.setdefault(person_id, [])
    if reason not in reasons:
        reasons.append(reason)


def person_blocks(
    session: Session, municipality_id: int, person_ids: Collection[int], as_of: date
) -> dict[int, list[str]]:
    """Per blocked person the German reasons (persons without a block are left out)."""
    found: dict[int, list[str]] = {}
    for part in _chunks(person_ids):
        claims = select(Claim.id).where(Claim.person_id.in_(part))
        totals = claim_totals(claims)
        for (person_id,) in session.execute(
            select(Claim.person_id)
            .join(totals, totals.c.claim_id == Claim.id)
            .where(totals.c.open != 0)
        ):
            _add(found, person_id, "offene Forderung")
        for (person_id,) in session.execute(
            select(EnforcementCase.person_id).where(
                EnforcementCase.person_id.in_(part),
                EnforcementCase.status == CaseStatus.HANDED_OVER,
            )
        ):
            _add(found, person_id, "Vollstreckungsverfahren läuft")
        for (person_id,) in session.execute(
            select(Objection.person_id).where(
                Objection.person_id.in_(part), Objection.decided_on.is_(None)
            )
        ):
            _add(found, person_id, "Widerspruch nicht entschieden")
        for (person_id,) in session.execute(
            select(InstalmentPlan.person_id).where(
                InstalmentPlan.person_id.in_(part), InstalmentPlan.state == PlanState.ACTIVE
            )
        ):
            _add(found, person_id, "Ratenzahlung läuft")
        for (person_id,) in session.execute(
            select(Mandate.person_id).where(
                Mandate.person_id.in_(part), Mandate.status == MandateStatus.ACTIVE
            )
        ):
            _add(found, person_id, "SEPA-Mandat aktiv")
        for hold in _holds(session, LegalHold.person_id.in_(part), as_of):
            if hold.person_id is not None:
                _add(found, hold.person_id, f"Löschsperre: {hold.reason}")
        for person_id in with_credit(session, [pid for pid in part if pid not in found]):
            _add(found, person_id, "Guthaben nicht erstattet")
    return found


def document_holds(session: Session, document_ids: Collection[int], as_of: date) -> dict[int, str]:
    """Per document under a legal hold of its own the German reason."""
    found: dict[int, str] = {}
    for part in _chunks(document_ids):
        for hold in _holds(session, LegalHold.document_id.in_(part), as_of):
            if hold.document_id is not None:
                found.setdefault(hold.document_id, f"Löschsperre: {hold.reason}")
    return found


def _holds(session: Session, condition: object, as_of: date) -> list[LegalHold]:
    return list(
        session.scalars(
            select(LegalHold).where(
                condition,  # type: ignore[arg-type]
                LegalHold.starts_on <= as_of,
                or_(LegalHold.ends_on.is_(None), LegalHold.ends_on >= as_of),
            )
        )
    )


def place_hold(
    session: Session,
    municipality_id: int,
    *,
    person_number: int | None,
    document_id: int | None,
    reason: str,
    starts_on: date,
    ends_on: date | None,
    actor: str,
) -> LegalHold:
    """A clerk's Löschsperre of a person (by person number) or of one document."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("Bitte geben Sie den Grund der Löschsperre an.")
    if (person_number is None) == (document_id is None):
        raise ValidationError("Bitte geben Sie entweder eine Personennummer oder ein Dokument an.")
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError("Das Ende der Löschsperre darf nicht vor ihrem Beginn liegen.")
    person_id = None
    if person_number is not None:
        person_id = _person_id(session, municipality_id, person_number)
    if document_id is not None:
        get_document(session, municipality_id, document_id)
    hold = LegalHold(
        municipality_id=municipality_id,
        person_id=person_id,
        document_id=document_id,
        reason=reason[:300],
        starts_on=starts_on,
        ends_on=ends_on,
        created_by=actor,
    )
    session.add(hold)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="legal_hold.placed",
        obj=hold,
        municipality_id=municipality_id,
        after={
            "person_id": person_id,
            "document_id": document_id,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat() if ends_on else None,
        },
    )
    return hold


def _person_id(session: Session, municipality_id: int, number: int) -> int:
    found = session.scalar(
        select(Person.id).where(Person.municipality_id == municipality_id, Person.number == number)
    )
    if found is None:
        raise ValidationError(f"Eine Person mit der Nummer {number} gibt es hier nicht.")
    return int(found)


def end_hold(session: Session, hold: LegalHold, day: date, actor: str) -> None:
    """End a hold on ``day`` (it stays as history)."""
    if hold.ends_on is not None and hold.ends_on <= day:
        raise ValidationError("Diese Löschsperre ist bereits beendet.")
    if day < hold.starts_on:
        raise ValidationError("Eine Löschsperre endet nicht vor ihrem Beginn.")
    hold.ends_on, hold.ended_by = day, actor
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="legal_hold.ended",
        obj=hold,
        municipality_id=hold.municipality_id,
        after={"ends_on": day.isoformat()},
    )


def holds_of(session: Session, municipality_id: int, limit: int = 200) -> list[LegalHold]:
    return list(
        session.scalars(
            select(LegalHold)
            .where(LegalHold.municipality_id == municipality_id)
            .order_by(LegalHold.id.desc())
            .limit(limit)
        )
    )
