"""Shared fixtures.

Database tests run twice: on SQLite and on a real PostgreSQL server that this file starts on
loopback (or the one named by OPENKASSE_TEST_PG_URL). Each backend's schema is built once by the
Alembic migrations; each test runs in a transaction that is rolled back (the code under test may
commit: it then only releases a savepoint).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.db import make_engine
from portal.app import create_app
from portal.cli.db import alembic_config
from tests import factories, pg
from tests.localstripe import running_localstripe

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str]:
    given = os.environ.get("OPENKASSE_TEST_PG_URL")
    if given:
        yield given.rstrip("/")
        return
    with pg.running_server() as url:
        yield url


def migrated_database(
    backend: str, name: str, tmp_dir: Path, request: pytest.FixtureRequest
) -> str:
    """Create an empty database of ``backend`` and migrate it to head; return its URL."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / (name + '.sqlite3')}"
    else:
        base = request.getfixturevalue("pg_base_url")
        admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = f"{base}/{name}"
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return migrated_database(
        request.param, "openkasse_test", tmp_path_factory.mktemp(request.param), request
    )


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Any]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: Any) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = session_factory()
    yield session
    session.close()


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    with running_localstripe() as base:
        yield base


STRIPE_TEST_CONFIG = {
    "STRIPE_SECRET_KEY": "sk_test_openkasse",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_openkasse",
    "STRIPE_WEBHOOK_SECRET": "whsec_openkasse_tests",
}


@pytest.fixture
def app(
    session_factory: sessionmaker[Session], database_url: str, request: pytest.FixtureRequest
) -> Flask:
    """The app; a test that also asks for ``localstripe`` gets it as its Stripe server."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "JOBS_WORKER": "external",  # tests drain jobs themselves: one shared connection
        **STRIPE_TEST_CONFIG,
    }
    if "localstripe" in request.fixturenames:
        config["STRIPE_API_BASE"] = request.getfixturevalue("localstripe")
    return create_app(config, session_factory=session_factory)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --------------------------------------------------------------------------- helpers

CSRF_RE = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    page = client.get(url)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def readable(page: str, *left_out: str) -> str:
    """``page`` without its PNG data URIs (a GiroCode) and the strings ``left_out`` (a link's
    token): what a test may search for personal data. The image's base64 letters vary with the
    ids, so a short word such as a street's "Weg" turns up in them now and then."""
    for part in left_out:
        page = page.replace(part, "")
    return PNG_DATA_URI.sub("", page)


PNG_DATA_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/=]+")


def post_form(client: FlaskClient, url: str, data: dict[str, str], **kw: Any) -> Any:
    """Submit a form the way a browser does: fetch the page for its CSRF token first."""
    return client.post(url, data={"csrf_token": csrf_token(client, url), **data}, **kw)


def login(
    client: FlaskClient, municipality_slug: str, email: str, password: str = factories.PASSWORD
) -> Any:
    return post_form(
        client, f"/{municipality_slug}/anmelden", {"email": email, "password": password}
    )


def staff_login(client: FlaskClient, email: str, password: str = factories.PASSWORD) -> Any:
    return post_form(client, "/backoffice/anmelden", {"email": email, "password": password})


@pytest.fixture
def make(db: Session) -> Any:
    """``make.person(m)`` etc.: the creator functions of tests/factories.py bound to ``db``."""

    class Make:
        def __getattr__(self, name: str) -> Any:
            func = getattr(factories, name)
            return lambda *a, **kw: func(db, *a, **kw)

    return Make()
