"""Stundung oder Ratenzahlung through the Flask test client: the account links to the request,
a suggested schedule the citizen may adjust, straight through within the statute's limits (the
plan in the account, each instalment with its GiroCode), to a clerk beyond them (the clerk's
approval creates the plan), German messages that keep what was typed, nobody else's claims,
applications or plans."""

from __future__ import annotations

import base64
import html
import io
import re
from datetime import date
from typing import Any

import pytest
import zxingcpp
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.dunning.instalment_models import InstalmentPlan, PlanState
from core.dunning.instalment_rules import suggested_dates
from core.identity.models import Role
from core.kernel import clock
from core.kernel.archive import Document
from core.kernel.months import add_months
from core.kernel.references import make_rf
from core.workflow.applications import Application, ApplicationStatus
from tests.conftest import csrf_token, login, post_form, staff_login

DUE = date(2026, 2, 15)


@pytest.fixture
def citizen(client: FlaskClient, make: Any) -> Any:
    m = make.municipality()
    make.instalment_statute(m)
    user = make.user()
    person = make.person(m, user=user, family_name="Rate")
    login(client, m.slug, user.email)
    return m, person


def _url(m: Any) -> str:
    return f"/{m.slug}/konto/raten"


def _first() -> date:
    return add_months(clock.today(), 1)


def _form(chosen: list[Any], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "claims": [str(c.id) for c in chosen],
        "count": "3",
        "first_due": _first().isoformat(),
        "reason": "Kurzarbeit seit Januar",
        "action": "submit",
    }
    data.update(changes)
    return data


def _page(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _applications(db: Session) -> int:
    return db.scalar(select(func.count(Application.id))) or 0


def test_account_links_to_the_request_and_the_form_lists_only_own_open_claims(
    client: FlaskClient, make: Any, citizen: Any
) -> None:
    m, person = citizen
    make.claim(m, person, amount=30000, due=DUE, description="Hundesteuer 2026")
    make.claim(m, make.person(m), amount=7000, due=DUE, description="Fremde Gebühr")
    account = _page(client.get(f"/{m.slug}/konto"))
    assert "Stundung oder Ratenzahlung beantragen" in account and _url(m) in account
    form = _page(client.get(_url(m)))
    assert "300,00 € – Hundesteuer 2026" in form and "Fremde Gebühr" not in form
    assert "Bis 1.000,00 € und höchstens 6 Monate" in form and "0,5 % je vollem Monat" in form


def test_the_suggested_schedule_may_be_adjusted_and_goes_straight_through(
    client: FlaskClient, db: Session, make: Any, citizen: Any
) -> None:
    m, person = citizen
    claim = make.claim(m, person, amount=30001, due=DUE)
    preview = post_form(client, _url(m), _form([claim], action="preview", reason=""))
    page = _page(preview)
    assert preview.status_code == 200 and _applications(db) == 0
    suggested = suggested_dates(_first(), 3)
    for i, day in enumerate(suggested, start=1):
        assert f'name="due_{i}" value="{day.isoformat()}"' in page
    assert "Rate 1 (100,01 €)" in page and "Rate 3 (100,00 €)" in page
    assert "Bitte begründen" not in page  # the calculation judges nothing yet
    later = add_months(suggested[2], 1).isoformat()
    data = _form([claim], due_1=suggested[0].isoformat(), due_2=suggested[1].isoformat())
    response = post_form(client, _url(m), {**data, "due_3": later})
    assert response.status_code == 302
    result = _page(client.get(response.headers["Location"]))
    assert "Ihr Ratenplan ist bewilligt" in result and "Rate 3: 100,00 €" in result
    plan = db.scalars(select(InstalmentPlan)).one()
    assert plan.state is PlanState.ACTIVE and plan.person_id == person.id
    account = _page(client.get(f"/{m.slug}/konto"))
    assert f"Ratenplan Nr. {plan.id}: läuft" in account and "100,01 € am" in account
    plan_page = client.get(f"/{m.slug}/konto/raten/{plan.id}")
    text = _page(plan_page)
    assert "Rate 1 bezahlen: 100,01 €" in text
    uri = re.search(r'class="ok-qr" src="data:image/png;base64,([^"]+)"', text)
    assert uri is not None
    with Image.open(io.BytesIO(base64.b64decode(uri.group(1)))) as image:
        payload = zxingcpp.read_barcodes(image)[0].text.splitlines()
    assert "EUR100.01" in payload and make_rf(claim.kassenzeichen) in payload


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"count": "abc"}, "Anzahl der Raten: Bitte geben Sie eine Zahl von 1 bis 24 an."),
        ({"count": "99"}, "Bitte geben Sie eine Zahl von 1 bis 24 an."),
        ({"reason": "  "}, "Begründung: Bitte begründen Sie Ihren Antrag."),
        ({"claims": []}, "Offene Beträge: Bitte wählen Sie mindestens einen offenen Betrag aus."),
        ({"first_due": "31.02.2027"}, "Bitte geben Sie ein gültiges Datum an (TT.MM.JJJJ)."),
        ({"first_due": "2020-01-01"}, "Die erste Rate darf nicht vor dem"),
        ({"count": "20"}, "Eine Rate muss mindestens 25,00 € betragen"),
        ({"due_1": "morgen", "due_2": "x", "due_3": "y"}, "für jede Rate ein gültiges Datum"),
    ],
)
def test_bad_input_gets_a_german_message_and_keeps_what_was_typed(
    client: FlaskClient, db: Session, make: Any, citizen: Any, changes: dict[str, Any], message: str
) -> None:
    m, person = citizen
    claim = make.claim(m, person, amount=30000, due=DUE)
    response = post_form(
        client, _url(m), _form([claim], **{"reason": "Krankheit im Winter", **changes})
    )
    page = _page(response)
    assert response.status_code == 200 and message in page
    assert "Bitte prüfen Sie Ihre Angaben" in page
    if "reason" not in changes:
        assert "Krankheit im Winter</textarea>" in page
    if "claims" not in changes:
        assert f'name="claims" value="{claim.id}" checked' in page
    assert _applications(db) == 0


