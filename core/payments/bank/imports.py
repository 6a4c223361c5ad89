"""Bank statements (camt.053 / camt.054) imported, matched to open items and booked.

For each transaction of the statement (a TxDtls, or the entry when the bank gives no details):

* **Credit from our own direct-debit run**: found by the EndToEndId the run wrote into the
  pain.008 (or, for a collective entry without details, by the batch's PmtInfId/MsgId and its
  total): the bank's money clears account 1820 ("in collection"); the claims were settled when
  the run was made.
* **Return** (R-transaction, a debit with a reason code such as AC04, AM04, MD01, MS02),
  matched by its original EndToEndId and original amount, the bank's charges apart
  (core.payments.bank.returns): the direct-debit payment is reversed (the claim is open again), the
  bank's debit clears 1820, the charges are booked and claimed as costs when the statute says
  so for that reason, and the mandate is suspended for the reasons the statute lists
  (DOMAIN.md "SEPA direct debit").
* **Transfer** naming a Kassenzeichen (13 digits with valid check digits) or an RF reference:
  booked to that person and allocated (§ 225 AO; the Kassenzeichen designates its claims).
* **Anything else** is parked in suspense (account 1890, Verwahrgelder) and put in the clerks'
  queue, with suggestions by amount and name; the clerk assigns it (booked from suspense) or
  closes it with a note.

The import is one transaction: a malformed file is rejected whole by the parser before anything
is booked, and the caller commits once. Importing the same statement again books nothing: the
statement is known by account and statement id (and by the file's SHA-256), and every line by
its bank reference, which the payments carry as their idempotency key.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import audit, clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.kernel.errors import IllegalTransition, NotFound, ValidationError
from core.kernel.money import format_euro
from core.kernel.references import is_valid_kassenzeichen, is_valid_rf, normalize_kassenzeichen
from core.ledger.balances import open_amounts
from core.ledger.journal import book_clearing
from core.ledger.models import Claim, PaymentChannel, TaxAccount
from core.ledger.receipts import record_payment
from core.ledger.reversals import reverse_entry
from core.payments.bank import camt, pain002
from core.payments.bank.report import ImportReport
from core.payments.bank.returns import (
    BANK_ACCOUNT,
    bank_moves,
    breakdown,
    claim_costs,
    costs_to_claim,
    payment_entry,
    process_return,
    suspend_if_due,
)
from core.payments.sepa.direct_debit import DirectDebitItem, DirectDebitRun, ItemStatus
from core.payments.sepa.mandates import Mandate, SepaRules, rules_on
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, serialize

__all__ = ["BANK_ACCOUNT", "ImportReport"]  # re-exported for the callers of this module
SUSPENSE_ACCOUNT = "1890"
# Amounts are INTEGER cents in the database (32 bit on PostgreSQL): a statement with a larger
# one is refused whole with a German message instead of failing in the database.
MAX_STORED_CENTS = 2**31 - 1

# 13 digits, possibly printed in groups ("101 00000042 87"), not part of a longer number.
_KZ = re.compile(r"(?<!\d)(\d{3}[ .]?\d{8}[ .]?\d{2})(?!\d)")
_RF = re.compile(r"RF\d{2}[A-Z0-9]{1,21}", re.IGNORECASE)


class LineStatus(enum.StrEnum):
    BOOKED = "booked"  # a transfer booked to a person automatically
    CLEARED = "cleared"  # the bank's credit for one of our direct debits
    RETURNED = "returned"  # a return processed
    QUEUED = "queued"  # waits for a clerk (parked in suspense)
    ASSIGNED = "assigned"  # a clerk assigned it to a person
    CLOSED = "closed"  # a clerk closed it with a note (e.g. bank charges, sent back)


LINE_STATUS_LABELS = {
    LineStatus.BOOKED: "automatisch gebucht",
    LineStatus.CLEARED: "Lastschrift gutgeschrieben",
    LineStatus.RETURNED: "Rücklastschrift verarbeitet",
    LineStatus.QUEUED: "zu klären",
    LineStatus.ASSIGNED: "von Hand zugeordnet",
    LineStatus.CLOSED: "erledigt",
}


class StatementImport(Base):
    __tablename__ = "bank_statement_import"
    __table_args__ = (
        UniqueConstraint("municipality_id", "iban", "statement_id"),
        Index("ix_bank_statement_import_sha256", "municipality_id", "sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # e.g. camt.053.001.08
    message_id: Mapped[str] = mapped_column(String(35))
    statement_id: Mapped[str] = mapped_column(String(35))
    iban: Mapped[str] = mapped_column(String(34))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    imported_by: Mapped[str] = mapped_column(String(60))


class BankLine(Base):
    """One transaction of an imported statement and what became of it."""

    __tablename__ = "bank_line"
    __table_args__ = (
        UniqueConstraint("municipality_id", "external_ref"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        Index("ix_bank_line_queue", "municipality_id", "status"),
        Index("ix_bank_line_import", "import_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    import_id: Mapped[int] = mapped_column(
        ForeignKey("bank_statement_import.id", ondelete="RESTRICT")
    )
    entry_index: Mapped[int]
    external_ref: Mapped[str] = mapped_column(String(100))  # the bank's reference (idempotency)
    amount_cents: Mapped[int]
    credit: Mapped[bool]
    booking_date: Mapped[date]
    counterparty_name: Mapped[str | None] = mapped_column(String(140))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    remittance: Mapped[str] = mapped_column(String(500), default="")
    end_to_end_id: Mapped[str | None] = mapped_column(String(35))
    return_reason: Mapped[str | None] = mapped_column(String(4))
    # A return as the bank states it (core.payments.bank.returns): the original collection and the
    # bank's charges included in ``amount_cents``; None where the bank states nothing.
    original_amount_cents: Mapped[int | None]
    charges_cents: Mapped[int | None]
    status: Mapped[LineStatus] = mapped_column(enum_column(LineStatus, "bank_line_status", 20))
    method: Mapped[str | None] = mapped_column(String(20))  # how it was matched
    note: Mapped[str | None] = mapped_column(String(500))  # why queued / the clerk's note
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id", ondelete="RESTRICT"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("sepa_item.id", ondelete="RESTRICT"))
    suggestions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    resolved_by: Mapped[str | None] = mapped_column(String(60))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def status_label(self) -> str:
        return LINE_STATUS_LABELS[self.status]

    @property
    def amount_text(self) -> str:
        """The amount for clerks, a return's original amount and charges beside it."""
        return breakdown(self.amount_cents, self.original_amount_cents, self.charges_cents)


