"""The bank import in bulk: the plain lines of a statement — transfers naming a Kassenzeichen
or a dunning letter's reference (core.payments.bank.matching.payee_of, as one by one),
the credits of our direct debits found by EndToEndId, money nobody can match (suspense) and
debits without a direct debit — matched with a few queries per chunk and booked in a handful
of executemany INSERTs (core.ledger.bulk_receipts).

Every line is booked exactly as :func:`core.payments.bank.booking.book_entry` books it, in the
statement's order, with the same rows and report. What is rare and touches much (returns,
collective credits of a run, credits found by mandate reference) goes through ``book_entry``
itself, the chunk before it written first, so that each line sees what the lines before it
booked. A chunk reads, before it books: the bank references already known, our direct-debit
items by EndToEndId, the open items and accounts of the persons it pays for, and payments
already booked under its references.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.kernel.errors import LedgerError
from core.ledger.bulk_receipts import LedgerBatch, insert_rows
from core.ledger.models import Payment, PaymentChannel
from core.payments.bank import camt
from core.payments.bank.booking import SUSPENSE_ACCOUNT, book_entry, line_ref, transfer_method
from core.payments.bank.matching import MatchIndex, Payee, payee_of, suggest_many
from core.payments.bank.models import BankLine, LineStatus, StatementImport
from core.payments.bank.payout_debits import payout_run_of
from core.payments.bank.report import ImportReport
from core.payments.bank.returns import BANK_ACCOUNT
from core.payments.sepa.models import DirectDebitItem, ItemStatus
from core.payments.sepa.rules import SepaRules
from core.payments.sepa.runs import CLEARING_ACCOUNT
from core.tenancy.municipalities import Municipality

CHUNK = 5000  # transactions read and written together
_IN = 5000  # values per IN list


@dataclass
class Import:
    """What one statement's import works with (as :func:`book_entry` takes it)."""

    session: Session
    municipality: Municipality
    statement: camt.CamtStatement
    record: StatementImport
    index: MatchIndex
    rules: SepaRules
    report: ImportReport
    as_of: date
    actor: str


def book_one(job: Import, entry: camt.CamtEntry, advance: Callable[[int], None]) -> None:
    """One entry booked on its own (returns, collective credits, the line-by-line path)."""
    book_entry(
        job.session,
        job.municipality,
        job.statement,
        entry,
        job.record,
        job.index,
        job.rules,
        job.report,
        job.as_of,
        job.actor,
    )
    advance(len(entry.transactions))


def book_statement_in_bulk(job: Import, advance: Callable[[int], None]) -> None:
    """Every entry of the statement, in order: plain ones in chunks, the rest one by one."""
    pending: list[camt.CamtEntry] = []
    size = 0
    for entry in job.statement.entries:
        if _one_by_one(entry, job.index):
            _book_chunk(job, pending, advance)
            pending, size = [], 0
            book_one(job, entry, advance)
            continue
        pending.append(entry)
        size += len(entry.transactions)
        if size >= CHUNK:
            _book_chunk(job, pending, advance)
            pending, size = [], 0
    _book_chunk(job, pending, advance)


def _one_by_one(entry: camt.CamtEntry, index: MatchIndex) -> bool:
    """Whether book_entry takes the entry: a return, a credit found by mandate reference, a
    collective credit of one of our direct-debit runs or the collective debit of one of our
    payout runs (never a line of the bulk path's kinds only)."""
    if entry.status != "BOOK":
        return False
    if entry.is_return:
        return True
    if any(tx.mandate_id and not tx.end_to_end_id for tx in entry.transactions):
        return True
    if not entry.credit:  # a payout run's file debited as one (core.payments.bank.payout_debits)
        return payout_run_of(index.session, index.municipality_id, entry) is not None
    return (
        any(not tx.end_to_end_id for tx in entry.transactions)
        and index.run_by_batch(entry.batch_payment_info_id, entry.batch_message_id) is not None
    )


def _book_chunk(job: Import, entries: list[camt.CamtEntry], advance: Callable[[int], None]) -> None:
    if entries:
        _Chunk(job, entries).book()
        advance(sum(len(e.transactions) for e in entries))


@dataclass
class _Line:
    row: dict[str, Any]  # the bank_line row as it is finally written
    tx: camt.CamtTransaction
    payee: Payee
    payment: int | None = None  # position of its new payment in the batch
    suggest: bool = False


