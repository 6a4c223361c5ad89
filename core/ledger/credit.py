"""Offsetting a person's credit (Guthaben) against their open items (Verrechnung), in the
statutory order of § 225 AO (core.ledger.allocation)."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from core.ledger.accounts import person_accounts
from core.ledger.allocation import allocate
from core.ledger.balances import credit_balance
from core.ledger.journal import add_posting, new_entry, save_entry
from core.ledger.models import EntryKind, JournalEntry
from core.ledger.queries import open_items
from core.persons.models import Person


def apply_credit(
    session: Session, person: Person, *, as_of: date, actor: str
) -> JournalEntry | None:
    """Offset the person's credit against open items in the statutory order."""
    credit = credit_balance(session, person)
    items = open_items(session, person) if credit > 0 else []
    if not items:
        return None
    allocation = allocate(credit, items, as_of=as_of)
    allocation.credit_cents = 0  # what is not used simply stays on the credit account
    accounts = person_accounts(session, person)
    entry = new_entry(
        person,
        EntryKind.CREDIT_APPLICATION,
        value_date=as_of,
        actor=actor,
        text="Verrechnung mit Guthaben",
    )
    for claim_id, part in allocation.parts:
        add_posting(entry, accounts.credit, accounts.receivable, part, claim_id=claim_id)
    return save_entry(session, entry)
