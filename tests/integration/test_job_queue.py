"""Jobs on workers of their own, as separate processes on a real database file or server:
on PostgreSQL procrastinate hands the chunks to `openkasse jobs worker` processes; a worker
killed with SIGKILL inside a chunk's transaction books nothing, its token is found stalled
(procrastinate's heartbeats) and retried, and the other worker finishes the job with every
claim booked exactly once. On SQLite the same kill against `openkasse jobs work`.

No timed assertion: the waits below only bound how long a broken run may hang the suite."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.jobs import control
from core.jobs.kinds import KINDS
from core.jobs.models import ChunkState, Job, JobChunk, JobState
from core.kernel.audit import AuditEvent
from core.kernel.db import make_engine, make_session_factory
from core.ledger.balances import trial_balance
from core.ledger.models import Claim
from core.notices.records import Notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from portal import config
from portal.app import create_app
from portal.jobs import wake
from tests import factories, pg
from tests.conftest import migrated_database
from tests.integration.test_jobs import _town

ROOT = Path(__file__).resolve().parents[2]
OWNERS, CHUNK = 6, 2  # three chunks of two dog owners
WAIT_SECONDS = 900  # a loaded machine, plus up to two minutes for the stalled-job sweep
_names = itertools.count(1)

CLI = "from portal.cli import main; main(prog_name='openkasse')"
# The real command, with the dog-tax kind wrapped so that the first chunk stops after its rows
# are flushed (inside its open transaction), says so in a file, and waits to be killed.
PAUSING = """
import sys, time
from pathlib import Path

import core.job_kinds
from core.jobs.kinds import KINDS

kind = KINDS["dog_tax"]
original = kind.run

def run(session, *args, **kwargs):
    counts = original(session, *args, **kwargs)
    session.flush()
    Path(sys.argv[1]).write_text("im Abschnitt")
    time.sleep(3600)
    return counts

kind.run = run
from portal.cli import main
main(sys.argv[2:], prog_name="openkasse")
"""


class _Make:
    """tests/factories.py bound to a session of the test's own database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __getattr__(self, name: str) -> Any:
        func_ = getattr(factories, name)
        return lambda *a, **kw: func_(self.session, *a, **kw)


def _env(url: str) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "DATABASE_URL": url, "PYTHONPATH": path, "JOBS_WORKER": ""}


def _spawn(url: str, tmp: Path, name: str, *argv: str, code: str = CLI) -> subprocess.Popen[str]:
    with (tmp / f"{name}.log").open("w") as log:  # the worker keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-c", code, *argv],
            env=_env(url),
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )


