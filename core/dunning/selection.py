"""What a dunning run reads: the municipality's open due claims with their dunning level, the
claims it must leave alone (blocked, in collection), and the payment history the surcharges
are computed from. Read-only; a handful of statements per run, none per claim. Given the
persons of a chunk (the preview job, core.dunning.jobs.PrepareDunningRun), each read is limited
to them: a constant number of statements per chunk, never one per person."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, Literal, NamedTuple, TypeVar, overload

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from core.dunning import blocks
from core.dunning.models import DunningItem, DunningLetter, DunningRun, LateSurcharge, RunState
from core.dunning.procedure import ClaimDunning
from core.dunning.surcharges import Channel
from core.dunning.surcharges import Payment as SurchargePayment
from core.kernel.id_lists import IDS, ids_in
from core.ledger.balances import claim_totals
from core.ledger.kinds import ClaimKind
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


class ClaimRow(NamedTuple):
    """What a run reads of a claim: a plain row, not an ORM object (a run reads a million)."""

    id: int
    person_id: int
    kind: ClaimKind
    due_date: date


AnyClaim = Claim | ClaimRow
C_co = TypeVar("C_co", bound=AnyClaim, covariant=True)


@dataclass(frozen=True, slots=True)
class Candidate(Generic[C_co]):
    """An open claim due by the run date, with where it stands in dunning (``claim``: the ORM
    object for the hand-over to enforcement, a plain row for a run)."""

    claim: C_co
    assessed_cents: int
    dunning: ClaimDunning

    @property
    def open_cents(self) -> int:
        return self.dunning.open_cents


def _due(municipality_id: int, run_date: date, person_ids: Collection[int] | None) -> Select[Any]:
    if person_ids is None:
        return select(Claim.id).where(
            Claim.municipality_id == municipality_id,
            Claim.cancelled_by_entry_id.is_(None),
            Claim.due_date < run_date,
        )
    return select(Claim.id).where(
        ids_in(Claim.person_id, sorted(person_ids)),
        _not_by_index(Claim.municipality_id) == municipality_id,
        Claim.cancelled_by_entry_id.is_(None),
        Claim.due_date < run_date,
    )


def _not_by_index(column: InstrumentedAttribute[int]) -> ColumnElement[int]:
    """``column + 0``: the same value, but no index on it is used for the condition. Given an
    id list, SQLite cannot tell that it is the narrower condition and would otherwise walk the
    municipality's whole index (every claim, every debit) for each chunk."""
    return column + 0


def persons_due(session: Session, municipality_id: int, run_date: date) -> list[int]:
    """The persons with an open claim due before the run date, in id order (the preview job's
    objects)."""
    totals = claim_totals(_due(municipality_id, run_date, None))
    return list(
        session.scalars(
            select(Claim.person_id)
            .join(totals, totals.c.claim_id == Claim.id)
            .where(totals.c.open > 0)
            .distinct()
            .order_by(Claim.person_id)
        )
    )


def open_due_claims(
    session: Session,
    municipality_id: int,
    run_date: date,
    person_ids: Collection[int] | None = None,
) -> list[tuple[Claim, int, int]]:
    """(claim, assessed, open) of the claims not cancelled, open and due before the run date
    (of ``person_ids`` only, when given)."""
    totals = claim_totals(_due(municipality_id, run_date, person_ids))
    rows = session.execute(
        select(Claim, totals.c.assessed, totals.c.open)
        .join(totals, totals.c.claim_id == Claim.id)
        .where(totals.c.open > 0)
        .order_by(Claim.person_id, Claim.due_date, Claim.id)
    )
    return [(claim, int(assessed), int(open_cents)) for claim, assessed, open_cents in rows]


def open_due_rows(
    session: Session,
    municipality_id: int,
    run_date: date,
    person_ids: Collection[int] | None = None,
) -> list[tuple[ClaimRow, int, int]]:
    """:func:`open_due_claims` as plain rows, for a run."""
    totals = claim_totals(_due(municipality_id, run_date, person_ids))
    rows = session.execute(
        select(
            Claim.id, Claim.person_id, Claim.kind, Claim.due_date, totals.c.assessed, totals.c.open
        )
        .join(totals, totals.c.claim_id == Claim.id)
        .where(totals.c.open > 0)
        .order_by(Claim.person_id, Claim.due_date, Claim.id)
    )
    return [
        (ClaimRow(claim_id, person_id, kind, due), int(assessed), int(open_cents))
        for claim_id, person_id, kind, due, assessed, open_cents in rows
    ]


def _parts(claim_ids: Collection[int] | None) -> Iterator[Sequence[int] | None]:
    """The claims in IN-list chunks, or once None: the whole municipality."""
    if claim_ids is None:
        yield None
        return
    yield from chunks(sorted(claim_ids), IDS)


