"""The payout run's bulk path: what the preview needs for all persons in a handful of set-based
queries, and the approved run's items booked per chunk in one executemany per table.

Each payout is booked as one person at a time would book it: credit offset first with
:func:`core.ledger.credit.apply_credit` (for the persons who have open items only: for the
others it books nothing), then at most what the approver saw and what credit is left, as one
journal entry (kind refund, the person's credit account to 1830) with one posting and the audit
row ``payout.booked``; the item keeps the entry. Rows are inserted (core.ledger.bulk_receipts'
executemany with reserved ids), so the append-only guards and the CHECKs see them as any other
insert; the items are updated in one executemany per chunk. An item is only ever taken while
it has neither an entry nor a reason, under the run's lock: each (run, person) is booked once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, func, inspect, select, union_all, update
from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.kernel.id_lists import IDS, ids_in
from core.ledger.accounts import system_account
from core.ledger.balances import claim_totals
from core.ledger.bulk_receipts import insert_rows
from core.ledger.credit import apply_credit
from core.ledger.models import AccountKind, Claim, EntryKind, JournalEntry, LedgerAccount, Posting
from core.payments.payouts.accounts import payout_targets
from core.payments.payouts.blocks import blocked_persons
from core.payments.payouts.models import PayoutItem, PayoutRun
from core.payments.sepa.identifiers import masked_iban
from core.persons.models import Person

CHUNK = 5_000  # items booked per chunk (a constant number of statements each)
PAYOUT_ACCOUNT = "1830"  # Auszahlungen im Überweisungsausgang


class Credit(NamedTuple):
    account_id: int  # the person's credit account
    cents: int  # its credit (Guthaben): credits minus debits


class PlanRow(NamedTuple):
    """One person of a preview: their credit, what they owe, and where a payout goes or why
    it is not paid (``blocked``, ``no_iban``)."""

    person_id: int
    credit_cents: int
    open_cents: int
    reason: str | None
    account_holder: str | None = None
    iban: str | None = None
    bic: str | None = None

    @property
    def payable_cents(self) -> int:
        """Credit not needed for open items (what offsetting first would leave)."""
        return max(self.credit_cents - self.open_cents, 0)


def plan(session: Session, municipality_id: int, as_of: date) -> list[PlanRow]:
    """Every person whose credit exceeds what they owe, in order of id: credit, open items,
    blocks and payout targets each read for all persons at once."""
    blocked = blocked_persons(session, municipality_id, as_of)
    credit = {pid: c.cents for pid, c in credits(session, municipality_id).items()}
    with_credit = sorted(pid for pid, cents in credit.items() if cents > 0)
    owed = open_totals(session, municipality_id, with_credit)
    left = [pid for pid in with_credit if credit[pid] - owed.get(pid, 0) > 0]
    targets = payout_targets(session, municipality_id, left)
    rows = []
    for pid in left:
        target, owes = targets.get(pid), owed.get(pid, 0)
        if pid in blocked:
            rows.append(PlanRow(pid, credit[pid], owes, "blocked"))
        elif target is None:
            rows.append(PlanRow(pid, credit[pid], owes, "no_iban"))
        else:
            rows.append(
                PlanRow(
                    pid, credit[pid], owes, None, target.account_holder, target.iban, target.bic
                )
            )
    return rows


def _parts(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[first : first + IDS] for first in range(0, len(ids), IDS)]


def credits(
    session: Session, municipality_id: int, person_ids: Sequence[int] | None = None
) -> dict[int, Credit]:
    """The credit of every person (of ``person_ids``, else of the municipality) whose credit
    account has postings: one grouped sum over both sides per 20,000 persons."""
    found: dict[int, Credit] = {}
    for part in [None] if person_ids is None else _parts(person_ids):
        mine = [
            LedgerAccount.municipality_id == municipality_id,
            LedgerAccount.kind == AccountKind.CREDIT,
        ]
        if part is not None:
            mine.append(ids_in(LedgerAccount.person_id, part))
        accounts = select(LedgerAccount.id, LedgerAccount.person_id).where(*mine).subquery()
        signed = union_all(
            select(
                accounts.c.person_id, accounts.c.id.label("account_id"), Posting.amount_cents
            ).join(Posting, Posting.credit_account_id == accounts.c.id),
            select(accounts.c.person_id, accounts.c.id, -Posting.amount_cents).join(
                Posting, Posting.debit_account_id == accounts.c.id
            ),
        ).subquery()
        rows = session.execute(
            select(
                signed.c.person_id, func.min(signed.c.account_id), func.sum(signed.c.amount_cents)
            ).group_by(signed.c.person_id)
        )
        found.update((int(p), Credit(int(a), int(c or 0))) for p, a, c in rows)
    return found


def open_totals(
    session: Session, municipality_id: int, person_ids: Sequence[int]
) -> dict[int, int]:
    """What each person (of ``person_ids``) owes: the sum of their open items (the claims not
    cancelled with an open amount, as core.ledger.queries.open_items), absent when nothing."""
    found: dict[int, int] = {}
    for part in _parts(person_ids):
        mine = (Claim.municipality_id == municipality_id, ids_in(Claim.person_id, part))
        totals = claim_totals(select(Claim.id).where(*mine))
        rows = session.execute(
            select(Claim.person_id, func.sum(totals.c.open))
            .join(totals, totals.c.claim_id == Claim.id)
            .where(*mine, Claim.cancelled_by_entry_id.is_(None), totals.c.open > 0)
            .group_by(Claim.person_id)
        )
        found.update((int(p), int(total)) for p, total in rows)
    return found


def persons(session: Session, municipality_id: int, person_ids: Sequence[int]) -> dict[int, Person]:
    """The persons of ``person_ids`` (one statement per 20,000)."""
    found: dict[int, Person] = {}
    for part in _parts(person_ids):
        rows = session.scalars(
            select(Person).where(Person.municipality_id == municipality_id, ids_in(Person.id, part))
        )
        found.update((p.id, p) for p in rows)
    return found


class _Item(NamedTuple):
    id: int
    person_id: int
    amount_cents: int
    iban: str | None
    number: int  # the person's number (Personenkonto)


def book(
    session: Session,
    run: PayoutRun,
    blocked: Collection[int],
    *,
    actor: str,
    as_of: date,
) -> int:
    """Book the run's payable items not booked yet, :data:`CHUNK` at a time; how many were
    booked. The caller holds the run's lock."""
    session.flush()  # what the session holds goes first, as before a single booking
    payout_account = system_account(session, run.municipality_id, PAYOUT_ACCOUNT).id
    booked, after = 0, 0
    while items := _unbooked(session, run.id, after, CHUNK):
        after = items[-1].id
        booked += _book_chunk(session, run, items, blocked, payout_account, actor, as_of)
    for obj in list(session.identity_map.values()):  # what the session holds of them is stale
        if isinstance(obj, PayoutItem) and not inspect(obj).expired:
            session.expire(obj)
    return booked


