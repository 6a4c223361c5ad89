"""Production headers (point 16): HSTS, no-store on everything but static assets, no banner."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from core.identity.models import Role
from core.kernel import clock
from portal.app import create_app
from tests.conftest import STRIPE_TEST_CONFIG, login, staff_login
from tests.web.test_water_pages import setup  # noqa: F401 - a meter with a reading card


def _production(session_factory: sessionmaker[Session]) -> Flask:
    return create_app(
        {
            "OPENKASSE_ENV": "production",
            "TESTING": True,
            "SECRET_KEY": "x" * 40,
            "DATABASE_URL": "sqlite://",
            **STRIPE_TEST_CONFIG,
        },
        session_factory=session_factory,
    )


def test_production_sends_hsts_development_does_not(
    session_factory: sessionmaker[Session], client: FlaskClient
) -> None:
    response = _production(session_factory).test_client().get("/")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_downloads_and_pages_are_never_stored_static_assets_may_be(app: Flask, make: Any) -> None:
    def careless_pdf() -> Response:  # a view that forgot about caches
        response = Response(b"%PDF-1.7", mimetype="application/pdf")
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["X-Powered-By"] = "Flask 3.1"
        response.headers["Server"] = "Werkzeug/3.1 Python/3.11"
        return response

    app.add_url_rule("/_probe/bescheid.pdf", "probe_pdf", careless_pdf)
    app.add_url_rule(
        "/_probe/datei.xml",
        "probe_xml",
        lambda: Response("<Document/>", mimetype="application/xml"),
    )
    client = app.test_client()
    m = make.municipality()
    u = make.user()
    make.person(m, user=u)
    login(client, m.slug, u.email)
    for path in [
        "/_probe/bescheid.pdf",
        "/_probe/datei.xml",
        f"/{m.slug}/konto",
        f"/{m.slug}/zahlung/kein-gueltiger-link",
        "/healthz",
        "/gibt-es-nicht/",
        "/static/gibt-es-nicht.css",
    ]:
        response = client.get(path)
        assert response.headers.get("Cache-Control") == "no-store", path
        assert "X-Powered-By" not in response.headers and "Server" not in response.headers
    with client.get("/static/css/openkasse.css") as static:
        assert static.status_code == 200
        assert "no-store" not in static.headers.get("Cache-Control", "")
    assert "no-store" not in client.get(f"/{m.slug}/theme.css").headers["Cache-Control"]


def test_real_reading_cards_pdf_and_token_page_are_not_stored(
    app: Flask,
    client: FlaskClient,
    make: Any,
    setup: Any,  # noqa: F811
) -> None:
    m, _meter, token_url = setup
    clerk = make.user(role=Role.CLERK, municipality=m)
    assert client.get(token_url).headers["Cache-Control"] == "no-store"  # the card's QR link
    desk = app.test_client()
    staff_login(desk, clerk.email)
    cards = desk.get(f"/backoffice/ablesekarten.pdf?period={clock.today().year}")
    assert cards.mimetype == "application/pdf"
    assert cards.headers["Cache-Control"] == "no-store"
