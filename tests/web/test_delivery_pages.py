"""Delivery pages through the Flask test client, on SQLite and PostgreSQL: the citizen gives
and withdraws consent (CSRF, German errors, history), sees the deemed date on the notice; the
clerk sees the outbox and the person's delivery, records a returned letter (only of the own
municipality); citizens and clerks stay on their own side."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.delivery import consent
from core.delivery.adapters import PostboxDispatcher
from core.delivery.fallback import post_batch
from core.delivery.models import Channel, Delivery, DeliveryStatus
from core.delivery.service import make_available, send_due
from core.identity.models import Role
from core.kernel import archive
from core.notices.records import NoticeSettings, ensure_document
from tests.conftest import csrf_token, login, post_form, staff_login
from tests.delivery_helpers import issue_notice

SENT = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)
SETTINGS = NoticeSettings(secret="test-secret", public_base_url="http://localhost")


@pytest.fixture
def citizen(db: Session, make: Any, client: FlaskClient) -> Any:
    m = make.municipality(state="NW")
    make.dog_tax_statute(m)
    user = make.user(email="erika.e@test.example")
    person = make.person(m, user=user, family_name="Elektra")
    db.commit()
    login(client, m.slug, user.email)
    return m, person


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return html.unescape(response.get_data(as_text=True))


def test_consent_is_given_and_withdrawn_in_plain_words(
    db: Session, client: FlaskClient, citizen: Any
) -> None:
    m, person = citizen
    url = f"/{m.slug}/zustellung"
    text = page(client, url)
    assert "vierten Tag" in text and "per Brief mit der Post" in text
    assert 'value="erika.e@test.example"' in text  # the account's address offered

    given = post_form(client, url, {"choice": "email", "address": "erika.e@test.example"})
    assert given.status_code == 302
    entry = consent.in_force(db, person.id, m.id)
    assert entry is not None and entry.channel is Channel.EMAIL
    assert (entry.address, entry.how) == ("erika.e@test.example", "Bürgerportal")
    assert "Benachrichtigung per E-Mail (erika.e@test.example)" in page(client, url)

    same = post_form(client, url, {"choice": "email", "address": "erika.e@test.example"})
    assert same.status_code == 302
    assert "schon so gespeichert" in page(client, url)
    assert len(consent.history(db, person)) == 1

    withdrawn = post_form(client, url, {"choice": "post", "address": ""})
    assert withdrawn.status_code == 302
    assert consent.in_force(db, person.id, m.id) is None
    text = page(client, url)
    assert "zurückgenommen – wieder per Brief" in text and "zugestimmt –" in text


def test_consent_form_needs_csrf_and_a_valid_address(
    db: Session, client: FlaskClient, citizen: Any
) -> None:
    m, person = citizen
    url = f"/{m.slug}/zustellung"
    forged = client.post(url, data={"choice": "email", "address": "erika.e@test.example"})
    assert forged.status_code == 400
    wrong = post_form(client, url, {"choice": "email", "address": "kein-at-zeichen"})
    assert wrong.status_code == 200
    assert "gültige E-Mail-Adresse" in html.unescape(wrong.get_data(as_text=True))
    empty = post_form(client, url, {"address": ""})
    assert "Bitte wählen Sie" in html.unescape(empty.get_data(as_text=True))
    assert consent.history(db, person) == []


def test_the_citizen_sees_the_deemed_date_and_the_first_download(
    db: Session, client: FlaskClient, citizen: Any
) -> None:
    m, person = citizen
    consent.give(db, person, channel=Channel.POSTBOX, address=None, how="t", actor="t")
    notice = issue_notice(db, m, person)
    make_available(db, m, now=SENT, portal_url="http://localhost", actor="t")
    send_due(db, {Channel.POSTBOX: PostboxDispatcher()}, now=SENT, actor="t")
    db.commit()
    text = page(client, f"/{m.slug}/bescheide")
    assert "Bekannt gegeben am" in text and "28.12.2026 (elektronisch)" in text
    assert "Sie bekommen Bescheide elektronisch." in text
    assert "Zuerst heruntergeladen" not in text
    assert client.get(f"/{m.slug}/bescheide/{notice.id}.pdf").status_code == 200
    assert "Zuerst heruntergeladen" in page(client, f"/{m.slug}/bescheide")


@pytest.fixture
def clerk(db: Session, make: Any, client: FlaskClient) -> Any:
    m = make.municipality(state="NW")
    make.dog_tax_statute(m)
    user = make.user(role=Role.CLERK, municipality=m)
    paper = make.person(m, family_name="Papier")
    notice = issue_notice(db, m, paper)
    make_available(db, m, now=SENT, portal_url="http://localhost", actor="t")
    delivery = db.scalars(select(Delivery).where(Delivery.notice_id == notice.id)).one()
    from datetime import date

    post_batch(db, m, [delivery.id], as_of=date(2026, 12, 22), settings=SETTINGS, actor="t")
    db.commit()
    staff_login(client, user.email)
    return m, paper, delivery


def test_clerk_sees_the_outbox_and_records_a_returned_letter(
    db: Session, client: FlaskClient, clerk: Any
) -> None:
    _, paper, delivery = clerk
    text = page(client, "/backoffice/zustellung")
    assert "Druckdienstleister" in text and "Bescheid" in text
    assert "Bekannt gegeben am 28.12.2026" in text
    person_page = page(client, f"/backoffice/personen/{paper.id}")
    assert "bekannt gegeben am 28.12.2026" in person_page
    assert "Keine Zustimmung zur elektronischen Bekanntgabe" in person_page

    url = f"/backoffice/zustellung/{delivery.id}/rueckbrief"
    forged = client.post(url, data={"returned_on": "2026-12-29", "note": "x"})
    assert forged.status_code == 400  # CSRFProtect: no token, no change
    db.expire_all()
    assert db.get_one(Delivery, delivery.id).status is DeliveryStatus.POSTED
    token = csrf_token(client, "/backoffice/zustellung")
    early = client.post(
        url, data={"csrf_token": token, "returned_on": "2026-12-01", "note": "zu früh"}
    )
    assert early.status_code == 422
    assert "vor dem Versand" in html.unescape(early.get_data(as_text=True))
    done = client.post(
        url, data={"csrf_token": token, "returned_on": "2026-12-29", "note": "unbekannt verzogen"}
    )
    assert done.status_code == 302
    db.expire_all()
    returned = db.get_one(Delivery, delivery.id)
    assert returned.status is DeliveryStatus.RETURNED and returned.deemed_on is None
    assert "Zurückgekommen am 29.12.2026: unbekannt verzogen" in page(
        client, "/backoffice/zustellung"
    )


def test_a_returned_letter_of_another_municipality_is_not_found(
    db: Session, make: Any, client: FlaskClient, clerk: Any
) -> None:
    _, _, delivery = clerk
    other = make.municipality()
    stranger = make.user(role=Role.CLERK, municipality=other)
    db.commit()
    other_client = client.application.test_client()
    staff_login(other_client, stranger.email)
    token = csrf_token(other_client, "/backoffice/zustellung")
    response = other_client.post(
        f"/backoffice/zustellung/{delivery.id}/rueckbrief",
        data={"csrf_token": token, "returned_on": "2026-12-29", "note": ""},
    )
    assert response.status_code == 404
    db.expire_all()
    assert db.get_one(Delivery, delivery.id).status is DeliveryStatus.POSTED
    assert "Papier" not in page(other_client, "/backoffice/zustellung")


def test_citizens_and_clerks_stay_on_their_side(
    db: Session, make: Any, client: FlaskClient, citizen: Any
) -> None:
    m, _ = citizen
    assert client.get("/backoffice/zustellung").status_code in (302, 403)
    clerk_client = client.application.test_client()
    clerk_user = make.user(role=Role.CLERK, municipality=m)
    db.commit()
    staff_login(clerk_client, clerk_user.email)
    assert clerk_client.get(f"/{m.slug}/zustellung").status_code in (302, 403)


def test_clerk_sends_what_is_due_from_the_page(db: Session, make: Any, client: FlaskClient) -> None:
    m = make.municipality(state="NW")
    make.dog_tax_statute(m)
    user = make.user(role=Role.CLERK, municipality=m)
    person = make.person(m)
    consent.give(db, person, channel=Channel.POSTBOX, address=None, how="t", actor="t")
    notice = issue_notice(db, m, person)
    db.commit()
    staff_login(client, user.email)
    assert client.post("/backoffice/zustellung/senden").status_code == 400
    token = csrf_token(client, "/backoffice/zustellung")
    sent = client.post("/backoffice/zustellung/senden", data={"csrf_token": token})
    assert sent.status_code == 302
    db.expire_all()
    delivery = db.scalars(select(Delivery).where(Delivery.notice_id == notice.id)).one()
    assert delivery.status is DeliveryStatus.NOTIFIED and delivery.deemed_on is not None
    document = ensure_document(db, notice, SETTINGS, "t")
    assert archive.downloads_of(db, [document.id]) == []


def test_clerk_previews_and_starts_the_postal_fallback_job(
    db: Session, make: Any, client: FlaskClient
) -> None:
    from core.jobs.models import Job

    m = make.municipality(state="NW")
    make.dog_tax_statute(m)
    user = make.user(role=Role.CLERK, municipality=m)
    issue_notice(db, m, make.person(m))
    make_available(db, m, now=SENT, portal_url="http://localhost", actor="t")
    db.commit()
    staff_login(client, user.email)
    url = "/backoffice/zustellung/postversand"
    token = csrf_token(client, "/backoffice/zustellung")
    missing = client.post(url, data={"csrf_token": token, "as_of": "", "step": "preview"})
    assert missing.status_code == 422
    assert "Bitte geben Sie den Versandtag an." in html.unescape(missing.get_data(as_text=True))
    preview = client.post(url, data={"csrf_token": token, "as_of": "2026-12-22", "step": "preview"})
    assert preview.status_code == 200
    assert "1 Bescheide werden gedruckt und per Post versandt." in html.unescape(
        preview.get_data(as_text=True)
    )
    assert db.scalars(select(Job).where(Job.municipality_id == m.id)).all() == []
    started = client.post(url, data={"csrf_token": token, "as_of": "2026-12-22", "step": "start"})
    assert started.status_code == 302 and "/backoffice/laeufe/" in started.headers["Location"]
    [job] = db.scalars(select(Job).where(Job.municipality_id == m.id)).all()
    assert job.kind == "delivery_fallback" and job.total == 1


def test_clerk_records_a_consent_given_on_paper(
    db: Session, make: Any, client: FlaskClient
) -> None:
    m = make.municipality(state="NW")
    user = make.user(role=Role.CLERK, municipality=m)
    person = make.person(m, family_name="Papierform")
    stranger = make.person(make.municipality(), family_name="Fremd")
    db.commit()
    staff_login(client, user.email)
    url = f"/backoffice/personen/{person.id}/zustellung"
    assert (
        client.post(url, data={"choice": "email", "address": "p@test.example"}).status_code == 400
    )
    token = csrf_token(client, f"/backoffice/personen/{person.id}")
    bad = client.post(
        url, data={"csrf_token": token, "choice": "email", "address": "x"}, follow_redirects=True
    )
    assert "gültige E-Mail-Adresse" in html.unescape(bad.get_data(as_text=True))
    assert consent.history(db, person) == []
    done = client.post(
        url, data={"csrf_token": token, "choice": "email", "address": "p@test.example"}
    )
    assert done.status_code == 302
    entry = consent.in_force(db, person.id, m.id)
    assert entry is not None and entry.how == "schriftlich (Sachbearbeitung)"
    assert entry.actor == f"user:{user.id}"
    assert "zugestimmt am" in page(client, f"/backoffice/personen/{person.id}")
    client.post(url, data={"csrf_token": token, "choice": "withdrawn", "address": ""})
    assert consent.in_force(db, person.id, m.id) is None
    foreign = client.post(
        f"/backoffice/personen/{stranger.id}/zustellung",
        data={"csrf_token": token, "choice": "postbox", "address": ""},
    )
    assert foreign.status_code == 404
    assert consent.history(db, stranger) == []
