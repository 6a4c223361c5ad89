"""Deferral and instalment plans requested online (Stundung, Ratenzahlung; § 222 AO).

The request is an application of the one pipeline (core.workflow.pipeline): the statute's
limits (core.dunning.instalment_rules) decide whether it goes straight through or to a clerk
(the review criterion "over_limit" raises the flag). An accepted request becomes a plan: a
DEFERRAL block per covered claim (they are not dunned while the plan runs), the interest
(§ 234 AO) booked as its own ancillary claim, and the instalments. What reaches the covered
claims counts towards the instalments in order (:func:`progress`); :func:`check_plans` ends a
paid plan (blocks end) and a plan with an instalment more than ``late_days`` late (blocks end:
the whole rest is due and dunned again).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning.blocks import add_block, blocked_on, end_block
from core.dunning.instalment_models import Instalment, InstalmentPlan, PlanClaim, PlanState
from core.dunning.instalment_progress import progress
from core.dunning.instalment_rules import over_limit, rules_on, schedule
from core.dunning.models import BlockReason, DunningBlock
from core.kernel import audit
from core.kernel.errors import FieldErrors, ValidationError
from core.kernel.money import format_euro
from core.ledger.balances import open_amounts
from core.ledger.claims import post_claim
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.payments.sepa.debit_outlook import collecting
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from core.workflow.applications import Application
from core.workflow.criteria import CriterionSpec
from core.workflow.pipeline import Approved, CarriedOut, OnlineService, Submission

SERVICE_INSTALMENTS = "instalment_plan"
MAX_REASON = 1000


def eligible_claims(session: Session, person: Person, day: date) -> list[tuple[Claim, int]]:
    """The person's own open, not cancelled claims that no block (a running plan's included)
    holds on ``day`` and no direct debit collects (announced, or with the bank), with their
    open amounts, oldest first."""
    claims = list(
        session.scalars(
            select(Claim)
            .where(
                Claim.person_id == person.id,
                Claim.municipality_id == person.municipality_id,
                Claim.cancelled_by_entry_id.is_(None),
            )
            .order_by(Claim.due_date, Claim.id)
        )
    )
    persons, blocked = blocked_on(session, person.municipality_id, day)
    if person.id in persons:
        return []
    amounts = open_amounts(session, claims)
    candidates = [c for c in claims if amounts[c.id] > 0 and c.id not in blocked]
    collected = collecting(session, candidates, as_of=day) if candidates else {}
    return [(c, amounts[c.id]) for c in candidates if c.id not in collected]


def _chosen(
    session: Session, person: Person, claim_ids: Sequence[int], day: date
) -> list[tuple[Claim, int]]:
    eligible = {c.id: (c, o) for c, o in eligible_claims(session, person, day)}
    if not claim_ids:
        raise FieldErrors({"claims": "Bitte wählen Sie mindestens einen offenen Betrag aus."})
    if any(cid not in eligible for cid in claim_ids):
        # Another person's claim, a paid one, or one already in a plan: never said which.
        raise FieldErrors(
            {"claims": "Mindestens einer der gewählten Beträge kann nicht gestundet werden."}
        )
    return [eligible[cid] for cid in sorted(set(claim_ids))]


def submit_request(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    claim_ids: Sequence[int],
    dates: Sequence[date],
    reason: str,
    as_of: date,
    actor: str,
    proof_document_id: int | None = None,
) -> Application:
    """Record the request; straight through within the statute's limits, else to a clerk.
    Raises FieldErrors (``claims``, ``dates``, ``reason``) before anything is saved."""
    chosen = _chosen(session, person, claim_ids, as_of)
    text = " ".join(reason.split())
    if not text:
        raise FieldErrors({"reason": "Bitte begründen Sie Ihren Antrag."})
    if len(text) > MAX_REASON:
        raise FieldErrors({"reason": f"Bitte höchstens {MAX_REASON} Zeichen."})
    rules = rules_on(session, municipality.id, as_of)
    deferred = sum(o for _, o in chosen)
    try:
        plan = schedule(rules, deferred, dates, as_of)
    except ValidationError as exc:
        raise FieldErrors({"dates": exc.message}) from exc
    why = over_limit(rules, deferred, plan.dates[-1], as_of)
    submission = Submission(
        data={
            "claim_ids": [c.id for c, _ in chosen],
            "claims": "; ".join(f"{c.description} ({c.kassenzeichen})" for c, _ in chosen),
            "due_dates": [d.isoformat() for d in plan.dates],
            "schedule": _describe(plan.dates, plan.amounts),
            "deferred": format_euro(deferred),
            "reason": text,
            "proof_document_id": proof_document_id,
        },
        subject_id=person.id,
        # No "mandate" criterion: a mandate collects only the instalments due while the plan
        # runs (core.dunning.instalment_debits), so a mandate holder needs no clerk.
        flags={"over_limit": bool(why)},
        details={"over_limit": why},
    )
    return INSTALMENTS.submit(
        session, submission, person=person, municipality=municipality, as_of=as_of, actor=actor
    )


def _describe(dates: Sequence[date], amounts: Sequence[int]) -> str:
    return "; ".join(f"{d:%d.%m.%Y}: {format_euro(a)}" for d, a in zip(dates, amounts, strict=True))


def _carry_out(session: Session, approved: Approved) -> CarriedOut:
    data, person = approved.application.data, approved.person
    chosen = _chosen(session, person, data["claim_ids"], approved.as_of)
    dates = [date.fromisoformat(d) for d in data["due_dates"]]
    if dates[0] < approved.as_of:
        raise ValidationError(
            "Die erste beantragte Rate ist bereits fällig. Bitte lehnen Sie ab oder stellen "
            "Sie eine Rückfrage."
        )
    plan = create_plan(
        session,
        person=person,
        municipality=approved.municipality,
        claims=chosen,
        dates=dates,
        as_of=approved.as_of,
        actor=approved.actor,
        reason=data.get("reason", ""),
        application_id=approved.application.id,
    )
    approved.application.data = {**data, "plan_id": plan.id}
    return CarriedOut()


def create_plan(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    claims: Sequence[tuple[Claim, int]],
    dates: Sequence[date],
    as_of: date,
    actor: str,
    reason: str = "",
    application_id: int | None = None,
) -> InstalmentPlan:
    """The accepted plan: blocks, interest claim, instalments (amounts from the statute)."""
    rules = rules_on(session, municipality.id, as_of)
    planned = schedule(rules, sum(o for _, o in claims), dates, as_of)
    plan = InstalmentPlan(
        municipality_id=municipality.id,
        person_id=person.id,
        application_id=application_id,
        state=PlanState.ACTIVE,
        starts_on=as_of,
        deferred_cents=planned.deferred_cents,
        interest_cents=planned.interest_cents,
        statute_source=rules.source[:300],
        reason=reason[:MAX_REASON],
        created_by=actor,
    )
    session.add(plan)
    session.flush()
    covered = list(claims)
    if planned.interest_cents:
        covered.append(_book_interest(session, plan, person, municipality, claims, dates[0], actor))
    _block(session, plan, person, covered, as_of, actor)
    for number, (due, amount) in enumerate(zip(dates, planned.amounts, strict=True), start=1):
        session.add(Instalment(plan_id=plan.id, number=number, due_on=due, amount_cents=amount))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="instalment_plan.created",
        obj=plan,
        municipality_id=municipality.id,
        after={
            "deferred_cents": plan.deferred_cents,
            "interest_cents": plan.interest_cents,
            "instalments": [
                [d.isoformat(), a] for d, a in zip(dates, planned.amounts, strict=True)
            ],
        },
    )
    return plan


def _book_interest(
    session: Session,
    plan: InstalmentPlan,
    person: Person,
    municipality: Municipality,
    claims: Sequence[tuple[Claim, int]],
    due: date,
    actor: str,
) -> tuple[Claim, int]:
    """The interest (§ 234 AO) as its own ancillary claim, due with the first instalment,
    under the first claim's Kassenzeichen."""
    claim = post_claim(
        session,
        person=person,
        municipality=municipality,
        kind=ClaimKind.INTEREST,
        amount_cents=plan.interest_cents,
        due_date=due,
        description=f"Stundungszinsen (§ 234 AO), Ratenplan {plan.id}",
        as_of=plan.starts_on,
        actor=actor,
        kassenzeichen=claims[0][0].kassenzeichen,
    )
    plan.interest_claim_id = claim.id
    return claim, plan.interest_cents


