"""No token, search term or client secret in the access log or the app's log lines (point 15).

The server test runs ``openkasse run``'s own request handler on loopback and reads the log
records Werkzeug really writes."""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from core.kernel.tokens import make_token
from portal.app import create_app
from portal.log_redaction import REDACTED, Redactor
from portal.serving import RequestHandler
from tests.conftest import STRIPE_TEST_CONFIG, migrated_database

SIGNED = make_token("s" * 32, "claim", 42, issued_at=datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Flask, str]]:
    url = migrated_database("sqlite", "logs", tmp_path_factory.mktemp("logs"), request)
    app = create_app({"SECRET_KEY": "test-secret", "DATABASE_URL": url, **STRIPE_TEST_CONFIG})
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=RequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def _get(url: str, **headers: str) -> tuple[int, dict[str, str]]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


SECRET_PATHS = [
    f"/musterstadt/zahlung/{SIGNED}",
    "/musterstadt/zahlung/einfach-geheim-123/bezahlen",
    f"/musterstadt/zaehlerstand/2026/{SIGNED}",
    "/musterstadt/zaehlerstand/2026/zaehler-geheim-9",
    "/musterstadt/zahlvorgang/vorgang-geheim-7/ergebnis?payment_intent=pi_geheim"
    "&payment_intent_client_secret=pi_geheim_secret_abc",
    f"/musterstadt/konto/bestaetigen/{SIGNED}",  # a signed link under any route name
    "/backoffice/personen?q=Yilmaz-Geheim&page=2",
    "/backoffice/personen?q=123%20456%20789",
]
SECRETS = [
    SIGNED,
    "einfach-geheim-123",
    "zaehler-geheim-9",
    "vorgang-geheim-7",
    "pi_geheim",
    "Yilmaz-Geheim",
    "123%20456%20789",
    "123 456 789",
]


def test_the_access_log_of_the_running_server_carries_no_secrets(
    served: tuple[Flask, str], caplog: pytest.LogCaptureFixture
) -> None:
    _app, base = served
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        for path in SECRET_PATHS:
            _get(base + path, Referer=base + f"/musterstadt/zahlung/{SIGNED}")
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert len(lines) >= len(SECRET_PATHS)
    text = "\n".join(lines)
    for secret in SECRETS:
        assert secret not in text
    assert "/musterstadt/zahlung/[redacted]/bezahlen" in text  # still useful to read
    assert "/backoffice/personen?q=[redacted]&page=2" in text


def test_the_server_names_no_versions(served: tuple[Flask, str]) -> None:
    _app, base = served
    _status, headers = _get(base + "/healthz")
    assert headers.get("Server") == "OpenKasse"
    assert "X-Powered-By" not in headers


def test_the_apps_own_log_lines_are_redacted(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        app.logger.error("Exception on %s [%s]", "/m/zahlvorgang/vorgang-geheim-7/karte", "POST")
        logging.getLogger("gunicorn.access").info(
            '%(h)s "%(r)s" %(s)s "%(f)s"',
            {
                "h": "10.0.0.1",
                "r": f"GET /m/zaehlerstand/2026/{SIGNED} HTTP/1.1",
                "s": "200",
                "f": "https://portal.example/backoffice/personen?q=M%C3%BCller",
            },
        )
    text = caplog.text
    assert "vorgang-geheim-7" not in text and SIGNED not in text and "M%C3%BCller" not in text
    assert "/m/zahlvorgang/[redacted]/karte" in text


def test_secret_routes_come_from_the_url_map() -> None:
    redactor = Redactor(
        ["/<muni>/neu/<token>", "/<muni>/code/<int:n>/<pin>"], secret_arguments=("token", "pin")
    )
    assert redactor.redact("GET /a/neu/x1 HTTP/1.1") == f"GET /a/neu/{REDACTED} HTTP/1.1"
    assert redactor.redact("/a/code/7/9999") == f"/a/code/7/{REDACTED}"
    assert (
        redactor.redact("/a/other/x1?year=2026&levy=dog_tax")
        == "/a/other/x1?year=2026&levy=dog_tax"
    )
    assert redactor.redact("/a?name=Anna") == f"/a?name={REDACTED}"


def test_openkasse_run_serves_with_this_handler() -> None:
    from portal import serving
    from portal.cli import main

    assert main.commands["run"] is serving.run_command


def test_database_errors_do_not_quote_personal_data(engine: Any) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with engine.connect() as conn, pytest.raises(DBAPIError) as caught:
        conn.execute(text("SELECT * FROM no_such_table WHERE name = :n"), {"n": "Erika Geheim"})
    assert "Erika Geheim" not in str(caught.value)
