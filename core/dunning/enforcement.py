"""Hand-over to enforcement (Abgabe an die Vollstreckung), the case's status and its costs.

After the last dunning level's payment deadline has passed (core.dunning.procedure
.ready_for_enforcement) a hand-over makes one case per person with the claims ready for it,
the open dunning fees and surcharges booked for them, the dunning history and the debtor data
enforcement needs (name, postal address; the register keeps no date of birth, so none is
passed on — data minimisation). Never for claims blocked on the day (deferral, suspension,
insolvency, clerk's block) or in collection: core.dunning.selection.candidates leaves them out.
Idempotent: a claim already in an active case is left alone (and the database refuses it twice).

A case is *paid* once none of its claims is open any more: derived from the open items each time
the status is refreshed, no flag to set by hand. Written off: core.dunning.writeoffs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning import selection
from core.dunning.enforcement_costs import costs_on
from core.dunning.enforcement_models import (
    CaseClaimRole,
    CaseStatus,
    EnforcementCase,
    EnforcementClaim,
)
from core.dunning.models import DunningItem, DunningLetter, DunningRun
from core.dunning.procedure import procedure_on, ready_for_enforcement
from core.kernel import audit
from core.kernel.errors import IllegalTransition, NotFound
from core.ledger.balances import open_amounts
from core.ledger.claims import post_claim
from core.ledger.kinds import KINDS, ClaimKind
from core.ledger.models import Claim
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, serialize

LOCK = "enforcement"


@dataclass
class PlannedCase:
    """What a hand-over would give enforcement for one person."""

    person: Person
    claims: list[tuple[Claim, int, CaseClaimRole]] = field(default_factory=list)  # open cents
    letters: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open_cents(self) -> int:
        return sum(open_cents for _, open_cents, _ in self.claims)


def active_claim_ids(session: Session, municipality_id: int) -> set[int]:
    """Claims held by an active case of the municipality."""
    return set(
        session.scalars(
            select(EnforcementClaim.claim_id)
            .join(EnforcementCase, EnforcementCase.id == EnforcementClaim.case_id)
            .where(
                EnforcementCase.municipality_id == municipality_id,
                EnforcementClaim.active.is_(True),
            )
        )
    )


def plan(session: Session, municipality: Municipality, as_of: date) -> list[PlannedCase]:
    """The cases a hand-over on ``as_of`` would make, per person; nothing written."""
    rules = procedure_on(session, municipality.id, as_of)
    taken = active_claim_ids(session, municipality.id)
    open_due = {
        c.claim.id: c
        for c in selection.candidates(session, municipality.id, as_of)
        if c.claim.id not in taken
    }
    ready = [
        c
        for c in open_due.values()
        if ready_for_enforcement(rules, c.dunning, as_of, municipality.state)
    ]
    history = _history(session, [c.claim.id for c in ready])
    persons = persons_by_id(session, {c.claim.person_id for c in ready})
    cases: dict[int, PlannedCase] = {}
    for candidate in ready:
        person_id = candidate.claim.person_id
        if person_id not in cases:
            cases[person_id] = PlannedCase(persons[person_id])
        cases[person_id].claims.append((candidate.claim, candidate.open_cents, CaseClaimRole.MAIN))
    for person_id, case in cases.items():
        main = {claim.id for claim, _, _ in case.claims}
        letters = [lt for lt in history.letters if lt["claim_ids"] & main]
        case.letters = [_letter_data(lt) for lt in letters]
        for claim_id in sorted({a for lt in letters for a in lt["ancillary"]}):
            found = open_due.get(claim_id)
            if found is not None and found.claim.person_id == person_id:
                case.claims.append((found.claim, found.open_cents, CaseClaimRole.ANCILLARY))
    return [cases[person_id] for person_id in sorted(cases)]


@dataclass
class _History:
    letters: list[dict[str, Any]]


def _history(session: Session, claim_ids: list[int]) -> _History:
    """The booked letters that dunned these claims, with the fee and surcharge claims booked."""
    found: dict[int, dict[str, Any]] = {}
    for part in selection.chunks(sorted(claim_ids)):
        rows = session.execute(
            select(DunningLetter, DunningRun.run_date, DunningItem)
            .join(DunningItem, DunningItem.letter_id == DunningLetter.id)
            .join(DunningRun, DunningRun.id == DunningLetter.run_id)
            .where(DunningItem.claim_id.in_(part), DunningItem.booked.is_(True))
        )
        for letter, sent_on, item in rows:
            entry = found.setdefault(
                letter.id,
                {"letter": letter, "sent_on": sent_on, "claim_ids": set(), "ancillary": set()},
            )
            entry["claim_ids"].add(item.claim_id)
            if letter.fee_claim_id:
                entry["ancillary"].add(letter.fee_claim_id)
            if item.surcharge_claim_id:
                entry["ancillary"].add(item.surcharge_claim_id)
    letters = sorted(found.values(), key=lambda e: (e["sent_on"], e["letter"].level))
    return _History(letters)


def _letter_data(entry: dict[str, Any]) -> dict[str, Any]:
    letter: DunningLetter = entry["letter"]
    return {
        "level": letter.level,
        "level_name": letter.level_name,
        "sent_on": entry["sent_on"].isoformat(),
        "delivered_on": letter.delivered_on.isoformat(),
        "payment_deadline": letter.payment_deadline.isoformat(),
        "fee_cents": letter.fee_cents,
        "surcharge_cents": letter.surcharge_cents,
        "claim_ids": sorted(entry["claim_ids"]),
    }


def hand_over(
    session: Session, municipality: Municipality, as_of: date, actor: str
) -> list[EnforcementCase]:
    """Make the cases :func:`plan` shows (under the municipality's ``enforcement`` lock)."""
    serialize(session, municipality.id, LOCK)
    refresh_open_cases(session, municipality.id, as_of)
    made = []
    for planned in plan(session, municipality, as_of):
        case = EnforcementCase(
            municipality_id=municipality.id,
            person_id=planned.person.id,
            status=CaseStatus.HANDED_OVER,
            handed_over_on=as_of,
            handed_over_cents=planned.open_cents,
            file_data=file_data(planned, municipality, as_of),
            created_by=actor,
        )
        session.add(case)
        session.flush()
        for claim, open_cents, role in planned.claims:
            session.add(
                EnforcementClaim(
                    case_id=case.id, claim_id=claim.id, role=role, open_cents=open_cents
                )
            )
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="enforcement_case.handed_over",
            obj=case,
            municipality_id=municipality.id,
            after={
                "person_id": case.person_id,
                "claims": [claim.id for claim, _, _ in planned.claims],
                "open_cents": case.handed_over_cents,
            },
        )
        made.append(case)
    return made


