"""The database storage behaves like the ``limits`` library's own storages, on both databases."""

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from portal.rate_limit_storage import SCHEME, DatabaseStorage

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
