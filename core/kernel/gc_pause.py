"""Fewer garbage collections during a bulk run (a direct-debit run, a bank import).

CPython's cyclic collector runs every 700 new container objects and, now and then, walks every
object the process holds. A bulk run creates hundreds of thousands of rows and parsed entries
while the process already holds a large heap (ORM objects, a parsed statement), so collecting
took a third of the run's CPU time (profiled at 20,000 items: BENCHMARKS.md). Inside
:func:`fewer_collections` the objects that existed before are frozen (``gc.freeze``: never
walked) and the youngest generation is collected every ``GEN0`` new objects instead of 700.
Nothing is switched off: cycles made during the run are still collected, and everything is as
before once the outermost block ends. The collector is the process's own, so nested blocks
(and threads) share one pause; the last to leave restores it.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

GEN0 = 1_000_000  # new objects between collections of the youngest generation (CPython: 700)

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] = (700, 10, 10)

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def fewer_collections() -> Iterator[None]:
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(_saved[0], GEN0), _saved[1], _saved[2])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
                gc.unfreeze()


def with_fewer_collections(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` run inside :func:`fewer_collections`."""

    @wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        with fewer_collections():
            return function(*args, **kwargs)

    return paused


def freeze_startup() -> None:
    """For a long-lived worker process, once its app and job kinds are loaded: what exists now
    (modules, the app, its templates and mappers: hundreds of thousands of objects that live as
    long as the process) goes into the permanent generation, which the cyclic collector never
    walks. A full collection then walks only what the chunks made: a chunk of the annual run
    ended with one that took ≈ 15 ms in a worker, ≈ 8 ms in a bare process (py-spy,
    BENCHMARKS.md). Later objects are collected as always."""
    gc.collect()  # what start-up left as garbage is freed first, not kept for good
    gc.freeze()
