"""Instalments collected by SEPA mandate (core.dunning.instalment_debits through
core.payments.collection_limits): while a plan runs, the pre-notification and the run take
each instalment on its due date for exactly its amount, never the claims in full, in the bulk
and the one-by-one run alike, with a pain.008 valid against its XSD; the plan completes when
all are paid; a card payment running for the plan holds the run back; a terminated plan is
collected in full again. A property: whatever is paid meanwhile, a plan's debits never exceed
its instalments due, nor its total. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core.dunning.instalment_debits import debit_limits
from core.dunning.instalment_models import InstalmentPlan, PlanState
from core.dunning.instalment_progress import card_payment, progress
from core.dunning.instalment_rules import suggested_dates
from core.dunning.instalments import check_plans, submit_request
from core.kernel import clock
from core.ledger.balances import open_amounts, trial_balance
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.payments import collection_limits
from core.payments.bank import imports as bank_import
from core.payments.card import checkout
from core.payments.card.attempts import AttemptStatus, PaymentAttempt
from core.payments.reservations import reserve
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.bank_days import next_target_day
from core.payments.sepa.debit_outlook import CollectedByDebit, DebitState, debit_outlook
from core.payments.sepa.models import DirectDebitItem
from core.payments.sepa.pain008 import validate
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from core.workflow.applications import ApplicationStatus
from tests import factories
from tests.camt_files import build_camt053, statement_from_pain008

TODAY = date(2026, 3, 2)  # a Monday
DUE = date(2026, 2, 15)
DATES = suggested_dates(date(2026, 4, 1), 3)  # 1 April, 1 May (a holiday), 1 June
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}


def _setup(db: Session, amount: int = 30000, dates: list[date] = DATES) -> Any:
    m = factories.municipality(db)
    factories.instalment_statute(db, m)
    factories.sepa_statute(db, m)
    person = factories.person(db, m)
    claim = factories.claim(db, m, person, amount=amount, due=DUE)
    mandates.grant_mandate(
        db,
        person=person,
        municipality=m,
        account_holder=person.display_name,
        iban="DE02120300000000202051",
        tax_account_id=None,
        signed_on=TODAY,
        as_of=TODAY,
        actor="t",
    )
    application = submit_request(
        db,
        person=person,
        municipality=m,
        claim_ids=[claim.id],
        dates=dates,
        reason="Kurzarbeit",
        as_of=TODAY,
        actor="citizen:test",
    )
    # no clerk for a mandate holder any more: the mandate collects only the instalments
    assert application.status is ApplicationStatus.APPROVED
    plan = db.get_one(InstalmentPlan, application.data["plan_id"])
    return m, person, claim, plan


def _collect(db: Session, m: Municipality, day: date, *, bulk: bool = True) -> Any:
    """Announce (the statute's 14 days ahead) and run the collection of ``day``."""
    announced = prenotifications.prenotify(
        db, m, collection_date=day, as_of=day - timedelta(days=14), actor="t"
    )
    return announced, _run(db, m, day, bulk)


def _run(db: Session, m: Municipality, day: date, bulk: bool) -> Any:
    return debit_runs.create_run(
        db, m, collection_date=day, as_of=day - timedelta(days=1), actor="t", bulk=bulk
    )


def _credit(db: Session, m: Municipality, run: Any) -> None:
    """The bank's statement crediting the run's batch."""
    day = run.collection_date
    statement = statement_from_pain008(
        run.xml, iban=m.iban, booked_on=day, statement_id=f"AUSZUG-{run.id}"
    )
    report = bank_import.import_statements(
        db, m, build_camt053(statement), filename=f"{run.id}.xml", as_of=day, actor="t"
    )
    assert report.cleared == 1


def _amounts_in_file(xml: bytes) -> list[Decimal]:
    root = etree.fromstring(xml)
    return [Decimal(a.text) for a in root.iterfind(".//p:DrctDbtTxInf/p:InstdAmt", NS)]


@pytest.mark.parametrize("bulk", [True, False])
def test_the_run_collects_each_instalment_on_its_day_and_never_the_claim(
    db: Session, bulk: bool
) -> None:
    m, person, claim, plan = _setup(db)
    assert [i.instalment.amount_cents for i in progress(db, plan).instalments] == [10000] * 3
    # before the first instalment is due: nothing (without a plan: the whole 300 €)
    announced, run = _collect(db, m, date(2026, 3, 17), bulk=bulk)
    assert announced.items == 0 and run.run is None
    previous = None
    for day, paid in (
        (DATES[0], [10000, 0, 0]),
        (next_target_day(DATES[1]), [10000, 10000, 0]),  # 1 May is no bank day: 4 May
        (DATES[2], [10000, 10000, 10000]),
    ):
        announced, run = _collect(db, m, day, bulk=bulk)
        assert announced.items == 1 and announced.total_cents == 10000
        if previous is not None:  # the last instalment still with the bank: not now
            assert run.run is None and run.skipped == {"still_in_collection": 1}
            _credit(db, m, previous)
            # credited the last, announced the next: nobody is asked to pay it otherwise
            outlook = debit_outlook(db, person, as_of=day)[claim.id]
            assert (outlook.state, outlook.amount_cents) == (DebitState.ANNOUNCED, 10000)
            run = _run(db, m, day, bulk)
        assert run.count == 1 and run.total_cents == 10000
        validate(run.run.xml)  # against the XSD
        assert _amounts_in_file(run.run.xml) == [Decimal("100.00")]
        assert [i.paid_cents for i in progress(db, plan).instalments] == paid
        assert _run(db, m, day, bulk).run is None  # the same day again: nothing more
        previous = run.run
    _credit(db, m, previous)
    assert open_amounts(db, [claim])[claim.id] == 0
    assert _collect(db, m, date(2026, 6, 15), bulk=bulk)[1].run is None
    assert check_plans(db, m, date(2026, 6, 2))["completed"] == 1
    assert plan.state is PlanState.COMPLETED
    debited = db.scalar(
        select(func.sum(DirectDebitItem.amount_cents)).where(DirectDebitItem.claim_id == claim.id)
    )
    assert debited == plan.total_cents
    assert sum(trial_balance(db, m.id).values()) == 0


def test_the_announced_instalment_is_shown_and_not_paid_twice_by_card(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "today", lambda: DATES[0] - timedelta(days=7))
    m, person, claim, plan = _setup(db)
    prenotifications.prenotify(
        db, m, collection_date=DATES[0], as_of=DATES[0] - timedelta(days=14), actor="t"
    )
    (pn,) = prenotifications.prenotifications_of(db, person)
    assert pn.amount_cents == 10000 and pn.collection_date == DATES[0]
    outlook = debit_outlook(db, person, as_of=DATES[0] - timedelta(days=7))
    assert outlook[claim.id].state is DebitState.ANNOUNCED
    assert outlook[claim.id].amount_cents == 10000
    claim_ids, amount = card_payment(db, plan, 1)
    assert (claim_ids, amount) == ([claim.id], 10000)
    with pytest.raises(CollectedByDebit, match="per Lastschrift eingezogen"):
        checkout.start(
            db,
            _NoProvider(),
            municipality=m,
            person_id=person.id,
            claim_ids=claim_ids,
            origin="instalment",
            actor="t",
            amount_cents=amount,
        )


class _NoProvider:
    """Never reached: the refusal comes before any provider call."""

    name = "none"

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the provider was called: {name}")


def test_a_card_payment_running_for_the_plan_holds_the_run_back(db: Session) -> None:
    m, person, claim, _ = _setup(db)
    prenotifications.prenotify(
        db, m, collection_date=DATES[0], as_of=DATES[0] - timedelta(days=14), actor="t"
    )
    attempt = PaymentAttempt(
        municipality_id=m.id,
        person_id=person.id,
        origin="instalment",
        claim_ids=[claim.id],
        amount_cents=10000,
        provider="stripe",
        status=AttemptStatus.OPEN,
    )
    db.add(attempt)
    db.flush()
    reserve(
        db,
        municipality_id=m.id,
        attempt_id=attempt.id,
        items=[(claim, 10000)],
        now=clock.now(),
        hold=timedelta(minutes=30),
    )
    assert debit_limits(db, m.id, DATES[0], None) == {claim.id: 0}
    for bulk in (True, False):
        run = debit_runs.create_run(
            db,
            m,
            collection_date=DATES[0],
            as_of=DATES[0] - timedelta(days=1),
            bulk=bulk,
            actor="t",
        )
        assert run.run is None
    assert open_amounts(db, [claim])[claim.id] == 30000


def test_a_terminated_plan_is_collected_in_full_again(db: Session) -> None:
    m, _, claim, plan = _setup(db)
    assert check_plans(db, m, DATES[0] + timedelta(days=15))["terminated"] == 1
    assert plan.state is PlanState.TERMINATED
    assert collection_limits.limits_on(db, m.id, date(2026, 5, 4)) == {}
    assert open_amounts(db, [claim])[claim.id] == 30000
    announced, run = _collect(db, m, date(2026, 5, 4))
    assert run.total_cents == 30000 and announced.total_cents == 30000


def test_limits_take_the_lowest_of_two_sources(db: Session) -> None:
    m, _, claim, _ = _setup(db)

    def stricter(session: Session, mid: int, day: date, ids: Any) -> dict[int, int]:
        return {claim.id: 2500} if mid == m.id else {}

    collection_limits.register(stricter)
    try:
        assert collection_limits.limits_on(db, m.id, DATES[0]) == {claim.id: 2500}
        assert collection_limits.limits_on(db, m.id, DATES[0], []) == {}
    finally:
        collection_limits._SOURCES.remove(stricter)
    assert collection_limits.limits_on(db, m.id, DATES[0]) == {claim.id: 10000}


plans = st.tuples(
    st.integers(7500, 60000),  # the deferred amount
    st.integers(1, 3),  # instalments
    st.lists(st.integers(0, 40000), min_size=3, max_size=3),  # a transfer before each day
    st.booleans(),  # the bulk run or the one-by-one one
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans)
def test_the_debits_never_exceed_the_instalments_due_nor_the_plan(
    engine: Engine, plan: tuple[int, int, list[int], bool]
) -> None:
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            _property(session, *plan)
        finally:
            session.close()
            outer.rollback()


def _property(db: Session, amount: int, count: int, transfers: list[int], bulk: bool) -> None:
    m, person, claim, plan = _setup(db, amount, suggested_dates(date(2026, 4, 1), count))
    schedule = [i.instalment for i in progress(db, plan).instalments]
    debited = 0
    for n, instalment in enumerate(schedule):
        if transfers[n]:
            _transfer(db, person, claim, transfers[n], instalment.due_on - timedelta(days=20))
        _, run = _collect(db, m, next_target_day(instalment.due_on), bulk=bulk)
        debited += run.total_cents
        if run.run is not None:
            _credit(db, m, run.run)
        due_by_now = sum(i.amount_cents for i in schedule[: n + 1])
        assert debited <= due_by_now
        paid = progress(db, plan).paid_cents
        assert paid <= plan.total_cents  # the claims never go below zero
        assert debited <= plan.total_cents
        if plan.state is PlanState.ACTIVE and debited:
            # what the debits took is exactly what was still open of the instalments due
            assert paid >= min(due_by_now, plan.total_cents)
    assert open_amounts(db, [claim])[claim.id] >= 0
    assert sum(trial_balance(db, m.id).values()) == 0


def _transfer(db: Session, person: Person, claim: Claim, cents: int, day: date) -> None:
    record_payment(
        db,
        person=person,
        amount_cents=cents,
        received_on=day,
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=day,
        actor="bank",
        kassenzeichen=claim.kassenzeichen,
    )
