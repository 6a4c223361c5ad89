"""The check of the instalment plans as a job, started from the back office's run screen
(kind ``instalment_plans``): right after its chunk the citizen's account and plan page show the
plan ended (erledigt, with the day); another town's clerk starts nothing for this town."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.dunning.instalment_models import InstalmentPlan, PlanState
from core.dunning.instalment_rules import suggested_dates
from core.dunning.instalments import submit_request
from core.identity.models import Role
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from tests.conftest import login, post_form, staff_login
from tests.web.test_job_pages import drain_jobs, job_id_of, start_from_screen

TODAY = date(2026, 6, 1)


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def paid_plan(app: Flask, db: Session, make: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OPENKASSE_TODAY", TODAY.isoformat())
    m = make.municipality()
    make.instalment_statute(m)
    user = make.user()
    person = make.person(m, user=user, family_name="Rate")
    claim = make.claim(m, person, amount=20000, due=date(2026, 2, 15))
    application = submit_request(
        db, person=person, municipality=m, claim_ids=[claim.id],
        dates=suggested_dates(date(2026, 4, 1), 2), reason="Kurzarbeit",
        as_of=date(2026, 3, 2), actor="citizen:test",
    )  # fmt: skip
    for day in (date(2026, 4, 1), date(2026, 5, 1)):
        record_payment(
            db, person=person, amount_cents=10000, received_on=day, as_of=day, actor="bank",
            channel=PaymentChannel.BANK_TRANSFER, kassenzeichen=claim.kassenzeichen,
        )  # fmt: skip
    db.commit()
    return m, user, db.get_one(InstalmentPlan, application.data["plan_id"])


def test_the_check_job_ends_the_paid_plan_and_the_account_shows_it_at_once(
    app: Flask, db: Session, make: Any, paid_plan: Any, session_factory: sessionmaker[Session]
) -> None:
    m, user, plan = paid_plan
    citizen = app.test_client()
    login(citizen, m.slug, user.email)
    before = _text(citizen.get(f"/{m.slug}/konto"))
    assert f"Ratenplan Nr. {plan.id}: läuft" in before  # paid, but not checked yet

    desk = app.test_client()
    staff_login(desk, make.user(role=Role.CLERK, municipality=m).email)
    job_id = job_id_of(start_from_screen(desk, "instalment_plans"))
    assert drain_jobs(app, session_factory) == 1
    job_page = _text(desk.get(f"/backoffice/laeufe/{job_id}"))
    assert "Ratenpläne zum 01.06.2026: 1 geprüft, 1 erledigt, 0 wegen versäumter" in job_page

    db.expire_all()
    assert db.scalars(select(InstalmentPlan.state)).one() is PlanState.COMPLETED
    account = _text(citizen.get(f"/{m.slug}/konto"))
    assert f"Ratenplan Nr. {plan.id}: erledigt" in account and "01.06.2026" in account
    page = _text(citizen.get(f"/{m.slug}/konto/raten/{plan.id}"))
    assert "erledigt am 01.06.2026" in page and "bezahlen:" not in page


def test_another_towns_clerk_checks_only_their_own_plans(
    app: Flask, db: Session, make: Any, paid_plan: Any, session_factory: sessionmaker[Session]
) -> None:
    _m, _user, plan = paid_plan
    other = make.municipality()
    make.instalment_statute(other)
    desk = app.test_client()
    staff_login(desk, make.user(role=Role.CLERK, municipality=other).email)
    refused = desk.post("/backoffice/veranlagung", data={"levy": "instalment_plans"})
    assert refused.status_code in (400, 422)  # no CSRF token: nothing started
    preview = post_form(desk, "/backoffice/veranlagung", {"levy": "instalment_plans"})
    assert "kein Ratenplan" in _text(preview)
    db.expire_all()
    assert db.get_one(InstalmentPlan, plan.id).state is PlanState.ACTIVE