def test_another_persons_claim_is_refused(
    client: FlaskClient, db: Session, make: Any, citizen: Any
) -> None:
    m, person = citizen
    mine = make.claim(m, person, amount=30000, due=DUE)
    theirs = make.claim(m, make.person(m), amount=30000, due=DUE)
    response = post_form(client, _url(m), _form([mine, theirs]))
    assert response.status_code == 200
    assert "kann nicht gestundet werden" in _page(response) and _applications(db) == 0


def test_without_csrf_nothing_is_stored(
    client: FlaskClient, db: Session, make: Any, citizen: Any
) -> None:
    m, person = citizen
    claim = make.claim(m, person, amount=30000, due=DUE)
    response = client.post(_url(m), data=_form([claim]))
    assert response.status_code in (200, 400) and _applications(db) == 0


def test_beyond_the_limits_a_clerk_approves_in_the_review_queue(
    client: FlaskClient, db: Session, make: Any, citizen: Any
) -> None:
    m, person = citizen
    claims = [make.claim(m, person, amount=150000, due=DUE), make.claim(m, person, amount=20000)]
    response = post_form(client, _url(m), _form(claims))
    assert response.status_code == 302
    result = _page(client.get(response.headers["Location"]))
    assert "Ihr Antrag ist in Prüfung" in result
    status = client.get(f"/{m.slug}/antraege/{db.scalars(select(Application.id)).one()}")
    assert status.status_code == 200 and "Stundung oder Ratenzahlung" in _page(status)
    application = db.scalars(select(Application)).one()
    assert application.status is ApplicationStatus.IN_REVIEW and application.data["claim_ids"] == [
        c.id for c in claims
    ]
    assert db.scalar(select(func.count(InstalmentPlan.id))) == 0
    clerk_client = client.application.test_client()
    clerk = make.user(role=Role.CLERK, municipality=m)
    staff_login(clerk_client, clerk.email)
    detail = f"/backoffice/antraege/{application.id}"
    page = _page(clerk_client.get(detail))
    assert "Stundung oder Ratenzahlung" in page and "1.700,00 €" in page
    assert f"{_first():%d.%m.%Y}: 572,00 €" in page and "Kurzarbeit seit Januar" in page
    token = csrf_token(clerk_client, detail)
    approved = clerk_client.post(
        detail, data={"csrf_token": token, "decision": "approve", "message": ""}
    )
    assert approved.status_code == 302
    plan = db.scalars(select(InstalmentPlan)).one()
    assert (
        plan.deferred_cents == 170000 and plan.interest_cents == 1600
    )  # 2.75 + 5.50 + 8.25 € → 16 €
    again = _page(client.get(f"/{m.slug}/konto/raten/antrag/{application.id}"))
    assert "Ihr Ratenplan ist bewilligt" in again and "Stundungszinsen" in again


def test_nobody_sees_another_persons_plan_or_request(
    client: FlaskClient, db: Session, make: Any, citizen: Any
) -> None:
    m, person = citizen
    claim = make.claim(m, person, amount=30000, due=DUE)
    response = post_form(client, _url(m), _form([claim]))
    application = db.scalars(select(Application)).one()
    plan = db.scalars(select(InstalmentPlan)).one()
    assert response.status_code == 302
    other_client = client.application.test_client()
    other = make.user()
    make.person(m, user=other)
    login(other_client, m.slug, other.email)
    assert other_client.get(f"/{m.slug}/konto/raten/{plan.id}").status_code == 404
    assert other_client.get(f"/{m.slug}/konto/raten/antrag/{application.id}").status_code == 404
    assert client.get(f"/{m.slug}/konto/raten/{plan.id + 1000}").status_code == 404


def test_without_the_statute_the_account_offers_no_request(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    user = make.user()
    person = make.person(m, user=user)
    make.claim(m, person, amount=30000, due=DUE)
    login(client, m.slug, user.email)
    account = _page(client.get(f"/{m.slug}/konto"))
    assert account.count("Offene Posten") and "Ratenzahlung beantragen" not in account
    assert client.get(_url(m)).status_code == 404


def test_a_proof_is_archived_and_a_fake_one_refused(
    client: FlaskClient, db: Session, make: Any, citizen: Any
) -> None:
    m, person = citizen
    claim = make.claim(m, person, amount=30000, due=DUE)
    fake = (io.BytesIO(b"MZ not a pdf"), "nachweis.pdf")
    refused = post_form(client, _url(m), {**_form([claim]), "proof": fake})
    assert refused.status_code == 200 and _applications(db) == 0
    assert "Die Datei ist keine gültige PDF-, JPG- oder PNG-Datei." in _page(refused)
    pdf = (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "nachweis.pdf")
    done = post_form(client, _url(m), {**_form([claim]), "proof": pdf})
    assert done.status_code == 302
    application = db.scalars(select(Application)).one()
    document = db.get_one(Document, application.data["proof_document_id"])
    assert document.person_id == person.id and document.media_type == "application/pdf"