def _unbooked(session: Session, run_id: int, after: int, chunk: int) -> list[_Item]:
    rows = session.execute(
        select(
            PayoutItem.id,
            PayoutItem.person_id,
            PayoutItem.amount_cents,
            PayoutItem.iban,
            Person.number,
        )
        .join(Person, Person.id == PayoutItem.person_id)
        .where(
            PayoutItem.run_id == run_id,
            PayoutItem.reason.is_(None),
            PayoutItem.entry_id.is_(None),
            PayoutItem.id > after,
        )
        .order_by(PayoutItem.id)
        .limit(chunk)
    )
    return [_Item(*row) for row in rows]


def _offset_first(
    session: Session, municipality_id: int, person_ids: Sequence[int], as_of: date, actor: str
) -> None:
    """Credit offset against open items (Verrechnung) for the persons who have any, one by one
    as apply_credit does it (§ 225 AO's order); the others have nothing to offset."""
    for person_id in sorted(open_totals(session, municipality_id, person_ids)):
        apply_credit(session, session.get_one(Person, person_id), as_of=as_of, actor=actor)


def _book_chunk(
    session: Session,
    run: PayoutRun,
    items: list[_Item],
    blocked: Collection[int],
    payout_account: int,
    actor: str,
    as_of: date,
) -> int:
    """One chunk: offset first, then the refunds of what is left, at most what was approved."""
    payable = [i.person_id for i in items if i.person_id not in blocked]
    _offset_first(session, run.municipality_id, payable, as_of, actor)
    credit = credits(session, run.municipality_id, payable) if payable else {}
    reasons: list[dict[str, Any]] = []
    paid: list[tuple[_Item, int, int]] = []  # (item, amount, credit account)
    for item in items:
        left = credit.get(item.person_id)
        amount = min(item.amount_cents, left.cents) if left else 0
        if item.person_id in blocked:
            reasons.append({"b_id": item.id, "b_reason": "blocked"})
        elif amount <= 0 or left is None:
            reasons.append({"b_id": item.id, "b_reason": "used_for_open_items"})
        else:
            paid.append((item, amount, left.account_id))
    if reasons:
        session.connection().execute(_SET_REASON, reasons)
    if paid:
        _write(session, run, paid, payout_account, actor)
    return len(paid)