def _block(
    session: Session,
    plan: InstalmentPlan,
    person: Person,
    covered: Sequence[tuple[Claim, int]],
    as_of: date,
    actor: str,
) -> None:
    """A DEFERRAL block per covered claim while the plan runs, and the claim's open amount."""
    for claim, open_cents in covered:
        block = add_block(
            session,
            person=person,
            reason=BlockReason.DEFERRAL,
            starts_on=as_of,
            actor=actor,
            claim=claim,
            note=f"Ratenplan {plan.id}",
        )
        session.add(
            PlanClaim(plan_id=plan.id, claim_id=claim.id, block_id=block.id, open_cents=open_cents)
        )


def _end(session: Session, plan: InstalmentPlan, state: PlanState, day: date, actor: str) -> None:
    block_ids = session.scalars(select(PlanClaim.block_id).where(PlanClaim.plan_id == plan.id))
    for block in session.scalars(select(DunningBlock).where(DunningBlock.id.in_(list(block_ids)))):
        if block.ends_on is None or block.ends_on > day:
            end_block(session, block, last_day=max(day, block.starts_on), actor=actor)
    plan.state, plan.ended_on, plan.ended_by = state, day, actor
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"instalment_plan.{state.value}",
        obj=plan,
        municipality_id=plan.municipality_id,
        after={"ended_on": day.isoformat()},
    )