def levels(
    session: Session, municipality_id: int, claim_ids: Collection[int] | None = None
) -> dict[int, tuple[int, date]]:
    """(latest level booked, its run date) per claim of the municipality (of ``claim_ids``)."""
    found: dict[int, tuple[int, date]] = {}
    for part in _parts(claim_ids):
        query = (
            select(DunningItem.claim_id, func.max(DunningItem.level), func.max(DunningRun.run_date))
            .join(DunningLetter, DunningLetter.id == DunningItem.letter_id)
            .join(DunningRun, DunningRun.id == DunningLetter.run_id)
            .where(DunningRun.municipality_id == municipality_id, DunningItem.booked.is_(True))
            .group_by(DunningItem.claim_id)
        )
        if part is not None:
            query = query.where(ids_in(DunningItem.claim_id, part))
        found.update({c: (int(level), day) for c, level, day in session.execute(query)})
    return found


def in_collection(
    session: Session, municipality_id: int, claim_ids: Collection[int] | None = None
) -> set[int]:
    """Claims a direct debit not yet settled or a card payment in progress holds."""
    held: set[int] = set()
    for part in _parts(claim_ids):
        debit_town: Any = DirectDebitItem.municipality_id
        card_town: Any = ClaimReservation.municipality_id
        if part is not None:  # found by claim: the municipality's index is not for this
            debit_town, card_town = _not_by_index(debit_town), _not_by_index(card_town)
        debits = select(DirectDebitItem.claim_id).where(
            debit_town == municipality_id, DirectDebitItem.status == ItemStatus.IN_COLLECTION
        )
        cards = select(ClaimReservation.claim_id).where(
            card_town == municipality_id, ClaimReservation.released_at.is_(None)
        )
        if part is not None:
            debits = debits.where(ids_in(DirectDebitItem.claim_id, part))
            cards = cards.where(ids_in(ClaimReservation.claim_id, part))
        held |= set(session.scalars(debits)) | set(session.scalars(cards))
    return held


@overload
def candidates(
    session: Session,
    municipality_id: int,
    run_date: date,
    person_ids: Collection[int] | None = None,
    *,
    plain: Literal[False] = False,
) -> list[Candidate[Claim]]: ...


@overload
def candidates(
    session: Session,
    municipality_id: int,
    run_date: date,
    person_ids: Collection[int] | None = None,
    *,
    plain: Literal[True],
) -> list[Candidate[ClaimRow]]: ...


def candidates(
    session: Session,
    municipality_id: int,
    run_date: date,
    person_ids: Collection[int] | None = None,
    *,
    plain: bool = False,
) -> list[Candidate[Claim]] | list[Candidate[ClaimRow]]:
    """The open due claims a run may dun (of ``person_ids`` only, when given): neither blocked
    on the run date nor in collection; ``plain``: their claims as plain rows (ClaimRow)."""
    due: Sequence[tuple[AnyClaim, int, int]] = (
        open_due_rows(session, municipality_id, run_date, person_ids)
        if plain
        else open_due_claims(session, municipality_id, run_date, person_ids)
    )
    ids = None if person_ids is None else [claim.id for claim, _, _ in due]
    blocked_persons, blocked_claims = blocks.blocked_on(session, municipality_id, run_date)
    skipped = blocked_claims | in_collection(session, municipality_id, ids)
    known = levels(session, municipality_id, ids)
    found: list[Any] = []
    for claim, assessed, open_cents in due:
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
    for part in chunks(sorted(claim_ids), IDS):
        rows = session.execute(
            select(Posting.claim_id, JournalEntry.value_date, Posting.amount_cents, Payment.channel)
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .join(receivable, receivable.id == Posting.credit_account_id)
            .outerjoin(Payment, Payment.id == Posting.payment_id)
            .where(
                ids_in(Posting.claim_id, part),
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
    for part in chunks(sorted(claim_ids), IDS):
        for table in (DunningItem, LateSurcharge):
            rows = session.execute(
                select(table.claim_id, func.sum(table.surcharge_cents))
                .where(ids_in(table.claim_id, part), table.booked.is_(True))
                .group_by(table.claim_id)
            )
            for claim_id, total in rows:
                totals[claim_id] += int(total or 0)
    return dict(totals)


def fee_charged(session: Session, claim_ids: Collection[int]) -> set[int]:
    """Claims that were in a booked letter with a fee (NRW: the fee is due once per claim)."""
    charged: set[int] = set()
    for part in chunks(sorted(claim_ids), IDS):
        charged |= set(
            session.scalars(
                select(DunningItem.claim_id)
                .join(DunningLetter, DunningLetter.id == DunningItem.letter_id)
                .where(
                    ids_in(DunningItem.claim_id, part),
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
