"""Bulk booking of collections: payments that each settle exactly the open amount of one claim
(the items of a direct-debit run), with their journal entries, postings and audit rows in one
executemany per table.

Each is booked as :func:`core.ledger.receipts.record_payment` books a payment designated to one
claim whose open amount it equals: § 225 (1) AO gives all of it to that claim, nothing becomes
credit. So, row for row: a payment, one journal entry ``Zahlungseingang …`` with one posting
(cash account → the person's receivable, naming the claim and the payment) and the audit row
``payment.booked`` with the same content. The caller guarantees the equality (it reads the open
amounts under lock in the same transaction); the rows are only inserted, so the append-only
guards and the database CHECKs see them as any other insert.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.kernel.errors import LedgerError, ValidationError
from core.kernel.id_lists import ids_in
from core.ledger.bulk import executemany, receivable_accounts
from core.ledger.models import (
    AccountKind,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    Payment,
    PaymentChannel,
    Posting,
)
from core.persons.models import Person
from core.tenancy.municipalities import reserve_ids


@dataclass(frozen=True, slots=True)
class NewCollection:
    """One payment of ``amount_cents`` (the claim's whole open amount) for one claim."""

    person_id: int
    claim_id: int
    amount_cents: int
    external_ref: str
    reference_text: str


def post_collections(
    session: Session,
    collections: Sequence[NewCollection],
    *,
    municipality_id: int,
    channel: PaymentChannel,
    received_on: date,
    cash_account_id: int,
    actor: str,
) -> list[int]:
    """Book ``collections`` (a chunk) at once; returns the payments' ids in their order."""
    _check(collections)
    if not collections:
        return []
    receivable = receivable_account_ids(session, {c.person_id for c in collections})
    if cash_account_id in receivable.values():
        raise LedgerError("Soll- und Habenkonto müssen verschieden sein.")
    now = clock.now()  # one instant for the chunk's rows (one transaction)
    payment_ids = _insert(
        session, Payment, _payment_rows(collections, municipality_id, channel, received_on, now)
    )
    entry_ids = _insert(
        session,
        JournalEntry,
        [
            {
                "municipality_id": municipality_id,
                "person_id": new.person_id,
                "kind": EntryKind.PAYMENT,
                "value_date": received_on,
                "booked_at": now,
                "text": f"Zahlungseingang {new.reference_text}".strip()[:200],
                "actor": actor,
                "reverses_entry_id": None,
            }
            for new in collections
        ],
    )
    rows = zip(collections, payment_ids, entry_ids, strict=True)
    _insert(
        session,
        Posting,
        [
            {
                "entry_id": entry_id,
                "debit_account_id": cash_account_id,
                "credit_account_id": receivable[new.person_id],
                "amount_cents": new.amount_cents,
                "claim_id": new.claim_id,
                "payment_id": payment_id,
            }
            for new, payment_id, entry_id in rows
        ],
    )
    audit.record_all(
        session,
        _audit_rows(collections, payment_ids, municipality_id, channel, actor),
        occurred_at=now,
    )
    return payment_ids


def receivable_account_ids(session: Session, person_ids: Collection[int]) -> dict[int, int]:
    """The receivable account id per person in one query; the Personenkonto of a person who
    lacks one of its two accounts is completed as record_payment would (core.ledger.bulk)."""
    found: dict[int | None, dict[AccountKind, int]] = {}
    rows = session.connection().execute(
        select(LedgerAccount.id, LedgerAccount.person_id, LedgerAccount.kind).where(
            ids_in(LedgerAccount.person_id, sorted(person_ids))
        )
    )  # no ORDER BY id: SQLite would walk the whole table in id order instead
    for account_id, person_id, kind in sorted(rows, key=lambda row: row[0]):
        found.setdefault(person_id, {})[kind] = account_id  # the last, as person_accounts
    incomplete = [pid for pid in person_ids if len(found.get(pid, {})) < 2]
    result = {
        pid: kinds[AccountKind.RECEIVABLE]
        for pid, kinds in found.items()
        if pid is not None and len(kinds) == 2
    }
    if incomplete:
        persons = list(session.scalars(select(Person).where(Person.id.in_(sorted(incomplete)))))
        result.update(receivable_accounts(session, persons))
    return result


def _check(collections: Sequence[NewCollection]) -> None:
    """The check of record_payment, for every payment before anything is written."""
    for new in collections:
        amount = new.amount_cents
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise ValidationError("Der Zahlbetrag muss positiv sein (in Cent).")


def _payment_rows(
    collections: Sequence[NewCollection],
    municipality_id: int,
    channel: PaymentChannel,
    received_on: date,
    now: datetime,
) -> list[dict[str, Any]]:
    return [
        {
            "municipality_id": municipality_id,
            "person_id": new.person_id,
            "amount_cents": new.amount_cents,
            "received_on": received_on,
            "channel": channel,
            "reference_text": new.reference_text[:140],
            "external_ref": new.external_ref,
            "created_at": now,
            "reversed_by_entry_id": None,
        }
        for new in collections
    ]


def _audit_rows(
    collections: Sequence[NewCollection],
    payment_ids: list[int],
    municipality_id: int,
    channel: PaymentChannel,
    actor: str,
) -> list[audit.Row]:
    """The rows audit.record writes for ``payment.booked`` in record_payment: all of each
    payment allocated to its claim, no credit."""
    return [
        audit.Row(
            actor,
            "payment.booked",
            Payment.__tablename__,
            payment_id,
            municipality_id,
            after={
                "amount_cents": new.amount_cents,
                "channel": channel.value,
                "allocated": [[new.claim_id, new.amount_cents]],
                "credit_cents": 0,
            },
        )
        for new, payment_id in zip(collections, payment_ids, strict=True)
    ]


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """``rows`` as new rows of ``model`` with reserved ids, in one executemany; their ids."""
    ids = reserve_ids(session, model, len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id
    insert_rows(session.connection(), model.__table__, rows)
    return ids


def insert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` in one executemany (core.ledger.bulk.executemany; psycopg pipelines it).
    SQLAlchemy's multi-row "insertmanyvalues" measured slower here on PostgreSQL (its Python
    side per row), so both databases take the same path."""
    executemany(connection, table, rows)
