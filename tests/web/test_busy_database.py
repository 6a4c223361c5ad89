"""A database busy with someone else's write: the request waits (busy timeout) and then asks the
citizen to try again (503, German, Retry-After) — never a 500 — with nothing half-written."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, g
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from core.kernel.db import is_busy_error, make_engine
from core.tenancy.municipalities import Municipality
from portal.app import create_app
from portal.database import db as request_db
from tests.conftest import STRIPE_TEST_CONFIG, migrated_database
from tests.factories import municipality


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> str:
    return migrated_database("sqlite", "busy", tmp_path_factory.mktemp("busy"), request)


@pytest.fixture
def busy_app(sqlite_file: str) -> Iterator[Flask]:
    """The real engine of the app (not the tests' shared connection), waiting 200 ms for locks."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": sqlite_file,
            "DATABASE_BUSY_TIMEOUT_MS": 200,
            **STRIPE_TEST_CONFIG,
        }
    )
    return app


def _path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def test_wal_and_busy_timeout_are_on(sqlite_file: str) -> None:
    engine = make_engine(sqlite_file, busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    engine.dispose()


def test_behind_a_held_write_lock_pages_still_read_and_writes_get_503(busy_app: Flask) -> None:
    engine = make_engine(busy_app.config["DATABASE_URL"])
    with engine.begin() as conn, Session(bind=conn) as session:
        slug = municipality(session).slug
    engine.dispose()
    client = busy_app.test_client()
    assert client.get(f"/{slug}/").status_code == 200

    holder = sqlite3.connect(_path(busy_app.config["DATABASE_URL"]), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # like the long statement import: holds the write lock
    holder.execute("UPDATE municipality SET phone = '+49 2' WHERE slug = ?", (slug,))
    try:
        started = time.monotonic()
        page = client.get(f"/{slug}/anmelden")  # reads its snapshot (WAL), does not wait
        read_in = time.monotonic() - started
        started = time.monotonic()
        response = client.post(f"/{slug}/anmelden", data={"email": "a@b.example"})
        waited = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert page.status_code == 200 and read_in < 0.15
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    text = response.get_data(as_text=True)
    assert "Die Datenbank ist gerade beschäftigt – bitte versuchen Sie es in einem Moment" in text
    assert 0.15 < waited < 5  # waited for the busy timeout, then gave up
    assert client.post(f"/{slug}/anmelden", data={}).status_code == 400  # lock gone: CSRF again


def test_busy_errors_are_recognised_on_both_backends(engine: Any, database_url: str) -> None:
    """A real lock conflict on each backend is classified as "busy", a bug is not."""
    sqlite = engine.dialect.name == "sqlite"
    waiting = make_engine(database_url, busy_timeout_ms=50)
    holder = engine.connect()
    try:
        holder.exec_driver_sql("CREATE TABLE IF NOT EXISTS busy_probe (id INTEGER)")
        holder.commit()
        holder.begin()
        holder.execute(text("INSERT INTO busy_probe VALUES (1)"))
        if not sqlite:  # SQLite's BEGIN IMMEDIATE already holds the write lock
            holder.exec_driver_sql("LOCK TABLE busy_probe IN ACCESS EXCLUSIVE MODE")
        with waiting.connect() as conn:
            if not sqlite:
                conn.exec_driver_sql("SET lock_timeout = '100ms'")
            with pytest.raises(OperationalError) as caught:
                conn.execute(text("INSERT INTO busy_probe VALUES (2)"))
            assert is_busy_error(caught.value), caught.value
            conn.rollback()
            with pytest.raises((ProgrammingError, OperationalError)) as bug:
                conn.exec_driver_sql("SELECT * FROM no_such_table")
            assert not is_busy_error(bug.value)
    finally:
        holder.rollback()
        holder.exec_driver_sql("DROP TABLE IF EXISTS busy_probe")
        holder.commit()
        holder.close()
        waiting.dispose()


def test_the_busy_timeout_applies_to_both_backends(database_url: str) -> None:
    engine = make_engine(database_url, busy_timeout_ms=1234)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
        else:
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "1234ms"
    engine.dispose()


def test_the_busy_page_itself_does_not_wait_for_the_lock_again(busy_app: Flask) -> None:
    """A view that committed once and then finds the lock taken: the page must not reload the
    (expired) municipality for its header — that would wait for the same lock and fail."""
    engine = make_engine(busy_app.config["DATABASE_URL"])
    with engine.begin() as conn, Session(bind=conn) as session:
        slug = municipality(session).slug
    engine.dispose()
    holder = sqlite3.connect(_path(busy_app.config["DATABASE_URL"]), isolation_level=None)

    def view() -> str:
        session = request_db()
        g.municipality = session.scalars(
            select(Municipality).where(Municipality.slug == slug)
        ).one()
        session.commit()
        holder.execute("BEGIN IMMEDIATE")  # someone else starts a long write now
        session.execute(select(Municipality.id)).all()
        return "nie erreicht"

    busy_app.add_url_rule("/_probe/after-commit", "after_commit", view)
    try:
        response = busy_app.test_client().get("/_probe/after-commit")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 503


def test_every_value_of_a_repeated_parameter_is_checked(busy_app: Flask) -> None:
    client = busy_app.test_client()
    assert client.get("/", query_string=[("a", "gut"), ("a", "x\x00")]).status_code == 400
    form = client.post("/backoffice/anmelden", data={"email": ["a@b.example", "x\x07"]})
    assert form.status_code == 400
