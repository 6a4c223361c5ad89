"""Writing the journal: an entry and its postings are checked and saved together, and the one
booking between the municipality's own accounts (Umbuchung).

Each service in core.ledger flushes but never commits: the caller (a view, a CLI command, a batch
run) owns the transaction, so a service that fails half-way leaves nothing behind.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from core.kernel.errors import LedgerError
from core.ledger.accounts import system_account
from core.ledger.models import EntryKind, JournalEntry, LedgerAccount, Posting
from core.persons.models import Person


def new_entry(
    person: Person,
    kind: EntryKind,
    *,
    value_date: date,
    text: str,
    actor: str,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    """A new journal entry, not yet in the session: :func:`save_entry` adds it with all its
    postings at once, so that no autoflush can write an entry whose postings are still to come."""
    return JournalEntry(
        municipality_id=person.municipality_id,
        person_id=person.id,
        kind=kind,
        value_date=value_date,
        text=text[:200],
        actor=actor,
        reverses_entry_id=reverses.id if reverses else None,
    )


def save_entry(session: Session, entry: JournalEntry) -> JournalEntry:
    if not entry.postings:
        raise LedgerError("Eine Buchung ohne Buchungszeilen ist nicht zulässig.")
    session.add(entry)
    session.flush()
    return entry


def add_posting(
    entry: JournalEntry,
    debit: LedgerAccount,
    credit: LedgerAccount,
    amount: int,
    *,
    claim_id: int | None = None,
    payment_id: int | None = None,
) -> None:
    if amount <= 0:
        raise LedgerError("Buchungsbeträge müssen positiv sein.")
    if debit.id == credit.id:
        raise LedgerError("Soll- und Habenkonto müssen verschieden sein.")
    if debit.municipality_id != credit.municipality_id:
        raise LedgerError("Eine Buchung darf keine Kommunen mischen.")
    entry.postings.append(
        Posting(
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            amount_cents=amount,
            claim_id=claim_id,
            payment_id=payment_id,
        )
    )


def book_clearing(
    session: Session,
    municipality_id: int,
    *,
    debit: str,
    credit: str,
    amount_cents: int,
    value_date: date,
    text: str,
    actor: str,
    person_id: int | None = None,
    payment_id: int | None = None,
) -> JournalEntry:
    """Move money between two of the municipality's own accounts (Umbuchung), e.g. the bank's
    credit for a direct debit (bank ← clearing) or an unexplained transfer (bank → suspense).
    No person's balance changes."""
    entry = JournalEntry(
        municipality_id=municipality_id,
        person_id=person_id,
        kind=EntryKind.CLEARING,
        value_date=value_date,
        text=text[:200],
        actor=actor,
    )
    add_posting(
        entry,
        system_account(session, municipality_id, debit),
        system_account(session, municipality_id, credit),
        amount_cents,
        payment_id=payment_id,
    )
    return save_entry(session, entry)