def check_plans(
    session: Session,
    municipality: Municipality,
    day: date,
    *,
    actor: str = "system:plans",
    plan_ids: Sequence[int] | None = None,
) -> dict[str, int]:
    """End every running plan of the municipality (or of ``plan_ids`` among them) that is
    paid (completed) or has an instalment more than the statute's ``late_days`` late on
    ``day`` (terminated: the blocks end, the whole rest is due and is dunned again).
    Idempotent: a plan no longer running is left alone."""
    counts = {"checked": 0, "completed": 0, "terminated": 0}
    rules = rules_on(session, municipality.id, day)
    query = select(InstalmentPlan).where(
        InstalmentPlan.municipality_id == municipality.id,
        InstalmentPlan.state == PlanState.ACTIVE,
    )
    if plan_ids is not None:
        query = query.where(InstalmentPlan.id.in_(list(plan_ids)))
    for plan in list(session.scalars(query.order_by(InstalmentPlan.id))):
        counts["checked"] += 1
        state = progress(session, plan)
        if state.open_cents == 0:
            _end(session, plan, PlanState.COMPLETED, day, actor)
            counts["completed"] += 1
        elif any(i.missed(day, rules.late_days) for i in state.instalments):
            _end(session, plan, PlanState.TERMINATED, day, actor)
            counts["terminated"] += 1
    return counts


def running_plan_ids(session: Session, municipality_id: int) -> list[int]:
    """The ids of the municipality's running plans, in order."""
    return list(
        session.scalars(
            select(InstalmentPlan.id)
            .where(
                InstalmentPlan.municipality_id == municipality_id,
                InstalmentPlan.state == PlanState.ACTIVE,
            )
            .order_by(InstalmentPlan.id)
        )
    )


INSTALMENTS = OnlineService(
    SERVICE_INSTALMENTS,
    "Stundung oder Ratenzahlung",
    _carry_out,
    criteria=(
        CriterionSpec(
            SERVICE_INSTALMENTS,
            "over_limit",
            "Über der Grenze der Satzung für die sofortige Bewilligung",
        ),
    ),
    criteria_on_first_use=True,
)
SERVICES = (INSTALMENTS,)
