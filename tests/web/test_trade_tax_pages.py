"""The back office's trade-tax pages: computing the notices of imported Messbescheide, the
queue of notices waiting for an approver and the approval page (old and new figures side by
side) — CSRF on every change, the clerk's own municipality only, four eyes enforced."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.levies.basis_notices import imports
from core.levies.trade_tax import approval
from core.notices.records import Notice
from core.persons.models import PersonKind
from core.workflow.applications import Application, ApplicationStatus
from tests.basis_notice_files import business, delivery
from tests.conftest import csrf_token, login, post_form, staff_login

PAGE = "/backoffice/gewerbesteuer"


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    m = make.municipality()
    make.trade_tax_statute(m)
    clerk = make.user(role=Role.CLERK, municipality=m)
    approver = make.user(role=Role.APPROVER, municipality=m)
    firm = make.person(m, kind=PersonKind.BUSINESS, company_name="Krume GmbH")
    record = business(m, person_number=firm.number, messbetrag_cents=300000)  # 12,000 €
    imports.import_file(db, m, delivery(record), filename="gewst.xml", actor="test")
    db.commit()
    return type("Town", (), {"m": m, "clerk": clerk, "approver": approver, "firm": firm})


def _notices(db: Session, town: Any) -> int:
    return db.scalar(select(func.count(Notice.id)).where(Notice.person_id == town.firm.id)) or 0


def _logout(client: FlaskClient) -> None:
    client.post("/backoffice/abmelden", data={"csrf_token": csrf_token(client, PAGE)})


def _waiting(db: Session) -> Application:
    [application] = db.scalars(
        select(Application).where(Application.service == approval.SERVICE)
    ).all()
    return application


def test_compute_needs_csrf_and_queues_a_notice_above_the_limit(
    client: FlaskClient, db: Session, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    assert client.post(PAGE, data={}).status_code == 400  # no CSRF token: nothing happens
    assert db.scalar(select(func.count(Application.id))) == 0
    page = post_form(client, PAGE, {}, follow_redirects=True).get_data(as_text=True)
    assert "0 Bescheide erlassen, 1 warten auf Freigabe." in page
    assert "Krume GmbH (5315/001/00042)" in page and "12.000,00 €" in page
    assert _notices(db, town) == 0  # nothing visible before the approval


def test_approval_page_shows_old_and_new_and_enforces_four_eyes(
    client: FlaskClient, db: Session, make: Any, town: Any
) -> None:
    staff_login(client, town.approver.email)  # an approver prepares: still not their own
    post_form(client, PAGE, {})
    application = _waiting(db)
    url = f"{PAGE}/{application.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Bisheriger und neuer Bescheid 2025" in page
    for shown in ("3.000,00 €", "400 %", "12.000,00 €", "Vorauszahlung 2026, 4. Quartal"):
        assert shown in page
    assert "freigeben muss ihn eine andere Person" in page
    refused = post_form(client, url, {"decision": "approve"}).get_data(as_text=True)
    assert "Vier-Augen-Prinzip" in refused and _notices(db, town) == 0
    assert client.post(url, data={"decision": "approve"}).status_code == 400  # no CSRF
    _logout(client)

    staff_login(client, town.clerk.email)  # a clerk is no approver
    refused = post_form(client, url, {"decision": "approve"}).get_data(as_text=True)
    assert "Rolle „Freigabe“" in refused and _notices(db, town) == 0
    _logout(client)

    other_town = make.municipality()
    stranger = make.user(role=Role.APPROVER, municipality=other_town)
    boss = make.user(role=Role.ADMIN, municipality=town.m)
    db.commit()
    staff_login(client, stranger.email)
    assert client.get(url).status_code == 404  # another municipality's notice
    _logout(client)

    staff_login(client, boss.email)
    done = post_form(client, url, {"decision": "approve"}, follow_redirects=True)
    assert "Gewerbesteuerbescheid" in done.get_data(as_text=True)
    db.expire_all()
    assert _waiting(db).status is ApplicationStatus.APPROVED and _notices(db, town) == 1
    # the generic review queue leads to the same page
    generic = client.get(f"/backoffice/antraege/{application.id}")
    assert generic.status_code == 302 and generic.headers["Location"].endswith(url)


def test_citizens_cannot_open_the_pages(client: FlaskClient, db: Session, make: Any) -> None:
    m = make.municipality()
    citizen = make.user()
    make.person(m, user=citizen)
    db.commit()
    login(client, m.slug, citizen.email)
    assert client.get(PAGE).status_code in (302, 403)
    assert client.get(f"{PAGE}/1").status_code in (302, 403)


def test_the_business_sees_nothing_before_the_approval(
    client: FlaskClient, db: Session, make: Any
) -> None:
    m = make.municipality()
    make.trade_tax_statute(m)
    account = make.user()
    firm = make.person(m, user=account, kind=PersonKind.BUSINESS, company_name="Krume GmbH")
    record = business(m, person_number=firm.number, messbetrag_cents=300000)
    imports.import_file(db, m, delivery(record), filename="gewst.xml", actor="test")
    approval.prepare_from_basis_notices(db, municipality=m, as_of=date(2026, 6, 1), actor="t")
    db.commit()
    application = _waiting(db)
    login(client, m.slug, account.email)
    assert client.get(f"/{m.slug}/antraege/{application.id}").status_code == 404
    page = client.get(f"/{m.slug}/bescheide").get_data(as_text=True)
    assert "Gewerbesteuer" not in page and "Sie haben noch keine Bescheide." in page
