"""Säumniszuschläge of claims paid late (§ 240 AO): booked by the next dunning run.

A tax claim paid in full after its grace (§ 240 (3) AO) owes the surcharges of every month of
Säumnis started up to the day the payment counts (§ 224 (2) AO) — none for the months a
deferral covered it (§ 240 (1) S. 1 AO, core/dunning/surcharges.py) — whether or not a dunning run
ever saw it open. They become a claim of their own (``LATE_PAYMENT_SURCHARGE``: ancillary,
allocated last, § 225 (2) AO).

Why the dunning run books them and not a listener on the payment: core.payments and
core.ledger are lower layers than core.dunning and must not call into it; a listener registry
filled by the wiring would have to be fed from every way a payment is booked (single receipts,
the bank statement's bulk import, direct-debit collections, card settlements, credit offsets),
several of them executemany paths for hundreds of thousands of rows, and would book ancillary
claims inside the cash office's payment transaction without anyone approving them. The dunning
run already computes surcharges by the same rules, under the municipality's dunning lock, with
a preview and a second person's approval (four eyes) before anything is booked. So the run's
preview (:func:`find`) looks at the main claims paid in full by payments booked since the last
booked run was prepared, stores what is owed (``LateSurcharge``), and booking (:func:`book`)
books it once the run is approved.

Idempotent, never twice: what is owed is what has arisen up to the settling payment *minus
every surcharge booked for the claim so far* (dunning items and earlier late-payment rows,
core.dunning.selection.booked_surcharges); a row is booked once (``booked``), under the run's
lock, and checked again at booking against the claim as it stands then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar, cast

from sqlalchemy import Table, or_, select
from sqlalchemy.orm import Session

from core.dunning import blocks, selection
from core.dunning.models import DunningRun, LateSurcharge, RunState
from core.dunning.procedure import procedure_on
from core.dunning.surcharges import (
    FreePeriod,
    Payment,
    bears_surcharge,
    due_date,
    surcharges,
)
from core.ledger.balances import claim_totals
from core.ledger.bulk import NewClaim, executemany, post_claims
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, EntryKind, JournalEntry, Posting
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, reserve_ids

# A payment counts at most this many days after its value date (a cheque, § 224 (2) Nr. 1 AO).
LATEST_SHIFT_DAYS = 3


@dataclass(frozen=True)
class Owed:
    claim_id: int
    paid_on: date  # the day the settling payment counts
    surcharge_cents: int


def find(session: Session, municipality: Municipality, run_date: date) -> list[Owed]:
    """The surcharges owed, not yet booked, of main claims paid in full late (by the run
    date) by payments booked since the last booked run was prepared."""
    claims = {c.id: c for c in _paid_since(session, municipality.id, run_date)}
    return _owed_now(session, municipality, run_date, claims)


def _owed_now(
    session: Session, municipality: Municipality, run_date: date, claims: dict[int, Claim]
) -> list[Owed]:
    """What each of ``claims`` owes now: arisen up to its settling payment minus booked."""
    if not claims:
        return []
    ids = sorted(claims)
    totals = _totals(session, ids)
    history = selection.payment_history(session, ids)
    booked = selection.booked_surcharges(session, ids)
    rules = procedure_on(session, municipality.id, run_date)
    free = blocks.surcharge_free_periods(session, claims.values(), rules)
    found = []
    for claim_id in ids:
        claim = claims[claim_id]
        assessed, open_cents = totals.get(claim_id, (0, 0))
        owed = _owed(
            claim,
            (assessed, open_cents),
            history.get(claim_id, []),
            run_date,
            municipality,
            free.get(claim_id, ()),
        )
        if claim.cancelled_by_entry_id is None and owed and owed[1] > booked.get(claim_id, 0):
            found.append(Owed(claim_id, owed[0], owed[1] - booked.get(claim_id, 0)))
    return found


def _owed(
    claim: Claim,
    totals: tuple[int, int],
    history: list[Payment],
    run_date: date,
    municipality: Municipality,
    free: Sequence[FreePeriod],
) -> tuple[date, int] | None:
    """(day the claim was settled, surcharges arisen up to it) of a claim paid in full; none
    for the time a deferral covered it (core/dunning/surcharges.py)."""
    assessed, open_cents = totals
    if open_cents > 0 or assessed <= 0 or not history:
        return None
    due = due_date(claim.due_date, municipality.state)
    settled = max(p.counts_on(due) for p in history)
    if settled > run_date:
        return None  # counts later: the run of that day sees it
    as_of = max(settled, claim.due_date)
    arisen = surcharges(
        assessed, claim.due_date, history, as_of, municipality.state, claim.kind, free
    )
    return settled, arisen.total_cents


def _paid_since(session: Session, municipality_id: int, run_date: date) -> list[Claim]:
    """Main claims, not cancelled, due before the run date, with a payment or credit offset
    booked since the latest booked run was prepared, or counting after its run date (it was
    left for a later run then); before the first booked run, all of them."""
    latest = session.execute(
        select(DunningRun.created_at, DunningRun.run_date)
        .where(DunningRun.municipality_id == municipality_id, DunningRun.state == RunState.BOOKED)
        .order_by(DunningRun.created_at.desc())
        .limit(1)
    ).first()
    touched = (
        select(Posting.claim_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(
            JournalEntry.municipality_id == municipality_id,
            JournalEntry.kind.in_([EntryKind.PAYMENT, EntryKind.CREDIT_APPLICATION]),
            Posting.claim_id.is_not(None),
        )
    )
    if latest is not None:
        touched = touched.where(
            or_(
                JournalEntry.booked_at >= latest.created_at,
                JournalEntry.value_date > latest.run_date - timedelta(days=LATEST_SHIFT_DAYS),
            )
        )
    rows = session.scalars(
        select(Claim).where(
            Claim.id.in_(touched),
            Claim.municipality_id == municipality_id,
            Claim.cancelled_by_entry_id.is_(None),
            Claim.due_date < run_date,
        )
    )
    return [c for c in rows if bears_surcharge(c.kind)]


def _totals(session: Session, claim_ids: list[int]) -> dict[int, tuple[int, int]]:
    found: dict[int, tuple[int, int]] = {}
    for part in selection.chunks(sorted(claim_ids)):
        rows = session.execute(select(claim_totals(list(part))))
        found.update({cid: (int(assessed), int(open_)) for cid, assessed, open_ in rows})
    return found


def store(session: Session, run: DunningRun, owed: list[Owed]) -> None:
    """The run's rows (one executemany INSERT), not booked yet."""
    if not owed:
        return
    rows = [
        {
            "id": row_id,
            "municipality_id": run.municipality_id,
            "run_id": run.id,
            "claim_id": o.claim_id,
            "paid_on": o.paid_on,
            "surcharge_cents": o.surcharge_cents,
            "surcharge_claim_id": None,
            "booked": False,
        }
        for o, row_id in zip(owed, reserve_ids(session, LateSurcharge, len(owed)), strict=True)
    ]
    executemany(session.connection(), cast(Table, LateSurcharge.__table__), rows)