# --------------------------------------------------------------------------- matching context


class _Index:
    """What the matching needs, read once per import: Kassenzeichen → persons, our direct-debit
    items by EndToEndId, runs by batch id, and open claims by amount (for suggestions)."""

    def __init__(self, session: Session, municipality_id: int) -> None:
        self.session, self.municipality_id = session, municipality_id
        self.kz_persons: dict[str, set[int]] = defaultdict(set)
        for kz, person_id in session.execute(
            select(TaxAccount.kassenzeichen, TaxAccount.person_id).where(
                TaxAccount.municipality_id == municipality_id
            )
        ):
            self.kz_persons[kz].add(person_id)
        for kz, person_id in session.execute(
            select(Claim.kassenzeichen, Claim.person_id)
            .where(Claim.municipality_id == municipality_id)
            .distinct()
        ):
            self.kz_persons[kz].add(person_id)
        self._open_by_amount: dict[int, list[tuple[int, int]]] | None = None

    def item_by_e2e(self, end_to_end_id: str) -> DirectDebitItem | None:
        return self.session.scalars(
            select(DirectDebitItem).where(
                DirectDebitItem.municipality_id == self.municipality_id,
                DirectDebitItem.end_to_end_id == end_to_end_id,
            )
        ).first()

    def run_by_batch(
        self, payment_info_id: str | None, message_id: str | None
    ) -> DirectDebitRun | None:
        for column, value in (
            (DirectDebitRun.payment_info_id, payment_info_id),
            (DirectDebitRun.message_id, message_id),
        ):
            if value:
                run = self.session.scalars(
                    select(DirectDebitRun).where(
                        DirectDebitRun.municipality_id == self.municipality_id, column == value
                    )
                ).first()
                if run is not None:
                    return run
        return None

    def open_by_amount(self) -> dict[int, list[tuple[int, int]]]:
        """Open amount → [(claim id, person id)], for suggestions (loaded on first need)."""
        if self._open_by_amount is None:
            claims = list(
                self.session.scalars(
                    select(Claim).where(
                        Claim.municipality_id == self.municipality_id,
                        Claim.cancelled_by_entry_id.is_(None),
                    )
                )
            )
            owner = {c.id: c.person_id for c in claims}
            result: dict[int, list[tuple[int, int]]] = defaultdict(list)
            for start in range(0, len(claims), 500):
                chunk = claims[start : start + 500]
                for claim_id, open_cents in open_amounts(self.session, chunk).items():
                    if open_cents > 0:
                        result[open_cents].append((claim_id, owner[claim_id]))
            self._open_by_amount = result
        return self._open_by_amount


