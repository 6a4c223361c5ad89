"""A storage for the ``limits`` library (used by Flask-Limiter) in the application's own database.

Why not Redis or Memcached, which ``limits`` ships storages for: OpenKasse runs on SQLite alone
(embedded default) or on PostgreSQL with several web workers, and a second server only for
counting failed log-ins would be one more thing a municipality must run and secure. The database
is already shared by every worker, so the counts are too. One row per counted event (a failed
log-in) makes the moving window exact: "at most N in the last T" is one indexed query.

Registered for the URI scheme ``openkasse+db://``; ``sessions`` returns the session factory to
use (resolved per call, so that each Flask app — and each test — uses its own database).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import CursorResult, delete, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.identity.rate_limits import RateLimitHit
from core.kernel import clock
from core.kernel.db import begin_reading

SCHEME = "openkasse+db"


class DatabaseStorage(Storage, MovingWindowSupport):
    STORAGE_SCHEME: list[str] | None = [SCHEME]  # noqa: RUF012 - limits registers it by class

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        *,
        sessions: Callable[[], sessionmaker[Session]],
        **options: Any,
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._sessions = sessions

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    @staticmethod
    def _now_ms() -> int:
        return int(clock.now().timestamp() * 1000)

    @contextmanager
    def _session(self, key: str | None = None, *, reading: bool = False) -> Iterator[Session]:
        """A short transaction of its own, committed at once (not the request's).

        ``reading``: the limit checks run while the request's own transaction may already hold
        SQLite's write lock (a POST starts IMMEDIATE); a second writer would wait for it until
        the busy timeout, so a check only reads (WAL: readers never wait for the writer)."""
        with self._sessions()() as session:
            if reading:
                begin_reading(session)
            if key is not None and session.get_bind().dialect.name == "postgresql":
                # One writer per key at a time across workers: count and insert stay exact.
                session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})
            yield session
            session.commit()

    # ------------------------------------------------------------------ moving window
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self._now_ms()
        with self._session(key) as session:
            session.execute(delete(RateLimitHit).where(RateLimitHit.expires_ms <= now))
            count = self._count_since(session, key, now - expiry * 1000)
            if count + amount > limit:
                return False
            session.add_all(
                RateLimitHit(key=key, at_ms=now, expires_ms=now + expiry * 1000)
                for _ in range(amount)
            )
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = self._now_ms()
        with self._session(reading=True) as session:
            count, oldest = session.execute(
                select(func.count(RateLimitHit.id), func.min(RateLimitHit.at_ms)).where(
                    RateLimitHit.key == key, RateLimitHit.at_ms > now - expiry * 1000
                )
            ).one()
        return (oldest if count else now) / 1000, int(count)

    @staticmethod
    def _count_since(session: Session, key: str, since_ms: int) -> int:
        return (
            session.scalar(
                select(func.count(RateLimitHit.id)).where(
                    RateLimitHit.key == key, RateLimitHit.at_ms > since_ms
                )
            )
            or 0
        )

    # ------------------------------------------------------------------ fixed window
    # (the base interface; all rows of a key's window share the expiry of its first hit)
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = self._now_ms()
        with self._session(key) as session:
            expires = self._window_end(session, key, now) or now + expiry * 1000
            session.add_all(
                RateLimitHit(key=key, at_ms=now, expires_ms=expires) for _ in range(amount)
            )
            session.flush()
            return self._count_unexpired(session, key, now)

    def get(self, key: str) -> int:
        with self._session(reading=True) as session:
            return self._count_unexpired(session, key, self._now_ms())

    def get_expiry(self, key: str) -> float:
        now = self._now_ms()
        with self._session(reading=True) as session:
            return (self._window_end(session, key, now) or now) / 1000

    @staticmethod
    def _window_end(session: Session, key: str, now: int) -> int | None:
        return session.scalar(
            select(func.min(RateLimitHit.expires_ms)).where(
                RateLimitHit.key == key, RateLimitHit.expires_ms > now
            )
        )

    @staticmethod
    def _count_unexpired(session: Session, key: str, now: int) -> int:
        return (
            session.scalar(
                select(func.count(RateLimitHit.id)).where(
                    RateLimitHit.key == key, RateLimitHit.expires_ms > now
                )
            )
            or 0
        )

    # ------------------------------------------------------------------ housekeeping
    def check(self) -> bool:
        try:
            with self._session(reading=True) as session:
                session.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self._session() as session:
            deleted = cast(CursorResult[Any], session.execute(delete(RateLimitHit)))
            return deleted.rowcount

    def clear(self, key: str) -> None:
        with self._session() as session:
            session.execute(delete(RateLimitHit).where(RateLimitHit.key == key))
