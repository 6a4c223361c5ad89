"""The preview of a dunning run as a job (core.dunning.jobs.PrepareDunningRun): in chunks of
persons it stores exactly the letters and items of the in-process preview; a chunk killed
mid-way is done again by the next worker and a chunk done twice stores nothing twice; the run
cannot be approved while it is being prepared (cancelled, or with failed persons); after the
booking job the letters' PDFs are rendered by the job the booking started; a chunk takes the
same number of statements whatever its persons and claims. On SQLite and
PostgreSQL."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.dunning import booking, letters, runs, selection
from core.dunning.jobs import PREPARE, start_preview
from core.dunning.letter_records import DunningLetterDocument
from core.dunning.models import DunningItem, DunningLetter, DunningRun, RunState
from core.jobs import control, worker
from core.jobs.models import Job, JobState
from core.kernel import archive
from core.kernel.errors import IllegalTransition
from core.ledger.balances import trial_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.notices.jobs import SETTINGS
from core.notices.records import NoticeSettings
from core.tenancy.municipalities import Municipality

RUN_1 = date(2026, 3, 16)
RUN_2 = date(2026, 3, 30)
DUE = date(2026, 2, 15)
ENV = {SETTINGS: NoticeSettings("geheim", "https://portal.example")}

Content = list[tuple[Any, ...]]


def _town(db: Session, make: Any) -> Municipality:
    """Seven persons: one or two main claims, a fee claim, a partly paid one, one not due."""
    m = make.municipality()
    make.dunning_statute(m)
    for n in range(7):
        person = make.person(m)
        make.claim(m, person, amount=10000 + 1000 * n, due=DUE)
        if n % 2:
            make.claim(m, person, amount=25000, due=date(2026, 1, 15))
        if n == 3:
            make.claim(m, person, amount=500, due=DUE, kind=ClaimKind.DUNNING_FEE)
        if n == 4:
            paid = make.claim(m, person, amount=8000, due=DUE)
            record_payment(
                db, person=person, amount_cents=3000, received_on=date(2026, 3, 1),
                channel=PaymentChannel.BANK_TRANSFER, as_of=date(2026, 3, 1), actor="t",
                claim_ids=[paid.id],
            )  # fmt: skip
        if n == 6:
            make.claim(m, person, amount=10000, due=date(2026, 4, 1))  # not due yet
    return m


def _content(db: Session, run: DunningRun) -> Content:
    """Everything the run's letters and items say, without their ids."""
    found = runs.letters_of(db, run)
    items = runs.items_of(db, [lt.id for lt in found])
    return sorted(
        (
            lt.person_id, lt.level, lt.level_name, lt.open_cents, lt.fee_cents,
            lt.surcharge_cents, lt.total_cents, lt.delivered_on, lt.payment_deadline,
            tuple(sorted(
                (i.claim_id, i.level, i.open_cents, i.fee_cents, i.surcharge_cents)
                for i in items[lt.id]
            )),
        )
        for lt in found
    )  # fmt: skip


def _in_process(db: Session, m: Municipality, day: date) -> Content:
    run = runs.preview(db, m, day, "user:1")
    content = _content(db, run)
    runs.discard(db, run, "user:1")
    return content


def _as_job(
    db: Session, m: Municipality, day: date, factory: sessionmaker[Session]
) -> tuple[DunningRun, Job]:
    run, job = start_preview(db, m, day, "user:1")
    assert job is not None
    db.commit()
    return run, job


def _book(db: Session, m: Municipality, run: DunningRun) -> None:
    runs.approve(db, run, "user:2")
    booking.book(db, run, "user:2")


@pytest.fixture
def small_chunks(monkeypatch: Any) -> None:
    monkeypatch.setattr(PREPARE, "chunk_size", 2)


