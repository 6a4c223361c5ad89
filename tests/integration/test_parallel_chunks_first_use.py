"""Chunks of one run on two workers at once (PostgreSQL, each its own connection and
transaction): what is made on first use — a counter, a town's ledger account — is made once and
shared, never a unique-key failure that would throw a whole chunk back to object-by-object
booking; number blocks taken apart (core.tenancy.municipalities.reserved_apart) are committed
at once, audited, and never handed out twice, while outside they stay gap-free; and a job
refreshes PostgreSQL's statistics of the tables its chunks fill."""

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.jobs import control, worker
from core.jobs.kinds import KINDS
from core.kernel.audit import AuditEvent
from core.kernel.db import make_engine, make_session_factory
from core.ledger.accounts import system_account
from core.ledger.models import LedgerAccount
from core.tenancy.municipalities import Counter, Municipality, reserve_numbers, reserved_apart
from tests import factories
from tests.conftest import migrated_database
from tests.integration.test_job_queue import _Make
from tests.integration.test_jobs import _town as dog_town

WORKERS = 4


def _at_once(engine: Any, work: Any) -> list[Any]:
    """``work(session)`` in WORKERS threads started together, each committing; the results."""
    start_line = threading.Barrier(WORKERS)
    results: list[Any] = []

    def one() -> None:
        with Session(engine) as session:
            start_line.wait()
            results.append(work(session))
            session.commit()

    threads = [threading.Thread(target=one) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def _town(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Any, int]:
    """An engine on a database of its own (the threads commit) and a town in it."""
    engine = make_engine(migrated_database(backend, "openkasse_first_use", tmp_path, request))
    with Session(engine) as setup:
        m_id = factories.municipality(setup).id
        setup.commit()
    return engine, m_id


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_first_uses_at_once_make_one_account_and_one_counter(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine, m_id = _town(backend, tmp_path, request)
    try:

        def first_use(session: Session) -> tuple[int, range]:
            account = system_account(session, m_id, "4010")
            return account.id, reserve_numbers(session, m_id, "notice", 3)

        results = _at_once(engine, first_use)
        assert len(results) == WORKERS
        assert len({account_id for account_id, _ in results}) == 1
        numbers = sorted(n for _, block in results for n in block)
        assert numbers == list(range(1, 3 * WORKERS + 1))  # gap-free, none twice
        with Session(engine) as check:
            assert (
                check.scalar(
                    select(func.count()).where(
                        LedgerAccount.municipality_id == m_id, LedgerAccount.code == "4010"
                    )
                )
                == 1
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_blocks_apart_are_kept_when_the_chunk_rolls_back(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine, m_id = _town(backend, tmp_path, request)
    try:

        def chunk(session: Session) -> range:
            with reserved_apart(engine):
                return reserve_numbers(session, m_id, "kassenzeichen", 5)

        blocks = _at_once(engine, chunk)
        assert sorted(n for b in blocks for n in b) == list(range(1, 5 * WORKERS + 1))
        with Session(engine) as doomed:  # a chunk that fails after taking its block
            with reserved_apart(engine):
                lost = reserve_numbers(doomed, m_id, "kassenzeichen", 5)
            doomed.rollback()
        with Session(engine) as after:
            assert reserve_numbers(after, m_id, "kassenzeichen", 1).start == lost.stop
            after.rollback()  # outside reserved_apart the number goes back
            assert reserve_numbers(after, m_id, "kassenzeichen", 1).start == lost.stop
            after.commit()
        with Session(engine) as check:
            counter = check.scalars(select(Counter).where(Counter.municipality_id == m_id)).one()
            assert counter.last_value == lost.stop
            reserved = [
                e.after
                for e in check.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.action == "numbers.reserved")
                    .order_by(AuditEvent.id)
                )
            ]
            # every block apart is named, the rolled-back one too: its gap is explained
            assert len(reserved) == WORKERS + 1
            assert {"name": "kassenzeichen", "first": lost.start, "last": lost.stop - 1} in reserved
            assert all(e is not None and e["name"] == "kassenzeichen" for e in reserved)
            assert check.get(Municipality, m_id) is not None
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_job_refreshes_the_statistics_of_the_tables_it_fills(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: Any
) -> None:
    """A town's first run: its notice table starts empty, without planner statistics; after
    chunk 2 the job has them made (else every chunk's id lists scan the whole table)."""
    engine, _ = _town(backend, tmp_path, request)
    factory = make_session_factory(engine)

    def notice_stats() -> int:
        with engine.connect() as conn:
            return int(
                conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stats "
                        "WHERE tablename = 'notice' AND attname = 'person_id'"
                    )
                )
            )

    try:
        monkeypatch.setattr(KINDS["dog_tax"], "chunk_size", 1)
        with factory() as session:
            m = dog_town(session, _Make(session), 4)
            job = control.start(
                session, m, "dog_tax", {"year": "2026", "as_of": "2026-01-10"}, actor="user:7"
            )
            session.commit()
            job_id = job.id
        assert notice_stats() == 0
        assert worker.drain(factory, environment={}, job_id=job_id) == 4
        assert notice_stats() == 1
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'notice'")) >= 3
    finally:
        engine.dispose()
