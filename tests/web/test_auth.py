"""Sign-up and log-in: CSRF on every form, German errors, nothing typed is lost, roles apart."""

import re
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel.mail import OutboxMessage
from tests.conftest import csrf_token, login, post_form, staff_login
from tests.factories import PASSWORD

REGISTRATION = {
    "kind": "natural",
    "given_name": "Erika",
    "family_name": "Neu",
    "company_name": "",
    "street": "Lindenallee",
    "house_number": "4a",
    "postal_code": "12345",
    "city": "Teststadt",
    "email": "erika.neu@test.example",
    "password": "ein-langes-Passwort",
    "password_repeat": "ein-langes-Passwort",
}


def test_registration_creates_account_and_person_confirmed_by_the_mailed_link(
    client: FlaskClient, make: Any, db: Session
) -> None:
    m = make.municipality()
    response = post_form(client, f"/{m.slug}/registrieren", REGISTRATION)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/{m.slug}/registrieren/gesendet")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Wir haben Ihnen eine E-Mail geschickt" in page
    assert client.get(f"/{m.slug}/konto").status_code == 302  # not logged in by registering
    [mail] = db.scalars(select(OutboxMessage)).all()
    link = re.search(r"http://\S+/konto/bestaetigen/\S+", mail.body)
    assert mail.recipient == "erika.neu@test.example" and link
    response = client.get(urlsplit(link.group(0)).path)
    assert response.headers["Location"].endswith(f"/{m.slug}/anmelden")
    login(client, m.slug, "erika.neu@test.example", REGISTRATION["password"])
    page = client.get(f"/{m.slug}/konto").get_data(as_text=True)
    assert "Erika Neu" in page
    assert "Sie haben keine offenen Posten." in page


def test_registration_errors_are_german_and_keep_the_input(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    data = {
        **REGISTRATION,
        "postal_code": "123",
        "password_repeat": "anders-als-vorher",
        "family_name": "",
    }
    response = post_form(client, f"/{m.slug}/registrieren", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Bitte prüfen Sie Ihre Angaben" in page
    assert "Die Postleitzahl hat fünf Ziffern." in page
    assert "Die Passwörter stimmen nicht überein." in page
    assert "Bitte geben Sie Ihren Nachnamen an." in page
    assert 'value="Lindenallee"' in page and 'value="erika.neu@test.example"' in page
    assert 'href="#postal_code"' in page  # the summary links to the field
    assert 'aria-invalid="true"' in page
    assert 'value="ein-langes-Passwort"' not in page  # passwords are never echoed


def test_registration_does_not_tell_that_an_email_is_taken(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    make.user(email="vergeben@test.example")
    response = post_form(
        client, f"/{m.slug}/registrieren", {**REGISTRATION, "email": "Vergeben@Test.example"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/{m.slug}/registrieren/gesendet")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "bereits ein Konto" not in page


def test_business_registration_needs_company_name(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    page = post_form(
        client, f"/{m.slug}/registrieren", {**REGISTRATION, "kind": "business"}
    ).get_data(as_text=True)
    assert "Bitte geben Sie den Namen des Unternehmens an." in page


def test_forms_without_csrf_token_are_refused(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    response = client.post(
        f"/{m.slug}/anmelden", data={"email": "a@test.example", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "Formular" in response.get_data(as_text=True)
    response = client.post(
        "/backoffice/anmelden", data={"email": "a@test.example", "password": PASSWORD}
    )
    assert response.status_code == 400


def test_login_and_logout(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    u = make.user()
    make.person(m, user=u)
    assert client.get(f"/{m.slug}/konto").status_code == 302  # needs log-in
    response = login(client, m.slug, u.email)
    assert response.headers["Location"].endswith(f"/{m.slug}/konto")
    assert client.get(f"/{m.slug}/konto").status_code == 200
    token = csrf_token(client, f"/{m.slug}/konto")
    client.post(f"/{m.slug}/abmelden", data={"csrf_token": token})
    assert client.get(f"/{m.slug}/konto").status_code == 302


def test_wrong_password_gives_one_german_message_for_both_cases(
    client: FlaskClient, make: Any
) -> None:
    m = make.municipality()
    u = make.user()
    wrong = login(client, m.slug, u.email, "falsches-Passwort").get_data(as_text=True)
    unknown = login(client, m.slug, "niemand@test.example").get_data(as_text=True)
    for page in (wrong, unknown):
        assert "E-Mail-Adresse oder Passwort ist falsch." in page
    assert f'value="{u.email}"' in wrong


def test_login_redirect_stays_on_this_site(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    u = make.user()
    url = f"/{m.slug}/anmelden?next=//evil.example/"
    response = client.post(
        url, data={"csrf_token": csrf_token(client, url), "email": u.email, "password": PASSWORD}
    )
    assert response.headers["Location"].endswith(f"/{m.slug}/konto")


def test_staff_and_citizens_use_their_own_log_ins(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=m)
    citizen = make.user()
    assert "falsch" in login(client, m.slug, clerk.email).get_data(as_text=True)
    assert "falsch" in staff_login(client, citizen.email).get_data(as_text=True)
    assert staff_login(client, clerk.email).status_code == 302


def test_citizens_cannot_open_the_back_office(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    u = make.user()
    login(client, m.slug, u.email)
    response = client.get("/backoffice/personen?q=a")
    assert response.status_code == 403
    assert "Kein Zugriff" in response.get_data(as_text=True)


def test_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_wtforms_own_messages_are_german(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    page = post_form(
        client, f"/{m.slug}/registrieren", {**REGISTRATION, "kind": "erfunden"}
    ).get_data(as_text=True)
    assert "Bitte wählen Sie eine der Möglichkeiten." in page
    assert "Not a valid choice" not in page
