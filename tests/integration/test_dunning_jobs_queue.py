"""A dunning run's jobs on a procrastinate worker of its own (`openkasse jobs worker`, a separate
process on PostgreSQL): the preview job prepares the letters, the booking job books them, and
the letters' PDFs job its last chunk started is done by the same worker without anyone waking
it (the workers' sweep gives it its tokens). No timed assertion: the waits only bound how long a
broken run may hang the suite."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.dunning import runs
from core.dunning.jobs import start_preview
from core.dunning.models import DunningRun, RunState
from core.jobs import control
from core.jobs.models import JobState
from core.tenancy.municipalities import Municipality
from tests.integration import test_job_queue as queue_tests
from tests.integration.test_job_queue import _job_state, _spawn, _stop, _wait, _wake
from tests.integration.test_job_queue import queue_db as queue_db  # the fixture

DUE = date(2026, 2, 15)
RUN_1 = date(2026, 3, 16)


def _town(factory: sessionmaker[Session]) -> tuple[int, int, int]:
    """Three persons with an overdue claim; the run opened and its preview job started."""
    with factory() as session:
        make = queue_tests._Make(session)
        m = make.municipality()
        make.dunning_statute(m)
        for _ in range(3):
            make.claim(m, make.person(m), amount=10000, due=DUE)
        run, job = start_preview(session, m, RUN_1, "user:1")
        assert job is not None
        session.commit()
        return m.id, run.id, job.id


@pytest.mark.postgres
def test_preview_booking_and_pdfs_on_a_procrastinate_worker(
    queue_db: tuple[str, sessionmaker[Session], Engine], tmp_path: Path
) -> None:
    url, factory, _ = queue_db
    municipality_id, run_id, preview_job = _town(factory)
    _wake(url, factory, preview_job)
    worker = _spawn(url, tmp_path, "worker", "jobs", "worker")
    try:
        _wait("the preview", lambda: _job_state(factory, preview_job) is JobState.DONE, worker)
        with factory() as session:
            run = session.get_one(DunningRun, run_id)
            assert len(runs.letters_of(session, run)) == 3
            runs.approve(session, run, "user:2")
            town = session.get_one(Municipality, municipality_id)
            booking = control.start(session, town, "dunning", {"run": str(run_id)}, actor="user:2")
            session.commit()
            booking_job = booking.id
        _wake(url, factory, booking_job)

        def rendered() -> bool:
            with factory() as session:
                return runs.pdf_figures(session, session.get_one(DunningRun, run_id)) == (3, 3)

        _wait("the letters' PDFs", rendered, worker)
    finally:
        _stop(worker)
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()
    with factory() as session:
        run = session.get_one(DunningRun, run_id)
        assert run.state is RunState.BOOKED and run.municipality_id == municipality_id
        (letters_job,) = runs.jobs_of_run(session, run, ["dunning_letters"])
        assert letters_job.state is JobState.DONE and letters_job.started_by == "user:2"
