"""One database session per request, closed when the request ends.

Views call :func:`db` and commit once, at the end, after the core service has done its work.
"""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.db import begin_reading, make_engine, make_session_factory

EXTENSION = "openkasse.sessionmaker"


def init_app(app: Flask, session_factory: sessionmaker[Session] | None = None) -> None:
    if session_factory is None:
        engine = make_engine(
            app.config["DATABASE_URL"], busy_timeout_ms=int(app.config["DATABASE_BUSY_TIMEOUT_MS"])
        )
        session_factory = make_session_factory(engine)
    app.extensions[EXTENSION] = session_factory
    app.teardown_appcontext(_close)


def db() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions[EXTENSION]()
        if has_request_context() and request.method in ("GET", "HEAD"):
            begin_reading(g.db_session)  # page views read past a long write (SQLite WAL)
    session: Session = g.db_session
    return session


def rollback() -> None:
    """Roll back this request's transaction (if it has one) so an error page can still read."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def _close(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
