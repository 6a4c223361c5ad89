"""The database storage behaves like the ``limits`` library's own storages, on both databases."""

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter
from sqlalchemy import select

from core.kernel.db import make_engine, make_session_factory
from portal.identity.rate_limit_storage import SCHEME, DatabaseStorage

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _storage(session_factory: Any) -> DatabaseStorage:
    storage = storage_from_string(f"{SCHEME}://", sessions=lambda: session_factory)
    assert isinstance(storage, DatabaseStorage)
    return storage


def test_moving_window_counts_the_last_minutes_only(session_factory: Any) -> None:
    storage = _storage(session_factory)
    limiter = MovingWindowRateLimiter(storage)
    three = parse("3 per 10 minutes")
    with time_machine.travel(START, tick=False) as traveller:
        assert limiter.hit(three, "a")
        traveller.shift(timedelta(minutes=4))
        assert limiter.hit(three, "a") and limiter.hit(three, "a")
        assert not limiter.hit(three, "a") and not limiter.test(three, "a")
        assert limiter.hit(three, "b")  # keys are apart
        reset, remaining = limiter.get_window_stats(three, "a")
        assert remaining == 0 and reset == (START + timedelta(minutes=10)).timestamp()
        traveller.shift(timedelta(minutes=6, seconds=1))  # the first hit left the window
        assert limiter.test(three, "a") and limiter.hit(three, "a")
        assert not limiter.hit(three, "a")
        limiter.clear(three, "a")
        assert limiter.hit(three, "a")
    assert storage.check()


def test_fixed_window_of_the_base_interface(session_factory: Any) -> None:
    storage = _storage(session_factory)
    limiter = FixedWindowRateLimiter(storage)
    two = parse("2 per 1 minute")
    with time_machine.travel(START, tick=False) as traveller:
        assert limiter.hit(two, "k") and limiter.hit(two, "k") and not limiter.hit(two, "k")
        assert storage.get_expiry(two.key_for("k")) == START.timestamp() + 60
        traveller.shift(timedelta(seconds=61))
        assert storage.get(two.key_for("k")) == 0
        assert limiter.hit(two, "k")
        assert (storage.reset() or 0) >= 1
        assert storage.get(two.key_for("k")) == 0


def test_a_limit_check_does_not_wait_for_the_requests_own_write_lock(
    database_url: str,
) -> None:
    """A log-in POST holds SQLite's write lock (BEGIN IMMEDIATE) while the limiter checks the
    counts in a session of its own: the check must read past it, not wait until the busy
    timeout (which showed every log-in of the embedded default as 'bitte erneut versuchen')."""
    engine = make_engine(database_url, busy_timeout_ms=300)
    factory = make_session_factory(engine)
    request_session = factory()
    try:
        request_session.execute(select(1))  # begins: IMMEDIATE on SQLite, holds the write lock
        limiter = MovingWindowRateLimiter(_storage(factory))
        assert limiter.test(parse("3 per 10 minutes"), "someone")
        assert limiter.get_window_stats(parse("3 per 10 minutes"), "someone")[1] == 3
    finally:
        request_session.rollback()
        request_session.close()
        engine.dispose()