def references_in(text: str) -> list[str]:
    """Kassenzeichen named in a remittance text: 13-digit numbers with valid check digits, and
    the Kassenzeichen inside valid RF references (ISO 11649)."""
    found: list[str] = []
    for match in _RF.finditer(text or ""):
        rf = match.group(0).upper()
        if is_valid_rf(rf) and is_valid_kassenzeichen(rf[4:]):
            found.append(rf[4:])
    for match in _KZ.finditer(text or ""):
        kz = normalize_kassenzeichen(match.group(1))
        if is_valid_kassenzeichen(kz) and kz not in found:
            found.append(kz)
    return found


def _name_tokens(text: str | None) -> set[str]:
    return {t for t in re.split(r"[^a-zäöüß]+", (text or "").lower()) if len(t) >= 3}


# --------------------------------------------------------------------------- import


@dataclass(frozen=True)
class ParsedFile:
    """A bank file read and checked without the database: a payment status report (pain.002)
    or camt statements. Reading it first keeps the parse out of the write transaction (on
    SQLite every transaction holds the write lock, core.kernel.db)."""

    sha256: str
    status_report: pain002.StatusReport | None
    statements: list[camt.CamtStatement]


def read_bank_file(data: bytes) -> ParsedFile:
    """Parse (all or nothing): raises a German ValidationError for anything but a readable
    camt.053/camt.054 or pain.002 file with amounts the ledger can hold."""
    root = camt.parse_xml(data)
    sha = hashlib.sha256(data).hexdigest()
    if pain002.is_status_report(root):
        return ParsedFile(sha, pain002.parse_status_report(data), [])
    statements = camt.parse_statements(data)
    _check_storable(statements)
    return ParsedFile(sha, None, statements)