@dataclass
class _Chunk:
    job: Import
    entries: list[camt.CamtEntry]
    lines: list[_Line] = field(default_factory=list)
    credited: list[DirectDebitItem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.batch = LedgerBatch(self.job.session, self.job.municipality.id, self.job.actor)

    def book(self) -> None:
        job = self.job
        job.session.flush()  # what the session holds goes first, as before a single entry
        refs = [
            [line_ref(job.statement, entry, n, tx) for n, tx in enumerate(entry.transactions, 1)]
            for entry in self.entries
        ]
        flat = [ref for entry_refs in refs for ref in entry_refs]
        self.known = _known_refs(job.session, job.municipality.id, flat)
        self.booked = _payments_by_ref(job.session, job.municipality.id, flat)
        self.items = _items_by_e2e(
            job.session,
            job.municipality.id,
            [(tx.end_to_end_id or "")[:35] for e in self.entries for tx in e.transactions],
        )
        self.payees = {
            id(tx): payee_of(job.index, f"{tx.remittance} {tx.creditor_reference or ''}")
            for entry in self.entries
            for tx in entry.transactions
        }
        persons = [p.person_id for p in self.payees.values()]
        self.batch.load_persons([p for p in persons if p is not None])
        for entry, entry_refs in zip(self.entries, refs, strict=True):
            self._entry(entry, entry_refs)
        self._write()

    def _entry(self, entry: camt.CamtEntry, refs: list[str]) -> None:
        """book_entry for an entry of the bulk path's kinds."""
        report = self.job.report
        if entry.status != "BOOK":
            report.not_booked += 1  # pending or for information: it comes again once booked
            return
        day = entry.booking_date or entry.value_date or self.job.as_of
        lines = []
        for tx, ref in zip(entry.transactions, refs, strict=True):
            if ref in self.known:
                report.duplicates += 1
                continue
            lines.append(self._new_line(entry, tx, ref, day))
            report.transactions += 1
        self.known.update(line.row["external_ref"] for line in lines)
        for line in lines:
            if line.row["credit"]:
                report.credits += 1
                if self._credit(line, day):
                    report.credits_matched += 1
            else:
                self._queue(line, day, "Belastung ohne Bezug zu einer Lastschrift.")
            self.lines.append(line)  # after its booking: a write on the way leaves it for later

    def _new_line(
        self, entry: camt.CamtEntry, tx: camt.CamtTransaction, ref: str, day: date
    ) -> _Line:
        job = self.job
        row = {
            "municipality_id": job.municipality.id,
            "import_id": job.record.id,
            "entry_index": entry.index,
            "external_ref": ref,
            "amount_cents": tx.amount_cents,
            "credit": entry.credit != entry.reversal,  # a reversed debit is money coming in
            "booking_date": day,
            "counterparty_name": (tx.counterparty_name or "")[:140] or None,
            "counterparty_iban": tx.counterparty_iban,
            "remittance": tx.remittance[:500],
            "end_to_end_id": (tx.end_to_end_id or "")[:35] or None,
            "return_reason": tx.return_reason,
            "original_amount_cents": None,
            "charges_cents": None,
            "status": LineStatus.QUEUED,
            "method": None,
            "note": None,
            "person_id": None,
            "payment_id": None,
            "item_id": None,
            "suggestions": [],
            "resolved_by": None,
            "resolved_at": None,
        }
        return _Line(row, tx, self.payees[id(tx)])

    def _credit(self, line: _Line, day: date) -> bool:
        """booking._credit: our direct debit by EndToEndId, else the one person the
        Kassenzeichen names, else suspense with suggestions."""
        row = line.row
        item = self.items.get(row["end_to_end_id"]) if row["end_to_end_id"] else None
        if item is not None:
            if item.status is ItemStatus.IN_COLLECTION and item.amount_cents == row["amount_cents"]:
                self._clear(line, item, day)
                return True
            self._queue(
                line,
                day,
                f"Gutschrift zur Lastschrift {item.end_to_end_id} im Status „{item.status_label}“ "
                "oder mit anderem Betrag.",
            )
            return False
        if line.payee.person_id is not None:
            self._transfer(line, line.payee.person_id, day)
            return True
        if not self.job.index.open_by_amount_loaded:
            self._write()  # the suggestions see what the lines before this one booked
            self.job.index.open_by_amount()
        line.suggest = True
        self._queue(line, day, line.payee.reason)
        return False

    def _clear(self, line: _Line, item: DirectDebitItem, day: date) -> None:
        """booking._clear_line: the bank's money for one of our direct debits clears 1820."""
        self.batch.clearing(
            debit=BANK_ACCOUNT,
            credit=CLEARING_ACCOUNT,
            amount_cents=item.amount_cents,
            value_date=day,
            text=f"Gutschrift Lastschrift {item.end_to_end_id}",
            person_id=item.person_id,
            payment_id=item.payment_id,
        )
        set_committed_value(item, "status", ItemStatus.CREDITED)  # written in _write
        set_committed_value(item, "credited_on", day)
        self.credited.append(item)
        line.row.update(
            status=LineStatus.CLEARED,
            method="end_to_end_id",
            item_id=item.id,
            person_id=item.person_id,
        )
        self.job.report.cleared += 1
        self.job.report.cleared_cents += item.amount_cents

    def _transfer(self, line: _Line, person_id: int, day: date) -> None:
        """booking._book_transfer: booked to the person and allocated (§ 225 AO)."""
        row = line.row
        earlier = self.booked.get(row["external_ref"])
        if earlier is not None:  # record_payment returns the earlier booking
            if earlier[1:] != (row["amount_cents"], person_id):
                raise LedgerError("Dieselbe Transaktion wurde mit anderen Daten gemeldet.")
            row["payment_id"] = earlier[0]
        else:
            line.payment = self.batch.payment(
                person_id=person_id,
                amount_cents=row["amount_cents"],
                received_on=day,
                channel=PaymentChannel.BANK_TRANSFER,
                reference_text=row["remittance"][:140],
                kassenzeichen=line.payee.kassenzeichen,
                claim_ids=line.payee.claim_ids,
                external_ref=row["external_ref"],
            )
        row.update(
            status=LineStatus.BOOKED,
            person_id=person_id,
            method=transfer_method(row["remittance"], line.payee),
        )
        self.job.report.booked_cents += row["amount_cents"]

    def _queue(self, line: _Line, day: date, reason: str) -> None:
        """booking.queue_line: parked in suspense (or taken from there) for a clerk."""
        row = line.row
        credit = row["credit"]
        self.batch.clearing(
            debit=BANK_ACCOUNT if credit else SUSPENSE_ACCOUNT,
            credit=SUSPENSE_ACCOUNT if credit else BANK_ACCOUNT,
            amount_cents=row["amount_cents"],
            value_date=day,
            text=f"Ungeklärter {'Eingang' if credit else 'Abgang'} (Kontoauszug)",
        )
        row.update(status=LineStatus.QUEUED, note=reason[:500])
        self.job.report.queued += 1
        self.job.report.queued_cents += row["amount_cents"]

    def _write(self) -> None:
        """What the chunk booked so far: ledger rows, bank lines, the items credited."""
        session = self.job.session
        wanting = [line for line in self.lines if line.suggest]
        found = suggest_many(
            session,
            self.job.index,
            [(line.row["amount_cents"], line.row["counterparty_name"]) for line in wanting],
        )
        for line, suggestions in zip(wanting, found, strict=True):
            line.row["suggestions"] = suggestions
        payment_ids = self.batch.write()
        for line in self.lines:
            if line.payment is not None:
                line.row["payment_id"] = payment_ids[line.payment]
        insert_rows(session, BankLine, [line.row for line in self.lines])
        if self.credited:
            table = cast(Table, DirectDebitItem.__table__)
            session.connection().execute(
                update(table)
                .where(table.c.id == bindparam("item_id"))
                .values(status=bindparam("new_status"), credited_on=bindparam("day")),
                [
                    {"item_id": i.id, "new_status": i.status, "day": i.credited_on}
                    for i in self.credited
                ],
            )
        self.lines, self.credited = [], []


def _in_parts(values: list[str]) -> list[list[str]]:
    unique = sorted({v for v in values if v})
    return [unique[first : first + _IN] for first in range(0, len(unique), _IN)]


def _known_refs(session: Session, municipality_id: int, refs: list[str]) -> set[str]:
    """The bank references of ``refs`` booked by an earlier import (or earlier in this one)."""
    known: set[str] = set()
    for part in _in_parts(refs):
        known.update(
            session.connection().scalars(
                select(BankLine.external_ref).where(
                    BankLine.municipality_id == municipality_id, BankLine.external_ref.in_(part)
                )
            )
        )
    return known


def _payments_by_ref(
    session: Session, municipality_id: int, refs: list[str]
) -> dict[str, tuple[int, int, int | None]]:
    """Transfers already booked under these references: ref → (id, amount, person id)."""
    found: dict[str, tuple[int, int, int | None]] = {}
    for part in _in_parts(refs):
        for ref, payment_id, amount, person_id in session.connection().execute(
            select(Payment.external_ref, Payment.id, Payment.amount_cents, Payment.person_id).where(
                Payment.municipality_id == municipality_id,
                Payment.channel == PaymentChannel.BANK_TRANSFER,
                Payment.external_ref.in_(part),
            )
        ):
            if ref is not None:
                found[ref] = (payment_id, amount, person_id)
    return found


def _items_by_e2e(
    session: Session, municipality_id: int, e2e_ids: list[str]
) -> dict[str, DirectDebitItem]:
    """Our direct-debit items by EndToEndId (the session's own objects, kept current)."""
    items: dict[str, DirectDebitItem] = {}
    for part in _in_parts(e2e_ids):
        for item in session.scalars(
            select(DirectDebitItem).where(
                DirectDebitItem.municipality_id == municipality_id,
                DirectDebitItem.end_to_end_id.in_(part),
            )
        ):
            items[item.end_to_end_id] = item
    return items
