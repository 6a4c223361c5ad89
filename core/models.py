"""Imports every table so that ``Base.metadata`` is complete (Alembic, tests, create_all), and
the hooks lower layers ask through wherever the database is used: what a direct debit may
collect of an instalment plan's claims (core.payments.collection_limits), what a dunning
letter's reference designates (core.payments.bank.designations)."""

from core.delivery.models import Delivery, DeliveryConsent, Dispatch, PrintBatch
from core.dunning import (  # noqa: F401  (register their hooks: collection limits, references)
    instalment_debits,
    letter_references,
    payout_blocks,
)
from core.dunning.enforcement_models import EnforcementCase, EnforcementClaim, WriteOff
from core.dunning.instalment_models import Instalment, InstalmentPlan, PlanClaim
from core.dunning.letter_records import DunningLetterDocument
from core.dunning.models import (
    DunningBlock,
    DunningItem,
    DunningLetter,
    DunningRun,
    LateSurcharge,
)
from core.identity.external import (
    ExternalIdentity,
    ExternalLogin,
    IdentityProvider,
    ServiceTrustLevel,
)
from core.identity.models import UserAccount
from core.identity.rate_limits import RateLimitHit
from core.identity.saml import SamlAssertionSeen
from core.jobs.models import Job, JobChunk, JobFailure
from core.kernel.archive import Document, DocumentDownload
from core.kernel.audit import AuditEvent
from core.kernel.db import Base
from core.kernel.mail import OutboxMessage
from core.ledger.models import Claim, JournalEntry, LedgerAccount, Payment, Posting, TaxAccount
from core.levies.basis_notices.models import (
    BasisNotice,
    BasisNoticeImport,
    PendingNotice,
    TaxObject,
)
from core.levies.dog_tax.models import Dog
from core.levies.property_tax.models import AnnualPayment
from core.levies.trade_tax.refund_interest import RefundInterest
from core.levies.waste.models import WasteBin, WasteProperty, WorkOrder
from core.levies.water.models import Meter, MeterReading
from core.notices.records import Notice
from core.objections.models import Objection
from core.payments.bank.models import BankLine, StatementImport
from core.payments.card.attempts import PaymentAttempt, ProviderEvent
from core.payments.card.refunds import Refund
from core.payments.payouts.models import PayoutAccount, PayoutItem, PayoutRun
from core.payments.reservations import ClaimReservation
from core.payments.sepa.models import DirectDebitItem, DirectDebitRun, Mandate, PreNotification
from core.persons.models import Address, Person
from core.representation.models import PowerOfAttorney, Representative
from core.retention.models import LegalHold, RetentionItem, RetentionRun
from core.tenancy.municipalities import Counter, Municipality
from core.tenancy.statutes import Statute
from core.workflow.applications import Application
from core.workflow.criteria import ReviewCriterion

__all__ = [
    "Address",
    "AnnualPayment",
    "Application",
    "AuditEvent",
    "BankLine",
    "Base",
    "BasisNotice",
    "BasisNoticeImport",
    "Claim",
    "ClaimReservation",
    "Counter",
    "Delivery",
    "DeliveryConsent",
    "DirectDebitItem",
    "DirectDebitRun",
    "Dispatch",
    "Document",
    "DocumentDownload",
    "Dog",
    "DunningBlock",
    "DunningItem",
    "DunningLetter",
    "DunningLetterDocument",
    "DunningRun",
    "EnforcementCase",
    "EnforcementClaim",
    "ExternalIdentity",
    "ExternalLogin",
    "IdentityProvider",
    "Instalment",
    "InstalmentPlan",
    "Job",
    "JobChunk",
    "JobFailure",
    "JournalEntry",
    "LateSurcharge",
    "LedgerAccount",
    "LegalHold",
    "Mandate",
    "Meter",
    "MeterReading",
    "Municipality",
    "Notice",
    "Objection",
    "OutboxMessage",
    "Payment",
    "PaymentAttempt",
    "PayoutAccount",
    "PayoutItem",
    "PayoutRun",
    "PendingNotice",
    "Person",
    "PlanClaim",
    "Posting",
    "PowerOfAttorney",
    "PreNotification",
    "PrintBatch",
    "ProviderEvent",
    "RateLimitHit",
    "Refund",
    "RefundInterest",
    "Representative",
    "RetentionItem",
    "RetentionRun",
    "ReviewCriterion",
    "SamlAssertionSeen",
    "ServiceTrustLevel",
    "StatementImport",
    "Statute",
    "TaxAccount",
    "TaxObject",
    "UserAccount",
    "WasteBin",
    "WasteProperty",
    "WorkOrder",
    "WriteOff",
]
