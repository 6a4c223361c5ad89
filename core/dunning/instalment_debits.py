"""Instalments collected by direct debit: while a plan runs, a mandate collects of its claims
only the instalments due by the collection day and not yet paid, never the claims in full.

:func:`debit_limits` is the plan's source for core.payments.collection_limits, registered when
this module is imported; core/models.py imports it, so every process that opens the database
(portal, back office, command line, jobs, migrations, tests) has it before any direct debit.

What is due of the plan on the day is spread over its claims in the order a payment settles
them (core.ledger.allocation.statutory_order); the others are limited to 0. While a card
payment holds one of the plan's claims (core.payments.reservations), nothing of the plan is
collected: that card payment is for the instalment, and charging it twice would help nobody;
a later run collects what the card did not pay.

:func:`debit_schedule` says the same ahead of time, for pre-notifications: per claim of a running
plan, each instalment still open with its day and the part of it that falls on the claim (spread
as above, assuming the earlier instalments are collected on their days).

A plan that ended is no source: a completed one has nothing open, a terminated one is due in
full (core.dunning.instalments.check_plans), so a mandate then collects the rest.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning.instalment_models import InstalmentPlan, PlanClaim, PlanState
from core.dunning.instalment_progress import progress
from core.ledger.allocation import OpenItem, statutory_order
from core.ledger.balances import open_amounts
from core.ledger.kinds import KINDS
from core.ledger.models import Claim
from core.payments import collection_limits, reservations


def debit_limits(
    session: Session, municipality_id: int, day: date, claim_ids: Collection[int] | None
) -> dict[int, int]:
    """Per claim of a running plan (of ``claim_ids``, or all), the most a debit may collect on
    ``day`` (module docstring)."""
    stmt = select(InstalmentPlan).where(
        InstalmentPlan.municipality_id == municipality_id,
        InstalmentPlan.state == PlanState.ACTIVE,
    )
    if claim_ids is not None:
        stmt = stmt.where(
            InstalmentPlan.id.in_(
                select(PlanClaim.plan_id).where(PlanClaim.claim_id.in_(list(claim_ids)))
            )
        )
    limits: dict[int, int] = {}
    for plan in session.scalars(stmt.order_by(InstalmentPlan.id)):
        limits.update(plan_limits(session, plan, day))
    return limits


def due_of(session: Session, plan: InstalmentPlan, day: date) -> int:
    """What of the plan's instalments due by ``day`` is not paid yet."""
    return sum(
        i.open_cents for i in progress(session, plan).instalments if i.instalment.due_on <= day
    )


def plan_limits(session: Session, plan: InstalmentPlan, day: date) -> dict[int, int]:
    """The plan's claims with what a debit may collect of each on ``day``."""
    claims = list(
        session.scalars(
            select(Claim)
            .join(PlanClaim, PlanClaim.claim_id == Claim.id)
            .where(PlanClaim.plan_id == plan.id)
        )
    )
    limits = dict.fromkeys((c.id for c in claims), 0)
    if reservations.active(session, list(limits)):
        return limits  # a card payment for the plan is running
    left = due_of(session, plan, day)
    now_open = open_amounts(session, claims)
    items = [
        OpenItem(c.id, KINDS[c.kind].group, c.due_date, now_open[c.id])
        for c in claims
        if now_open[c.id] > 0
    ]
    for item in statutory_order(items, day):
        part = min(left, item.open_cents)
        limits[item.claim_id], left = part, left - part
    return limits


def debit_schedule(
    session: Session, municipality_id: int, claim_ids: Collection[int]
) -> dict[int, list[tuple[date, int]]]:
    """Per claim of a running plan (of ``claim_ids``): the instalments a debit will collect of
    it, (due day, cents) in order (module docstring); a claim of a plan with nothing left to
    collect has no entries."""
    plans = session.scalars(
        select(InstalmentPlan)
        .where(
            InstalmentPlan.municipality_id == municipality_id,
            InstalmentPlan.state == PlanState.ACTIVE,
            InstalmentPlan.id.in_(
                select(PlanClaim.plan_id).where(PlanClaim.claim_id.in_(list(claim_ids)))
            ),
        )
        .order_by(InstalmentPlan.id)
    )
    found: dict[int, list[tuple[date, int]]] = {}
    for plan in plans:
        found.update(plan_schedule(session, plan))
    return {claim_id: parts for claim_id, parts in found.items() if claim_id in claim_ids}


def plan_schedule(session: Session, plan: InstalmentPlan) -> dict[int, list[tuple[date, int]]]:
    """The plan's claims, each with the (due day, cents) of the instalments that fall on it."""
    claims = list(
        session.scalars(
            select(Claim)
            .join(PlanClaim, PlanClaim.claim_id == Claim.id)
            .where(PlanClaim.plan_id == plan.id)
        )
    )
    left = open_amounts(session, claims)
    schedule: dict[int, list[tuple[date, int]]] = {c.id: [] for c in claims}
    for state in progress(session, plan).instalments:
        due_on, rest = state.instalment.due_on, state.open_cents
        items = [OpenItem(c.id, KINDS[c.kind].group, c.due_date, left[c.id]) for c in claims]
        for item in statutory_order([i for i in items if i.open_cents > 0], due_on):
            part = min(rest, item.open_cents)
            if part > 0:
                schedule[item.claim_id].append((due_on, part))
                left[item.claim_id] -= part
                rest -= part
    return schedule


collection_limits.register(debit_limits)
collection_limits.register_schedule(debit_schedule)
