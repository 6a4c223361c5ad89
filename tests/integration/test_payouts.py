"""Payout runs (Auszahlungsläufe): credit offset first, then paid out by SEPA credit transfer
(pain.001.001.09), four eyes, booked once per (run, person)."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from core.dunning.blocks import add_block
from core.dunning.models import BlockReason
from core.kernel.audit import AuditEvent
from core.kernel.errors import FieldErrors, IllegalTransition, ValidationError
from core.ledger.accounts import system_account
from core.ledger.balances import account_balance, credit_balance, open_amounts, trial_balance
from core.ledger.models import JournalEntry, PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.payouts import runs
from core.payments.payouts.accounts import payout_target, record_payout_account
from core.payments.payouts.pain001 import NAMESPACE, validate
from core.payments.payouts.queries import payouts_of
from core.payments.sepa import mandates
from tests import factories

DAY = date(2026, 3, 1)
IBAN_A = "DE89370400440532013000"
IBAN_B = "DE02120300000000202051"
NS = {"p": NAMESPACE}


def pay(db: Session, person: Any, amount: int) -> Any:
    return record_payment(
        db,
        person=person,
        amount_cents=amount,
        channel=PaymentChannel.BANK_TRANSFER,
        received_on=DAY,
        as_of=DAY,
        actor="test",
    )


def with_credit(db: Session, m: Any, amount: int, *, iban: str | None = IBAN_B) -> Any:
    person = factories.person(db, m)
    pay(db, person, amount)  # nothing owed: all of it is credit
    if iban:
        record_payout_account(
            db, person, iban=iban, account_holder=person.display_name, actor="clerk"
        )
    return person


def run_and_approve(db: Session, m: Any) -> Any:
    run = runs.open_run(db, m, as_of=DAY, actor="anna")
    runs.approve(db, run, actor="bernd", as_of=DAY)
    return run


def test_credit_is_offset_first_and_the_rest_paid_out(db: Session, make: Any) -> None:
    m = make.municipality()
    person = with_credit(db, m, 5000)
    claim = make.claim(m, person, amount=1500, due=date(2026, 4, 1))
    open_now = open_amounts(db, [claim])[claim.id]
    credit_now = credit_balance(db, person)
    assert credit_now - open_now == 3500  # whether or not posting the claim offset already
    (planned,) = runs.preview(db, m, DAY)
    assert planned.payable_cents == 3500 and planned.reason is None
    run = run_and_approve(db, m)
    assert open_amounts(db, [claim])[claim.id] == 0
    assert credit_balance(db, person) == 0
    (item,) = runs.items_of(db, run)
    assert item.paid_cents == 3500 and run.total_cents == 3500
    assert account_balance(db, system_account(db, m.id, runs.PAYOUT_ACCOUNT)) == -3500
    balance = trial_balance(db, m.id)
    assert sum(balance.values()) == 0  # debits equal credits
    assert balance["clearing"] == -3500 and balance.get("credit", 0) == 0
    (paid,) = payouts_of(db, person)
    assert paid.item.masked_iban.endswith("2051")


def test_blocked_person_is_listed_and_not_paid(db: Session, make: Any) -> None:
    m = make.municipality()
    person = with_credit(db, m, 2000)
    add_block(db, person=person, reason=BlockReason.INSOLVENCY, starts_on=DAY, actor="clerk")
    (planned,) = runs.preview(db, m, DAY)
    assert planned.reason == "blocked"
    run = run_and_approve(db, m)
    assert run.count == 0 and run.xml is None
    assert credit_balance(db, person) == 2000


def test_a_deferral_block_does_not_stop_a_payout(db: Session, make: Any) -> None:
    m = make.municipality()
    person = with_credit(db, m, 2000)
    add_block(db, person=person, reason=BlockReason.DEFERRAL, starts_on=DAY, actor="clerk")
    (planned,) = runs.preview(db, m, DAY)
    assert planned.reason is None


def test_without_iban_listed_with_reason_not_paid(db: Session, make: Any) -> None:
    m = make.municipality()
    person = with_credit(db, m, 1200, iban=None)
    (planned,) = runs.preview(db, m, DAY)
    assert planned.reason == "no_iban" and "IBAN" in planned.reason_label
    run = run_and_approve(db, m)
    assert run.count == 0 and credit_balance(db, person) == 1200


def test_the_active_mandate_iban_is_used_when_none_was_recorded(db: Session, make: Any) -> None:
    m = make.municipality()
    make.sepa_statute(m)
    person = with_credit(db, m, 800, iban=None)
    mandates.grant_mandate(
        db,
        person=person,
        municipality=m,
        account_holder=person.display_name,
        iban=IBAN_A,
        tax_account_id=None,
        signed_on=DAY,
        as_of=DAY,
        actor="test",
    )
    target = payout_target(db, person)
    assert target is not None and target.iban == IBAN_A and target.source == "mandate"


def test_a_wrong_iban_is_refused_in_german(db: Session, make: Any) -> None:
    m = make.municipality()
    person = make.person(m)
    with pytest.raises(FieldErrors) as err:
        record_payout_account(
            db, person, iban="DE89370400440532013001", account_holder="X", actor="clerk"
        )
    assert "Prüfziffer" in err.value.errors["iban"]


def test_the_preparer_cannot_approve(db: Session, make: Any) -> None:
    m = make.municipality()
    person = with_credit(db, m, 1000)
    run = runs.open_run(db, m, as_of=DAY, actor="anna")
    with pytest.raises(ValidationError, match="Vier-Augen-Prinzip"):
        runs.approve(db, run, actor="anna", as_of=DAY)
    assert credit_balance(db, person) == 1000
    with pytest.raises(IllegalTransition):
        runs.open_run(db, m, as_of=DAY, actor="carla")  # one run waits at a time


def test_the_file_is_valid_pain001_with_the_amounts_and_ibans(db: Session, make: Any) -> None:
    m = make.municipality()
    first = with_credit(db, m, 1234, iban=IBAN_A)
    second = with_credit(db, m, 99, iban=IBAN_B)
    run = run_and_approve(db, m)
    assert run.xml is not None and run.filename and run.filename.endswith(".xml")
    validate(run.xml)  # lxml against the XSD sepaxml ships
    root = etree.fromstring(run.xml)
    txs = root.findall(".//p:CdtTrfTxInf", NS)
    got = {
        tx.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS): tx.findtext(
            "p:Amt/p:InstdAmt", namespaces=NS
        )
        for tx in txs
    }
    assert got == {IBAN_A: "12.34", IBAN_B: "0.99"}
    texts = {tx.findtext("p:RmtInf/p:Ustrd", namespaces=NS) for tx in txs}
    assert {f"Personenkonto {p.number}" in " ".join(texts) for p in (first, second)} == {True}
    assert all(t and t.startswith("Auszahlung Guthaben") for t in texts)
    assert root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == "13.33"
    assert root.findtext(".//p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == m.iban
    assert root.findtext(".//p:GrpHdr/p:MsgId", namespaces=NS) == run.message_id
    assert credit_balance(db, first) == 0 and credit_balance(db, second) == 0


def test_executing_again_books_nothing(db: Session, make: Any) -> None:
    m = make.municipality()
    person = with_credit(db, m, 700)
    run = run_and_approve(db, m)
    entries = db.scalar(select(func.count(JournalEntry.id)))
    assert runs.execute(db, run, actor="bernd", as_of=DAY) == 0
    assert db.scalar(select(func.count(JournalEntry.id))) == entries
    assert credit_balance(db, person) == 0 and run.total_cents == 700
    with pytest.raises(IllegalTransition):
        runs.approve(db, run, actor="carla", as_of=DAY)
    # a new run finds nothing left to pay
    assert runs.preview(db, m, DAY) == []
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"payout_run.prepared", "payout_run.approved", "payout.booked"} <= actions


def test_credit_used_up_between_preview_and_approval_is_not_paid(db: Session, make: Any) -> None:
    m = make.municipality()
    person = with_credit(db, m, 1000)
    run = runs.open_run(db, m, as_of=DAY, actor="anna")
    make.claim(m, person, amount=600, due=date(2026, 4, 1))  # offset at approval at the latest
    runs.approve(db, run, actor="bernd", as_of=DAY)
    (item,) = runs.items_of(db, run)
    assert item.paid_cents == 400 and credit_balance(db, person) == 0


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.lists(
        st.tuples(
            st.integers(1, 50_000),  # paid in
            st.integers(0, 60_000),  # owed afterwards
            st.booleans(),  # has an IBAN
        ),
        min_size=1,
        max_size=5,
    )
)
def test_sum_of_payouts_is_sum_of_payable_credit(
    engine: Engine, people: list[tuple[int, int, bool]]
) -> None:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            m = factories.municipality(session)
            payable = 0
            persons = []
            for paid, owed, has_iban in people:
                person = with_credit(session, m, paid, iban=IBAN_B if has_iban else None)
                if owed:
                    factories.claim(session, m, person, amount=owed, due=date(2026, 4, 1))
                if has_iban:
                    payable += max(paid - owed, 0)
                persons.append((person, has_iban))
            run = run_and_approve(session, m)
            items = runs.items_of(session, run)
            assert sum(i.paid_cents for i in items) == payable == run.total_cents
            for person, has_iban in persons:
                if has_iban:
                    assert credit_balance(session, person) == 0
            if run.xml is not None:
                root = etree.fromstring(run.xml)
                total = root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS)
                assert Decimal(total or "0") * 100 == payable
            assert (
                account_balance(session, system_account(session, m.id, runs.PAYOUT_ACCOUNT))
                == -payable
            )
        finally:
            session.close()
            outer.rollback()


def test_the_banks_debit_clears_the_payout_account_once(db: Session, make: Any) -> None:
    m = make.municipality()
    with_credit(db, m, 1500)
    with_credit(db, m, 500)
    run = run_and_approve(db, m)
    bank = system_account(db, m.id, "1800")
    before = account_balance(db, bank)
    with pytest.raises(ValidationError):
        runs.confirm_debited(db, run, debited_on=date(2026, 2, 27), actor="bernd")
    runs.confirm_debited(db, run, debited_on=date(2026, 3, 2), actor="bernd")
    assert account_balance(db, system_account(db, m.id, runs.PAYOUT_ACCOUNT)) == 0
    assert account_balance(db, bank) == before - 2000
    assert run.debited_on == date(2026, 3, 2)
    with pytest.raises(IllegalTransition, match="schon gebucht"):
        runs.confirm_debited(db, run, debited_on=date(2026, 3, 2), actor="bernd")
    assert sum(trial_balance(db, m.id).values()) == 0


def test_a_run_without_payouts_has_no_debit(db: Session, make: Any) -> None:
    m = make.municipality()
    with_credit(db, m, 1500, iban=None)
    run = run_and_approve(db, m)
    with pytest.raises(IllegalTransition):
        runs.confirm_debited(db, run, debited_on=DAY, actor="bernd")