_ITEMS = cast(Table, PayoutItem.__table__)
_SET_REASON = (
    update(_ITEMS).where(_ITEMS.c.id == bindparam("b_id")).values(reason=bindparam("b_reason"))
)
_SET_BOOKED = (
    update(_ITEMS)
    .where(_ITEMS.c.id == bindparam("b_id"))
    .values(
        entry_id=bindparam("b_entry"),
        paid_cents=bindparam("b_paid"),
        end_to_end_id=bindparam("b_e2e"),
    )
)


def _write(
    session: Session,
    run: PayoutRun,
    paid: list[tuple[_Item, int, int]],
    payout_account: int,
    actor: str,
) -> None:
    """The chunk's refunds: journal entries, postings, the items and their audit rows."""
    now = clock.now()  # one instant for the chunk's rows (one transaction)
    text = f"Auszahlung des Guthabens (Auszahlungslauf Nr. {run.id})"[:200]
    entry_ids = insert_rows(
        session,
        JournalEntry,
        [
            {
                "municipality_id": run.municipality_id,
                "person_id": item.person_id,
                "kind": EntryKind.REFUND,
                "value_date": run.execution_date,
                "booked_at": now,
                "text": text,
                "actor": actor,
                "reverses_entry_id": None,
            }
            for item, _, _ in paid
        ],
    )
    rows = list(zip(paid, entry_ids, strict=True))
    insert_rows(
        session,
        Posting,
        [
            {
                "entry_id": entry_id,
                "debit_account_id": account,
                "credit_account_id": payout_account,
                "amount_cents": amount,
                "claim_id": None,
                "payment_id": None,
            }
            for (_, amount, account), entry_id in rows
        ],
    )
    session.connection().execute(
        _SET_BOOKED,
        [
            {
                "b_id": item.id,
                "b_entry": entry_id,
                "b_paid": amount,
                "b_e2e": f"AUSZ-{run.id}-{item.number}"[:35],
            }
            for (item, amount, _), entry_id in rows
        ],
    )
    audit.record_all(session, _audit_rows(run, paid, actor), occurred_at=now)


def _audit_rows(run: PayoutRun, paid: list[tuple[_Item, int, int]], actor: str) -> list[audit.Row]:
    """The rows audit.record writes for ``payout.booked``, with the same content."""
    return [
        audit.Row(
            actor,
            "payout.booked",
            PayoutItem.__tablename__,
            item.id,
            run.municipality_id,
            after={
                "person_id": item.person_id,
                "amount_cents": amount,
                "iban": masked_iban(item.iban) if item.iban else "",
            },
        )
        for item, amount, _ in paid
    ]