def debtor_data(person: Person, day: date) -> dict[str, Any]:
    """Only what enforcement needs to find the debtor: name and postal address."""
    address = person.address_on(day)
    return {
        "number": person.number,
        "name": person.display_name,
        "kind": person.kind.value,
        "street": f"{address.street} {address.house_number}".strip() if address else "",
        "postal_code": address.postal_code if address else "",
        "city": address.city if address else "",
        "country": address.country if address else "",
    }


def file_data(planned: PlannedCase, municipality: Municipality, as_of: date) -> dict[str, Any]:
    claims: list[dict[str, Any]] = [
        {
            "claim_id": claim.id,
            "kassenzeichen": claim.kassenzeichen,
            "kind": claim.kind.value,
            "kind_label": KINDS[claim.kind].label,
            "description": claim.description,
            "due_date": claim.due_date.isoformat(),
            "amount_cents": claim.amount_cents,
            "open_cents": open_cents,
            "role": role.value,
        }
        for claim, open_cents, role in planned.claims
    ]
    surcharges = sum(
        open_cents
        for claim, open_cents, _ in planned.claims
        if claim.kind is ClaimKind.LATE_PAYMENT_SURCHARGE
    )
    return {
        "municipality": {"name": municipality.name, "office": municipality.cash_office_name},
        "handed_over_on": as_of.isoformat(),
        "debtor": debtor_data(planned.person, as_of),
        "claims": claims,
        "letters": planned.letters,
        "open_cents": planned.open_cents,
        "surcharge_cents": surcharges,
    }


def case_claims(session: Session, case: EnforcementCase) -> list[tuple[EnforcementClaim, Claim]]:
    rows = session.execute(
        select(EnforcementClaim, Claim)
        .join(Claim, Claim.id == EnforcementClaim.claim_id)
        .where(EnforcementClaim.case_id == case.id)
        .order_by(EnforcementClaim.id)
    )
    return [(link, claim) for link, claim in rows]