def book(session: Session, run: DunningRun, actor: str) -> int:
    """Book the run's rows not booked yet, each as owed now (a claim reopened meanwhile, or
    charged by another booking, is left: its row stays unbooked). Returns how many."""
    rows = list(
        session.scalars(
            select(LateSurcharge)
            .where(LateSurcharge.run_id == run.id, LateSurcharge.booked.is_(False))
            .order_by(LateSurcharge.id)
        )
    )
    if not rows:
        return 0
    municipality = session.get_one(Municipality, run.municipality_id)
    claims = _load(session, Claim, [r.claim_id for r in rows])
    owed = {o.claim_id: o for o in _owed_now(session, municipality, run.run_date, claims)}
    due = [(r, owed[r.claim_id]) for r in rows if r.claim_id in owed]
    persons = _load(session, Person, [claims[r.claim_id].person_id for r, _ in due])
    new = [
        NewClaim(
            person=persons[claims[r.claim_id].person_id],
            kind=ClaimKind.LATE_PAYMENT_SURCHARGE,
            amount_cents=o.surcharge_cents,
            due_date=run.run_date,
            description=f"Säumniszuschläge bis {o.paid_on:%d.%m.%Y} zu "
            f"{claims[r.claim_id].description}"[:200],
            kassenzeichen=claims[r.claim_id].kassenzeichen,
        )
        for r, o in due
    ]
    ids = post_claims(session, new, municipality=municipality, as_of=run.run_date, actor=actor)
    for (row, o), claim_id in zip(due, ids, strict=True):
        row.paid_on, row.surcharge_cents = o.paid_on, o.surcharge_cents
        row.surcharge_claim_id, row.booked = claim_id, True
    session.flush()
    return len(due)


M = TypeVar("M", Claim, Person)


def _load(session: Session, model: type[M], ids: list[int]) -> dict[int, M]:
    found: dict[int, M] = {}
    for part in selection.chunks(sorted(set(ids))):
        found.update({o.id: o for o in session.scalars(select(model).where(model.id.in_(part)))})
    return found
