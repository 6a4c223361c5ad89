"""A payout run's file debited by the bank, read from the statement (camt.053 collective debit
naming the file's MsgId): 1830 is cleared against the bank once, in the bulk and the one-by-one
import alike; a debit of another amount or a second one waits for a clerk with the reason. On
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.ledger.accounts import system_account
from core.ledger.balances import account_balance, trial_balance
from core.payments.bank import imports as bank_import
from core.payments.bank.models import BankLine, LineStatus
from core.payments.payouts import runs
from tests.camt_files import build_camt053
from tests.camt_files import entry as camt_entry
from tests.camt_files import statement as camt_statement
from tests.camt_files import tx as camt_tx
from tests.integration.test_payouts import run_and_approve, with_credit


def _executed_run(db: Session, m: Any, *amounts: int) -> Any:
    for amount in amounts:
        with_credit(db, m, amount)
    run = run_and_approve(db, m)
    assert run.message_id and run.total_cents == sum(amounts)
    return run


def _debit(m: Any, statement_id: str, run: Any, cents: int, day: date) -> bytes:
    entry = camt_entry(
        1,
        camt_tx(cents, remittance="Sammelüberweisung"),
        day=day,
        credit=False,
        ref=f"D-{statement_id}",
        code="PMNT/ICDT/ESCT",
        batch_message_id=run.message_id,
        batch_count=run.count,
    )
    return build_camt053(camt_statement(m.iban, statement_id, entry))


def _import(db: Session, m: Any, data: bytes, name: str, *, bulk: bool) -> Any:
    return bank_import.import_statements(
        db, m, data, filename=name, as_of=date(2026, 3, 5), actor="import", bulk=bulk
    )


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one-by-one"])
def test_the_collective_debit_clears_1830_once(db: Session, make: Any, bulk: bool) -> None:
    m = make.municipality()
    make.sepa_statute(m)
    run = _executed_run(db, m, 2000, 1550)
    transit = system_account(db, m.id, runs.PAYOUT_ACCOUNT)
    bank = system_account(db, m.id, "1800")
    assert account_balance(db, transit) == -3550
    bank_before = account_balance(db, bank)

    report = _import(db, m, _debit(m, "S1", run, 3550, date(2026, 3, 3)), "s1.xml", bulk=bulk)
    assert report.payouts_debited == 1 and report.payouts_debited_cents == 3550
    assert report.queued == 0
    db.refresh(run)
    assert run.debited_on == date(2026, 3, 3) and run.debit_entry_id is not None
    assert account_balance(db, transit) == 0
    assert account_balance(db, bank) == bank_before - 3550
    line = db.scalars(select(BankLine).where(BankLine.municipality_id == m.id)).one()
    assert line.status is LineStatus.CLEARED and line.method == "payout_run"

    again = _import(db, m, _debit(m, "S2", run, 3550, date(2026, 3, 4)), "s2.xml", bulk=bulk)
    assert again.payouts_debited == 0 and again.queued == 1 and again.queued_cents == 3550
    queued = db.scalars(
        select(BankLine).where(
            BankLine.status == LineStatus.QUEUED, BankLine.municipality_id == m.id
        )
    ).one()
    assert queued.note is not None and "schon gebucht" in queued.note
    assert account_balance(db, transit) == 0  # booked once
    assert sum(trial_balance(db, m.id).values()) == 0


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk", "one-by-one"])
def test_a_debit_of_another_amount_waits_for_a_clerk(db: Session, make: Any, bulk: bool) -> None:
    m = make.municipality()
    make.sepa_statute(m)
    run = _executed_run(db, m, 2000)
    report = _import(db, m, _debit(m, "S1", run, 1999, date(2026, 3, 3)), "s1.xml", bulk=bulk)
    assert report.payouts_debited == 0 and report.queued == 1
    line = db.scalars(select(BankLine).where(BankLine.municipality_id == m.id)).one()
    assert line.status is LineStatus.QUEUED and "Betrag weicht" in (line.note or "")
    db.refresh(run)
    assert run.debited_on is None
    assert account_balance(db, system_account(db, m.id, runs.PAYOUT_ACCOUNT)) == -2000


def test_another_municipalitys_run_is_not_cleared(db: Session, make: Any) -> None:
    m, other = make.municipality(), make.municipality()
    make.sepa_statute(m)
    run = _executed_run(db, other, 2000)
    report = _import(db, m, _debit(m, "S1", run, 2000, date(2026, 3, 3)), "s1.xml", bulk=True)
    assert report.payouts_debited == 0 and report.queued == 1
    db.refresh(run)
    assert run.debited_on is None
