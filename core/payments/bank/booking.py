"""Booking one entry of a bank statement: our direct debits' credits clear account 1820, a
transfer naming a dunning letter's reference or a Kassenzeichen is booked to its person,
returns go to core.payments.bank.returns, anything else waits in suspense (account 1890,
Verwahrgelder) for a clerk."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.ledger.journal import book_clearing
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.bank import camt
from core.payments.bank.matching import (
    MatchIndex,
    Payee,
    item_by_mandate,
    names_rf,
    payee_of,
    suggest,
)
from core.payments.bank.models import BankLine, LineStatus, StatementImport
from core.payments.bank.payout_debits import clear_payout_debit, payout_run_of
from core.payments.bank.report import ImportReport
from core.payments.bank.returns import BANK_ACCOUNT, bank_moves, process_return
from core.payments.sepa.models import DirectDebitItem, DirectDebitRun, ItemStatus
from core.payments.sepa.rules import SepaRules
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

SUSPENSE_ACCOUNT = "1890"


def line_ref(
    statement: camt.CamtStatement, entry: camt.CamtEntry, n: int, tx: camt.CamtTransaction
) -> str:
    """The bank's own reference where it gives one, else the position in the statement."""
    if tx.acct_svcr_ref and len(entry.transactions) > 1:
        return f"{statement.iban}/{tx.acct_svcr_ref}"[:100]
    if entry.acct_svcr_ref:
        suffix = f"/{n}" if len(entry.transactions) > 1 else ""
        return f"{statement.iban}/{entry.acct_svcr_ref}{suffix}"[:100]
    return f"{statement.iban}/{statement.statement_id}/{entry.index}/{n}"[:100]


def _new_lines(
    session: Session,
    municipality_id: int,
    statement: camt.CamtStatement,
    entry: camt.CamtEntry,
    record: StatementImport,
    day: date,
    report: ImportReport,
) -> list[tuple[BankLine, camt.CamtTransaction]]:
    """The entry's transactions as bank lines, each not known from an earlier import."""
    lines: list[tuple[BankLine, camt.CamtTransaction]] = []
    for n, tx in enumerate(entry.transactions, start=1):
        ref = line_ref(statement, entry, n, tx)
        if session.scalars(
            select(BankLine.id).where(
                BankLine.municipality_id == municipality_id, BankLine.external_ref == ref
            )
        ).first():
            report.duplicates += 1
            continue
        line = BankLine(
            municipality_id=municipality_id,
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
    return lines


def _collective_credit(
    session: Session,
    entry: camt.CamtEntry,
    lines: list[tuple[BankLine, camt.CamtTransaction]],
    index: MatchIndex,
    report: ImportReport,
    day: date,
    actor: str,
) -> bool:
    """A collective credit of one of our runs without details: split back to the run's items
    (True when the entry was such a credit)."""
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
                queue_line(
                    session,
                    line,
                    report,
                    day,
                    actor,
                    "Sammelgutschrift passt nicht zum Lastschriftlauf.",
                )
            return True
    return False


def _payout_debit(
    session: Session,
    municipality: Municipality,
    entry: camt.CamtEntry,
    lines: list[tuple[BankLine, camt.CamtTransaction]],
    report: ImportReport,
    day: date,
    actor: str,
) -> bool:
    """The bank's collective debit of one of our payout runs' files (True when it was one)."""
    if len(lines) != 1 or (run := payout_run_of(session, municipality.id, entry)) is None:
        return False
    line = lines[0][0]
    session.add(line)
    session.flush()
    if (why := clear_payout_debit(session, run, line, report, day, actor)) is not None:
        queue_line(session, line, report, day, actor, why)
    return True


def book_entry(
    session: Session,
    municipality: Municipality,
    statement: camt.CamtStatement,
    entry: camt.CamtEntry,
    record: StatementImport,
    index: MatchIndex,
    rules: SepaRules,
    report: ImportReport,
    as_of: date,
    actor: str,
) -> None:
    """One entry of a statement: its new lines matched and booked, or queued for a clerk."""
    if entry.status != "BOOK":
        report.not_booked += 1  # pending or for information: it comes again once booked
        return
    day = entry.booking_date or entry.value_date or as_of
    lines = _new_lines(session, municipality.id, statement, entry, record, day, report)
    if not lines:
        return
    if _collective_credit(session, entry, lines, index, report, day, actor):
        return
    if _payout_debit(session, municipality, entry, lines, report, day, actor):
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
            queue_line(
                session, line, report, day, actor, "Belastung ohne Bezug zu einer Lastschrift."
            )


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


def _book_transfer(
    session: Session,
    line: BankLine,
    person: Person,
    payee: Payee,
    report: ImportReport,
    *,
    day: date,
    as_of: date,
    actor: str,
) -> None:
    """A transfer naming a letter or the person's Kassenzeichen, booked and allocated to what it
    names first (§ 225 AO)."""
    payment = record_payment(
        session,
        person=person,
        amount_cents=line.amount_cents,
        received_on=day,
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=as_of,
        actor=actor,
        reference_text=line.remittance[:140],
        kassenzeichen=payee.kassenzeichen,
        claim_ids=payee.claim_ids,
        external_ref=line.external_ref,
    )
    line.status, line.person_id, line.payment_id = LineStatus.BOOKED, person.id, payment.id
    line.method = transfer_method(line.remittance, payee)
    report.booked_cents += line.amount_cents
    session.flush()


def transfer_method(remittance: str, payee: Payee) -> str:
    """How a transfer was matched: ``letter``, ``rf`` or ``kassenzeichen``."""
    if payee.kassenzeichen is None:
        return "letter"
    return "rf" if names_rf(remittance.upper(), payee.kassenzeichen) else "kassenzeichen"


def _credit(
    session: Session,
    municipality: Municipality,
    line: BankLine,
    tx: camt.CamtTransaction,
    index: MatchIndex,
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
            queue_line(
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
        item = item_by_mandate(session, municipality.id, tx.mandate_id, line.amount_cents)
        if item is not None:
            _clear_line(session, item, line, "mandate", report, day, actor)
            return True
    payee = payee_of(index, f"{tx.remittance} {tx.creditor_reference or ''}")
    if payee.person_id is not None:
        person = session.get_one(Person, payee.person_id)
        _book_transfer(session, line, person, payee, report, day=day, as_of=as_of, actor=actor)
        return True
    line.suggestions = suggest(session, index, line)
    queue_line(session, line, report, day, actor, payee.reason)
    return False


def queue_line(
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
    index: MatchIndex,
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
        queue_line(session, line, report, day, actor, note or "Rücklastschrift ohne Lastschrift.")
        return
    line.status, line.method, line.item_id = LineStatus.RETURNED, "end_to_end_id", item.id
    line.person_id = item.person_id
    session.flush()
