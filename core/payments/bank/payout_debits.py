"""A payout run's transfer file debited by the bank, as the statement shows it.

A payout run sends one pain.001 with ``BtchBookg`` true, so the bank debits the file's total as
one collective entry and names the file's ``GrpHdr/MsgId`` in the entry's ``NtryDtls/Btch/MsgId``
(DFÜ-Abkommen Anlage 3, camt.053 Sammelbuchung). Such an entry, of the run's total and found by
that MsgId among this municipality's executed runs, clears 1830 (Auszahlungen im
Überweisungsausgang) against the bank account 1800 exactly as the clerk's button does
(:func:`core.payments.payouts.runs.confirm_debited`, once per run). A debit of another amount, or
of a run already booked as debited, waits for a clerk with the reason: nothing is guessed.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.payments.bank import camt
from core.payments.bank.models import BankLine, LineStatus
from core.payments.bank.report import ImportReport
from core.payments.payouts.models import PayoutRun, PayoutRunState
from core.payments.payouts.runs import confirm_debited

METHOD = "payout_run"


def payout_run_of(
    session: Session, municipality_id: int, entry: camt.CamtEntry
) -> PayoutRun | None:
    """The payout run a collective debit names by the file's MsgId, if it is one."""
    if entry.credit or entry.reversal or entry.is_return or not entry.batch_message_id:
        return None
    return session.scalars(
        select(PayoutRun).where(
            PayoutRun.municipality_id == municipality_id,
            PayoutRun.message_id == entry.batch_message_id,
        )
    ).first()


def clear_payout_debit(
    session: Session, run: PayoutRun, line: BankLine, report: ImportReport, day: date, actor: str
) -> str | None:
    """Book the bank's debit of ``run`` for ``line``; None when done, else why a clerk must look
    (German, for the queue)."""
    if run.state is not PayoutRunState.EXECUTED or run.debit_entry_id is not None:
        return (
            f"Sammelbelastung zu Auszahlungslauf Nr. {run.id}, dessen Belastung schon gebucht "
            "ist oder der nicht ausgeführt wurde."
        )
    if line.amount_cents != run.total_cents:
        return (
            f"Sammelbelastung passt nicht zum Auszahlungslauf Nr. {run.id}: der Betrag weicht "
            "von der Summe der Überweisungsdatei ab."
        )
    if day < run.execution_date:
        return (
            f"Sammelbelastung zu Auszahlungslauf Nr. {run.id} vor dessen Ausführungstag "
            f"{run.execution_date:%d.%m.%Y}."
        )
    confirm_debited(session, run, debited_on=day, actor=actor)
    line.status, line.method = LineStatus.CLEARED, METHOD
    report.payouts_debited += 1
    report.payouts_debited_cents += line.amount_cents
    session.flush()
    return None
