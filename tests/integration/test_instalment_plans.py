"""Deferral and instalment plans requested online (core.dunning.instalments): straight through
within the statute's limits or to a clerk, the plan's blocks keep its claims out of the dunning
run, interest is its own ancillary claim, payments count towards the instalments in order, a
paid plan ends its blocks, a missed instalment ends the plan. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import services
from core.dunning import blocks, runs
from core.dunning.instalment_models import Instalment, InstalmentPlan, PlanState
from core.dunning.instalment_progress import plans_of, progress
from core.dunning.instalment_rules import suggested_dates
from core.dunning.instalments import check_plans, eligible_claims, submit_request
from core.kernel.errors import FieldErrors
from core.ledger.balances import open_amounts, trial_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.sepa import mandates, prenotifications
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from core.workflow.applications import ApplicationStatus

TODAY = date(2026, 3, 2)  # a Monday
DUE = date(2026, 2, 15)


@pytest.fixture
def town(make: Any) -> Municipality:
    m = make.municipality()
    make.instalment_statute(m)
    make.dunning_statute(m)
    return m


def _request(
    db: Session, m: Municipality, person: Person, claims: list[Claim], dates: list[date]
) -> Any:
    return submit_request(
        db,
        person=person,
        municipality=m,
        claim_ids=[c.id for c in claims],
        dates=dates,
        reason="Kurzarbeit seit Januar",
        as_of=TODAY,
        actor="citizen:test",
    )


def _plan(db: Session, application: Any) -> InstalmentPlan:
    return db.get_one(InstalmentPlan, application.data["plan_id"])


def test_within_the_limits_straight_through_with_blocks_and_instalments(
    db: Session, make: Any, town: Municipality
) -> None:
    person = make.person(town)
    claim = make.claim(town, person, amount=30001, due=DUE)
    dates = suggested_dates(date(2026, 4, 1), 3)
    application = _request(db, town, person, [claim], dates)
    assert application.status is ApplicationStatus.APPROVED
    plan = _plan(db, application)
    assert plan.state is PlanState.ACTIVE and plan.deferred_cents == 30001
    assert plan.interest_cents == 0  # 100 € shares: the base is 100 €, under 10 € interest
    rows = db.scalars(
        select(Instalment).where(Instalment.plan_id == plan.id).order_by(Instalment.number)
    )
    assert [(i.due_on, i.amount_cents) for i in rows] == list(
        zip(dates, [10001, 10000, 10000], strict=True)
    )
    assert blocks.is_blocked(db, claim, TODAY)
    assert eligible_claims(db, person, TODAY) == []  # not twice in a plan
    # The weekly run leaves the deferred claim alone; another person's overdue claim is dunned.
    other = make.person(town)
    dunned = make.claim(town, other, amount=5000, due=DUE)
    run = runs.preview(db, town, date(2026, 3, 16), "clerk")
    letters = runs.letters_of(db, run)
    items = runs.items_of(db, [letter.id for letter in letters])
    claim_ids = {i.claim_id for its in items.values() for i in its}
    assert dunned.id in claim_ids and claim.id not in claim_ids


def test_over_the_limits_a_clerk_decides_and_interest_is_its_own_claim(
    db: Session, make: Any, town: Municipality
) -> None:
    person = make.person(town)
    big = make.claim(town, person, amount=150000, due=DUE)
    dates = suggested_dates(date(2026, 4, 2), 3)
    application = _request(db, town, person, [big], dates)
    assert application.status is ApplicationStatus.IN_REVIEW
    assert any("mehr als 1.000,00 €" in r for r in application.review_reasons)
    assert not blocks.is_blocked(db, big, TODAY)
    assert db.scalar(select(InstalmentPlan.id)) is None
    services.approve(db, application, as_of=TODAY, actor="clerk:anna")
    plan = _plan(db, application)
    # Shares of 500 € for 1, 2 and 3 full months at 0.5 %: 2.50 + 5 + 7.50 = 15 €.
    assert plan.interest_cents == 1500
    interest_claim = db.get_one(Claim, plan.interest_claim_id)
    assert interest_claim.kind is ClaimKind.INTEREST and interest_claim.amount_cents == 1500
    assert blocks.is_blocked(db, interest_claim, TODAY) and blocks.is_blocked(db, big, TODAY)
    amounts = [i.instalment.amount_cents for i in progress(db, plan).instalments]
    assert sum(amounts) == 151500 and amounts == [50500, 50500, 50500]
    assert sum(trial_balance(db, town.id).values()) == 0


def test_another_persons_or_a_paid_claim_is_refused(
    db: Session, make: Any, town: Municipality
) -> None:
    me, other = make.person(town), make.person(town)
    theirs = make.claim(town, other, amount=20000, due=DUE)
    mine = make.claim(town, me, amount=20000, due=DUE)
    with pytest.raises(FieldErrors) as refused:
        _request(db, town, me, [mine, theirs], [date(2026, 4, 1)])
    assert refused.value.errors == {
        "claims": "Mindestens einer der gewählten Beträge kann nicht gestundet werden."
    }
    record_payment(
        db,
        person=me,
        amount_cents=20000,
        received_on=TODAY,
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=TODAY,
        actor="test",
        claim_ids=[mine.id],
    )
    with pytest.raises(FieldErrors, match="kann nicht gestundet werden"):
        _request(db, town, me, [mine], [date(2026, 4, 1)])
    assert db.scalar(select(InstalmentPlan.id)) is None


def test_bad_dates_and_missing_reason_are_field_errors(
    db: Session, make: Any, town: Municipality
) -> None:
    person = make.person(town)
    claim = make.claim(town, person, amount=6000, due=DUE)
    with pytest.raises(FieldErrors) as refused:
        _request(db, town, person, [claim], suggested_dates(date(2026, 4, 1), 3))
    assert "mindestens 25,00 €" in refused.value.errors["dates"]
    with pytest.raises(FieldErrors) as no_reason:
        submit_request(
            db,
            person=person,
            municipality=town,
            claim_ids=[claim.id],
            dates=[date(2026, 4, 1)],
            reason="   ",
            as_of=TODAY,
            actor="citizen:test",
        )
    assert no_reason.value.errors == {"reason": "Bitte begründen Sie Ihren Antrag."}


def _pay(db: Session, person: Person, claim: Claim, cents: int, day: date) -> None:
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


def test_payments_count_in_order_and_a_paid_plan_ends_its_blocks(
    db: Session, make: Any, town: Municipality
) -> None:
    person = make.person(town)
    claim = make.claim(town, person, amount=30000, due=DUE)
    dates = suggested_dates(date(2026, 4, 1), 3)
    plan = _plan(db, _request(db, town, person, [claim], dates))
    _pay(db, person, claim, 15000, date(2026, 4, 1))
    state = progress(db, plan)
    assert [i.paid_cents for i in state.instalments] == [10000, 5000, 0]
    assert state.open_cents == 15000 and state.next_due.instalment.number == 2  # type: ignore[union-attr]
    assert check_plans(db, town, date(2026, 5, 1))["completed"] == 0
    _pay(db, person, claim, 15000, date(2026, 5, 2))
    counts = check_plans(db, town, date(2026, 5, 3))
    assert counts == {"checked": 1, "completed": 1, "terminated": 0}
    assert plan.state is PlanState.COMPLETED and plan.ended_on == date(2026, 5, 3)
    assert not blocks.is_blocked(db, claim, date(2026, 5, 4))
    assert check_plans(db, town, date(2026, 5, 4))["checked"] == 0  # idempotent
    assert [p.plan.id for p in plans_of(db, person)] == [plan.id]


def test_an_instalment_more_than_late_days_late_ends_the_plan_and_its_blocks(
    db: Session, make: Any, town: Municipality
) -> None:
    person = make.person(town)
    claim = make.claim(town, person, amount=30000, due=DUE)
    first = date(2026, 4, 1)
    plan = _plan(db, _request(db, town, person, [claim], suggested_dates(first, 3)))
    _pay(db, person, claim, 9999, first)  # one cent short
    assert check_plans(db, town, first + timedelta(days=14))["terminated"] == 0  # 14 days: still on
    assert blocks.is_blocked(db, claim, first + timedelta(days=15))
    counts = check_plans(db, town, first + timedelta(days=15))
    assert counts["terminated"] == 1 and plan.state is PlanState.TERMINATED
    assert not blocks.is_blocked(db, claim, first + timedelta(days=16))
    assert open_amounts(db, [claim])[claim.id] == 20001  # the whole rest is due
    # Dunned again from now on: the claim is eligible for a new request, too.
    assert [c.id for c, _ in eligible_claims(db, person, first + timedelta(days=16))] == [claim.id]


def test_a_claim_a_direct_debit_collects_is_not_offered(
    db: Session, make: Any, town: Municipality
) -> None:
    make.sepa_statute(town)
    person = make.person(town)
    announced = make.claim(town, person, amount=20000, due=DUE)
    mandates.grant_mandate(
        db,
        person=person,
        municipality=town,
        account_holder=person.display_name,
        iban="DE02120300000000202051",
        tax_account_id=None,
        signed_on=TODAY,
        as_of=TODAY,
        actor="t",
    )
    prenotifications.prenotify(db, town, collection_date=date(2026, 3, 16), as_of=TODAY, actor="t")
    assert eligible_claims(db, person, TODAY) == []
    with pytest.raises(FieldErrors, match="kann nicht gestundet werden"):
        _request(db, town, person, [announced], [date(2026, 4, 1)])


def test_with_an_active_mandate_no_clerk_is_needed(
    db: Session, make: Any, town: Municipality
) -> None:
    """A mandate collects only the instalments due (test_instalment_debits.py): no review."""
    make.sepa_statute(town)
    person = make.person(town)
    claim = make.claim(town, person, amount=20000, due=DUE)
    mandates.grant_mandate(
        db,
        person=person,
        municipality=town,
        account_holder=person.display_name,
        iban="DE02120300000000202051",
        tax_account_id=None,
        signed_on=TODAY,
        as_of=TODAY,
        actor="t",
    )
    application = _request(db, town, person, [claim], [date(2026, 4, 1)])
    assert application.status is ApplicationStatus.APPROVED
    assert application.review_reasons == []
