"""„Rate jetzt mit Karte bezahlen“ end to end with localstripe: the plan page's button pays
exactly the next instalment's open amount (never the whole claims), allocated to the plan's
claims in the ledger's order; a second click while it runs is refused, one after it finds the
instalment paid; a duplicate webhook books nothing twice; the instalments one after the other
complete the plan (check_plans) with the ledger in balance. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.dunning.instalment_models import InstalmentPlan, PlanState
from core.dunning.instalment_progress import progress
from core.dunning.instalment_rules import suggested_dates
from core.dunning.instalments import check_plans, submit_request
from core.kernel import clock
from core.kernel.months import add_months
from core.ledger.balances import open_amounts, trial_balance
from core.ledger.models import Payment
from core.payments.card.attempts import AttemptStatus, PaymentAttempt
from core.payments.reservations import ClaimReservation
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa.bank_days import next_target_day
from tests.conftest import csrf_token, login
from tests.web.test_payments import pay_by_card, signed, succeeded_event

pytestmark = pytest.mark.usefixtures("localstripe")

DUE = date(2026, 2, 15)


@pytest.fixture
def planned(client: FlaskClient, db: Session, make: Any) -> Any:
    """A citizen with two overdue claims (150 € older, 200 €) in a plan of three instalments
    of 116,67 €, 116,67 € and 116,66 €."""
    m = make.municipality()
    make.instalment_statute(m)
    user = make.user()
    person = make.person(m, user=user, family_name="Rate")
    older = make.claim(m, person, amount=15000, due=DUE, description="Hundesteuer 2026")
    newer = make.claim(m, person, amount=20000, due=date(2026, 3, 15), description="Abfall 2026")
    today = clock.today()
    application = submit_request(
        db,
        person=person,
        municipality=m,
        claim_ids=[older.id, newer.id],
        dates=suggested_dates(add_months(today, 1), 3),
        reason="Kurzarbeit",
        as_of=today,
        actor="citizen:test",
    )
    db.commit()
    plan = db.get_one(InstalmentPlan, application.data["plan_id"])
    login(client, m.slug, user.email)
    return m, person, plan, older, newer


def _plan_url(m: Any, plan: InstalmentPlan) -> str:
    return f"/{m.slug}/konto/raten/{plan.id}"


def _pay_instalment(client: FlaskClient, m: Any, plan: InstalmentPlan, number: int) -> Any:
    token = csrf_token(client, _plan_url(m, plan))
    return client.post(
        f"{_plan_url(m, plan)}/karte", data={"csrf_token": token, "instalment": str(number)}
    )


def _attempts(db: Session, person: Any) -> list[PaymentAttempt]:
    return list(
        db.scalars(
            select(PaymentAttempt)
            .where(PaymentAttempt.person_id == person.id)
            .order_by(PaymentAttempt.id)
        )
    )


def _payments(db: Session, person: Any) -> int:
    return db.scalar(select(func.count(Payment.id)).where(Payment.person_id == person.id)) or 0


def test_the_next_instalment_is_paid_by_card_exactly_once(
    app: Flask, client: FlaskClient, db: Session, planned: Any, localstripe: str
) -> None:
    m, person, plan, older, newer = planned
    page = html.unescape(client.get(_plan_url(m, plan)).get_data(as_text=True))
    assert "Rate jetzt mit Karte bezahlen" in page and 'name="instalment" value="1"' in page
    started = _pay_instalment(client, m, plan, 1)
    assert started.status_code == 302 and "/zahlvorgang/" in started.headers["Location"]
    attempt_url = started.headers["Location"]
    (attempt,) = _attempts(db, person)
    # exactly the instalment, from the older claim first (the ledger's order), not 350 €
    assert attempt.amount_cents == 11667 and attempt.origin == "instalment"
    assert attempt.claim_ids == [older.id]
    assert db.scalars(
        select(ClaimReservation.amount_cents).where(ClaimReservation.attempt_id == attempt.id)
    ).all() == [11667]
    assert "116,67 €" in client.get(attempt_url).get_data(as_text=True)
    # a second click while the first payment runs: refused, nothing new at the provider
    again = _pay_instalment(client, m, plan, 1)
    assert again.status_code == 409 and "läuft bereits eine Kartenzahlung" in html.unescape(
        again.get_data(as_text=True)
    )
    assert len(_attempts(db, person)) == 1
    assert pay_by_card(client, attempt_url, localstripe).get_json() == {"next": "result"}
    assert "eingegangen" in client.get(f"{attempt_url}/ergebnis").get_data(as_text=True)
    # the provider's notification, delivered twice, books nothing more
    hook = app.test_client()
    body, signature = signed(succeeded_event("evt_rate_1", attempt))
    first = hook.post("/zahlungsdienst/stripe", data=body, headers={"Stripe-Signature": signature})
    assert first.get_json() == {"status": "booked"}
    replay = hook.post("/zahlungsdienst/stripe", data=body, headers={"Stripe-Signature": signature})
    assert replay.get_json() == {"status": "duplicate"}
    assert _payments(db, person) == 1
    assert open_amounts(db, [older, newer]) == {older.id: 15000 - 11667, newer.id: 20000}
    state = progress(db, plan)
    assert [i.paid_cents for i in state.instalments] == [11667, 0, 0]
    # the same button once more (an old page): the instalment is paid, nothing is charged
    late = _pay_instalment(client, m, plan, 1)
    assert late.status_code == 409
    assert "Rate 1 ist bereits bezahlt" in html.unescape(late.get_data(as_text=True))
    assert len(_attempts(db, person)) == 1 and _payments(db, person) == 1
    page = html.unescape(client.get(_plan_url(m, plan)).get_data(as_text=True))
    assert 'name="instalment" value="2"' in page


def test_all_instalments_by_card_complete_the_plan(
    client: FlaskClient, db: Session, planned: Any, localstripe: str
) -> None:
    m, person, plan, older, newer = planned
    for number in (1, 2, 3):
        started = _pay_instalment(client, m, plan, number)
        assert started.status_code == 302
        assert pay_by_card(client, started.headers["Location"], localstripe).get_json() == {
            "next": "result"
        }
        client.get(f"{started.headers['Location']}/ergebnis")
    attempts = _attempts(db, person)
    assert [a.amount_cents for a in attempts] == [11667, 11667, 11666]
    # instalment 2 takes the rest of the older claim first, then the newer one
    assert attempts[1].claim_ids == [older.id, newer.id]
    assert all(a.status is AttemptStatus.SUCCEEDED for a in attempts)
    assert open_amounts(db, [older, newer]) == {older.id: 0, newer.id: 0}
    assert progress(db, plan).open_cents == 0
    # nothing left: the button is gone, a crafted request is refused
    refused = _pay_instalment(client, m, plan, 4)
    assert refused.status_code == 409
    assert check_plans(db, m, clock.today())["completed"] == 1
    assert plan.state is PlanState.COMPLETED
    assert sum(trial_balance(db, m.id).values()) == 0
    assert _payments(db, person) == 3


def test_another_persons_plan_and_bad_input(
    client: FlaskClient, db: Session, make: Any, planned: Any
) -> None:
    m, person, plan, _, _ = planned
    token = csrf_token(client, _plan_url(m, plan))
    assert client.post(f"{_plan_url(m, plan)}/karte", data={"instalment": "1"}).status_code == 400
    for bad in ("", "eins", "1" * 30):
        answer = client.post(
            f"{_plan_url(m, plan)}/karte", data={"csrf_token": token, "instalment": bad}
        )
        assert answer.status_code == 400
    # log in as someone else: the plan does not exist for them
    other_user = make.user()
    make.person(m, user=other_user)
    login(client, m.slug, other_user.email)
    token = csrf_token(client, f"/{m.slug}/konto")
    answer = client.post(
        f"/{m.slug}/konto/raten/{plan.id}/karte", data={"csrf_token": token, "instalment": "1"}
    )
    assert answer.status_code == 404
    assert _attempts(db, person) == []


def test_an_instalment_a_mandate_collects_is_not_offered_by_card(
    client: FlaskClient, db: Session, make: Any, planned: Any
) -> None:
    m, person, plan, _, _ = planned
    make.sepa_statute(m)
    today = clock.today()
    mandates.grant_mandate(
        db,
        person=person,
        municipality=m,
        account_holder=person.display_name,
        iban="DE02120300000000202051",
        tax_account_id=None,
        signed_on=today,
        as_of=today,
        actor="t",
    )
    first = progress(db, plan).instalments[0].instalment.due_on
    day = next_target_day(first)
    announced = prenotifications.prenotify(db, m, collection_date=day, as_of=today, actor="t")
    assert announced.total_cents == 11667  # the instalment, not the 350 € of the claims
    db.commit()
    page = html.unescape(client.get(_plan_url(m, plan)).get_data(as_text=True))
    assert f"Per Lastschrift zum {day:%d.%m.%Y}: 116,67 € werden" in page
    assert "Rate jetzt mit Karte bezahlen" not in page
    refused = _pay_instalment(client, m, plan, 1)  # a crafted request
    assert refused.status_code == 409
    assert "per Lastschrift eingezogen" in html.unescape(refused.get_data(as_text=True))
    assert _attempts(db, person) == []
