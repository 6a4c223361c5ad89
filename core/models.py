"""Imports every table so that ``Base.metadata`` is complete (Alembic, tests, create_all)."""

from core.audit import AuditEvent
from core.db import Base
from core.identity import UserAccount
from core.ledger.models import Claim, JournalEntry, LedgerAccount, Payment, Posting
from core.persons import Address, Person
from core.tenancy import Counter, Municipality

__all__ = [
    "Address",
    "AuditEvent",
    "Base",
    "Claim",
    "Counter",
    "JournalEntry",
    "LedgerAccount",
    "Municipality",
    "Payment",
    "Person",
    "Posting",
    "UserAccount",
]