def _cli(url: str, tmp: Path, *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", CLI, *argv],
        env=_env(url),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _wait(what: str, ready: Callable[[], bool], *workers: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not ready():
        for worker in workers:
            assert worker.poll() is None, f"worker ended early (exit {worker.returncode})"
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.5)


def _stop(worker: subprocess.Popen[str]) -> None:
    if worker.poll() is None:
        worker.terminate()  # SIGTERM: the worker ends gracefully
        try:
            worker.wait(timeout=120)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _job_state(factory: sessionmaker[Session], job_id: int) -> JobState:
    with factory() as session:
        return session.get_one(Job, job_id).state


def _start_job(factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """A town of OWNERS dog owners and its dog-tax job in chunks of CHUNK; (town, job) ids."""
    monkeypatch.setattr(KINDS["dog_tax"], "chunk_size", CHUNK)
    with factory() as session:
        m = _town(session, _Make(session), OWNERS)
        job = control.start(
            session, m, "dog_tax", {"year": "2026", "as_of": "2026-01-10"}, actor="user:7"
        )
        session.commit()
        return m.id, job.id


def _assert_booked_once(factory: sessionmaker[Session], municipality_id: int, job_id: int) -> None:
    with factory() as session:
        job = session.get_one(Job, job_id)
        assert job.state is JobState.DONE
        assert control.progress(session, job).done == OWNERS
        owners = select(Person.id).where(Person.municipality_id == municipality_id)
        claims = dict(
            session.execute(
                select(Claim.person_id, func.count())
                .where(Claim.person_id.in_(owners))
                .group_by(Claim.person_id)
            ).all()
        )
        assert len(claims) == OWNERS and set(claims.values()) == {4}  # quarterly instalments
        notices = dict(
            session.execute(
                select(Notice.person_id, func.count())
                .where(Notice.person_id.in_(owners))
                .group_by(Notice.person_id)
            ).all()
        )
        assert len(notices) == OWNERS and set(notices.values()) == {1}
        balances = trial_balance(session, municipality_id)
        assert sum(balances.values()) == 0 and balances["receivable"] > 0
        pending = select(func.count()).where(
            JobChunk.job_id == job_id, JobChunk.state == ChunkState.PENDING
        )
        assert session.scalar(pending) == 0


def _have_postgresql() -> bool:
    return bool(os.environ.get("OPENKASSE_TEST_PG_URL")) or (pg.PG_BIN / "initdb").exists()


@pytest.fixture(params=["postgresql"])
def queue_db(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, sessionmaker[Session], Engine]]:
    """A database of its own on the test server (workers in other processes see its commits),
    migrated by `openkasse db upgrade`, which also sets up procrastinate's schema."""
    if not _have_postgresql():
        pytest.skip("no PostgreSQL server for the job-queue tests")
    url = migrated_database("postgresql", f"openkasse_queue_{next(_names)}", tmp_path, request)
    first = _cli(url, tmp_path, "db", "upgrade")
    assert "Job-Worker (procrastinate) eingerichtet" in first
    again = _cli(url, tmp_path, "db", "upgrade")  # applied once, then left alone
    assert "ist schon eingerichtet" in again
    engine = make_engine(url)
    yield url, make_session_factory(engine), engine
    engine.dispose()


def _wake(url: str, factory: sessionmaker[Session], job_id: int) -> None:
    config = {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": url}
    app = create_app(config, session_factory=factory)
    assert app.config["JOBS_WORKER"] == "procrastinate"  # the default on PostgreSQL
    with app.app_context():
        assert wake(app, job_id) is True
        assert wake(app, job_id) is True  # a second wake-up adds no token (queueing locks)


def _tokens(engine: Engine) -> list[tuple[str, int]]:
    """(status, attempts) of the run_chunk tokens, in order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT status, attempts FROM procrastinate_jobs "
                "WHERE task_name = 'openkasse.run_chunk' ORDER BY id"
            )
        )
        return [(str(status), int(attempts)) for status, attempts in rows]


@pytest.mark.postgres
def test_a_job_is_done_by_a_procrastinate_worker(
    queue_db: tuple[str, sessionmaker[Session], Engine],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, factory, engine = queue_db
    municipality_id, job_id = _start_job(factory, monkeypatch)
    _wake(url, factory, job_id)
    assert _tokens(engine) == [("todo", 0)] * 3

    worker = _spawn(url, tmp_path, "worker", "jobs", "worker", "--concurrency", "2")
    try:
        _wait("the job", lambda: _job_state(factory, job_id) is JobState.DONE, worker)
        _assert_booked_once(factory, municipality_id, job_id)
        assert _tokens(engine) == [("succeeded", 1)] * 3  # one attempt each
        # two chunks at once: each took its number blocks apart (audited), and neither was
        # thrown back to object-by-object booking by the other's first use of an account
        with factory() as session:
            blocks = session.scalars(
                select(AuditEvent.after).where(AuditEvent.action == "numbers.reserved")
            ).all()
        assert {b["name"] for b in blocks} >= {"notice", "kassenzeichen"}
        assert "failed as a whole" not in (tmp_path / "worker.log").read_text()

        # the command line hands a job over too (a second run: one chunk, books nothing)
        with factory() as session:
            slug = session.get_one(Municipality, municipality_id).slug
        started = _cli(url, tmp_path, "jobs", "start", "dog_tax", "--municipality", slug,
                       "--year", "2026", "--as-of", "2026-01-10")  # fmt: skip
        assert "Abschnitte an die Job-Worker übergeben: 1." in started
        again = job_id + 1
        _wait("the second job", lambda: _job_state(factory, again) is JobState.DONE, worker)
    finally:
        _stop(worker)
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()
    _assert_booked_once(factory, municipality_id, job_id)


@pytest.mark.postgres
def test_a_worker_killed_mid_chunk_books_nothing_and_the_other_finishes(
    queue_db: tuple[str, sessionmaker[Session], Engine],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, factory, engine = queue_db
    municipality_id, job_id = _start_job(factory, monkeypatch)
    _wake(url, factory, job_id)
    inside = tmp_path / "inside-chunk"

    doomed = _spawn(url, tmp_path, "doomed", str(inside), "jobs", "worker", code=PAUSING)
    try:
        _wait("the first worker inside a chunk", inside.exists, doomed)
        with factory() as session:  # its flushed rows are not committed, so not seen
            assert session.scalar(select(func.count()).select_from(Claim)) == 0
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    assert _tokens(engine)[0] == ("doing", 0)  # the dead worker's token

    other = _spawn(url, tmp_path, "other", "jobs", "worker")
    try:
        _wait("the job", lambda: _job_state(factory, job_id) is JobState.DONE, other)
        # the stalled token comes back (the sweep, after the heartbeats stopped: its attempt
        # counts as one) and finds nothing left to do
        _wait("the stalled token", lambda: _tokens(engine)[0] == ("succeeded", 2), other)
    finally:
        _stop(other)
    _assert_booked_once(factory, municipality_id, job_id)
    assert _tokens(engine) == [("succeeded", 2), ("succeeded", 1), ("succeeded", 1)]


def test_a_polling_worker_killed_mid_chunk_on_sqlite_books_nothing(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = migrated_database("sqlite", "queue", tmp_path, request)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    municipality_id, job_id = _start_job(factory, monkeypatch)
    inside = tmp_path / "inside-chunk"

    doomed = _spawn(url, tmp_path, "doomed", str(inside), "jobs", "work", code=PAUSING)
    try:
        _wait("the worker inside a chunk", inside.exists, doomed)
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Claim)) == 0
        pending = select(func.count()).where(
            JobChunk.job_id == job_id, JobChunk.state == ChunkState.PENDING
        )
        assert session.scalar(pending) == 3

    _cli(url, tmp_path, "jobs", "work")
    _assert_booked_once(factory, municipality_id, job_id)
    engine.dispose()


def test_jobs_worker_defaults_and_procrastinate_needs_postgresql(tmp_path: Path) -> None:
    pg_url = "postgresql+psycopg://openkasse@db.internal/openkasse"
    assert config.load(str(tmp_path), {"DATABASE_URL": pg_url})["JOBS_WORKER"] == "procrastinate"
    sqlite = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    assert config.load(str(tmp_path), sqlite)["JOBS_WORKER"] == "in-process"
    polling = {"DATABASE_URL": pg_url, "JOBS_WORKER": "external"}
    assert config.load(str(tmp_path), polling)["JOBS_WORKER"] == "external"
    with pytest.raises(RuntimeError, match="needs PostgreSQL"):
        config.load(str(tmp_path), {**sqlite, "JOBS_WORKER": "procrastinate"})
    with pytest.raises(RuntimeError, match="JOBS_WORKER must be"):
        config.load(str(tmp_path), {**sqlite, "JOBS_WORKER": "celery"})
