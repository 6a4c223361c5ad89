"""What a dunning run reads: the municipality's open due claims with their dunning level, the
claims it must leave alone (blocked, in collection), and the payment history the surcharges
are computed from. Read-only; a handful of statements per run, none per claim."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from core.dunning import blocks
from core.dunning.models import DunningItem, DunningLetter, DunningRun, LateSurcharge, RunState
from core.dunning.procedure import ClaimDunning
from core.dunning.surcharges import Channel
from core.dunning.surcharges import Payment as SurchargePayment
from core.ledger.balances import claim_totals
from core.ledger.models import (
    AccountKind,
    Claim,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    Payment,
    PaymentChannel,
    Posting,
)
from core.payments.reservations import ClaimReservation
from core.payments.sepa.models import DirectDebitItem, ItemStatus

CHUNK = 500  # ids per IN (...) list
T = TypeVar("T")

_CHANNELS = {
    PaymentChannel.BANK_TRANSFER: Channel.TRANSFER,
    PaymentChannel.CARD: Channel.TRANSFER,
    PaymentChannel.DIRECT_DEBIT: Channel.DIRECT_DEBIT,
    PaymentChannel.CASH: Channel.CASH,
}


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class Candidate:
    """An open claim due by the run date, with where it stands in dunning."""

    claim: Claim
    assessed_cents: int
    dunning: ClaimDunning

    @property
    def open_cents(self) -> int:
        return self.dunning.open_cents


def open_due_claims(
    session: Session, municipality_id: int, run_date: date
) -> list[tuple[Claim, int, int]]:
    """(claim, assessed, open) of the claims not cancelled, open and due before the run date."""
    mine = select(Claim.id).where(
        Claim.municipality_id == municipality_id,
        Claim.cancelled_by_entry_id.is_(None),
        Claim.due_date < run_date,
    )
    totals = claim_totals(mine)
    rows = session.execute(
        select(Claim, totals.c.assessed, totals.c.open)
        .join(totals, totals.c.claim_id == Claim.id)
        .where(totals.c.open > 0)
        .order_by(Claim.person_id, Claim.due_date, Claim.id)
    )
    return [(claim, int(assessed), int(open_cents)) for claim, assessed, open_cents in rows]


def levels(session: Session, municipality_id: int) -> dict[int, tuple[int, date]]:
    """(latest level booked, its run date) per claim of the municipality."""
    rows = session.execute(
        select(DunningItem.claim_id, func.max(DunningItem.level), func.max(DunningRun.run_date))
        .join(DunningLetter, DunningLetter.id == DunningItem.letter_id)
        .join(DunningRun, DunningRun.id == DunningLetter.run_id)
        .where(DunningRun.municipality_id == municipality_id, DunningItem.booked.is_(True))
        .group_by(DunningItem.claim_id)
    )
    return {claim_id: (int(level), day) for claim_id, level, day in rows}


def in_collection(session: Session, municipality_id: int) -> set[int]:
    """Claims a direct debit not yet settled or a card payment in progress holds."""
    debits = session.scalars(
        select(DirectDebitItem.claim_id).where(
            DirectDebitItem.municipality_id == municipality_id,
            DirectDebitItem.status == ItemStatus.IN_COLLECTION,
        )
    )
    cards = session.scalars(
        select(ClaimReservation.claim_id).where(
            ClaimReservation.municipality_id == municipality_id,
            ClaimReservation.released_at.is_(None),
        )
    )
    return set(debits) | set(cards)


def candidates(session: Session, municipality_id: int, run_date: date) -> list[Candidate]:
    """The open due claims a run may dun: neither blocked on the run date nor in collection."""
    blocked_persons, blocked_claims = blocks.blocked_on(session, municipality_id, run_date)
    skipped = blocked_claims | in_collection(session, municipality_id)
    known = levels(session, municipality_id)
    found = []
    for claim, assessed, open_cents in open_due_claims(session, municipality_id, run_date):
        if claim.person_id in blocked_persons or claim.id in skipped:
            continue
        level, last = known.get(claim.id, (0, None))
        found.append(
            Candidate(claim, assessed, ClaimDunning(claim.due_date, open_cents, level, last))
        )
    return found


def payment_history(
    session: Session, claim_ids: Collection[int]
) -> dict[int, list[SurchargePayment]]:
    """What was paid on each claim and when (payments and credit offsets not reversed), as
    the surcharge rule takes it (core.dunning.surcharges.Payment)."""
    receivable = aliased(LedgerAccount)
    reversal = aliased(JournalEntry)
    history: dict[int, list[SurchargePayment]] = defaultdict(list)
    for part in chunks(sorted(claim_ids)):
        rows = session.execute(
            select(Posting.claim_id, JournalEntry.value_date, Posting.amount_cents, Payment.channel)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .join(receivable, receivable.id == Posting.credit_account_id)
            .outerjoin(Payment, Payment.id == Posting.payment_id)
            .where(
                Posting.claim_id.in_(part),
                receivable.kind == AccountKind.RECEIVABLE,
                JournalEntry.kind.in_([EntryKind.PAYMENT, EntryKind.CREDIT_APPLICATION]),
                ~exists().where(reversal.reverses_entry_id == JournalEntry.id),
            )
        )
        for claim_id, day, amount, channel in rows:
            if claim_id is None:
                continue
            how = _CHANNELS.get(channel, Channel.TRANSFER) if channel else Channel.TRANSFER
            history[claim_id].append(SurchargePayment(day, int(amount), how))
    return history


def booked_surcharges(session: Session, claim_ids: Collection[int]) -> dict[int, int]:
    """Surcharges booked so far per claim (earlier runs: with a letter, or after a late
    payment, core.dunning.late)."""
    totals: dict[int, int] = defaultdict(int)
    for part in chunks(sorted(claim_ids)):
        for table in (DunningItem, LateSurcharge):
            rows = session.execute(
                select(table.claim_id, func.sum(table.surcharge_cents))
                .where(table.claim_id.in_(part), table.booked.is_(True))
                .group_by(table.claim_id)
            )
            for claim_id, total in rows:
                totals[claim_id] += int(total or 0)
    return dict(totals)


def fee_charged(session: Session, claim_ids: Collection[int]) -> set[int]:
    """Claims that were in a booked letter with a fee (NRW: the fee is due once per claim)."""
    charged: set[int] = set()
    for part in chunks(sorted(claim_ids)):
        charged |= set(
            session.scalars(
                select(DunningItem.claim_id)
                .join(DunningLetter, DunningLetter.id == DunningItem.letter_id)
                .where(
                    DunningItem.claim_id.in_(part),
                    DunningItem.booked.is_(True),
                    DunningLetter.fee_cents > 0,
                )
            )
        )
    return charged


def last_run_date(session: Session, municipality_id: int) -> date | None:
    """The date of the latest run not discarded."""
    return session.scalar(
        select(func.max(DunningRun.run_date)).where(
            DunningRun.municipality_id == municipality_id,
            DunningRun.state != RunState.DISCARDED,
        )
    )
