"""Bad input at the edge: ids beyond 64 bits, NUL and control characters, values the database
refuses — a German 4xx every time, never a 500; genuine bugs still give a logged 500."""

from __future__ import annotations

import io
import logging
import sqlite3
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, OperationalError

from core.identity.models import Role
from core.persons.models import Person
from portal.database import db as request_db
from tests.conftest import csrf_token, staff_login
from tests.web.test_auth import REGISTRATION

CONTROL_TEXT = "unzulässige Steuerzeichen"


def test_ids_beyond_the_database_integer_are_not_found(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=m)
    staff_login(client, clerk.email)
    for number in (2**31, 2**63, 2**64 + 5, 10**30):
        response = client.get(f"/backoffice/personen/{number}")
        assert response.status_code == 404, number
        assert "Seite nicht gefunden" in response.get_data(as_text=True)
    assert client.get(f"/backoffice/personen/{2**31 - 1}").status_code == 404  # fits, not there


def test_nul_in_a_form_field_is_refused_and_nothing_is_stored(
    client: FlaskClient, db: Any, make: Any
) -> None:
    m = make.municipality()
    url = f"/{m.slug}/registrieren"
    data = {**REGISTRATION, "family_name": "Mül\x00ler", "csrf_token": csrf_token(client, url)}
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert CONTROL_TEXT in response.get_data(as_text=True)
    count = db.scalar(
        select(func.count()).select_from(Person).where(Person.municipality_id == m.id)
    )
    assert count == 0


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\r", "\n", "\t"])
def test_control_characters_in_query_string_and_path_are_refused(
    client: FlaskClient, make: Any, character: str
) -> None:
    m = make.municipality()
    response = client.get(f"/{m.slug}/anmelden", query_string={"next": f"/konto{character}x"})
    assert response.status_code == 400
    assert CONTROL_TEXT in response.get_data(as_text=True)
    assert client.get(f"/{m.slug}{quote(character)}/").status_code == 400


def test_multi_line_text_may_contain_line_breaks_but_no_other_controls(
    client: FlaskClient, make: Any
) -> None:
    m = make.municipality()
    url = f"/{m.slug}/anmelden"
    ok = client.post(url, data={"text": "Zeile 1\r\nZeile 2\tTab", "csrf_token": "x"})
    # passes the edge; the missing CSRF token is what refuses it
    assert ok.status_code == 400 and "Formular abgelaufen" in ok.get_data(as_text=True)
    bad = client.post(url, data={"text": "Zeile 1\x0bZeile 2", "csrf_token": "x"})
    assert bad.status_code == 400 and CONTROL_TEXT in bad.get_data(as_text=True)


def test_control_characters_in_json_and_file_names_are_refused(
    client: FlaskClient, make: Any
) -> None:
    m = make.municipality()
    response = client.post(f"/{m.slug}/anmelden", json={"a": ["ok", {"b": "x\x00"}]})
    assert response.status_code == 400 and CONTROL_TEXT in response.get_data(as_text=True)
    response = client.post(f"/{m.slug}/anmelden", json={"a\x00": 1})
    assert response.status_code == 400 and CONTROL_TEXT in response.get_data(as_text=True)
    response = client.post(
        f"/{m.slug}/anmelden",
        data={"file": (io.BytesIO(b"x"), "a\x00.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and CONTROL_TEXT in response.get_data(as_text=True)


def _app_with(app: Flask, name: str, error: Exception) -> FlaskClient:
    def view() -> str:
        request_db().execute(select(1))  # a transaction is open when the error comes
        raise error

    app.add_url_rule(f"/_probe/{name}", name, view)
    return app.test_client()


def _sqlite_error(message: str) -> Exception:
    return OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))


@pytest.mark.parametrize(
    "error",
    [
        OverflowError("Python int too large to convert to SQLite INTEGER"),
        DataError("INSERT", {"family_name": "secret"}, ValueError("NUL")),
    ],
    ids=["overflow", "data-error"],
)
def test_values_the_database_refuses_become_a_german_400(
    app: Flask, error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    client = _app_with(app, "probe", error)
    with caplog.at_level(logging.WARNING):
        response = client.get("/_probe/probe")
    assert response.status_code == 400
    assert "Eingabe ungültig" in response.get_data(as_text=True)
    assert "secret" not in caplog.text  # the statement's parameters are personal data


def test_a_busy_database_asks_to_retry_with_503(app: Flask) -> None:
    client = _app_with(app, "busy", _sqlite_error("database is locked"))
    response = client.get("/_probe/busy")
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert "bitte versuchen Sie es in einem Moment erneut" in response.get_data(as_text=True)


def test_a_genuine_bug_stays_a_logged_500(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = _app_with(app, "bug", _sqlite_error("no such table: nonsense"))
    with caplog.at_level(logging.ERROR):
        response = client.get("/_probe/bug")
    assert response.status_code == 500
    assert "Exception on /_probe/bug" in caplog.text