def import_statements(
    session: Session,
    municipality: Municipality,
    data: bytes | ParsedFile,
    *,
    filename: str,
    as_of: date,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Match and book every transaction of a file (its bytes, or read before with
    :func:`read_bank_file`); the caller commits.

    A payment status report (pain.002) for one of our direct-debit files is taken here too.
    """
    parsed = data if isinstance(data, ParsedFile) else read_bank_file(data)
    serialize(session, municipality.id, "bank_import")  # the same file twice at once: one wins
    if parsed.status_report is not None:
        return _import_status_report(
            session,
            municipality,
            parsed.status_report,
            sha256=parsed.sha256,
            filename=filename,
            as_of=as_of,
            actor=actor,
        )
    statements = parsed.statements
    report = ImportReport()
    sha = parsed.sha256
    if session.scalars(
        select(StatementImport.id).where(
            StatementImport.municipality_id == municipality.id, StatementImport.sha256 == sha
        )
    ).first():
        report.already_imported = [s.statement_id for s in statements]
        report.duplicates = sum(len(e.transactions) for s in statements for e in s.entries)
        return report
    own_iban = municipality.iban.replace(" ", "").upper()
    for statement in statements:
        if statement.iban.replace(" ", "").upper() != own_iban:
            raise ValidationError(
                f"Der Kontoauszug {statement.statement_id} gehört zum Konto "
                f"{statement.iban[:4]}…{statement.iban[-4:]}, nicht zum Konto der "
                f"{municipality.cash_office_name}. Es wurde nichts gebucht."
            )
    index = _Index(session, municipality.id)
    rules = rules_on(session, municipality.id, as_of)
    total = sum(len(e.transactions) for s in statements for e in s.entries)
    done = 0
    for statement in statements:
        known = session.scalars(
            select(StatementImport).where(
                StatementImport.municipality_id == municipality.id,
                StatementImport.iban == statement.iban,
                StatementImport.statement_id == statement.statement_id,
            )
        ).first()
        if known is not None:
            report.already_imported.append(statement.statement_id)
            report.duplicates += sum(len(e.transactions) for e in statement.entries)
            continue
        record = _new_import(
            session,
            municipality.id,
            filename=filename,
            sha256=sha,
            kind=statement.kind,
            message_id=statement.message_id,
            statement_id=statement.statement_id,
            iban=statement.iban,
            actor=actor,
        )
        mine = ImportReport(statements=1)
        for entry in statement.entries:
            _entry(
                session, municipality, statement, entry, record, index, rules, mine, as_of, actor
            )
            done += len(entry.transactions)
            if progress is not None:
                progress(done, total)
        _finish_import(session, record, mine, "bank.statement_imported", actor)
        _merge(report, mine)
        report.import_ids.append(record.id)
    session.flush()
    return report


def _check_storable(statements: list[camt.CamtStatement]) -> None:
    for statement in statements:
        for entry in statement.entries:
            amounts = [entry.amount_cents]
            for tx in entry.transactions:
                amounts += [tx.amount_cents, tx.original_amount_cents or 0, tx.charges_cents or 0]
            if max(amounts) > MAX_STORED_CENTS:
                raise ValidationError(
                    f"Auszug {statement.statement_id[:35]}, Buchung {entry.index}: der Betrag "
                    f"{format_euro(max(amounts))} ist größer als der größte Betrag, den die Kasse "
                    f"verbuchen kann ({format_euro(MAX_STORED_CENTS)}). Es wurde nichts gebucht. "
                    "Bitte prüfen Sie den Auszug mit Ihrer Bank; einen echten Umsatz dieser Höhe "
                    "bucht die Kassenleitung außerhalb von OpenKasse."
                )


def _new_import(
    session: Session,
    municipality_id: int,
    *,
    filename: str,
    sha256: str,
    kind: str,
    message_id: str,
    statement_id: str,
    iban: str,
    actor: str,
) -> StatementImport:
    record = StatementImport(
        municipality_id=municipality_id,
        filename=filename[:200],
        sha256=sha256,
        kind=kind,
        message_id=message_id[:35],
        statement_id=statement_id[:35],
        iban=iban,
        report={},
        imported_by=actor,
    )
    session.add(record)
    session.flush()
    return record


def _finish_import(
    session: Session, record: StatementImport, report: ImportReport, action: str, actor: str
) -> None:
    """Keep the report with the import and in the audit trail (counts only, no personal data)."""
    record.report = report.as_dict()
    audit.record(
        session,
        actor=actor,
        action=action,
        obj=record,
        municipality_id=record.municipality_id,
        after=record.report,
    )
    session.flush()


def _merge(total: ImportReport, part: ImportReport) -> None:
    for name, value in asdict(part).items():
        if isinstance(value, int):
            setattr(total, name, getattr(total, name) + value)


def _line_ref(
    statement: camt.CamtStatement, entry: camt.CamtEntry, n: int, tx: camt.CamtTransaction
) -> str:
    """The bank's own reference where it gives one, else the position in the statement."""
    if tx.acct_svcr_ref and len(entry.transactions) > 1:
        return f"{statement.iban}/{tx.acct_svcr_ref}"[:100]
    if entry.acct_svcr_ref:
        suffix = f"/{n}" if len(entry.transactions) > 1 else ""
        return f"{statement.iban}/{entry.acct_svcr_ref}{suffix}"[:100]
    return f"{statement.iban}/{statement.statement_id}/{entry.index}/{n}"[:100]


def _entry(
    session: Session,
    municipality: Municipality,
    statement: camt.CamtStatement,
    entry: camt.CamtEntry,
    record: StatementImport,
    index: _Index,
    rules: SepaRules,
    report: ImportReport,
    as_of: date,
    actor: str,
) -> None:
    if entry.status != "BOOK":
        report.not_booked += 1  # pending or for information: it comes again once booked
        return
    day = entry.booking_date or entry.value_date or as_of
    lines = []
    for n, tx in enumerate(entry.transactions, start=1):
        ref = _line_ref(statement, entry, n, tx)
        if session.scalars(
            select(BankLine.id).where(
                BankLine.municipality_id == municipality.id, BankLine.external_ref == ref
            )
        ).first():
            report.duplicates += 1
            continue
        line = BankLine(
            municipality_id=municipality.id,
            import_id=record.id,
            entry_index=entry.index,
            external_ref=ref,
            amount_cents=tx.amount_cents,
            credit=entry.credit != entry.reversal,  # a reversed debit is money coming in
            booking_date=day,
            counterparty_name=(tx.counterparty_name or "")[:140] or None,
            counterparty_iban=tx.counterparty_iban,
            remittance=tx.remittance[:500],
            end_to_end_id=(tx.end_to_end_id or "")[:35] or None,
            return_reason=tx.return_reason,
            status=LineStatus.QUEUED,
            suggestions=[],
        )
        lines.append((line, tx))
        report.transactions += 1
    if not lines:
        return
    # A collective credit of one of our runs without details: split back to the run's items.
    if entry.credit and not entry.is_return and len(lines) == 1 and not lines[0][1].end_to_end_id:
        run = index.run_by_batch(entry.batch_payment_info_id, entry.batch_message_id)
        if run is not None:
            line = lines[0][0]
            report.credits += 1
            session.add(line)
            session.flush()
            if _clear_run(session, run, line, report, day, actor):
                report.credits_matched += 1
            else:
                _queue(
                    session,
                    line,
                    report,
                    day,
                    actor,
                    "Sammelgutschrift passt nicht zum Lastschriftlauf.",
                )
            return
    for line, tx in lines:
        session.add(line)
        session.flush()
        if line.credit and not entry.is_return:
            report.credits += 1
            if _credit(session, municipality, line, tx, index, report, day, as_of, actor):
                report.credits_matched += 1
        elif entry.is_return or tx.return_reason:
            _return(session, municipality, line, tx, index, rules, report, day, as_of, actor)
        else:
            _queue(session, line, report, day, actor, "Belastung ohne Bezug zu einer Lastschrift.")


def _clear_item(
    session: Session, item: DirectDebitItem, line: BankLine, day: date, actor: str
) -> None:
    bank_moves(session, item, incoming=True, day=day, actor=actor)
    item.status, item.credited_on = ItemStatus.CREDITED, day


def _clear_line(
    session: Session,
    item: DirectDebitItem,
    line: BankLine,
    method: str,
    report: ImportReport,
    day: date,
    actor: str,
) -> None:
    """A credit line that is the bank's money for one of our direct debits."""
    _clear_item(session, item, line, day, actor)
    line.status, line.method, line.item_id = LineStatus.CLEARED, method, item.id
    line.person_id = item.person_id
    report.cleared += 1
    report.cleared_cents += item.amount_cents
    session.flush()


def _clear_run(
    session: Session,
    run: DirectDebitRun,
    line: BankLine,
    report: ImportReport,
    day: date,
    actor: str,
) -> bool:
    items = [
        i
        for i in session.scalars(select(DirectDebitItem).where(DirectDebitItem.run_id == run.id))
        if i.status is ItemStatus.IN_COLLECTION
    ]
    if not items or sum(i.amount_cents for i in items) != line.amount_cents:
        return False
    for item in items:
        _clear_item(session, item, line, day, actor)
        report.cleared += 1
        report.cleared_cents += item.amount_cents
    line.status, line.method = LineStatus.CLEARED, "batch"
    line.note = f"Sammelgutschrift Lauf {run.id}: {len(items)} Lastschriften"
    session.flush()
    return True


def _credit(
    session: Session,
    municipality: Municipality,
    line: BankLine,
    tx: camt.CamtTransaction,
    index: _Index,
    report: ImportReport,
    day: date,
    as_of: date,
    actor: str,
) -> bool:
    if line.end_to_end_id:
        item = index.item_by_e2e(line.end_to_end_id)
        if item is not None:
            if item.status is ItemStatus.IN_COLLECTION and item.amount_cents == line.amount_cents:
                _clear_line(session, item, line, "end_to_end_id", report, day, actor)
                return True
            _queue(
                session,
                line,
                report,
                day,
                actor,
                f"Gutschrift zur Lastschrift {item.end_to_end_id} im Status „{item.status_label}“ "
                "oder mit anderem Betrag.",
            )
            return False
    if tx.mandate_id and not line.end_to_end_id:
        item = _item_by_mandate(session, municipality.id, tx.mandate_id, line.amount_cents)
        if item is not None:
            _clear_line(session, item, line, "mandate", report, day, actor)
            return True
    references = references_in(f"{tx.remittance} {tx.creditor_reference or ''}")
    persons = {p for kz in references for p in index.kz_persons.get(kz, set())}
    if len(persons) == 1:
        person = session.get_one(Person, persons.pop())
        kz = next(k for k in references if person.id in index.kz_persons.get(k, set()))
        payment = record_payment(
            session,
            person=person,
            amount_cents=line.amount_cents,
            received_on=day,
            channel=PaymentChannel.BANK_TRANSFER,
            as_of=as_of,
            actor=actor,
            reference_text=line.remittance[:140],
            kassenzeichen=kz,
            external_ref=line.external_ref,
        )
        line.status, line.person_id, line.payment_id = LineStatus.BOOKED, person.id, payment.id
        line.method = (
            "rf" if re.search(rf"RF\d\d{kz}", line.remittance.upper()) else "kassenzeichen"
        )
        report.booked_cents += line.amount_cents
        session.flush()
        return True
    reason = (
        "Mehrere Personen passen zu den genannten Kassenzeichen."
        if persons
        else "Kein gültiges Kassenzeichen im Verwendungszweck."
    )
    line.suggestions = _suggest(session, index, line)
    _queue(session, line, report, day, actor, reason)
    return False


def _item_by_mandate(
    session: Session, municipality_id: int, reference: str, amount_cents: int
) -> DirectDebitItem | None:
    """The one debit in collection under this mandate with this amount (when the bank gives
    the mandate reference but no EndToEndId); None when there is none or more than one."""
    items = session.scalars(
        select(DirectDebitItem)
        .join(Mandate, Mandate.id == DirectDebitItem.mandate_id)
        .where(
            DirectDebitItem.municipality_id == municipality_id,
            DirectDebitItem.status == ItemStatus.IN_COLLECTION,
            DirectDebitItem.amount_cents == amount_cents,
            Mandate.reference_key == reference.strip().upper(),
        )
    ).all()
    return items[0] if len(items) == 1 else None


def _suggest(
    session: Session, index: _Index, line: BankLine, limit: int = 3
) -> list[dict[str, Any]]:
    """Open items of exactly this amount, best first: those whose debtor's name appears in the
    payer's name."""
    candidates = index.open_by_amount().get(line.amount_cents, [])
    if not candidates:
        return []
    payer = _name_tokens(line.counterparty_name)
    scored = []
    for claim_id, person_id in candidates[:200]:
        person = session.get_one(Person, person_id)
        common = payer & _name_tokens(f"{person.display_name}")
        scored.append((len(common), claim_id, person))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [
        {
            "person_id": person.id,
            "person_number": person.number,
            "name": person.display_name,
            "claim_id": claim_id,
            "reason": "Betrag und Name" if score else "Betrag",
        }
        for score, claim_id, person in scored[:limit]
    ]


def _queue(
    session: Session, line: BankLine, report: ImportReport, day: date, actor: str, reason: str
) -> None:
    """Park the money in suspense (or take it from there, for a debit) and ask a clerk."""
    book_clearing(
        session,
        line.municipality_id,
        debit=BANK_ACCOUNT if line.credit else SUSPENSE_ACCOUNT,
        credit=SUSPENSE_ACCOUNT if line.credit else BANK_ACCOUNT,
        amount_cents=line.amount_cents,
        value_date=day,
        text=f"Ungeklärter {'Eingang' if line.credit else 'Abgang'} (Kontoauszug)",
        actor=actor,
    )
    line.status, line.note = LineStatus.QUEUED, reason[:500]
    report.queued += 1
    report.queued_cents += line.amount_cents
    session.flush()


def _return(
    session: Session,
    municipality: Municipality,
    line: BankLine,
    tx: camt.CamtTransaction,
    index: _Index,
    rules: SepaRules,
    report: ImportReport,
    day: date,
    as_of: date,
    actor: str,
) -> None:
    item = index.item_by_e2e(line.end_to_end_id) if line.end_to_end_id else None
    note = process_return(
        session, municipality, line, tx, item, rules, report, day=day, as_of=as_of, actor=actor
    )
    if note is not None or item is None:
        line.credit = False
        _queue(session, line, report, day, actor, note or "Rücklastschrift ohne Lastschrift.")
        return
    line.status, line.method, line.item_id = LineStatus.RETURNED, "end_to_end_id", item.id
    line.person_id = item.person_id
    session.flush()


# --------------------------------------------------------------------------- pain.002


def _import_status_report(
    session: Session,
    municipality: Municipality,
    status: pain002.StatusReport,
    *,
    sha256: str,
    filename: str,
    as_of: date,
    actor: str,
) -> ImportReport:
    """Rejections before settlement: the payment booked at the run is reversed (the claim is
    open again, nothing moved at the bank), the mandate suspended where the reason says so.
    No flat return fee (the statute's fee is for a return after settlement); charges the bank
    states are passed on where the statute says so (core.payments.bank.returns)."""
    report = ImportReport()
    run = session.scalars(
        select(DirectDebitRun).where(
            DirectDebitRun.municipality_id == municipality.id,
            DirectDebitRun.message_id == status.original_message_id,
        )
    ).first()
    if run is None:
        raise ValidationError(
            "Der Statusbericht bezieht sich auf keine Lastschriftdatei dieser Kasse "
            f"(Nachricht {status.original_message_id[:35]}). Es wurde nichts gebucht. Bitte "
            "prüfen Sie, ob Sie den Statusbericht der richtigen Kasse und des richtigen Kontos "
            "gewählt haben (Lastschrift → Läufe nennt die Dateien dieser Kasse)."
        )
    if session.scalars(
        select(StatementImport.id).where(
            StatementImport.municipality_id == municipality.id,
            StatementImport.iban == municipality.iban,
            StatementImport.statement_id == status.message_id[:35],
        )
    ).first():
        report.already_imported = [status.message_id]
        return report
    items = {
        i.end_to_end_id: i
        for i in session.scalars(select(DirectDebitItem).where(DirectDebitItem.run_id == run.id))
    }
    targets = _rejected_items(status, items, run.filename)
    record = _new_import(
        session,
        municipality.id,
        filename=filename,
        sha256=sha256,
        kind=status.kind,
        message_id=status.message_id,
        statement_id=status.message_id,
        iban=municipality.iban,
        actor=actor,
    )
    rules = rules_on(session, municipality.id, as_of)
    for item, reason, charges in targets:
        if item.status is not ItemStatus.IN_COLLECTION:
            report.duplicates += 1
            continue
        reverse_entry(
            session,
            payment_entry(session, item.payment_id),
            as_of=as_of,
            actor=actor,
            reason=f"Lastschrift abgewiesen {reason}",
        )
        item.status, item.returned_on, item.return_reason = ItemStatus.REJECTED, as_of, reason[:4]
        report.rejected += 1
        claim_costs(
            session,
            municipality,
            item,
            costs_to_claim(rules, reason, charges, flat_fee=False),
            reason=reason,
            report=report,
            as_of=as_of,
            actor=actor,
        )
        report.return_charges_cents += charges or 0
        suspend_if_due(
            session, item, rules, reason, f"Lastschrift abgewiesen {reason}", report, as_of, actor
        )
    report.statements = 1
    _finish_import(session, record, report, "bank.status_report_imported", actor)
    report.import_ids.append(record.id)
    return report


def _rejected_items(
    status: pain002.StatusReport, items: dict[str, DirectDebitItem], filename: str
) -> list[tuple[DirectDebitItem, str, int | None]]:
    """The debits a status report rejects, each with reason and stated charges; matched by the
    original EndToEndId and, where the bank states it, the original amount (all or nothing)."""
    targets: list[tuple[DirectDebitItem, str, int | None]] = []
    for rejection in status.rejections:
        if rejection.end_to_end_id is None:
            targets.extend((item, rejection.reason, None) for item in items.values())
            continue
        item = items.get(rejection.end_to_end_id)
        if item is None:
            raise ValidationError(
                f"Die abgewiesene Lastschrift {rejection.end_to_end_id[:35]} gehört nicht zur "
                f"Datei {filename}. Es wurde nichts gebucht. Bitte prüfen Sie, ob der "
                "Statusbericht zu dieser Lastschriftdatei gehört, und fragen Sie sonst Ihre Bank."
            )
        original = rejection.original_amount_cents
        if original is not None and original != item.amount_cents:
            raise ValidationError(
                f"Die abgewiesene Lastschrift {item.end_to_end_id} lautet laut Statusbericht über "
                f"{format_euro(original)}, eingezogen wurden {format_euro(item.amount_cents)}. "
                "Es wurde nichts gebucht. Bitte klären Sie die Abweichung mit Ihrer Bank."
            )
        targets.append((item, rejection.reason, rejection.charges_cents))
    return targets


# --------------------------------------------------------------------------- the clerks' queue


def queue(session: Session, municipality_id: int) -> list[BankLine]:
    return list(
        session.scalars(
            select(BankLine)
            .where(
                BankLine.municipality_id == municipality_id, BankLine.status == LineStatus.QUEUED
            )
            .order_by(BankLine.booking_date, BankLine.id)
        )
    )


def get_line(session: Session, municipality_id: int, line_id: int) -> BankLine:
    line = session.scalars(
        select(BankLine).where(BankLine.id == line_id, BankLine.municipality_id == municipality_id)
    ).first()
    if line is None:
        raise NotFound("Dieser Umsatz wurde nicht gefunden.")
    return line


def _resolve(line: BankLine, status: LineStatus, actor: str) -> None:
    if line.status is not LineStatus.QUEUED:
        raise IllegalTransition("Dieser Umsatz ist bereits geklärt.")
    line.status, line.resolved_by, line.resolved_at = status, actor, clock.now()


def assign_line(
    session: Session,
    line: BankLine,
    person: Person,
    *,
    claim_ids: list[int],
    as_of: date,
    actor: str,
) -> None:
    """A clerk assigns a parked credit to a person (and optionally to claims): it is booked
    from suspense and allocated (§ 225 AO, the named claims first)."""
    if not line.credit:
        raise IllegalTransition("Nur Gutschriften können einer Person zugeordnet werden.")
    if person.municipality_id != line.municipality_id:
        raise NotFound("Diese Person wurde nicht gefunden.")
    _resolve(line, LineStatus.ASSIGNED, actor)
    payment = record_payment(
        session,
        person=person,
        amount_cents=line.amount_cents,
        received_on=line.booking_date,
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=as_of,
        actor=actor,
        reference_text=line.remittance[:140],
        claim_ids=claim_ids,
        external_ref=line.external_ref,
        cash_account=SUSPENSE_ACCOUNT,
    )
    line.person_id, line.payment_id, line.method = person.id, payment.id, "clerk"
    audit.record(
        session,
        actor=actor,
        action="bank.line_assigned",
        obj=line,
        municipality_id=line.municipality_id,
        after={"person_id": person.id, "claim_ids": claim_ids},
    )
    session.flush()


def close_line(session: Session, line: BankLine, *, note: str, actor: str) -> None:
    """A clerk closes a line that belongs to no claim (bank charges, money sent back, …); the
    amount stays in suspense for the general ledger, with the note."""
    if not note.strip():
        raise ValidationError("Bitte vermerken Sie, was mit dem Umsatz geschehen ist.")
    _resolve(line, LineStatus.CLOSED, actor)
    line.note = note.strip()[:500]
    audit.record(
        session,
        actor=actor,
        action="bank.line_closed",
        obj=line,
        municipality_id=line.municipality_id,
        after={"note": line.note},
    )
    session.flush()


def imports_of(session: Session, municipality_id: int, limit: int = 30) -> list[StatementImport]:
    return list(
        session.scalars(
            select(StatementImport)
            .where(StatementImport.municipality_id == municipality_id)
            .order_by(StatementImport.id.desc())
            .limit(limit)
        )
    )