def open_of(session: Session, case: EnforcementCase) -> dict[int, int]:
    """What is open now of each claim of the case."""
    return open_amounts(session, [claim for _, claim in case_claims(session, case)])


def refresh_status(session: Session, case: EnforcementCase, on: date, actor: str) -> bool:
    """Mark a handed-over or niedergeschlagen case paid once none of its claims is open."""
    if case.status is CaseStatus.PAID:
        return False
    links = case_claims(session, case)
    active = [(link, claim) for link, claim in links if link.active]
    if not active:
        return False
    still_open = open_amounts(session, [claim for _, claim in active])
    if any(still_open.get(claim.id, 0) > 0 for _, claim in active):
        return False
    before = case.status.value
    case.status, case.closed_on = CaseStatus.PAID, on
    for link, _ in active:
        link.active = False
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="enforcement_case.paid",
        obj=case,
        municipality_id=case.municipality_id,
        before={"status": before},
        after={"status": case.status.value, "closed_on": on.isoformat()},
    )
    return True


def refresh_open_cases(session: Session, municipality_id: int, on: date) -> int:
    """Refresh every case still holding claims; returns how many became paid."""
    cases = session.scalars(
        select(EnforcementCase).where(
            EnforcementCase.municipality_id == municipality_id,
            EnforcementCase.status != CaseStatus.PAID,
        )
    )
    return sum(refresh_status(session, case, on, "system:enforcement") for case in list(cases))


def book_cost(session: Session, case: EnforcementCase, code: str, *, on: date, actor: str) -> Claim:
    """Book an enforcement cost (statute data in force on ``on``) as a claim of the debtor,
    under the Kassenzeichen of the case's first claim, and add it to the case."""
    if case.status is not CaseStatus.HANDED_OVER:
        raise IllegalTransition(
            f"Vollstreckungsfall Nr. {case.id} ist {case.status_label}; "
            "Kosten lassen sich nur in einem laufenden Fall buchen."
        )
    cost = costs_on(session, case.municipality_id, on).cost(code)
    links = case_claims(session, case)
    person = session.get_one(Person, case.person_id)
    claim = post_claim(
        session,
        person=person,
        municipality=session.get_one(Municipality, case.municipality_id),
        kind=ClaimKind.ENFORCEMENT_COSTS,
        amount_cents=cost.amount_cents,
        due_date=on,
        description=f"{cost.name} (Vollstreckungsfall Nr. {case.id})",
        as_of=on,
        actor=actor,
        kassenzeichen=links[0][1].kassenzeichen if links else None,
    )
    session.add(
        EnforcementClaim(
            case_id=case.id,
            claim_id=claim.id,
            role=CaseClaimRole.COSTS,
            open_cents=cost.amount_cents,
        )
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="enforcement_case.cost_booked",
        obj=case,
        municipality_id=case.municipality_id,
        after={"code": code, "amount_cents": cost.amount_cents, "claim_id": claim.id},
    )
    return claim


def get_case(session: Session, municipality_id: int, case_id: int) -> EnforcementCase:
    case = session.get(EnforcementCase, case_id)
    if case is None or case.municipality_id != municipality_id:
        raise NotFound(f"Vollstreckungsfall Nr. {case_id} gibt es hier nicht.")
    return case


def cases_of(
    session: Session, municipality_id: int, status: CaseStatus | None = None
) -> list[EnforcementCase]:
    query = select(EnforcementCase).where(EnforcementCase.municipality_id == municipality_id)
    if status is not None:
        query = query.where(EnforcementCase.status == status)
    return list(session.scalars(query.order_by(EnforcementCase.id.desc())))


def persons_of(session: Session, cases: list[EnforcementCase]) -> dict[int, Person]:
    return persons_by_id(session, {case.person_id for case in cases})


def persons_by_id(session: Session, person_ids: set[int]) -> dict[int, Person]:
    found: dict[int, Person] = {}
    for part in selection.chunks(sorted(person_ids)):
        found.update({p.id: p for p in session.scalars(select(Person).where(Person.id.in_(part)))})
    return dict(found)
