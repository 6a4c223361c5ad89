"""Sessions end on the server: log-out and a new password end every copy of the cookie; idle
and absolute time limits (pinned clock, no sleeping); forwarded addresses are not trusted."""

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from argon2 import PasswordHasher
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.identity.models import Role
from portal.app import create_app
from tests.conftest import csrf_token, login, staff_login

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _logout(client: FlaskClient, url: str, page: str) -> None:
    client.post(url, data={"csrf_token": csrf_token(client, page)})


def test_a_citizen_cookie_copied_before_log_out_no_longer_opens_the_account(
    client: FlaskClient, make: Any
) -> None:
    m = make.municipality()
    u = make.user()
    make.person(m, user=u)
    login(client, m.slug, u.email)
    copied = _cookie(client)
    assert client.get(f"/{m.slug}/konto").status_code == 200
    _logout(client, f"/{m.slug}/abmelden", f"/{m.slug}/konto")
    client.set_cookie("session", copied)
    response = client.get(f"/{m.slug}/konto")
    assert response.status_code == 302
    assert f"/{m.slug}/anmelden" in response.headers["Location"]


def test_a_clerk_cookie_copied_before_log_out_no_longer_opens_person_pages(
    client: FlaskClient, make: Any
) -> None:
    m = make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=m)
    p = make.person(m)
    staff_login(client, clerk.email)
    copied = _cookie(client)
    assert client.get(f"/backoffice/personen/{p.id}").status_code == 200
    _logout(client, "/backoffice/abmelden", "/backoffice/personen")
    client.set_cookie("session", copied)
    response = client.get(f"/backoffice/personen/{p.id}")
    assert response.status_code == 302
    assert "/backoffice/anmelden" in response.headers["Location"]
    # logging in again works, and the new session is a new one
    staff_login(client, clerk.email)
    assert client.get(f"/backoffice/personen/{p.id}").status_code == 200


def test_log_out_ends_the_sessions_on_other_devices_too(app: Flask, make: Any) -> None:
    m = make.municipality()
    u = make.user()
    make.person(m, user=u)
    phone, desktop = app.test_client(), app.test_client()
    login(phone, m.slug, u.email)
    login(desktop, m.slug, u.email)
    _logout(phone, f"/{m.slug}/abmelden", f"/{m.slug}/konto")
    assert desktop.get(f"/{m.slug}/konto").status_code == 302


def test_a_new_password_ends_earlier_sessions(client: FlaskClient, make: Any, db: Session) -> None:
    m = make.municipality()
    u = make.user()
    make.person(m, user=u)
    login(client, m.slug, u.email)
    assert client.get(f"/{m.slug}/konto").status_code == 200
    u.password_hash = PasswordHasher().hash("ein-ganz-neues-Passwort")
    db.commit()
    assert client.get(f"/{m.slug}/konto").status_code == 302


def test_back_office_session_ends_after_30_idle_minutes(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=m)
    p = make.person(m)
    with time_machine.travel(START, tick=False) as traveller:
        staff_login(client, clerk.email)
        for _ in range(4):  # active every 29 minutes: the session stays
            traveller.shift(timedelta(minutes=29))
            assert client.get(f"/backoffice/personen/{p.id}").status_code == 200
        traveller.shift(timedelta(minutes=31))
        response = client.get(f"/backoffice/personen/{p.id}")
        assert response.status_code == 302
        assert "/backoffice/anmelden" in response.headers["Location"]
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Sitzung wurde aus Sicherheitsgründen beendet" in page


def test_back_office_session_ends_after_a_working_day_however_busy(
    client: FlaskClient, make: Any
) -> None:
    m = make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=m)
    with time_machine.travel(START, tick=False) as traveller:
        staff_login(client, clerk.email)
        for _ in range(8 * 3 - 1):  # a request every 20 minutes for 7 h 40 min
            traveller.shift(timedelta(minutes=20))
            assert client.get("/backoffice/personen").status_code == 200
        traveller.shift(timedelta(minutes=21))
        assert client.get("/backoffice/personen").status_code == 302


def test_citizen_sessions_end_too_but_later(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    u = make.user()
    make.person(m, user=u)
    with time_machine.travel(START, tick=False) as traveller:
        login(client, m.slug, u.email)
        traveller.shift(timedelta(minutes=45))  # longer than a clerk may idle
        assert client.get(f"/{m.slug}/konto").status_code == 200
        traveller.shift(timedelta(minutes=61))
        assert client.get(f"/{m.slug}/konto").status_code == 302


def test_session_times_are_configuration(
    session_factory: Any, database_url: str, make: Any
) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "BACKOFFICE_IDLE_MINUTES": 5,
        },
        session_factory=session_factory,
    )
    client = app.test_client()
    m = make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=m)
    with time_machine.travel(START, tick=False) as traveller:
        staff_login(client, clerk.email)
        traveller.shift(timedelta(minutes=6))
        assert client.get("/backoffice/personen").status_code == 302


def _address_seen(flask_app: Flask) -> str:
    seen: list[str] = []

    @flask_app.get("/_address")
    def _address() -> str:
        seen.append(str(request.remote_addr))
        return "ok"

    flask_app.test_client().get(
        "/_address",
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    return seen[0]


def test_forwarded_for_does_not_count_without_a_configured_proxy(
    app: Flask, session_factory: Any, database_url: str
) -> None:
    assert _address_seen(app) == "10.0.0.1"
    config = {"TESTING": True, "SECRET_KEY": "t", "DATABASE_URL": database_url}
    behind_proxy = create_app({**config, "TRUSTED_PROXY_COUNT": 1}, session_factory=session_factory)
    assert _address_seen(behind_proxy) == "203.0.113.9"
