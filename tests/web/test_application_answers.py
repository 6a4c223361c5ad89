"""The citizen answers a clerk's question on the application's status page; the clerk sees the
answer, and the application is back in the review queue."""

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.workflow.applications import Application, ApplicationStatus
from tests.conftest import csrf_token, login, post_form, staff_login
from tests.web.test_dog_tax_pages import registration

QUESTION = "Bitte laden Sie den Sachkundenachweis hoch."
ANSWER = "Den Nachweis habe ich am Montag im Bürgerbüro abgegeben."


@pytest.fixture
def asked(client: FlaskClient, app: Flask, db: Session, make: Any) -> Any:
    """A citizen's Rottweiler waits for review and the clerk has asked a question.

    Returns the municipality, the application, the clerk's test client and the status page."""
    m = make.municipality()
    make.dog_tax_statute(m)
    user = make.user()
    person = make.person(m, user=user, family_name="Hundhalter")
    login(client, m.slug, user.email)
    post_form(client, f"/{m.slug}/hunde/anmelden", registration(breed="Rottweiler"))
    application = db.scalars(select(Application).where(Application.person_id == person.id)).one()
    clerk = make.user(role=Role.CLERK, municipality=m)
    desk = app.test_client()
    staff_login(desk, clerk.email)
    response = post_form(
        desk, f"/backoffice/antraege/{application.id}", {"decision": "ask", "message": QUESTION}
    )
    assert response.status_code == 302
    db.refresh(application)
    assert application.status is ApplicationStatus.INFO_REQUESTED
    return m, application, desk, f"/{m.slug}/antraege/{application.id}"


def test_citizen_answers_and_the_clerk_sees_it_in_the_queue(
    client: FlaskClient, db: Session, asked: Any
) -> None:
    _m, application, desk, page_url = asked
    page = client.get(page_url).get_data(as_text=True)
    assert QUESTION in page
    assert "Ihre Antwort" in page and "Antwort senden" in page
    assert "per E-Mail" not in page

    response = client.post(
        f"{page_url}/antwort",
        data={"csrf_token": csrf_token(client, page_url), "answer": ANSWER},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(page_url)
    page = client.get(page_url).get_data(as_text=True)
    assert "Ihre Antwort ist eingegangen." in page
    assert "In Prüfung" in page and "Antwort senden" not in page
    assert QUESTION in page and ANSWER in page  # the conversation so far

    db.refresh(application)
    assert application.status is ApplicationStatus.IN_REVIEW
    queue = desk.get("/backoffice/pruefung").get_data(as_text=True)
    assert f">{application.id}</a>" in queue and "in Prüfung" in queue
    detail = desk.get(f"/backoffice/antraege/{application.id}").get_data(as_text=True)
    assert "Rückfragen und Antworten" in detail
    assert QUESTION in detail and ANSWER in detail
    assert "conversation" not in detail  # not listed raw among the citizen's entries


def test_another_citizen_gets_404(app: Flask, db: Session, make: Any, asked: Any) -> None:
    m, application, _desk, page_url = asked
    stranger_user = make.user()
    make.person(m, user=stranger_user)
    db.commit()
    stranger = app.test_client()
    login(stranger, m.slug, stranger_user.email)
    assert stranger.get(page_url).status_code == 404
    token = csrf_token(stranger, f"/{m.slug}/hunde/anmelden")
    response = stranger.post(f"{page_url}/antwort", data={"csrf_token": token, "answer": "Ich"})
    assert response.status_code == 404
    db.refresh(application)
    assert application.status is ApplicationStatus.INFO_REQUESTED


def test_missing_csrf_token_is_refused(client: FlaskClient, db: Session, asked: Any) -> None:
    _m, application, _desk, page_url = asked
    response = client.post(f"{page_url}/antwort", data={"answer": ANSWER})
    assert response.status_code == 400
    assert "Formular abgelaufen" in response.get_data(as_text=True)
    db.refresh(application)
    assert application.status is ApplicationStatus.INFO_REQUESTED
    assert len(application.conversation) == 1


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("   ", "Bitte geben Sie Ihre Antwort ein."),
        ("Zu lang. " + "x" * 2000, "Ihre Antwort darf höchstens 2000 Zeichen lang sein."),
    ],
)
def test_bad_answer_comes_back_in_german_and_changes_nothing(
    client: FlaskClient, db: Session, asked: Any, answer: str, message: str
) -> None:
    _m, application, _desk, page_url = asked
    response = client.post(
        f"{page_url}/antwort",
        data={"csrf_token": csrf_token(client, page_url), "answer": answer},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Bitte prüfen Sie Ihre Angaben" in page and message in page
    assert 'aria-invalid="true"' in page
    assert answer.strip()[:20] in page  # what was typed is kept
    assert QUESTION in page
    db.refresh(application)
    assert application.status is ApplicationStatus.INFO_REQUESTED
    assert len(application.conversation) == 1


def test_no_answer_once_the_question_is_answered(
    client: FlaskClient, db: Session, asked: Any
) -> None:
    _m, application, _desk, page_url = asked
    token = csrf_token(client, page_url)
    assert client.post(f"{page_url}/antwort", data={"csrf_token": token, "answer": ANSWER})
    again = client.post(
        f"{page_url}/antwort",
        data={"csrf_token": token, "answer": "Noch etwas"},
        follow_redirects=True,
    )
    page = again.get_data(as_text=True)
    assert "keine Antwort (mehr) nötig" in page and "Noch etwas" not in page
    db.refresh(application)
    assert [e.text for e in application.conversation] == [QUESTION, ANSWER]
