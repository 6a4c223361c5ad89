"""Bank statements in ISO 20022 camt format: camt.053 (statement) and camt.054 (notification).

German banks deliver account information as XML under the DFÜ-Abkommen, Anlage 3
("Spezifikation der Datenformate", Deutsche Kreditwirtschaft), which profiles the ISO 20022
messages:

* ``camt.053.001.08`` and the older ``camt.053.001.02`` – the end-of-day statement
  (``Document/BkToCstmrStmt/Stmt``, with balances);
* ``camt.054.001.08`` and ``camt.054.001.02`` – the debit/credit notification, e.g. the
  details of a direct-debit collection or of its returns
  (``Document/BkToCstmrDbtCdtNtfctn/Ntfctn``, no balances).

The statements as plain frozen dataclasses in integer cents (read by
core.payments.bank.camt_parser).

Returns (:attr:`CamtEntry.is_return`): an entry counts as a return when one of its
transactions has a return reason (``RtrInf/Rsn``), when its ISO bank transaction code is in the
``PMNT`` domain with one of the "reversal" sub-families ``UPDD`` (unpaid direct debit /
reversal due to payment return), ``PRDD`` (reversal due to payment reversal), ``RRTN``
(credit transfer returned) or ``RPCR`` (reversal due to a recall), or when its proprietary
German code carries the Geschäftsvorfallcode (GVC) ``108`` (SEPA direct debit returned to the
debtor), ``109`` (SEPA direct debit returned to the creditor) or ``159`` (SEPA credit transfer
returned). German banks write the proprietary code as ``<Buchungsschlüssel>+<GVC>[+…]``, e.g.
``NDDT+109+901``, or just the three-digit GVC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

SUPPORTED_KINDS = frozenset(
    {"camt.053.001.02", "camt.053.001.08", "camt.054.001.02", "camt.054.001.08"}
)

RETURN_SUBFAMILIES = frozenset({"UPDD", "PRDD", "RRTN", "RPCR"})
RETURN_GVCS = frozenset({"108", "109", "159"})


@dataclass(frozen=True)
class CamtTransaction:
    """One single payment: a ``TxDtls``, or the entry itself when the bank gives no details."""

    amount_cents: int
    end_to_end_id: str | None
    mandate_id: str | None
    acct_svcr_ref: str | None
    remittance: str
    creditor_reference: str | None
    counterparty_name: str | None
    counterparty_iban: str | None
    return_reason: str | None
    # Returns only (see core.payments.bank.returns): the amount of the original collection as the
    # bank states it (AmtDtls/InstdAmt, OrgnlIntrBkSttlmAmt) and the bank's charges included
    # in this debit (Chrgs); None where the bank states nothing.
    original_amount_cents: int | None = None
    charges_cents: int | None = None


@dataclass(frozen=True)
class CamtEntry:
    """One booking line (``Ntry``) of a statement."""

    index: int
    amount_cents: int
    credit: bool
    reversal: bool
    booking_date: date | None
    value_date: date | None
    acct_svcr_ref: str | None
    bank_transaction_code: str
    batch_payment_info_id: str | None
    batch_message_id: str | None
    batch_count: int | None
    transactions: tuple[CamtTransaction, ...]
    status: str = "BOOK"  # Sts: BOOK (booked), PDNG (pending), INFO – book only "BOOK"

    @property
    def is_return(self) -> bool:
        """A returned payment (see the module docstring for the codes that count)."""
        if any(tx.return_reason for tx in self.transactions):
            return True
        return is_return_code(self.bank_transaction_code)


@dataclass(frozen=True)
class CamtStatement:
    """One ``Stmt`` (camt.053) or ``Ntfctn`` (camt.054) for one account."""

    message_id: str
    statement_id: str
    sequence_number: str | None
    iban: str
    currency: str
    created_at: datetime | None
    kind: str
    entries: tuple[CamtEntry, ...]


def is_return_code(code: str) -> bool:
    """Whether a bank transaction code (ISO ``D/F/S`` or German proprietary) marks a return."""
    parts = code.split("/")
    if len(parts) == 3:
        return parts[0] == "PMNT" and parts[2] in RETURN_SUBFAMILIES
    fields = code.split("+")
    gvc = fields[1] if len(fields) > 1 else fields[0]
    return gvc.strip() in RETURN_GVCS
