"""One database session per request, closed when the request ends.

Views call :func:`db` and commit once, at the end, after the core service has done its work.

A page view (GET/HEAD) starts its transaction as a reading one (SQLite: ``BEGIN DEFERRED``), so it
reads its snapshot past a long write. Such a transaction cannot become a writer once another
connection has committed after its first read: SQLite refuses the upgrade at once (busy, no
waiting). A GET view that may write (the payment result books what the provider reports, a
download is recorded, a link confirms an e-mail address) is therefore marked :func:`writes`: its
transaction starts as a writer (``BEGIN IMMEDIATE``, waits its turn behind other writers).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.db import begin_reading, close_session, make_engine, make_session_factory

EXTENSION = "openkasse.sessionmaker"
WRITES = "openkasse_writes"

V = TypeVar("V", bound=Callable[..., object])


def writes(view: V) -> V:
    """Mark a GET view that may write: its transaction starts as a writer, not a reading one.

    Put it right below the route decorator (``@bp.get(...)`` then ``@writes``); decorators made
    with ``functools.wraps`` carry the mark outward."""
    setattr(view, WRITES, True)
    return view


def _reading_request() -> bool:
    """Whether this request is a page view that only reads (GET/HEAD, not marked ``writes``)."""
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return not getattr(view, WRITES, False)


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
        if _reading_request():
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
        close_session(session)
