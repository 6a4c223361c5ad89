"""Declarative base, engines and sessions, and the one tenancy-scoped lookup. No Flask: the
portal, CLI and tests all use this."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event, select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core.kernel.errors import NotFound

# Stable constraint names so that Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in, timezone-aware (UTC) datetimes out, on every database.

    SQLite stores no zone; without this, values read back naive and compare wrongly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use core.kernel.clock.now()")
        # SQLite keeps the wall time and drops the zone: store every moment as UTC, or a bound
        # given in Berlin time (a day's start) would compare an hour off with the stored values.
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def enum_column(cls: type[enum.Enum], name: str, length: int = 30) -> Enum:
    """A Python enum stored as its string values, with a named CHECK on every database.

    Not a native PostgreSQL enum: a new member is then a plain CHECK change in a migration, the
    same on SQLite and PostgreSQL.
    """
    return Enum(
        cls,
        native_enum=False,
        length=length,
        create_constraint=True,
        name=name,
        values_callable=lambda e: [m.value for m in e],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


Row = TypeVar("Row", bound=Base)


def get_scoped(
    session: Session,
    model: type[Row],
    municipality_id: int,
    object_id: int,
    *,
    not_found: str = "Dieser Eintrag wurde nicht gefunden.",
) -> Row:
    """The row ``object_id`` of ``model`` *of this municipality*: another municipality's row is
    simply not found (NotFound with the German ``not_found``), so that no one learns it exists.

    ``model`` has the columns ``id`` and ``municipality_id``."""
    columns = model.__table__.c
    row = session.scalars(
        select(model).where(columns.id == object_id, columns.municipality_id == municipality_id)
    ).first()
    if row is None:
        raise NotFound(not_found)
    return row


# How long a request waits for a lock (SQLite's write lock) before it gives up (and the edge answers
# "bitte erneut versuchen"): long enough for an ordinary write to finish, short enough that a
# citizen is not left staring at a spinning page.
DEFAULT_BUSY_TIMEOUT_MS = 15000


def make_engine(
    url: str,
    *,
    sqlite_foreign_keys: bool = True,
    busy_timeout_ms: int | None = None,
    **kwargs: Any,
) -> Engine:
    """An engine for ``url``. ``sqlite_foreign_keys=False`` is for migrations only: SQLite
    rebuilds tables to alter them, which foreign-key enforcement would refuse.

    ``busy_timeout_ms``: how long a statement waits for another connection's lock before it
    fails as "busy" (:func:`is_busy_error`). SQLite always waits (default
    :data:`DEFAULT_BUSY_TIMEOUT_MS`); on PostgreSQL it sets ``lock_timeout`` only when given
    (the web app does; batch commands keep waiting as long as it takes).

    Statement parameters are left out of error messages (``hide_parameters``): they are names,
    addresses and IBANs, and error messages end up in logs."""
    kwargs.setdefault("hide_parameters", True)
    if busy_timeout_ms is not None and url.startswith("postgresql"):
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args["options"] = (
            f"{connect_args.get('options', '')} -c lock_timeout={int(busy_timeout_ms)}"
        )
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, sqlite_foreign_keys, busy_timeout_ms or DEFAULT_BUSY_TIMEOUT_MS)
    return engine


def _configure_sqlite(engine: Engine, foreign_keys: bool, busy_timeout_ms: int) -> None:
    """Foreign keys on, and real SAVEPOINT support (pysqlite's own transaction handling breaks it).

    Recipe from the SQLAlchemy docs, "Serializable isolation / Savepoints / Transactional DDL".
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        # Concurrent requests (a webhook while a page is being served): with write-ahead
        # logging readers never block the one writer, and a writer waits instead of failing.
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE: take the write lock up front. A deferred transaction that reads and then
        # writes fails at once with "database is locked" when another one does the same (two
        # webhooks at a time); an immediate one waits its turn (busy_timeout). SQLite is the
        # single-node default; several web workers belong on PostgreSQL.
        # A transaction marked with begin_reading() starts DEFERRED instead: with write-ahead
        # logging it reads its snapshot while another connection writes, instead of waiting
        # for (or timing out behind) a long write such as a bank statement import.
        deferred = conn.get_execution_options().get(READING_OPTION, False)
        conn.exec_driver_sql("BEGIN DEFERRED" if deferred else "BEGIN IMMEDIATE")


READING_OPTION = "openkasse_reading"


def begin_reading(session: Session) -> None:
    """Start ``session``'s transaction as a reading one (a page view): on SQLite it does not take
    the write lock up front, so it is not held up by a long write. It may still write; if
    another connection wrote in the meantime, that write fails as busy (:func:`is_busy_error`)
    and the request can simply be repeated. No effect on PostgreSQL (MVCC reads never wait)."""
    session.connection(execution_options={READING_OPTION: True})


# PostgreSQL SQLSTATEs of a transaction that lost a race, not of a bug: serialization failure,
# deadlock, lock not available (lock_timeout), query cancelled (statement_timeout).
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014"})
_SQLITE_BUSY_MESSAGES = ("database is locked", "database table is locked", "database is busy")


def is_busy_error(error: BaseException) -> bool:
    """Whether ``error`` means "the database is busy, try again": SQLite's lock timeout or
    PostgreSQL's serialization, deadlock and lock/statement timeouts. Trying the same thing again
    a moment later may well succeed; nothing about the input is wrong."""
    if not isinstance(error, OperationalError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    text = str(original).lower()
    return any(message in text for message in _SQLITE_BUSY_MESSAGES)


def close_session(session: Session) -> None:
    """Close ``session``; on PostgreSQL a transaction that wrote nothing ends with COMMIT.

    For the database that is the same as ROLLBACK: no transaction id was assigned, so there is
    nothing to undo (``txid_current_if_assigned()`` is NULL until the first write, row locks
    included). But psycopg forgets all of a connection's prepared statements on every ROLLBACK
    (it might have undone DDL they stand on), so page views — which read and then roll back —
    had PostgreSQL plan every statement anew: about 0.4–0.6 ms of planning per statement, three
    quarters of a statement's time on the account page. A transaction that wrote, failed or
    still has unflushed changes is rolled back as before."""
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        # a failed flush or statement, a lost connection: the rollback of close() is still right
        with suppress(SQLAlchemyError):
            _commit_if_nothing_written(session)
    session.close()


def _commit_if_nothing_written(session: Session) -> None:
    # An aborted transaction makes the question fail, which close_session leaves to the rollback.
    connection = session.connection()
    if connection.dialect.driver == "psycopg" and connection.scalar(_WROTE_NOTHING):
        session.commit()


# Whether this transaction has written anything (compiled once).
_WROTE_NOTHING = text("SELECT txid_current_if_assigned() IS NULL")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
