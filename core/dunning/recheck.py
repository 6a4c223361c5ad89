"""At booking, each letter's items are checked again against the claims as they stand now.

Between the preview and the booking (the second person's approval may take days) a claim may
be paid in full or in part, blocked (Mahnsperre) or taken into collection (a direct debit, a
card payment in progress). A fee or surcharge must not be booked on an amount that is no longer
open (§ 254 AO: only what is due and unpaid is demanded; § 240 (1) AO: surcharges only on the
amount overdue). So each item's open amount is read again: an item whose claim is paid, blocked,
in collection or now below the tolerance is dropped (not booked; ``DunningItem.dropped`` says
why, its amounts stay those of the preview); the fee shares and surcharges of the items left
are computed again from their current open amounts by the same rules as the preview
(core.dunning.compose), and the letter's totals follow. A letter left without items is not
booked (``DunningLetter.dropped_at``).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session, aliased

from core.dunning import blocks, compose, selection
from core.dunning.compose import Context
from core.dunning.models import Dropped, DunningBlock, DunningLetter, DunningRun
from core.dunning.procedure import LEVY, ClaimDunning, DunningRules, procedure_on
from core.dunning.selection import Candidate, ClaimRow, chunks
from core.dunning.surcharges import bears_surcharge
from core.kernel import clock
from core.kernel.id_lists import IDS, ids_in
from core.ledger.balances import claim_totals
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, JournalEntry, Posting
from core.payments.reservations import ClaimReservation
from core.payments.sepa.models import DirectDebitItem, ItemStatus
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import Statute

# A journal entry is stamped (booked_at) when its transaction writes it, but seen by others only
# when it commits: an entry stamped shortly before the run was begun may still have been unseen
# by the preview. No transaction of the system runs this long (a bank statement of 100,000
# entries is booked in about a minute; batch runs commit per chunk), so entries stamped earlier
# were seen. Should one still commit later, a change of the claim's open amount is caught all
# the same (recheck compares every claim's open amount with the preview's); only a change that
# leaves it as it was (a payment booked again with another value date) relies on this bound.
SETTLE = timedelta(hours=1)


@dataclass(slots=True)
class ItemRow:
    """A letter's item as booking reads and changes it: a plain row (a run books a million);
    core.dunning.booking writes the changes back in one executemany UPDATE per chunk."""

    id: int
    letter_id: int
    claim_id: int
    level: int
    open_cents: int
    fee_cents: int
    surcharge_cents: int
    dropped: Dropped | None = None


class ClaimNow(NamedTuple):
    """What booking reads of a dunned claim, as a plain row."""

    id: int
    person_id: int
    kind: ClaimKind
    due_date: date
    kassenzeichen: str
    description: str
    cancelled_by_entry_id: int | None


def recheck(
    session: Session,
    run: DunningRun,
    letters: Sequence[DunningLetter],
    items: dict[int, list[ItemRow]],
    claims: dict[int, ClaimNow],
    *,
    full: bool = False,
    settle: timedelta | None = None,
) -> dict[int, list[ItemRow]]:
    """The items to book per letter (letters left without any are absent), with their open
    amounts, fee shares and surcharges set to what they are now; the dropped items marked
    (``ItemRow.dropped``: the caller writes the items back, the letters are flushed here).

    Every claim's open amount is read again. Only the letters with an item whose claim
    changed since the preview (:func:`changed`, or its open amount is not the preview's) or
    was dropped are computed again; the others keep the preview's amounts, which are what the
    computation would give again (same claims, same postings, same blocks, same rules).
    ``full``: compute every letter again (the tests compare both); ``settle``: instead of
    :data:`SETTLE` (the tests, whose journal is seconds old and append-only)."""
    rules = procedure_on(session, run.municipality_id, run.run_date)
    totals = _totals(session, sorted(claims))
    open_now = {c: totals[c][1] for c in claims}
    if full:
        moved = set(claims)
    else:  # the open amount read for every claim: a change the journal's times miss shows
        preview = {i.claim_id: i.open_cents for its in items.values() for i in its}
        moved = changed(session, run, claims, settle)
        moved |= {c for c in claims if open_now[c] != preview[c]}
    why = _skipped(session, run, claims, open_now)
    for claim_id, open_cents in open_now.items():
        if claim_id not in why and open_cents < rules.tolerance_cents:
            why[claim_id] = Dropped.BELOW_TOLERANCE
    kept = {letter.id: [i for i in items[letter.id] if i.claim_id not in why] for letter in letters}
    for item in (i for its in items.values() for i in its):
        if item.claim_id in why:
            item.dropped = why[item.claim_id]  # keeps the amounts of the preview
    redo = [
        letter
        for letter in letters
        if kept[letter.id]
        and any(i.claim_id in moved or i.claim_id in why for i in items[letter.id])
    ]
    redo_ids = [i.claim_id for letter in redo for i in kept[letter.id]]
    context = _context(session, rules, redo_ids, claims)
    land = session.get_one(Municipality, run.municipality_id).state
    for letter in redo:
        _recompute(rules, run.run_date, land, context, letter, kept[letter.id], claims, totals)
    for letter in letters:
        if not kept[letter.id]:
            letter.dropped_at = clock.now()
    session.flush()
    return {letter_id: its for letter_id, its in kept.items() if its}


def changed(
    session: Session,
    run: DunningRun,
    claims: dict[int, ClaimNow],
    settle: timedelta | None = None,
) -> set[int]:
    """The claims whose amounts the preview may have computed from another state than now's:
    a journal entry on the claim (payment, credit, cancellation, reduction) or reversing one
    of its entries recorded since the run was begun (less :data:`SETTLE`), a block of its
    person or its own (blocks are never deleted, so none now means none then: they set the
    surcharge-free periods), or — all of them — a dunning statute of the municipality entered
    since. Blocks in force and collections (debits, card holds) are checked for every claim
    at booking anyway (:func:`_skipped`); fees and surcharges booked by other runs cannot be
    (one open run per municipality, core.dunning.runs.open_run, under its lock)."""
    since = run.created_at - (SETTLE if settle is None else settle)
    statute = session.scalar(
        select(Statute.id)
        .where(
            Statute.municipality_id == run.municipality_id,
            Statute.levy == LEVY,
            Statute.created_at >= since,
        )
        .limit(1)
    )
    if statute is not None:
        return set(claims)
    found: set[int] = set()
    reversal = aliased(JournalEntry)
    for part in chunks(sorted(claims), IDS):
        found |= set(
            session.scalars(
                select(Posting.claim_id)
                .join(JournalEntry, JournalEntry.id == Posting.entry_id)
                .where(
                    ids_in(Posting.claim_id, part),
                    (JournalEntry.booked_at >= since)
                    | exists().where(
                        reversal.reverses_entry_id == JournalEntry.id, reversal.booked_at >= since
                    ),
                )
                .distinct()
            )
        )
    persons: dict[int, list[int]] = {}
    for claim in claims.values():
        persons.setdefault(claim.person_id, []).append(claim.id)
    for part in chunks(sorted(persons), IDS):
        rows = session.execute(
            select(DunningBlock.person_id, DunningBlock.claim_id).where(
                ids_in(DunningBlock.person_id, part)
            )
        )
        for person_id, claim_id in rows:
            found |= {c for c in persons[person_id] if claim_id in (None, c)}
    return found


def _recompute(
    rules: DunningRules,
    run_date: date,
    land: str,
    context: Context,
    letter: DunningLetter,
    mine: list[ItemRow],
    claims: dict[int, ClaimNow],
    totals: dict[int, tuple[int, int]],
) -> None:
    """The letter's items and totals from the claims' current open amounts (same rules)."""
    level = rules.level(letter.level)
    group = []
    for i in mine:
        claim = claims[i.claim_id]
        assessed, open_cents = totals[i.claim_id]
        group.append(
            Candidate(
                ClaimRow(claim.id, claim.person_id, claim.kind, claim.due_date),
                assessed,
                ClaimDunning(claim.due_date, open_cents, letter.level, None),
            )
        )
    shares = compose.fee_shares(rules, level, group, context.fee_charged)
    for item, candidate in zip(mine, group, strict=True):
        item.open_cents = candidate.open_cents
        item.fee_cents = shares.get(item.claim_id, 0)
        item.surcharge_cents = compose.new_surcharge(rules, candidate, run_date, land, context)
    open_cents = sum(i.open_cents for i in mine)
    fee_cents = sum(i.fee_cents for i in mine)
    surcharge_cents = sum(i.surcharge_cents for i in mine)
    total_cents = open_cents + fee_cents + surcharge_cents
    if (letter.open_cents, letter.fee_cents, letter.surcharge_cents, letter.total_cents) != (
        open_cents,
        fee_cents,
        surcharge_cents,
        total_cents,
    ):  # set only when changed: an unchanged letter stays clean (no UPDATE, no history)
        letter.open_cents, letter.fee_cents = open_cents, fee_cents
        letter.surcharge_cents, letter.total_cents = surcharge_cents, total_cents


def _context(
    session: Session, rules: DunningRules, claim_ids: list[int], claims: dict[int, ClaimNow]
) -> Context:
    """What the surcharges and the fee are computed from, read as it stands now."""
    main = [claim_id for claim_id in claim_ids if bears_surcharge(claims[claim_id].kind)]
    return Context(
        history=selection.payment_history(session, main) if rules.surcharges else {},
        booked_surcharges=selection.booked_surcharges(session, main),
        fee_charged=frozenset(selection.fee_charged(session, claim_ids)),
        free=blocks.surcharge_free_periods(session, (claims[i] for i in main), rules),
    )


def _totals(session: Session, claim_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(assessed, open) per claim now; a claim without postings is open for nothing."""
    found = {claim_id: (0, 0) for claim_id in claim_ids}
    for part in chunks(sorted(claim_ids), IDS):
        rows = session.execute(select(claim_totals(select(Claim.id).where(ids_in(Claim.id, part)))))
        found.update({cid: (int(assessed), int(open_)) for cid, assessed, open_ in rows})
    return found


def _skipped(
    session: Session,
    run: DunningRun,
    claims: dict[int, ClaimNow],
    open_now: dict[int, int],
) -> dict[int, Dropped]:
    """Why each claim that must not be dunned now must not be (paid, blocked, in collection)."""
    why: dict[int, Dropped] = {}
    blocked = _blocked(session, run, claims.values())
    held = _in_collection(session, list(claims))
    for claim_id, claim in claims.items():
        if open_now[claim_id] <= 0 or claim.cancelled_by_entry_id is not None:
            why[claim_id] = Dropped.PAID
        elif claim_id in blocked:
            why[claim_id] = Dropped.BLOCKED
        elif claim_id in held:
            why[claim_id] = Dropped.IN_COLLECTION
    return why


def _blocked(session: Session, run: DunningRun, claims: Collection[ClaimNow]) -> set[int]:
    """Claims blocked (themselves or their person) on the run date or today."""
    days = sorted({run.run_date, clock.today()})
    found: set[int] = set()
    by_person: dict[int, list[ClaimNow]] = {}
    for claim in claims:
        by_person.setdefault(claim.person_id, []).append(claim)
    for part in chunks(sorted(by_person), IDS):
        rows = session.execute(
            select(DunningBlock.person_id, DunningBlock.claim_id).where(
                ids_in(DunningBlock.person_id, part),
                or_(
                    *(
                        (DunningBlock.starts_on <= day)
                        & (DunningBlock.ends_on.is_(None) | (DunningBlock.ends_on >= day))
                        for day in days
                    )
                ),
            )
        )
        for person_id, claim_id in rows:
            found |= {c.id for c in by_person[person_id] if claim_id in (None, c.id)}
    return found


def _in_collection(session: Session, claim_ids: list[int]) -> set[int]:
    """Claims a direct debit not yet settled or a card payment in progress holds."""
    held: set[int] = set()
    for part in chunks(sorted(claim_ids), IDS):
        held |= set(
            session.scalars(
                select(DirectDebitItem.claim_id).where(
                    ids_in(DirectDebitItem.claim_id, part),
                    DirectDebitItem.status == ItemStatus.IN_COLLECTION,
                )
            )
        )
        held |= set(
            session.scalars(
                select(ClaimReservation.claim_id).where(
                    ids_in(ClaimReservation.claim_id, part),
                    ClaimReservation.released_at.is_(None),
                )
            )
        )
    return held
