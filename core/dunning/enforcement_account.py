"""What the citizen's account shows of enforcement (Vollstreckung): per claim of a case the
case's status as the citizen may know it.

* handed over: "in Vollstreckung – an die Vollstreckung abgegeben am …";
* Niederschlagung (§ 261 AO) is an internal decision of the cash office: collection is paused
  but the claim stays owed and may be enforced again, so the citizen sees the case exactly as
  handed over ("in Vollstreckung"), never that it was niedergeschlagen;
* Erlass (§ 227 AO) extinguishes the claim and is made known to the debtor: "erlassen am …";
* paid: "bezahlt am …" (the day the case was found paid).

A claim that was in more than one case shows its latest. Only the person's own cases of this
municipality are read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from core.dunning.enforcement_models import (
    CaseStatus,
    EnforcementCase,
    EnforcementClaim,
    WriteOff,
    WriteOffKind,
    WriteOffState,
)
from core.ledger.kinds import KINDS
from core.ledger.models import Claim


@dataclass(frozen=True)
class EnforcedClaim:
    """One claim of a case as the account lists it."""

    claim_id: int
    label: str  # the claim kind's German name
    description: str
    kassenzeichen: str
    status: str  # German, short: "in Vollstreckung", "bezahlt", "erlassen"
    detail: str  # German, with the days


def _state(
    status: CaseStatus, handed_over: date, closed: date | None, remitted: date | None
) -> tuple[str, str]:
    handed = f"an die Vollstreckung abgegeben am {handed_over:%d.%m.%Y}"
    if status is CaseStatus.PAID and closed is not None:
        return "bezahlt", f"{handed}, bezahlt am {closed:%d.%m.%Y}"
    if status is CaseStatus.WRITTEN_OFF and remitted is not None:
        return "erlassen", f"{handed}, erlassen am {remitted:%d.%m.%Y}"
    return "in Vollstreckung", handed  # handed over, or niedergeschlagen (internal)


def claims_in_enforcement(
    session: Session, municipality_id: int, person_id: int
) -> list[EnforcedClaim]:
    """The claims of the person's enforcement cases with the status the account shows, in
    the order of their cases and due dates; an erlassen claim too (it is cancelled, so the
    account's list of items no longer shows it)."""
    remission = and_(
        WriteOff.case_id == EnforcementCase.id,
        WriteOff.kind == WriteOffKind.REMISSION,
        WriteOff.state == WriteOffState.APPROVED,
    )
    rows = session.execute(
        select(
            Claim,
            EnforcementCase.status,
            EnforcementCase.handed_over_on,
            EnforcementCase.closed_on,
            WriteOff.decided_on,
        )
        .join(EnforcementClaim, EnforcementClaim.claim_id == Claim.id)
        .join(EnforcementCase, EnforcementCase.id == EnforcementClaim.case_id)
        .outerjoin(WriteOff, remission)
        .where(
            EnforcementCase.municipality_id == municipality_id,
            EnforcementCase.person_id == person_id,
            Claim.person_id == person_id,
        )
        .order_by(EnforcementCase.id, Claim.due_date, Claim.id)
    )
    latest: dict[int, EnforcedClaim] = {}
    for claim, status, handed_over, closed, remitted in rows:
        latest.pop(claim.id, None)  # a later case of the claim goes to the end
        text, detail = _state(status, handed_over, closed, remitted)
        latest[claim.id] = EnforcedClaim(
            claim.id, KINDS[claim.kind].label, claim.description, claim.kassenzeichen, text, detail
        )
    return list(latest.values())