@pytest.mark.usefixtures("small_chunks")
def test_the_job_stores_what_the_in_process_preview_stores(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    m = _town(db, make)
    for day in (RUN_1, RUN_2):  # the reminder, then the Mahnung with fees and surcharges
        expected = _in_process(db, m, day)
        assert expected, day
        run, job = _as_job(db, m, day, session_factory)
        assert job.total == 7 and job.title == f"Vorschau des Mahnlaufs Nr. {run.id} erstellen"
        assert runs.preparing(db, run)

        assert worker.drain(session_factory, environment=ENV) == 4  # 7 persons, 2 a chunk

        db.expire_all()
        assert not runs.preparing(db, run) and run.state is RunState.PREVIEW
        assert _content(db, run) == expected
        done = control.progress(db, job)
        assert done.done == 7 and done.counts["letters"] == len(expected)
        assert control.summary(job, done).startswith(
            f"Vorschau des Mahnlaufs Nr. {run.id}: 7 Personen geprüft, {len(expected)} "
        )
        _book(db, m, run)
    assert sum(trial_balance(db, m.id).values()) == 0


class Killed(BaseException):
    """What SIGKILL does to a chunk: its transaction never commits."""


@pytest.mark.usefixtures("small_chunks")
def test_a_killed_chunk_is_done_again_and_nothing_is_stored_twice(
    db: Session, make: Any, session_factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    m = _town(db, make)
    expected = _in_process(db, m, RUN_1)
    run, job = _as_job(db, m, RUN_1, session_factory)
    original = PREPARE.run

    def dies_after_the_work(*args: Any, **kw: Any) -> dict[str, int]:
        original(*args, **kw)  # the letters are written, then the process dies
        raise Killed

    monkeypatch.setattr(PREPARE, "run", dies_after_the_work)
    with pytest.raises(Killed):
        worker.run_next_chunk(session_factory, environment=ENV)
    monkeypatch.setattr(PREPARE, "run", original)
    db.expire_all()
    assert runs.letters_of(db, run) == []

    first = worker.run_next_chunk(session_factory, environment=ENV)  # the next worker
    assert first is not None and first.size == 2
    control.cancel(db, db.get_one(Job, job.id), actor="user:1")
    db.commit()
    with pytest.raises(IllegalTransition, match="wird noch erstellt"):
        runs.approve(db, run, "user:2")  # cancelled half-way: still being prepared
    control.resume(db, db.get_one(Job, job.id), actor="user:1")
    db.commit()
    assert worker.drain(session_factory, environment=ENV) == 3

    db.expire_all()
    assert db.get_one(Job, job.id).state is JobState.DONE
    assert _content(db, run) == expected
    keys = PREPARE.plan(db, m, job.params).keys
    assert PREPARE.run(db, m, job.params, keys, actor="x", environment=ENV) == {"persons": 7}
    assert _content(db, run) == expected  # every chunk again: nothing twice
    claims = db.scalars(
        select(DunningItem.claim_id)
        .join(DunningLetter, DunningLetter.id == DunningItem.letter_id)
        .where(DunningLetter.run_id == run.id)
    ).all()
    assert len(claims) == len(set(claims))
    _book(db, m, run)
    booked = db.scalar(select(func.count(DunningItem.id)).where(DunningItem.booked.is_(True)))
    assert booked == len(claims)


def test_a_chunk_skips_exactly_its_persons_with_a_letter(db: Session, make: Any) -> None:
    """The chunk asks for the letters by the range of its persons' ids: persons in that range
    with a letter already are skipped, the others between them are planned."""
    m = _town(db, make)
    expected = _in_process(db, m, RUN_1)
    run, _ = runs.open_run(db, m, RUN_1, "user:1")
    persons = selection.persons_due(db, m.id, RUN_1)
    assert len(persons) >= 4
    ends = runs.add_persons(db, m, run, [persons[0], persons[-1]])
    assert ends["letters"] == 2
    rest = runs.add_persons(db, m, run, persons)  # the ends again, and all between them
    assert rest["letters"] == len(expected) - 2
    assert _content(db, run) == expected
    assert runs.add_persons(db, m, run, persons[1:3])["letters"] == 0


def test_no_approval_while_preparing_nor_with_failed_persons(
    db: Session, make: Any, session_factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    m = _town(db, make)
    run, job = _as_job(db, m, RUN_1, session_factory)
    with pytest.raises(IllegalTransition, match=f"Mahnlaufs Nr. {run.id} wird noch erstellt"):
        runs.approve(db, run, "user:2")
    with pytest.raises(IllegalTransition, match="ist noch offen"):
        start_preview(db, m, RUN_2, "user:1")  # one run at a time (the lock stays)

    def fails(*_args: Any, **_kw: Any) -> dict[str, int]:
        raise RuntimeError("kaputt")

    monkeypatch.setattr(runs, "add_persons", fails)
    assert worker.drain(session_factory, environment=ENV) == 1
    db.expire_all()
    assert db.get_one(Job, job.id).state is JobState.DONE
    assert control.progress(db, job).failed == 7
    with pytest.raises(IllegalTransition, match="wird noch erstellt"):
        runs.approve(db, run, "user:2")  # persons are missing
    monkeypatch.undo()
    control.resume(db, db.get_one(Job, job.id), actor="user:1")
    db.commit()
    worker.drain(session_factory, environment=ENV)
    db.expire_all()
    runs.approve(db, run, "user:2")
    assert run.state is RunState.APPROVED and len(runs.letters_of(db, run)) == 7


def test_a_run_with_nobody_due_needs_no_job(db: Session, make: Any) -> None:
    m = make.municipality()
    make.dunning_statute(m)
    run, job = start_preview(db, m, RUN_1, "user:1")
    assert job is None and not runs.preparing(db, run) and runs.letters_of(db, run) == []


def _pdf_text(content: bytes, tmp_path: Path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(content)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True)
    return " ".join(out.stdout.split())


def test_the_booking_job_has_the_letters_rendered(
    db: Session, make: Any, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    m = _town(db, make)
    run, _ = _as_job(db, m, RUN_1, session_factory)
    worker.drain(session_factory, environment=ENV)
    db.expire_all()
    runs.approve(db, run, "user:2")
    job = control.start(db, m, "dunning", {"run": str(run.id)}, actor="user:2")
    db.commit()
    assert runs.pdf_figures(db, run) == (0, 0)

    worker.drain(session_factory, environment=ENV)

    db.expire_all()
    assert run.state is RunState.BOOKED and control.progress(db, job).counts["pdf_jobs"] == 1
    rendering = runs.jobs_of_run(db, run, ["dunning_letters"])
    assert [(j.state, j.started_by, j.total) for j in rendering] == [(JobState.DONE, "user:2", 7)]
    assert runs.pdf_figures(db, run) == (7, 7) and letters.pending(db, m.id, run.id) == []
    document_id = db.scalar(select(DunningLetterDocument.document_id).limit(1))
    document = db.get_one(archive.Document, document_id)
    assert "Zahlungserinnerung" in _pdf_text(document.content, tmp_path)


@pytest.mark.usefixtures("small_chunks")
def test_a_run_discarded_while_prepared_gets_no_more_letters(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    m = _town(db, make)
    run, job = _as_job(db, m, RUN_1, session_factory)
    assert worker.run_next_chunk(session_factory, environment=ENV) is not None
    db.expire_all()
    runs.discard(db, run, "user:1")
    db.commit()
    assert worker.drain(session_factory, environment=ENV) == 3  # the chunks find it discarded
    db.expire_all()
    assert run.state is RunState.DISCARDED and len(runs.letters_of(db, run)) == 2
    assert db.get_one(Job, job.id).state is JobState.DONE
    again, _ = _as_job(db, m, RUN_1, session_factory)  # the date is free again
    assert again.state is RunState.PREVIEW


def _statements(db: Session, do: Any) -> int:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        do()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_a_chunk_reads_and_writes_in_a_constant_number_of_statements(
    db: Session, make: Any
) -> None:
    """No statement per person or claim: a chunk of 3 persons and one of 12 (with twice the
    claims each) take the same number."""
    m = make.municipality()
    make.dunning_statute(m)
    small = [make.person(m) for _ in range(3)]
    large = [make.person(m) for _ in range(12)]
    for person in small:
        make.claim(m, person, amount=10000, due=DUE)
    for person in large:
        make.claim(m, person, amount=10000, due=DUE)
        make.claim(m, person, amount=20000, due=date(2026, 1, 15))
    run, _ = start_preview(db, m, RUN_1, "user:1")
    db.flush()
    params = {"run": run.id}
    ids = [p.id for p in small], [p.id for p in large]
    first = _statements(db, lambda: PREPARE.run(db, m, params, ids[0], actor="x", environment={}))
    second = _statements(db, lambda: PREPARE.run(db, m, params, ids[1], actor="x", environment={}))
    assert len(runs.letters_of(db, run)) == 15
    assert first == second
