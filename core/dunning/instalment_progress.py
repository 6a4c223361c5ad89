"""Where an instalment plan stands: what reached its claims since it began, counted towards the
instalments in order (nothing of it is stored; core.dunning.instalment_models)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning.instalment_models import Instalment, InstalmentPlan, PlanClaim, PlanState
from core.kernel.errors import ValidationError
from core.ledger.balances import open_amounts
from core.ledger.models import Claim
from core.persons.models import Person


@dataclass(frozen=True)
class InstalmentState:
    instalment: Instalment
    paid_cents: int  # what of this instalment is paid (in order)

    @property
    def open_cents(self) -> int:
        return self.instalment.amount_cents - self.paid_cents

    def overdue(self, day: date) -> bool:
        return self.open_cents > 0 and self.instalment.due_on < day

    def missed(self, day: date, late_days: int) -> bool:
        return self.open_cents > 0 and day > self.instalment.due_on + timedelta(days=late_days)


@dataclass(frozen=True)
class Progress:
    plan: InstalmentPlan
    paid_cents: int
    instalments: tuple[InstalmentState, ...]
    kassenzeichen: str  # where a transfer for the next instalment goes

    @property
    def open_cents(self) -> int:
        return max(0, self.plan.total_cents - self.paid_cents)

    @property
    def next_due(self) -> InstalmentState | None:
        return next((i for i in self.instalments if i.open_cents > 0), None)


def instalments_of(session: Session, plan: InstalmentPlan) -> list[Instalment]:
    return list(
        session.scalars(
            select(Instalment).where(Instalment.plan_id == plan.id).order_by(Instalment.number)
        )
    )


def progress(session: Session, plan: InstalmentPlan) -> Progress:
    """What reached the plan's claims since it began, counted towards the instalments in order."""
    links = list(session.scalars(select(PlanClaim).where(PlanClaim.plan_id == plan.id)))
    claims = {
        c.id: c
        for c in session.scalars(select(Claim).where(Claim.id.in_([p.claim_id for p in links])))
    }
    now_open = open_amounts(session, claims.values())
    paid = sum(max(0, link.open_cents - now_open[link.claim_id]) for link in links)
    left, states = paid, []
    for instalment in instalments_of(session, plan):
        share = min(left, instalment.amount_cents)
        left -= share
        states.append(InstalmentState(instalment, share))
    still_open = sorted(
        (c for c in claims.values() if now_open[c.id] > 0), key=lambda c: (c.due_date, c.id)
    )
    any_claim = still_open[0] if still_open else min(claims.values(), key=lambda c: c.id)
    return Progress(plan, paid, tuple(states), any_claim.kassenzeichen)


def plans_of(session: Session, person: Person) -> list[Progress]:
    """The person's plans, running first, newest first, with their progress."""
    plans = session.scalars(
        select(InstalmentPlan)
        .where(
            InstalmentPlan.person_id == person.id,
            InstalmentPlan.municipality_id == person.municipality_id,
        )
        .order_by(InstalmentPlan.id.desc())
    )
    found = [progress(session, p) for p in plans]
    return sorted(found, key=lambda p: p.plan.state is not PlanState.ACTIVE)


def get_plan(session: Session, person: Person, plan_id: int) -> InstalmentPlan | None:
    """The person's own plan, or None (another person's plan is never shown)."""
    return session.scalars(
        select(InstalmentPlan).where(
            InstalmentPlan.id == plan_id,
            InstalmentPlan.person_id == person.id,
            InstalmentPlan.municipality_id == person.municipality_id,
        )
    ).first()


def card_payment(session: Session, plan: InstalmentPlan, number: int) -> tuple[list[int], int]:
    """The claims and the amount a card payment of instalment ``number`` takes: what is still
    open of that instalment (never more than the plan's claims still owe), to be allocated to
    the plan's open claims in the ledger's order. Refuses (German) a plan that no longer runs
    and an instalment that is paid already or not the next one (a second click, an old page)."""
    if plan.state is not PlanState.ACTIVE:
        raise ValidationError("Dieser Ratenplan läuft nicht mehr; es ist keine Rate mehr fällig.")
    state = progress(session, plan)
    due = state.next_due
    if due is None or due.instalment.number != number:
        raise ValidationError(
            f"Rate {number} ist bereits bezahlt. Bitte laden Sie den Ratenplan neu, um die "
            "nächste Rate zu sehen."
        )
    claims = claims_of(session, plan)
    now_open = open_amounts(session, claims)
    owing = sorted(c.id for c in claims if now_open[c.id] > 0)
    amount = min(due.open_cents, sum(now_open[c] for c in owing))
    if amount <= 0:
        raise ValidationError("Für diesen Ratenplan ist nichts mehr offen.")
    return owing, amount


def claims_of(session: Session, plan: InstalmentPlan) -> list[Claim]:
    """The claims the plan covers (its interest claim included), oldest due first."""
    return list(
        session.scalars(
            select(Claim)
            .join(PlanClaim, PlanClaim.claim_id == Claim.id)
            .where(PlanClaim.plan_id == plan.id)
            .order_by(Claim.due_date, Claim.id)
        )
    )
