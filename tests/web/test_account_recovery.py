"""Registration without account enumeration, e-mail confirmation and "Passwort vergessen"
through the portal: German messages, links that work once and expire, CSRF on every form."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity import passwords
from core.identity.models import UserAccount
from core.kernel import clock
from core.kernel.mail import OutboxMessage
from tests.conftest import csrf_token, login, post_form
from tests.factories import PASSWORD
from tests.web.test_auth import REGISTRATION

GOOD = "Regenschirm tanzt im Juni"


def mails(db: Session) -> list[OutboxMessage]:
    return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def link_path(message: OutboxMessage, path: str) -> str:
    match = re.search(rf"http://\S+/{path}/\S+", message.body)
    assert match, message.body
    return urlsplit(match.group(0)).path


def register(client: FlaskClient, m: Any, **changes: str) -> Any:
    return post_form(client, f"/{m.slug}/registrieren", {**REGISTRATION, **changes})


def later(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    moment = clock.now() + delta
    monkeypatch.setattr(clock, "now", lambda: moment)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaaaaaaaaa", passwords.REPETITIVE),
        ("123456789012345", passwords.SEQUENTIAL),
        ("qwertzuiopasdfgh", passwords.SEQUENTIAL),
        ("password1234567", passwords.COMMON),
        ("erika.neu@test.example", passwords.CONTEXT),
        ("Erika-Neu-2026-2027", passwords.CONTEXT),
        ("Lindenallee-4a-2026", passwords.CONTEXT),
        ("kurz", passwords.TOO_SHORT),
        ("Sonnenblume-42", passwords.TOO_SHORT),  # 14 characters
    ],
)
def test_registration_refuses_weak_passwords_with_their_reason(
    client: FlaskClient, make: Any, db: Session, password: str, message: str
) -> None:
    m = make.municipality()
    response = register(client, m, password=password, password_repeat=password)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count(message) == 2  # in the summary and at the field
    assert 'href="#password"' in page and 'value="erika.neu@test.example"' in page
    assert db.scalars(select(UserAccount)).all() == [] and mails(db) == []


def test_registration_refuses_the_municipality_name_as_password(
    client: FlaskClient, make: Any
) -> None:
    m = make.municipality(name="Stadt Lindwurmhausen", slug="lindwurmhausen")
    page = register(
        client, m, password="Lindwurmhausen2026", password_repeat="Lindwurmhausen2026"
    ).get_data(as_text=True)
    assert passwords.CONTEXT[:40] in page


def test_registration_answers_the_same_for_a_known_address_and_mails_a_hint(
    client: FlaskClient, make: Any, db: Session
) -> None:
    m = make.municipality()
    make.user(email="vergeben@test.example")
    answers = []
    for email in ("vergeben@test.example", "frei@test.example"):
        response = register(client, m, email=email)
        page = client.get(response.headers["Location"])
        answers.append(
            (response.status_code, response.headers["Location"], page.get_data(as_text=True))
        )
    assert answers[0] == answers[1]
    assert "Wir haben Ihnen eine E-Mail geschickt" in answers[0][2]
    hint, confirm = mails(db)
    assert hint.recipient == "vergeben@test.example" and "bereits ein Konto" in hint.subject
    assert f"/{m.slug}/passwort-vergessen" in hint.body and "bestaetigen" not in hint.body
    assert confirm.recipient == "frei@test.example" and "/konto/bestaetigen/" in confirm.body


def test_unconfirmed_account_can_only_see_the_confirmation_page(
    client: FlaskClient, make: Any, db: Session
) -> None:
    m = make.municipality()
    register(client, m)
    response = login(client, m.slug, "erika.neu@test.example", REGISTRATION["password"])
    assert response.status_code == 302
    for path in ("/konto", "/hunde", "/bescheide", "/lastschrift/neu", "/abfall"):
        response = client.get(f"/{m.slug}{path}")
        assert response.status_code == 303, path
        assert response.headers["Location"].endswith(f"/{m.slug}/konto/unbestaetigt")
    token = csrf_token(client, f"/{m.slug}/konto/unbestaetigt")
    response = client.post(
        f"/{m.slug}/anschrift/aendern", data={"csrf_token": token, "street": "Neue Straße"}
    )
    assert response.status_code == 303
    page = client.get(f"/{m.slug}/konto/unbestaetigt").get_data(as_text=True)
    assert "Bitte bestätigen Sie Ihre E-Mail-Adresse" in page
    assert "erika.neu@test.example" in page

    # "Send the link again" queues a second mail; the newest link confirms.
    response = post_form(client, f"/{m.slug}/konto/unbestaetigt", {})
    assert response.status_code == 302
    first, again = mails(db)
    assert again.recipient == "erika.neu@test.example"
    response = client.get(link_path(again, "konto/bestaetigen"))
    assert response.headers["Location"].endswith(f"/{m.slug}/konto")
    page = client.get(f"/{m.slug}/konto").get_data(as_text=True)
    assert "Ihre E-Mail-Adresse ist bestätigt" in page and "Erika Neu" in page
    # The older link died with the confirmation: single use per state.
    assert client.get(link_path(first, "konto/bestaetigen")).status_code == 404


def test_confirmation_link_works_once_and_expires(
    client: FlaskClient, make: Any, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = make.municipality()
    register(client, m)
    register(client, m, email="zweite@test.example")
    first, second = (link_path(mail, "konto/bestaetigen") for mail in mails(db))
    assert client.get(first).status_code == 302
    again = client.get(first)
    assert again.status_code == 404 and "Dieser Link ist ungültig" in again.get_data(as_text=True)
    later(monkeypatch, timedelta(hours=24, minutes=5))
    expired = client.get(second)
    assert expired.status_code == 410
    assert "Dieser Link ist abgelaufen" in expired.get_data(as_text=True)
    account = db.scalars(select(UserAccount).where(UserAccount.email == "zweite@test.example"))
    assert not account.one().email_verified


def test_forgot_password_answers_the_same_and_the_link_sets_a_new_password_once(
    client: FlaskClient, make: Any, db: Session
) -> None:
    m = make.municipality()
    u = make.user(email="erika@test.example")
    make.person(m, user=u)
    login_page = client.get(f"/{m.slug}/anmelden").get_data(as_text=True)
    assert f'href="/{m.slug}/passwort-vergessen"' in login_page

    answers = []
    for email in ("niemand@test.example", "Erika@test.example"):
        response = post_form(client, f"/{m.slug}/passwort-vergessen", {"email": email})
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        answers.append((response.status_code, response.headers["Location"], page))
    assert answers[0] == answers[1] and "Wir haben Ihnen eine E-Mail geschickt" in answers[0][2]
    [mail] = mails(db)
    assert mail.recipient == "erika@test.example"
    link = link_path(mail, "passwort/neu")

    response = client.get(link)  # the token leaves the address bar at once
    assert response.headers["Location"].endswith(f"/{m.slug}/passwort/neu")
    form = client.get(f"/{m.slug}/passwort/neu").get_data(as_text=True)
    assert "Neues Passwort festlegen" in form and link.rsplit("/", 1)[1] not in form
    weak = post_form(
        client,
        f"/{m.slug}/passwort/neu",
        {"password": "erika@test.example", "password_repeat": "erika@test.example"},
    ).get_data(as_text=True)
    assert passwords.CONTEXT[:40] in weak
    response = post_form(
        client, f"/{m.slug}/passwort/neu", {"password": GOOD, "password_repeat": GOOD}
    )
    assert response.headers["Location"].endswith(f"/{m.slug}/anmelden")

    assert "falsch" in login(client, m.slug, u.email, PASSWORD).get_data(as_text=True)
    assert login(client, m.slug, u.email, GOOD).status_code == 302
    client.get(link)
    used = client.get(f"/{m.slug}/passwort/neu")
    assert used.status_code == 404 and "Neuen Link anfordern" in used.get_data(as_text=True)


def test_reset_link_expires(
    client: FlaskClient, make: Any, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = make.municipality()
    make.user(email="erika@test.example")
    post_form(client, f"/{m.slug}/passwort-vergessen", {"email": "erika@test.example"})
    link = link_path(mails(db)[0], "passwort/neu")
    later(monkeypatch, timedelta(minutes=61))
    client.get(link)
    response = client.get(f"/{m.slug}/passwort/neu")
    assert response.status_code == 410 and "abgelaufen" in response.get_data(as_text=True)


def test_link_lifetimes_come_from_the_configuration(
    client: FlaskClient, app: Any, make: Any, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.config["PASSWORD_RESET_MAX_AGE_MINUTES"] = "30"
    m = make.municipality()
    make.user(email="erika@test.example")
    post_form(client, f"/{m.slug}/passwort-vergessen", {"email": "erika@test.example"})
    [mail] = mails(db)
    assert "gilt 30 Minuten" in mail.body
    later(monkeypatch, timedelta(minutes=31))
    client.get(link_path(mail, "passwort/neu"))
    assert client.get(f"/{m.slug}/passwort/neu").status_code == 410


def test_a_mistyped_lifetime_stops_the_start() -> None:
    from portal.app import create_app

    with pytest.raises(RuntimeError, match="PASSWORD_RESET_MAX_AGE_MINUTES"):
        create_app({"DATABASE_URL": "sqlite://", "PASSWORD_RESET_MAX_AGE_MINUTES": "eine Stunde"})


def test_reset_page_without_a_link_is_refused(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    assert client.get(f"/{m.slug}/passwort/neu").status_code == 404
    for forged in ("1-erfunden", "1-" + "x" * 5000, "99999999999999999999-x", "1%00-x"):
        client.get(f"/{m.slug}/passwort/neu/{forged}")
        assert client.get(f"/{m.slug}/passwort/neu").status_code == 404
        # a NUL byte is refused at the edge (400) before any view sees it
        assert client.get(f"/{m.slug}/konto/bestaetigen/{forged}").status_code in (400, 404)


def test_new_forms_refuse_posts_without_csrf_token(
    client: FlaskClient, make: Any, db: Session
) -> None:
    m = make.municipality()
    u = make.user(email="erika@test.example")
    post_form(client, f"/{m.slug}/passwort-vergessen", {"email": u.email})
    [mail] = mails(db)
    response = client.post(f"/{m.slug}/passwort-vergessen", data={"email": u.email})
    assert response.status_code == 400
    client.get(link_path(mail, "passwort/neu"))
    response = client.post(
        f"/{m.slug}/passwort/neu", data={"password": GOOD, "password_repeat": GOOD}
    )
    assert response.status_code == 400
    response = client.post(f"/{m.slug}/registrieren", data=REGISTRATION)
    assert response.status_code == 400
    register(client, m)
    login(client, m.slug, "erika.neu@test.example", REGISTRATION["password"])
    assert client.post(f"/{m.slug}/konto/unbestaetigt").status_code == 400
    assert len(mails(db)) == 2  # the reset and the confirmation mail, nothing from the refused
