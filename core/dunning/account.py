"""What the citizen's account shows of dunning: their booked letters, and per claim where it
stands — the last letter (level and date), the fees and the surcharges dunning added, and why
(the fee's legal basis; the surcharges' rate, the overdue amount they were last charged on and
the first day of Säumnis, as core.dunning.surcharges computed them for the letters) — and the
blocks in force on a claim, with their reason. Only booked letters count (a preview or a
discarded run was never sent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.dunning import blocks, selection
from core.dunning.models import DunningBlock, DunningItem, DunningLetter, DunningRun
from core.dunning.procedure import LEVY, DunningRules
from core.dunning.surcharges import surcharges
from core.ledger.balances import claim_balances
from core.ledger.models import Claim
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import statute_on

# The built-in fee models' legal basis (core.dunning.fees); a fixed fee is the statute's own.
FEE_BASIS = {"nrw": "§ 9 Abs. 2 VO VwVG NRW", "federal": "§ 19 Abs. 2 VwVG"}


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
    fee_level: int = 0  # the level whose letter charged the (last) fee
    fee_basis: str = ""  # e.g. "§ 9 Abs. 2 VO VwVG NRW", or the statute's source
    surcharge_base_cents: int = 0  # the overdue amount (rounded to 50 €) of the last month
    saumnis_since: date | None = None  # the first day of Säumnis


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
            state.fee_level = previous.fee_level
        state.fee_cents += fee
        state.surcharge_cents += surcharge
        state.fee_level = level if fee else state.fee_level
        states[claim_id] = state
    if states:
        _explain(session, municipality_id, states)
    return states


def _explain(session: Session, municipality_id: int, states: dict[int, ClaimDunningState]) -> None:
    """Fill in why: the fee's legal basis, and the surcharges' base and first day of Säumnis
    as of the last letter (the same computation as the run, core.dunning.compose)."""
    land = session.get_one(Municipality, municipality_id).state
    rules_of: dict[date, DunningRules] = {}

    def rules_on(day: date) -> DunningRules:
        if day not in rules_of:
            statute = statute_on(session, municipality_id, LEVY, day)
            rules_of[day] = DunningRules.from_data(statute.data, statute.source)
        return rules_of[day]

    surcharged = [claim_id for claim_id, s in states.items() if s.surcharge_cents]
    claims = {c.id: c for c in session.scalars(select(Claim).where(Claim.id.in_(surcharged)))}
    history = selection.payment_history(session, surcharged)
    assessed = claim_balances(session, claims.values())
    for claim_id, state in states.items():
        rules = rules_on(state.dunned_on)
        if state.fee_cents and state.fee_level:
            model = rules.level(min(state.fee_level, rules.last_level)).fee.model
            state.fee_basis = FEE_BASIS.get(model, rules.source)
        claim = claims.get(claim_id)
        if claim is None:
            continue
        free = blocks.surcharge_free_periods(session, [claim], rules).get(claim_id, [])
        months = surcharges(
            assessed[claim_id].assessed_cents,
            claim.due_date,
            history.get(claim_id, ()),
            state.dunned_on,
            land,
            claim.kind,
            free,
        ).months
        if months:
            state.surcharge_base_cents = months[-1].base_cents
            state.saumnis_since = months[0].starts


def blocks_in_force(
    session: Session, municipality_id: int, person_id: int, claim_ids: list[int], day: date
) -> dict[int, list[str]]:
    """Per claim of ``claim_ids``: the blocks of it or of its person in force on ``day``, as
    German one-liners with the reason ("Stundung vom 01.03.2026 bis 30.06.2026")."""
    found: dict[int, list[str]] = {}
    if not claim_ids:
        return found
    rows = session.scalars(
        select(DunningBlock)
        .where(
            DunningBlock.municipality_id == municipality_id,
            DunningBlock.person_id == person_id,
            or_(DunningBlock.claim_id.is_(None), DunningBlock.claim_id.in_(claim_ids)),
            DunningBlock.starts_on <= day,
            or_(DunningBlock.ends_on.is_(None), DunningBlock.ends_on >= day),
        )
        .order_by(DunningBlock.starts_on, DunningBlock.id)
    )
    for block in rows:
        for claim_id in claim_ids if block.claim_id is None else [block.claim_id]:
            found.setdefault(claim_id, []).append(blocks.describe(block))
    return found


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
