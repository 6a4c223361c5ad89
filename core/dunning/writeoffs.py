"""Write-offs of an enforcement case, always with four eyes: one clerk requests, another decides.

* Niederschlagung (§ 261 AO): collection would fail or cost more than it brings; enforcement
  stops, the claims stay as they are (no posting) and stay with the case, so a later hand-over
  does not pick them up again; a payment still settles them (the case then counts as paid).
* Erlass (§ 227 AO): collecting would be inequitable; the claims' open amounts are extinguished
  by a balanced reduction (core.ledger.claims.reduce_claim: revenue debited, receivable
  credited), so nothing stays open.

The core refuses the requester as approver, and anyone without the approver role (as for
refunds); every step leaves an audit entry.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning.enforcement import case_claims
from core.dunning.enforcement_models import (
    WRITE_OFF_LABELS,
    CaseStatus,
    EnforcementCase,
    WriteOff,
    WriteOffKind,
    WriteOffState,
)
from core.identity.models import Role
from core.kernel import audit, clock
from core.kernel.errors import IllegalTransition, NotFound, ValidationError
from core.ledger.balances import open_amounts
from core.ledger.claims import reduce_claim

MIN_REASON = 10  # a decision on record needs its grounds


def pending(session: Session, case: EnforcementCase) -> WriteOff | None:
    return session.scalars(
        select(WriteOff).where(
            WriteOff.case_id == case.id, WriteOff.state == WriteOffState.REQUESTED
        )
    ).first()


def write_offs_of(session: Session, case: EnforcementCase) -> list[WriteOff]:
    return list(
        session.scalars(
            select(WriteOff).where(WriteOff.case_id == case.id).order_by(WriteOff.id.desc())
        )
    )


def request(
    session: Session, case: EnforcementCase, kind: WriteOffKind, *, reason: str, actor: str
) -> WriteOff:
    """Ask for a write-off of the case (one request open at a time)."""
    if case.status is not CaseStatus.HANDED_OVER:
        raise IllegalTransition(
            f"Vollstreckungsfall Nr. {case.id} ist {case.status_label}; "
            "abschreiben lässt sich nur ein laufender Fall."
        )
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise ValidationError("Bitte die Gründe der Abschreibung angeben (mindestens 10 Zeichen).")
    if pending(session, case) is not None:
        raise IllegalTransition("Für diesen Fall ist bereits eine Abschreibung beantragt.")
    write_off = WriteOff(
        municipality_id=case.municipality_id,
        case_id=case.id,
        kind=WriteOffKind(kind),
        state=WriteOffState.REQUESTED,
        reason=reason[:500],
        requested_by=actor,
    )
    session.add(write_off)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="enforcement_write_off.requested",
        obj=write_off,
        municipality_id=case.municipality_id,
        after={"case_id": case.id, "kind": write_off.kind.value, "reason": write_off.reason},
    )
    return write_off


DECIDERS = (Role.APPROVER, Role.ADMIN)


def _decidable(write_off: WriteOff, actor: str, role: Role, verb: str) -> None:
    if role not in DECIDERS:
        raise ValidationError(
            f"Eine Abschreibung {verb} nur, wer zur Freigabe berechtigt ist (Rolle „Freigabe“)."
        )
    if write_off.state is not WriteOffState.REQUESTED:
        raise IllegalTransition(f"Diese Abschreibung ist bereits {write_off.state_label}.")
    if actor == write_off.requested_by:
        raise ValidationError(
            f"Vier-Augen-Prinzip: Wer die {WRITE_OFF_LABELS[write_off.kind]} beantragt hat, "
            f"darf sie nicht selbst {verb}."
        )


def approve(session: Session, write_off: WriteOff, *, on: date, actor: str, role: Role) -> int:
    """The second clerk's approval (an approver); carries the write-off out. Returns the cents
    written off."""
    _decidable(write_off, actor, role, "genehmigen")
    case = session.get_one(EnforcementCase, write_off.case_id)
    if case.status is not CaseStatus.HANDED_OVER:
        raise IllegalTransition(f"Vollstreckungsfall Nr. {case.id} ist {case.status_label}.")
    links = [(link, claim) for link, claim in case_claims(session, case) if link.active]
    still_open = open_amounts(session, [claim for _, claim in links])
    total = sum(still_open.get(claim.id, 0) for _, claim in links)
    if write_off.kind is WriteOffKind.REMISSION:
        for link, claim in links:
            amount = still_open.get(claim.id, 0)
            if amount > 0:
                reduce_claim(
                    session, claim, amount, as_of=on, actor=actor,
                    reason=f"Erlass § 227 AO (Vollstreckungsfall Nr. {case.id})",
                )  # fmt: skip
            link.active = False
    write_off.state, write_off.decided_by = WriteOffState.APPROVED, actor
    write_off.decided_at, write_off.decided_on = clock.now(), on
    write_off.written_off_cents = total
    case.status, case.closed_on = CaseStatus.WRITTEN_OFF, on
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="enforcement_write_off.approved",
        obj=write_off,
        municipality_id=case.municipality_id,
        after={"case_id": case.id, "kind": write_off.kind.value, "cents": total},
    )
    return total


def reject(session: Session, write_off: WriteOff, *, actor: str, role: Role) -> None:
    """The second clerk (an approver) turns the request down; the case goes on."""
    _decidable(write_off, actor, role, "ablehnen")
    write_off.state, write_off.decided_by = WriteOffState.REJECTED, actor
    write_off.decided_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="enforcement_write_off.rejected",
        obj=write_off,
        municipality_id=write_off.municipality_id,
        after={"case_id": write_off.case_id},
    )


def get_write_off(session: Session, case: EnforcementCase, write_off_id: int) -> WriteOff:
    found = session.get(WriteOff, write_off_id)
    if found is None or found.case_id != case.id:
        raise NotFound(f"Abschreibung Nr. {write_off_id} gibt es in diesem Fall nicht.")
    return found
