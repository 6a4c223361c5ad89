"""Bulk booking of payments and clearings (Umbuchungen): a chunk of them computed in memory and
written in one executemany per table (payments, journal entries, postings, audit rows), the ids
reserved up front, for the bank import.

Each payment is booked exactly as :func:`core.ledger.receipts.record_payment` books it, row for
row: the payment, one journal entry whose postings take the money from the cash account to the
claims (allocated by the same pure :func:`core.ledger.allocation.allocate`, § 225 AO) and the
rest to the person's credit account, and the audit row ``payment.booked``. A clearing is
:func:`core.ledger.journal.book_clearing`'s entry with its one posting. The open items of the
chunk's persons are read once; every payment of the chunk then sees what the payments before
it left open, as one by one. Rows are only inserted, so the append-only guards and the CHECKs
see them as any other insert.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.kernel.errors import LedgerError, ValidationError
from core.kernel.id_lists import ids_in
from core.ledger.accounts import CHANNEL_ACCOUNT, system_account
from core.ledger.allocation import Allocation, OpenItem, allocate
from core.ledger.balances import claim_totals
from core.ledger.bulk import executemany, receivable_accounts
from core.ledger.kinds import KINDS
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
from core.persons.models import Person
from core.tenancy.municipalities import reserve_ids


@dataclass
class _Claim:
    claim_id: int
    kassenzeichen: str
    item: OpenItem | None  # None when cancelled
    open_cents: int


@dataclass
class LedgerBatch:
    """Payments and clearings of one chunk, booked on :meth:`write`.

    ``load_persons`` reads the open items and Personenkonten of the persons the chunk pays for
    (one query each); :meth:`payment` allocates in memory and keeps the open amounts current.
    A new payment is named by its position (``new_payments``) until :meth:`write` gives the ids.
    """

    session: Session
    municipality_id: int
    actor: str
    claims: dict[int, list[_Claim]] = field(default_factory=dict)
    accounts: dict[tuple[int, AccountKind], int] = field(default_factory=dict)
    payments: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    # (entry position, debit, credit, amount, claim id, payment id, new payment position)
    postings: list[tuple[int, int, int, int, int | None, int | None, int | None]] = field(
        default_factory=list
    )
    audits: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (payment pos., after)
    _system: dict[str, int] = field(default_factory=dict)

    def account(self, code: str) -> int:
        """The id of one of the municipality's own accounts (opened on first use)."""
        if code not in self._system:
            self._system[code] = system_account(self.session, self.municipality_id, code).id
        return self._system[code]

    def load_persons(self, person_ids: Collection[int]) -> None:
        """Open items and Personenkonten of ``person_ids`` (those not loaded yet), read in two
        statements per 5,000 persons."""
        wanted = sorted(set(person_ids) - set(self.claims))
        for first in range(0, len(wanted), 5000):
            part = wanted[first : first + 5000]
            self._load_claims(part)
            self._load_accounts(part)

    def _load_claims(self, person_ids: list[int]) -> None:
        totals = claim_totals(select(Claim.id).where(ids_in(Claim.person_id, person_ids)))
        rows = self.session.connection().execute(  # plain rows: no ORM loading per row
            select(
                Claim.id,
                Claim.person_id,
                Claim.kind,
                Claim.due_date,
                Claim.kassenzeichen,
                Claim.cancelled_by_entry_id,
                func.coalesce(totals.c.open, 0),
            )
            .outerjoin(totals, totals.c.claim_id == Claim.id)
            .where(ids_in(Claim.person_id, person_ids))
            .order_by(Claim.due_date, Claim.id)
        )
        for person_id in person_ids:
            self.claims[person_id] = []
        group = {kind: spec.group for kind, spec in KINDS.items()}
        for claim_id, person_id, kind, due, kz, cancelled, open_cents in rows:
            item = None if cancelled else OpenItem(claim_id, group[kind], due, 0)
            self.claims[person_id].append(_Claim(claim_id, kz, item, int(open_cents)))

    def _load_accounts(self, person_ids: list[int]) -> None:
        found = self.session.connection().execute(
            select(LedgerAccount.person_id, LedgerAccount.kind, LedgerAccount.id).where(
                ids_in(LedgerAccount.person_id, person_ids)
            )
        )
        for person_id, kind, account_id in found:
            self.accounts[(person_id or 0, kind)] = account_id  # person accounts only

    def _person_account(self, person_id: int, kind: AccountKind) -> int:
        """The account of a loaded person; a person who has none yet (no claim was ever booked
        for them) gets their Personenkonto now, as record_payment would open it."""
        if (person_id, kind) not in self.accounts:
            person = self.session.get_one(Person, person_id)
            receivable_accounts(self.session, [person])
            self._load_accounts([person_id])
        return self.accounts[(person_id, kind)]

    def _allocate(
        self,
        person_id: int,
        amount_cents: int,
        received_on: date,
        kassenzeichen: str | None,
        claim_ids: Collection[int],
    ) -> Allocation:
        """Allocate to the person's loaded open items (designated first) and lower them."""
        claims = self.claims[person_id]
        designated = set(claim_ids) | {
            c.claim_id for c in claims if kassenzeichen and c.kassenzeichen == kassenzeichen
        }
        open_items = [
            OpenItem(c.item.claim_id, c.item.group, c.item.due_date, c.open_cents)
            for c in claims
            if c.item is not None and c.open_cents > 0
        ]
        allocation = allocate(amount_cents, open_items, as_of=received_on, designated=designated)
        by_id = {c.claim_id: c for c in claims}
        for claim_id, part in allocation.parts:
            by_id[claim_id].open_cents -= part
        return allocation

    def payment(
        self,
        *,
        person_id: int,
        amount_cents: int,
        received_on: date,
        channel: PaymentChannel,
        reference_text: str,
        kassenzeichen: str | None,
        external_ref: str,
        claim_ids: Collection[int] = (),
    ) -> int:
        """A payment allocated to the person's open items, the designated ones first — the
        ``claim_ids`` and the Kassenzeichen's (as record_payment with ``kassenzeichen`` and
        ``claim_ids``); its position in :attr:`payments`."""
        if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
            raise ValidationError("Der Zahlbetrag muss positiv sein (in Cent).")
        allocation = self._allocate(person_id, amount_cents, received_on, kassenzeichen, claim_ids)
        reference_text = reference_text[:140]
        self.payments.append(
            {
                "municipality_id": self.municipality_id,
                "person_id": person_id,
                "amount_cents": amount_cents,
                "received_on": received_on,
                "channel": channel,
                "reference_text": reference_text,
                "external_ref": external_ref,
                "reversed_by_entry_id": None,
            }
        )
        position = len(self.payments) - 1
        entry = self._entry(
            EntryKind.PAYMENT, received_on, f"Zahlungseingang {reference_text}".strip(), person_id
        )
        cash = self.account(CHANNEL_ACCOUNT[channel])
        receivable = self._person_account(person_id, AccountKind.RECEIVABLE)
        for claim_id, part in allocation.parts:
            self.postings.append((entry, cash, receivable, part, claim_id, None, position))
        if allocation.credit_cents:
            credit = self._person_account(person_id, AccountKind.CREDIT)
            self.postings.append(
                (entry, cash, credit, allocation.credit_cents, None, None, position)
            )
        after = {
            "amount_cents": amount_cents,
            "channel": channel.value,
            "allocated": allocation.parts,
            "credit_cents": allocation.credit_cents,
        }
        self.audits.append((position, after))
        return position

    def clearing(
        self,
        *,
        debit: str,
        credit: str,
        amount_cents: int,
        value_date: date,
        text: str,
        person_id: int | None = None,
        payment_id: int | None = None,
    ) -> None:
        """Money moved between two of the municipality's own accounts (book_clearing)."""
        if amount_cents <= 0:
            raise LedgerError("Buchungsbeträge müssen positiv sein.")
        entry = self._entry(EntryKind.CLEARING, value_date, text, person_id)
        debit_id, credit_id = self.account(debit), self.account(credit)
        if debit_id == credit_id:
            raise LedgerError("Soll- und Habenkonto müssen verschieden sein.")
        self.postings.append((entry, debit_id, credit_id, amount_cents, None, payment_id, None))

    def _entry(self, kind: EntryKind, value_date: date, text: str, person_id: int | None) -> int:
        self.entries.append(
            {
                "municipality_id": self.municipality_id,
                "person_id": person_id,
                "kind": kind,
                "value_date": value_date,
                "text": text[:200],
                "actor": self.actor,
                "reverses_entry_id": None,
            }
        )
        return len(self.entries) - 1

    def write(self) -> list[int]:
        """Insert what was booked since the last write; the new payments' ids in order."""
        session, now = self.session, clock.now()
        payment_ids = _insert(session, Payment, self.payments, created_at=now)
        entry_ids = _insert(session, JournalEntry, self.entries, booked_at=now)
        postings = [
            {
                "entry_id": entry_ids[entry],
                "debit_account_id": debit,
                "credit_account_id": credit,
                "amount_cents": amount,
                "claim_id": claim_id,
                "payment_id": payment_ids[new] if new is not None else payment_id,
            }
            for entry, debit, credit, amount, claim_id, payment_id, new in self.postings
        ]
        _insert(session, Posting, postings)
        audit.record_all(session, _audit_rows(self, payment_ids), occurred_at=now)
        self.payments, self.entries, self.postings, self.audits = [], [], [], []
        return payment_ids


def _audit_rows(batch: LedgerBatch, payment_ids: list[int]) -> list[audit.Row]:
    """The rows audit.record writes for ``payment.booked`` in record_payment."""
    return [
        audit.Row(
            batch.actor,
            "payment.booked",
            Payment.__tablename__,
            payment_ids[position],
            batch.municipality_id,
            after=after,
        )
        for position, after in batch.audits
    ]


def _insert(session: Session, model: Any, rows: list[dict[str, Any]], **same: Any) -> list[int]:
    """``rows`` (with the values in ``same`` added) as new rows with reserved ids; their ids."""
    if not rows:
        return []
    ids = reserve_ids(session, model, len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
        row.update(same)
    executemany(session.connection(), model.__table__, rows)
    return ids


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """New rows of ``model`` (every column named) in one executemany with reserved ids."""
    return _insert(session, model, rows)
