"""core.kernel.db.close_session: a transaction that wrote nothing ends with COMMIT on PostgreSQL
(so psycopg keeps the connection's prepared statements), anything written but not committed is
still rolled back — on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from core.kernel.db import close_session, make_engine, make_session_factory
from core.tenancy.municipalities import Municipality
from tests import factories


@pytest.fixture
def one_connection(database_url: str) -> Iterator[Engine]:
    """An engine with a single pooled connection, so every session gets the same one."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _prepared_after_reading(engine: Engine, close: object) -> int:
    factory = make_session_factory(engine)
    session = factory()
    for _ in range(8):  # psycopg prepares a statement from its fifth execution on
        session.scalar(select(func.count()).select_from(Municipality))
    close(session)  # type: ignore[operator]
    with factory() as after:
        return int(after.scalar(text("SELECT count(*) FROM pg_prepared_statements")) or 0)


def test_a_reading_transaction_keeps_the_prepared_statements(
    one_connection: Engine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("prepared statements are psycopg's")
    assert _prepared_after_reading(one_connection, lambda s: s.close()) == 0  # ROLLBACK: gone
    assert _prepared_after_reading(one_connection, close_session) >= 1


def _slugs(engine: Engine) -> set[str]:
    with make_session_factory(engine)() as session:
        return set(session.scalars(select(Municipality.slug)))


def test_what_was_written_but_not_committed_is_rolled_back(one_connection: Engine) -> None:
    factory = make_session_factory(one_connection)
    session = factory()
    factories.municipality(session, slug="nie-gebucht")  # flushed, never committed
    session.scalar(select(func.count()).select_from(Municipality))
    close_session(session)
    assert "nie-gebucht" not in _slugs(one_connection)


def test_unflushed_changes_are_not_written(one_connection: Engine) -> None:
    factory = make_session_factory(one_connection)
    session = factory()
    factories.municipality(session, slug="vorhanden")
    session.commit()
    try:
        municipality = session.scalars(select(Municipality).where(Municipality.slug == "vorhanden"))
        municipality.one().name = "Geändert, nie gespeichert"  # dirty, not flushed
        close_session(session)
        with factory() as check:
            name = select(Municipality.name).where(Municipality.slug == "vorhanden")
            names = set(check.scalars(name))
        assert names and "Geändert, nie gespeichert" not in names
    finally:
        with factory() as cleanup:
            cleanup.execute(text("DELETE FROM municipality WHERE slug = 'vorhanden'"))
            cleanup.commit()


def test_a_failed_transaction_is_rolled_back(one_connection: Engine) -> None:
    factory = make_session_factory(one_connection)
    session = factory()
    with pytest.raises(DBAPIError):
        session.execute(text("SELECT * FROM no_such_table"))
    close_session(session)  # no error on an aborted transaction
    assert isinstance(_slugs(one_connection), set)


def test_a_failed_flush_is_rolled_back_without_an_error(one_connection: Engine) -> None:
    factory = make_session_factory(one_connection)
    session = factory()
    factories.municipality(session, slug="doppelt")
    with pytest.raises(DBAPIError):  # the slug is unique: the flush fails, the session
        factories.municipality(session, slug="doppelt")  # now needs a rollback
    close_session(session)
    assert "doppelt" not in _slugs(one_connection)
