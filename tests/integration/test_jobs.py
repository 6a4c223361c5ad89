"""The job engine (core.jobs): a job's chunks are done by workers, each chunk in one
transaction; the annual run as a job books what the run in one process books, and nothing
twice; failed objects are named and taken up again on resume; cancel stops, resume goes on.
On SQLite and PostgreSQL."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.jobs import control, worker
from core.jobs.kinds import KINDS, register
from core.jobs.models import JobState
from core.kernel.audit import AuditEvent
from core.kernel.errors import IllegalTransition, ValidationError
from core.ledger.models import Claim
from core.levies.dog_tax.models import Dog, DogStatus
from core.notices.records import Notice
from core.tenancy.municipalities import Municipality
from tests.job_kinds import Picky

ENV: dict[str, Any] = {}


def _town(db: Session, make: Any, owners: int) -> Municipality:
    m = make.municipality()
    make.dog_tax_statute(m)
    for i in range(owners):
        person = make.person(m, family_name=f"Halter{i}")
        db.add(
            Dog(
                municipality_id=m.id,
                person_id=person.id,
                name=f"Hund {i}",
                breed="Mischling",
                acquired_on=date(2024, 1, 1),
                tag_number=100 + i,
                status=DogStatus.ACTIVE,
            )
        )
    db.flush()
    return m


def _dog_tax_job(db: Session, m: Municipality) -> Any:
    job = control.start(db, m, "dog_tax", {"year": "2026", "as_of": "2026-01-10"}, actor="user:7")
    db.commit()
    return job


def test_annual_run_as_job_books_once_and_finishes(
    db: Session, make: Any, session_factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    m = _town(db, make, 5)
    monkeypatch.setattr(KINDS["dog_tax"], "chunk_size", 2)
    job = _dog_tax_job(db, m)
    assert job.total == 5 and job.state is JobState.RUNNING

    done = worker.drain(session_factory, environment=ENV)

    assert done == 3  # chunks of 2, 2 and 1
    db.expire_all()
    assert job.state is JobState.DONE and job.finished_at is not None
    progress = control.progress(db, job)
    assert (progress.done, progress.failed, progress.percent) == (5, 0, 100)
    assert progress.counts == {"persons": 5, "notices": 5, "dogs": 5}
    assert control.summary(job, progress) == (
        "Hundesteuer 2026: 5 Personen geprüft, 5 Bescheide erstellt."
    )
    claims = db.scalar(select(func.count()).select_from(Claim).where(Claim.municipality_id == m.id))
    assert claims == 5 * 4  # quarterly instalments
    actions = list(
        db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "job", AuditEvent.object_id == job.id)
            .order_by(AuditEvent.id)
        )
    )
    assert actions == ["job.started", "job.finished"]
    started = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "job.started", AuditEvent.object_id == job.id)
    ).one()
    assert started.actor == "user:7"

    again = _dog_tax_job(db, m)  # a second run books nothing
    worker.drain(session_factory, environment=ENV)
    db.expire_all()
    assert control.progress(db, again).counts == {"persons": 5, "dogs": 5}
    assert (
        db.scalar(select(func.count()).select_from(Notice).where(Notice.municipality_id == m.id))
        == 5
    )


def test_one_job_of_a_kind_at_a_time_and_cancel_and_resume(
    db: Session, make: Any, session_factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    m = _town(db, make, 3)
    monkeypatch.setattr(KINDS["dog_tax"], "chunk_size", 1)
    job = _dog_tax_job(db, m)
    with pytest.raises(IllegalTransition, match="läuft bereits"):
        control.start(db, m, "dog_tax", {"year": "2026", "as_of": "2026-01-10"}, actor="user:8")
    db.rollback()

    assert worker.run_next_chunk(session_factory, environment=ENV) is not None
    control.cancel(db, job, actor="user:8")
    db.commit()
    assert worker.run_next_chunk(session_factory, environment=ENV) is None  # stopped
    db.expire_all()
    assert control.progress(db, job).done == 1 and job.state is JobState.CANCELLED

    assert control.resume(db, job, actor="user:9") == 2
    db.commit()
    worker.drain(session_factory, environment=ENV)
    db.expire_all()
    assert job.state is JobState.DONE and control.progress(db, job).done == 3
    with pytest.raises(IllegalTransition, match="vollständig"):
        control.resume(db, job, actor="user:9")


def test_failed_objects_are_named_and_taken_up_again(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    m = make.municipality()
    kind = register(Picky("test_picky", 10))
    kind.bad, kind.buggy = {3, 7}, {9}
    job = control.start(db, m, kind.name, {}, actor="user:1")
    db.commit()
    worker.drain(session_factory, environment=ENV)
    db.expire_all()
    progress = control.progress(db, job)
    assert (progress.done, progress.failed, progress.counts) == (10, 3, {"done": 7})
    failures = control.failures_of(db, job)
    assert [(f.key, f.label, f.message) for f in failures] == [
        (3, "Objekt 3", "Objekt 3 hat keinen gültigen Satz."),
        (7, "Objekt 7", "Objekt 7 hat keinen gültigen Satz."),
        (9, "Objekt 9", worker.UNEXPECTED),
    ]

    kind.bad, kind.buggy = {7}, set()
    assert control.resume(db, job, actor="user:1") == 3
    db.commit()
    worker.drain(session_factory, environment=ENV)
    db.expire_all()
    progress = control.progress(db, job)
    assert (progress.done, progress.failed, progress.counts) == (10, 1, {"done": 9})
    assert [f.retried for f in control.failures_of(db, job)] == [True, True, True, False]
    assert job.state is JobState.DONE
    KINDS.pop(kind.name)


def test_a_job_of_another_municipality_is_not_found(db: Session, make: Any) -> None:
    m, other = make.municipality(), make.municipality()
    job = control.start(db, m, "notices", {}, actor="user:1")
    with pytest.raises(Exception, match="nicht gefunden"):
        control.get_job(db, other.id, job.id)
    assert control.get_job(db, m.id, job.id) is job


def test_unknown_kind_and_wrong_year_get_german_errors(db: Session, make: Any) -> None:
    m = make.municipality()
    with pytest.raises(ValidationError, match="Lauf aus der Liste"):
        control.start(db, m, "nope", {}, actor="user:1")
    with pytest.raises(ValidationError, match="vierstellig"):
        control.start(db, m, "dog_tax", {"year": "26"}, actor="user:1")
    with pytest.raises(ValidationError, match="JJJJ-MM-TT"):
        control.start(db, m, "dog_tax", {"year": "2026", "as_of": "10.1."}, actor="user:1")


def test_notice_pdfs_as_a_job_are_archived_once(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    from core.notices.jobs import SETTINGS
    from core.notices.records import NoticeSettings

    m = _town(db, make, 2)
    _dog_tax_job(db, m)
    env = {SETTINGS: NoticeSettings(secret="s" * 32, public_base_url="http://127.0.0.1")}
    worker.drain(session_factory, environment=env)
    job = control.start(db, m, "notices", {}, actor="user:3")
    db.commit()
    assert job.total == 2
    worker.drain(session_factory, environment=env)
    db.expire_all()
    assert control.progress(db, job).counts == {"archived": 2}
    assert job.state is JobState.DONE
    notices = list(db.scalars(select(Notice).where(Notice.municipality_id == m.id)))
    assert all(n.document_id is not None for n in notices)

    nothing = control.start(db, m, "notices", {}, actor="user:3")  # nothing pending any more
    db.commit()
    worker.drain(session_factory, environment=env)
    db.expire_all()
    assert (nothing.total, nothing.state) == (0, JobState.DONE)
