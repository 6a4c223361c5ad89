"""Notices rendered in a pool of worker processes: archived exactly once, the same PDFs as in one
process, nothing rendered twice, a run broken off mid-batch completed by a rerun, and
`openkasse notices render-pending --workers N`."""

from __future__ import annotations

import io
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import pdfplumber
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel import archive, audit, clock
from core.kernel.db import make_engine, make_session_factory
from core.levies.dog_tax.services import Registration, submit_registration
from core.notices import pending as pending_run
from core.notices.records import Notice, NoticeSettings, pending_documents, render
from tests.integration.test_cli import run

SETTINGS = NoticeSettings(secret="s" * 32, public_base_url="https://portal.example")
JAN = date(2026, 1, 10)
NOTICES = 5


@pytest.fixture
def notice_ids(db: Session, make: Any) -> list[int]:
    town = make.municipality()
    make.dog_tax_statute(town)
    for i in range(NOTICES):
        submit_registration(
            db,
            person=make.person(town),
            municipality=town,
            registration=Registration(
                name=f"Hund {i}",
                breed="Labrador Retriever",
                born_on=date(2022, 1, 1),
                acquired_on=date(2025, 12, 1),
                chip_number=f"27609810000{i:04d}",
            ),
            as_of=JAN,
            actor="test",
        )
    ids = pending_documents(db, town.id)
    assert len(ids) == NOTICES
    return ids


def text_of(pdf: bytes) -> str:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return "\n".join(page.extract_text() or "" for page in document.pages)


def stored(db: Session) -> list[archive.Document]:
    return list(db.scalars(select(archive.Document).where(archive.Document.kind == "notice")))


def test_two_workers_archive_each_notice_once_as_one_process_renders_it(
    db: Session, notice_ids: list[int]
) -> None:
    sequential = {i: render(db, db.get_one(Notice, i), SETTINGS) for i in notice_ids}
    progress: list[tuple[int, int]] = []

    archived = pending_run.render_pending(
        db,
        SETTINGS,
        notice_ids,
        workers=2,
        actor="test",
        chunk_size=2,
        chunk_done=lambda done, total: progress.append((done, total)),
    )

    assert archived == NOTICES
    assert progress == [(2, NOTICES), (4, NOTICES), (5, NOTICES)]
    documents = {d.id: d for d in stored(db)}
    assert len(documents) == NOTICES
    for notice_id in notice_ids:
        notice = db.get_one(Notice, notice_id)
        document = documents[notice.document_id]  # type: ignore[index]
        assert document.content == sequential[notice_id]
        assert text_of(document.content) == text_of(sequential[notice_id])
        assert "Hundesteuer" in text_of(document.content)
    assert len({d.id for d in documents.values()}) == NOTICES
    stored_audits = db.scalar(
        select(func.count(audit.AuditEvent.id)).where(audit.AuditEvent.action == "document.stored")
    )
    assert stored_audits == NOTICES
    assert pending_documents(db) == []


def test_a_rerun_renders_nothing(
    db: Session, notice_ids: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    pending_run.render_pending(db, SETTINGS, notice_ids, workers=2, actor="test")
    submitted: list[int] = []
    submit = pending_run.RenderPool.submit

    def counting(self: Any, jobs: Any) -> Any:
        jobs = list(jobs)
        submitted.extend(job.notice_id for job in jobs)
        return submit(self, jobs)

    monkeypatch.setattr(pending_run.RenderPool, "submit", counting)
    again = pending_run.render_pending(db, SETTINGS, notice_ids, workers=2, actor="test")

    assert again == 0 and submitted == []
    assert len(stored(db)) == NOTICES


class Interrupted(Exception):
    pass


def test_a_run_broken_off_mid_batch_loses_nothing_and_a_rerun_completes_it(
    db: Session, notice_ids: list[int]
) -> None:
    def commit_then_crash(done: int, total: int) -> None:
        db.commit()
        raise Interrupted

    with pytest.raises(Interrupted):
        pending_run.render_pending(
            db,
            SETTINGS,
            notice_ids,
            workers=2,
            actor="test",
            chunk_size=2,
            chunk_done=commit_then_crash,
        )
    db.rollback()
    assert len(stored(db)) == 2
    left = pending_documents(db)
    assert left == notice_ids[2:]

    assert pending_run.render_pending(db, SETTINGS, left, workers=2, actor="test") == 3
    documents = stored(db)
    assert len(documents) == NOTICES
    assert {db.get_one(Notice, i).document_id for i in notice_ids} == {d.id for d in documents}


def test_cli_renders_the_pending_notices_with_the_workers_asked_for(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("demo", "--persons", "6", env=env).returncode == 0
    year = str(clock.today().year + 1)
    assessed = run("assess", "dog-tax", "--as-of", f"{year}-01-10", "--no-render", env=env)
    assert assessed.returncode == 0, assessed.stderr
    engine = make_engine(env["DATABASE_URL"])
    with make_session_factory(engine)() as session:
        pending = len(pending_documents(session))
        before = len(stored(session))
    assert pending > 0

    rendered = run("notices", "render-pending", "--workers", "2", env=env)
    assert rendered.returncode == 0, rendered.stderr
    finished = {
        name: (int(done), int(total))
        for name, done, total in re.findall(r"(\S.*): (\d+)/(\d+) PDFs", rendered.stderr)
    }
    assert sum(total for _, total in finished.values()) == pending
    assert all(done == total for done, total in finished.values())
    with make_session_factory(engine)() as session:
        assert pending_documents(session) == []
        assert len(stored(session)) == before + pending

    again = run("notices", "render-pending", "--workers", "2", env=env)
    assert again.returncode == 0 and "PDFs" not in again.stderr
    with make_session_factory(engine)() as session:
        assert len(stored(session)) == before + pending
    refused = run("notices", "render-pending", "--workers", "0", env=env)
    assert refused.returncode != 0 and "--workers" in refused.stderr
    engine.dispose()
