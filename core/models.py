"""Imports every table so that ``Base.metadata`` is complete (Alembic, tests, create_all)."""

from core.archive import Document, DocumentDownload
from core.audit import AuditEvent
from core.db import Base
from core.dogs import Dog
from core.identity import UserAccount
from core.ledger.models import Claim, JournalEntry, LedgerAccount, Payment, Posting, TaxAccount
from core.mail import OutboxMessage
from core.notices import Notice
from core.payments.attempts import PaymentAttempt, ProviderEvent
from core.payments.bank_import import BankLine, StatementImport
from core.payments.direct_debit import DirectDebitItem, DirectDebitRun, PreNotification
from core.payments.mandates import Mandate
from core.payments.refunds import Refund
from core.payments.reservations import ClaimReservation
from core.persons import Address, Person
from core.rate_limits import RateLimitHit
from core.statutes import Statute
from core.tenancy import Counter, Municipality
from core.waste import WasteBin, WasteProperty, WorkOrder
from core.water import Meter, MeterReading
from core.workflow import Application, ReviewCriterion

__all__ = [
    "Address",
    "Application",
    "AuditEvent",
    "BankLine",
    "Base",
    "Claim",
    "ClaimReservation",
    "Counter",
    "DirectDebitItem",
    "DirectDebitRun",
    "Document",
    "DocumentDownload",
    "Dog",
    "JournalEntry",
    "LedgerAccount",
    "Mandate",
    "Meter",
    "MeterReading",
    "Municipality",
    "Notice",
    "OutboxMessage",
    "Payment",
    "PaymentAttempt",
    "Person",
    "Posting",
    "PreNotification",
    "ProviderEvent",
    "RateLimitHit",
    "Refund",
    "ReviewCriterion",
    "StatementImport",
    "Statute",
    "TaxAccount",
    "UserAccount",
    "WasteBin",
    "WasteProperty",
    "WorkOrder",
]
