"""Booking chunks of one dunning run side by side (PostgreSQL, each its own connection and
transaction, as job workers on several machines do): a chunk books its letters while another
chunk's transaction is still open and only waits, at its very end, to ask whether the run is
complete; the same letter in two transactions at once is booked once; and when every chunk
has committed, the run is closed exactly once with every letter booked and the ledger
balanced. The waits only bound how long a broken lock may hang the suite."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.dunning import booking, runs
from core.dunning.models import DunningRun, RunState
from core.kernel.audit import AuditEvent
from core.kernel.db import make_engine
from core.ledger.balances import trial_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.tenancy.municipalities import reserved_apart
from tests import factories
from tests.conftest import migrated_database

DUE = date(2026, 2, 15)
RUN_1 = date(2026, 3, 16)  # reminders with a § 240 AO surcharge on each 100 € claim
WAIT_SECONDS = 60


def _approved_run(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Engine, int, list[int]]:
    """A database of its own (the threads commit), a town whose four persons each owe an
    overdue claim, its run previewed and approved and one letter booked; the engine, the run
    and its three letters not yet booked."""
    engine = make_engine(
        migrated_database("postgresql", "openkasse_dunning_side", tmp_path, request)
    )
    with Session(engine) as session:
        m = factories.municipality(session)
        factories.dunning_statute(session, m)
        for _ in range(4):
            factories.claim(session, m, factories.person(session, m), amount=10000, due=DUE)
        run = runs.preview(session, m, RUN_1, "user:1")
        runs.approve(session, run, "user:2")
        session.commit()
        run_id, letters = run.id, [letter.id for letter in runs.letters_of(session, run)]
    with Session(engine) as session:  # the town's accounts exist, as after its first booking
        assert _book(run_id, letters[:1])(session)["letters"] == 1
        session.commit()
    return engine, run_id, letters[1:]


def _in_thread(engine: Engine, work: Callable[[Session], Any]) -> tuple[threading.Thread, list]:
    """``work(session)`` then commit, in a thread of its own; its result lands in the list."""
    done: list[Any] = []

    def one() -> None:
        with Session(engine) as session:
            done.append(work(session))
            session.commit()

    thread = threading.Thread(target=one)
    thread.start()
    return thread, done


def _waiting_on(engine: Engine, fragment: str) -> bool:
    """Whether a backend of this database waits for a lock in a statement with ``fragment``."""
    with engine.connect() as conn:
        found = conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query LIKE :fragment"
            ),
            {"fragment": f"%{fragment}%"},
        )
    return bool(found)


def _until(engine: Engine, condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            with engine.connect() as conn:
                seen = conn.execute(
                    text(
                        "SELECT wait_event_type, query FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
                conn.execute(  # the waiting thread gets an error instead of hanging the suite
                    text(
                        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE "
                        "datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
            pytest.fail(f"{what} did not happen; the backends: {seen}")
        time.sleep(0.05)


def _book(run_id: int, letters: list[int]) -> Callable[[Session], dict[str, int]]:
    """A chunk as a job worker books it: number blocks taken apart (core.jobs.worker)."""

    def work(session: Session) -> dict[str, int]:
        with reserved_apart(session.get_bind()):
            run = session.get_one(DunningRun, run_id)
            return booking.book_letters(session, run, letters, "x:2")

    return work


def _surcharges(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count(Claim.id)).where(Claim.kind == ClaimKind.LATE_PAYMENT_SURCHARGE)
        )
        or 0
    )


def _second_while_first_is_open(
    engine: Engine, run_id: int, first_letters: list[int], second_letters: list[int], wait: str
) -> tuple[dict[str, int], RunState]:
    """A first chunk books ``first_letters`` and keeps its transaction open until a second,
    booking ``second_letters``, waits for a lock in a statement with ``wait``; then the first
    commits. The second's counts, and the run's state the first saw before its commit."""
    with Session(engine) as first:
        assert _book(run_id, first_letters)(first)["letters"] == len(first_letters)
        second, result = _in_thread(engine, _book(run_id, second_letters))
        _until(engine, lambda: _waiting_on(engine, wait), f"a wait in {wait!r}")
        seen = first.get_one(DunningRun, run_id).state
        first.commit()
    second.join(timeout=WAIT_SECONDS)
    assert not second.is_alive()
    return result[0], seen


@pytest.fixture
def approved(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Engine, int, list]]:
    engine, run_id, letters = _approved_run(tmp_path, request)
    yield engine, run_id, letters
    engine.dispose()


@pytest.mark.postgres
def test_chunks_book_side_by_side_and_the_last_closes_the_run(
    approved: tuple[Engine, int, list[int]],
) -> None:
    engine, run_id, letters = approved
    # the second chunk books its two letters while the first's transaction is open and waits
    # only for the question whether the run is complete
    counts, seen = _second_while_first_is_open(
        engine, run_id, letters[:1], letters[1:], "FOR NO KEY UPDATE"
    )
    assert seen is RunState.APPROVED  # the first was not the last: the second's were open
    assert counts["letters"] == 2
    with Session(engine) as check:
        run = check.get_one(DunningRun, run_id)
        assert run.state is RunState.BOOKED
        assert booking.open_letters(check, run) == []
        assert _surcharges(check) == 4
        closed = select(func.count(AuditEvent.id)).where(AuditEvent.action == "dunning_run.booked")
        assert check.scalar(closed) == 1
        assert sum(trial_balance(check, run.municipality_id).values()) == 0


@pytest.mark.postgres
def test_one_letter_in_two_transactions_at_once_is_booked_once(
    approved: tuple[Engine, int, list[int]],
) -> None:
    engine, run_id, letters = approved
    counts, seen = _second_while_first_is_open(engine, run_id, letters, letters, "")
    assert seen is RunState.BOOKED and counts["letters"] == 0
    with Session(engine) as check:
        assert _surcharges(check) == 4
        assert check.get_one(DunningRun, run_id).state is RunState.BOOKED
