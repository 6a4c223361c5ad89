"""What the citizen's account shows of dunning: their booked letters, and per claim where it
stands — the last letter (level and date), the fees and the surcharges dunning added, and why.
Only booked letters count (a preview or a discarded run was never sent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning.models import DunningItem, DunningLetter, DunningRun
from core.ledger.balances import claim_balances
from core.ledger.models import Claim


@dataclass(frozen=True)
class SentLetter:
    id: int
    level: int
    level_name: str
    run_date: date
    payment_deadline: date
    total_cents: int


@dataclass
class ClaimDunningState:
    """Where one claim stands in dunning (fees: its shares of the letters' fees)."""

    level: int
    level_name: str
    dunned_on: date
    letter_id: int
    fee_cents: int = 0
    surcharge_cents: int = 0


def sent_letters(session: Session, municipality_id: int, person_id: int) -> list[SentLetter]:
    """The person's booked letters, the newest first."""
    rows = session.execute(
        select(
            DunningLetter.id,
            DunningLetter.level,
            DunningLetter.level_name,
            DunningRun.run_date,
            DunningLetter.payment_deadline,
            DunningLetter.total_cents,
        )
        .join(DunningRun, DunningRun.id == DunningLetter.run_id)
        .where(
            DunningLetter.municipality_id == municipality_id,
            DunningLetter.person_id == person_id,
            DunningLetter.booked_at.is_not(None),
        )
        .order_by(DunningRun.run_date.desc(), DunningLetter.id.desc())
    )
    return [SentLetter(*row) for row in rows]


def claim_states(
    session: Session, municipality_id: int, person_id: int
) -> dict[int, ClaimDunningState]:
    """Per dunned claim of the person: the last letter, and the fees and surcharges of all."""
    rows = session.execute(
        select(
            DunningItem.claim_id,
            DunningItem.level,
            DunningLetter.level_name,
            DunningRun.run_date,
            DunningLetter.id,
            DunningItem.fee_cents,
            DunningItem.surcharge_cents,
        )
        .join(DunningLetter, DunningLetter.id == DunningItem.letter_id)
        .join(DunningRun, DunningRun.id == DunningLetter.run_id)
        .where(
            DunningLetter.municipality_id == municipality_id,
            DunningLetter.person_id == person_id,
            DunningItem.booked.is_(True),
        )
        .order_by(DunningItem.level, DunningItem.id)
    )
    states: dict[int, ClaimDunningState] = {}
    for claim_id, level, name, day, letter_id, fee, surcharge in rows:
        previous = states.get(claim_id)
        state = ClaimDunningState(level, name, day, letter_id)
        if previous is not None:
            state.fee_cents, state.surcharge_cents = previous.fee_cents, previous.surcharge_cents
        state.fee_cents += fee
        state.surcharge_cents += surcharge
        states[claim_id] = state
    return states


def letter_claims(session: Session, letter: DunningLetter) -> list[Claim]:
    """The letter's claims and the fee and surcharge claims booked for it, by due date."""
    items = list(session.scalars(select(DunningItem).where(DunningItem.letter_id == letter.id)))
    ids = {i.claim_id for i in items} | {
        i.surcharge_claim_id for i in items if i.surcharge_claim_id is not None
    }
    if letter.fee_claim_id is not None:
        ids.add(letter.fee_claim_id)
    return list(
        session.scalars(
            select(Claim)
            .where(
                Claim.id.in_(sorted(ids)),
                Claim.municipality_id == letter.municipality_id,
                Claim.cancelled_by_entry_id.is_(None),
            )
            .order_by(Claim.due_date, Claim.id)
        )
    )


def still_open(session: Session, letter: DunningLetter) -> list[tuple[Claim, int]]:
    """What of the letter is open today: (claim, open cents) of its claims still open."""
    claims = letter_claims(session, letter)
    balances = claim_balances(session, claims)
    return [(c, balances[c.id].open_cents) for c in claims if balances[c.id].open_cents > 0]


def run_date_of(session: Session, letter: DunningLetter) -> date:
    return session.get_one(DunningRun, letter.run_id).run_date
