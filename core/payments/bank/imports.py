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
its bank reference, which the payments carry as their idempotency key."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.kernel.gc_pause import with_fewer_collections
from core.kernel.money import MAX_STORED_CENTS, format_euro
from core.payments.bank import camt, camt_parser, pain002
from core.payments.bank.bank_xml import parse_xml
from core.payments.bank.bulk_import import Import, book_one, book_statement_in_bulk
from core.payments.bank.import_records import finish_import, new_import
from core.payments.bank.matching import MatchIndex
from core.payments.bank.models import StatementImport
from core.payments.bank.report import ImportReport
from core.payments.bank.status_reports import import_status_report
from core.payments.sepa.rules import rules_on
from core.tenancy.municipalities import Municipality, serialize


@dataclass(frozen=True)
class ParsedFile:
    """A bank file read and checked without the database: a payment status report (pain.002)
    or camt statements. Reading it first keeps the parse out of the write transaction (on
    SQLite every transaction holds the write lock, core.kernel.db)."""

    sha256: str
    status_report: pain002.StatusReport | None
    statements: list[camt.CamtStatement]


@with_fewer_collections
def read_bank_file(data: bytes) -> ParsedFile:
    """Parse (all or nothing): raises a German ValidationError for anything but a readable
    camt.053/camt.054 or pain.002 file with amounts the ledger can hold."""
    root = parse_xml(data)
    sha = hashlib.sha256(data).hexdigest()
    if pain002.is_status_report(root):
        return ParsedFile(sha, pain002.parse_status_report(data), [])
    statements = camt_parser.statements_of(root)
    _check_storable(statements)
    return ParsedFile(sha, None, statements)


@with_fewer_collections
def import_statements(
    session: Session,
    municipality: Municipality,
    data: bytes | ParsedFile,
    *,
    filename: str,
    as_of: date,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
    bulk: bool = True,
) -> ImportReport:
    """Match and book every transaction of a file (its bytes, or read before with
    :func:`read_bank_file`); the caller commits.

    A payment status report (pain.002) for one of our direct-debit files is taken here too.
    ``bulk``: plain lines are booked in chunks (core.payments.bank.bulk_import), with the same
    rows as one by one (``bulk=False``, kept to prove exactly that).
    """
    parsed = data if isinstance(data, ParsedFile) else read_bank_file(data)
    serialize(session, municipality.id, "bank_import")  # the same file twice at once: one wins
    if parsed.status_report is not None:
        return import_status_report(
            session,
            municipality,
            parsed.status_report,
            sha256=parsed.sha256,
            filename=filename,
            as_of=as_of,
            actor=actor,
        )
    statements, sha, report = parsed.statements, parsed.sha256, ImportReport()
    if _file_known(session, municipality.id, sha):
        return _all_known(statements)
    _check_own_account(municipality, statements)
    index = MatchIndex(session, municipality.id)
    rules = rules_on(session, municipality.id, as_of)
    advance = _progress_counter(
        progress, sum(len(e.transactions) for s in statements for e in s.entries)
    )
    for statement in statements:
        if _skipped_as_known(session, municipality.id, statement, report):
            continue
        record = new_import(
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
        job = Import(session, municipality, statement, record, index, rules, mine, as_of, actor)
        _merge(report, _book_statement(job, advance, bulk=bulk))
        report.import_ids.append(record.id)
    session.flush()
    return report


def _progress_counter(
    progress: Callable[[int, int], None] | None, total: int
) -> Callable[[int], None]:
    """A step counter that reports (done, total) to ``progress`` after every entry."""
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, total)

    return advance


def _book_statement(job: Import, advance: Callable[[int], None], *, bulk: bool) -> ImportReport:
    """Every entry of one statement booked; its report kept with the import."""
    if bulk:
        book_statement_in_bulk(job, advance)
    else:
        for entry in job.statement.entries:
            book_one(job, entry, advance)
    finish_import(job.session, job.record, job.report, "bank.statement_imported", job.actor)
    return job.report


def _file_known(session: Session, municipality_id: int, sha256: str) -> bool:
    """The same file imported before (by its SHA-256): nothing is booked again."""
    known = session.scalars(
        select(StatementImport.id).where(
            StatementImport.municipality_id == municipality_id, StatementImport.sha256 == sha256
        )
    ).first()
    return known is not None


def _check_own_account(municipality: Municipality, statements: list[camt.CamtStatement]) -> None:
    own_iban = municipality.iban.replace(" ", "").upper()
    for statement in statements:
        if statement.iban.replace(" ", "").upper() != own_iban:
            raise ValidationError(
                f"Der Kontoauszug {statement.statement_id} gehört zum Konto "
                f"{statement.iban[:4]}…{statement.iban[-4:]}, nicht zum Konto der "
                f"{municipality.cash_office_name}. Es wurde nichts gebucht."
            )


def _all_known(statements: list[camt.CamtStatement]) -> ImportReport:
    report = ImportReport()
    report.already_imported = [s.statement_id for s in statements]
    report.duplicates = sum(len(e.transactions) for s in statements for e in s.entries)
    return report


def _skipped_as_known(
    session: Session, municipality_id: int, statement: camt.CamtStatement, report: ImportReport
) -> bool:
    """Imported before (by account and statement id): skipped whole, counted as duplicates."""
    known = session.scalars(
        select(StatementImport.id).where(
            StatementImport.municipality_id == municipality_id,
            StatementImport.iban == statement.iban,
            StatementImport.statement_id == statement.statement_id,
        )
    ).first()
    if known is None:
        return False
    report.already_imported.append(statement.statement_id)
    report.duplicates += sum(len(e.transactions) for e in statement.entries)
    return True


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


def _merge(total: ImportReport, part: ImportReport) -> None:
    for name, value in asdict(part).items():
        if isinstance(value, int):
            setattr(total, name, getattr(total, name) + value)
