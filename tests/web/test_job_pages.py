"""Job-Steuerung in the back office: a run is started from the run screen after its preview,
its page shows who started it, done of the total, the summary, each failed object with its
German reason and the audit trail; cancel and resume are CSRF forms; the live figures come as
JSON. Another municipality's job is not found. The app's worker is "external" here
(tests/conftest.py): the tests do the chunks themselves with :func:`drain_jobs`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import portal.jobs
from backoffice.jobs import left_text, rate_text
from core.identity.models import Role
from core.jobs import control, worker
from core.jobs.kinds import KINDS, register
from core.jobs.models import Job, JobState
from core.kernel import clock
from core.levies.dog_tax.models import Dog, DogStatus
from core.notices.records import Notice
from tests.conftest import csrf_token, post_form, staff_login
from tests.job_kinds import Picky

RUNS = "/backoffice/veranlagung"


def drain_jobs(app: Flask, factory: sessionmaker[Session]) -> int:
    """Do every pending chunk, as the in-process worker would (with the app's environment)."""
    with app.app_context():
        environment = portal.jobs.environment()
    return worker.drain(factory, environment=environment)


def job_id_of(response: Any) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.fullmatch(r".*/backoffice/laeufe/(\d+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def start_from_screen(client: Any, levy: str, year: str = "", **extra: str) -> Any:
    """The clerk's two steps: the preview, then "Lauf starten" (the redirect to the job)."""
    data = {"levy": levy, "year": year, **extra}
    preview = post_form(client, RUNS, data)
    assert preview.status_code == 200 and "Lauf starten" in preview.get_data(as_text=True)
    return post_form(client, RUNS, {**data, "step": "start"})


@pytest.fixture
def town(app: Flask, db: Session, make: Any, monkeypatch: Any) -> Any:
    """A town with three dog owners and a clerk logged in; the dog-tax run in chunks of one."""
    m = make.municipality()
    make.dog_tax_statute(m)
    for i in range(3):
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
    clerk = make.user(role=Role.CLERK, municipality=m)
    db.commit()
    monkeypatch.setattr(KINDS["dog_tax"], "chunk_size", 1)
    client = app.test_client()
    staff_login(client, clerk.email)
    return client, m, clerk


def page(client: Any, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return str(response.get_data(as_text=True))


def test_a_run_starts_after_its_preview_and_its_page_shows_the_progress(
    app: Flask, db: Session, town: Any, session_factory: sessionmaker[Session]
) -> None:
    client, m, clerk = town
    year = str(clock.today().year)
    screen = page(client, RUNS)
    for kind in KINDS.values():
        assert kind.title in screen  # every kind, the notices too
    preview = post_form(client, RUNS, {"levy": "dog_tax", "year": year})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "3 Halterinnen und Halter werden geprüft" in text and "Lauf starten" in text
    assert db.scalar(select(func.count()).select_from(Job)) == 0  # a preview starts nothing

    job_id = job_id_of(post_form(client, RUNS, {"levy": "dog_tax", "year": year, "step": "start"}))
    job = db.get_one(Job, job_id)
    assert (job.municipality_id, job.started_by, job.total) == (m.id, f"user:{clerk.id}", 3)
    running = page(client, f"/backoffice/laeufe/{job_id}")
    assert f"Hundesteuer {year}" in running and "läuft" in running
    assert "0 von 3 (0 %)" in running and clerk.display_name in running
    assert 'id="job-abbrechen">' in running and 'id="job-fortsetzen" hidden' in running
    assert "gestartet" in running and 'aria-live="polite"' in running
    assert "js/job_progress.js" in running and "Aktualisieren" in running

    assert drain_jobs(app, session_factory) == 3
    done = page(client, f"/backoffice/laeufe/{job_id}")
    assert "fertig" in done and "3 von 3 (100 %)" in done
    assert f"Hundesteuer {year}: 3 Personen geprüft, 3 Bescheide erstellt." in done
    assert 'id="job-abbrechen" hidden' in done and "System (Job-Worker)" in done
    listed = page(client, "/backoffice/laeufe")
    assert f'href="/backoffice/laeufe/{job_id}"' in listed and "fertig" in listed
    navigation = page(client, "/backoffice/personen").split('aria-label="Sachbearbeitung"')[1]
    assert 'href="/backoffice/laeufe">Läufe</a>' in navigation.split("</nav>")[0]


def test_the_notices_run_renders_the_pending_pdfs(
    app: Flask, db: Session, town: Any, session_factory: sessionmaker[Session]
) -> None:
    client, m, _clerk = town
    control.start(db, m, "dog_tax", {"year": str(clock.today().year)}, actor="test")
    db.commit()
    drain_jobs(app, session_factory)
    assert "Bescheide ohne erzeugtes PDF: 3" in page(client, RUNS)
    preview = post_form(client, RUNS, {"levy": "notices", "year": ""})
    assert "3 Bescheide werden als PDF erzeugt und archiviert." in preview.get_data(as_text=True)
    job_id = job_id_of(post_form(client, RUNS, {"levy": "notices", "step": "start"}))
    drain_jobs(app, session_factory)
    done = page(client, f"/backoffice/laeufe/{job_id}")
    assert "3 Bescheide als PDF erzeugt und archiviert." in done and "fertig" in done
    pending = select(func.count()).where(
        Notice.municipality_id == m.id, Notice.document_id.is_(None)
    )
    assert db.scalar(pending) == 0


def test_wrong_input_and_a_second_run_are_refused_with_the_choice_kept(
    db: Session, town: Any
) -> None:
    client, _m, _clerk = town
    year = str(clock.today().year)
    wrong = post_form(client, RUNS, {"levy": "dog_tax", "year": "26", "step": "start"})
    assert wrong.status_code == 422 and "vierstellig" in wrong.get_data(as_text=True)
    first = job_id_of(start_from_screen(client, "dog_tax", year))
    second = post_form(client, RUNS, {"levy": "dog_tax", "year": year, "step": "start"})
    text = second.get_data(as_text=True)
    assert second.status_code == 422
    assert f"Ein Lauf dieser Art läuft bereits (Job {first})" in text
    assert f'value="{year}"' in text and 'value="dog_tax" selected' in text  # nothing lost
    assert db.scalar(select(func.count()).select_from(Job)) == 1


def test_cancel_and_resume(
    app: Flask, db: Session, town: Any, session_factory: sessionmaker[Session]
) -> None:
    client, _m, _clerk = town
    job_id = job_id_of(start_from_screen(client, "dog_tax", str(clock.today().year)))
    url = f"/backoffice/laeufe/{job_id}"
    assert worker.run_next_chunk(session_factory, environment={}) is not None
    cancelled = client.post(f"{url}/abbrechen", data={"csrf_token": csrf_token(client, url)})
    assert cancelled.status_code == 302 and cancelled.headers["Location"].endswith(url)
    text = page(client, url)
    assert "abgebrochen" in text and "1 von 3 (33 %)" in text
    assert 'id="job-fortsetzen">' in text and 'id="job-abbrechen" hidden' in text
    assert worker.run_next_chunk(session_factory, environment={}) is None  # stopped

    again = client.post(f"{url}/abbrechen", data={"csrf_token": csrf_token(client, url)})
    assert again.status_code == 302  # refused as a flash message, nothing changed
    assert "Nur ein laufender Lauf kann abgebrochen werden." in page(client, url)

    resumed = client.post(f"{url}/fortsetzen", data={"csrf_token": csrf_token(client, url)})
    assert resumed.status_code == 302
    assert "läuft" in page(client, url)
    drain_jobs(app, session_factory)
    text = page(client, url)
    assert "fertig" in text and "3 von 3 (100 %)" in text
    trail = text.split("Protokoll")[1]
    for action in ("gestartet", "abgebrochen", "fortgesetzt", "fertig"):
        assert action in trail


@pytest.fixture
def picky() -> Iterator[Picky]:
    kind = register(Picky("test_picky_web", 6))
    kind.bad = {3}
    yield kind
    KINDS.pop(kind.name)


def test_a_failed_object_is_shown_and_taken_up_again(
    app: Flask, town: Any, picky: Picky, session_factory: sessionmaker[Session]
) -> None:
    client, _m, _clerk = town
    job_id = job_id_of(start_from_screen(client, picky.name))
    url = f"/backoffice/laeufe/{job_id}"
    drain_jobs(app, session_factory)
    text = page(client, url)
    assert "fertig" in text and "6 von 6 (100 %)" in text
    assert "<strong>Objekt 3</strong>: Objekt 3 hat keinen gültigen Satz." in text
    assert 'id="job-fortsetzen">' in text  # done with a failure: it can be tried again
    status = client.get(f"{url}/stand").get_json()
    assert status["failed"] == 1 and status["can_resume"] is True
    assert status["failures"] == [
        {"label": "Objekt 3", "message": "Objekt 3 hat keinen gültigen Satz.", "retried": False}
    ]

    picky.bad = set()
    client.post(f"{url}/fortsetzen", data={"csrf_token": csrf_token(client, url)})
    drain_jobs(app, session_factory)
    text = page(client, url)
    assert "(erneut versucht)" in text and "6 von 6 (100 %)" in text
    assert client.get(f"{url}/stand").get_json()["failed"] == 0
    assert 'id="job-fortsetzen" hidden' in text


def test_the_live_figures_as_json(
    db: Session, town: Any, session_factory: sessionmaker[Session]
) -> None:
    client, _m, _clerk = town
    year = clock.today().year
    job_id = job_id_of(start_from_screen(client, "dog_tax", str(year)))
    worker.run_next_chunk(session_factory, environment={})
    response = client.get(f"/backoffice/laeufe/{job_id}/stand")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    status = response.get_json()
    assert {k: status[k] for k in ("id", "state", "state_text", "running", "done", "total")} == {
        "id": job_id,
        "state": "running",
        "state_text": "läuft",
        "running": True,
        "done": 1,
        "total": 3,
    }
    assert (status["percent"], status["done_text"], status["failed"]) == (33, "1 von 3 (33 %)", 0)
    assert status["can_cancel"] is True and status["can_resume"] is False
    assert status["summary"] == f"Hundesteuer {year}: 1 Personen geprüft, 1 Bescheide erstellt."
    assert status["rate_text"].endswith("pro Sekunde") or status["rate_text"] == "–"


def test_the_figures_in_german_words() -> None:
    assert rate_text(None) == "–" and rate_text(30) == "0,5 pro Sekunde"
    assert rate_text(60 * 1500) == "1.500 pro Sekunde"
    assert left_text(JobState.RUNNING, None) == "wird ermittelt"
    assert left_text(JobState.RUNNING, 65) == "noch etwa 1:05 Min."
    assert left_text(JobState.RUNNING, 3 * 3600 + 61) == "noch etwa 3:01:01 Std."
    assert left_text(JobState.DONE, 10) == "–"


def test_another_municipalitys_job_is_not_found_and_forms_need_csrf(
    app: Flask, db: Session, make: Any, town: Any
) -> None:
    client, m, _clerk = town
    other = make.municipality()
    theirs = control.start(db, other, "notices", {}, actor="test")
    ours = control.start(db, m, "notices", {}, actor="test")
    db.commit()
    for url in (f"/backoffice/laeufe/{theirs.id}", f"/backoffice/laeufe/{theirs.id}/stand"):
        assert client.get(url).status_code == 404
    token = csrf_token(client, f"/backoffice/laeufe/{ours.id}")
    for action in ("abbrechen", "fortsetzen"):
        theirs_url = f"/backoffice/laeufe/{theirs.id}/{action}"
        assert client.post(theirs_url, data={"csrf_token": token}).status_code == 404
        assert client.post(f"/backoffice/laeufe/{ours.id}/{action}").status_code == 400
    db.expire_all()
    assert theirs.state is JobState.RUNNING and ours.state is JobState.RUNNING
    assert f"laeufe/{theirs.id}" not in page(client, "/backoffice/laeufe")
    anonymous = app.test_client().get(f"/backoffice/laeufe/{ours.id}")
    assert anonymous.status_code == 302 and "anmelden" in anonymous.headers["Location"]
