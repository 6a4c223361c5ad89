"""The back office's dunning flow with its jobs: "Vorschau erstellen" starts the preview job and
shows its progress page, which links to the run; the run page says it is being prepared and
approval is refused in German until the job is done; then the totals appear, a second clerk
approves, "Buchen" starts the booking job, and after it the run page counts the letters' PDFs
the booking had rendered. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from core.dunning.models import DunningRun, RunState
from core.identity.models import Role
from core.jobs import worker
from core.jobs.models import Job, JobState
from tests.conftest import csrf_token, post_form, staff_login
from tests.web.test_job_pages import drain_jobs, job_id_of

RUNS = "/backoffice/mahnlaeufe"
DUE = date(2026, 2, 15)
RUN_1 = date(2026, 3, 16)


def _clerk(app: Flask, make: Any, m: Any) -> tuple[FlaskClient, Any]:
    user = make.user(role=Role.CLERK, municipality=m)
    client = app.test_client()
    staff_login(client, user.email)
    return client, user


def _page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def _act(client: FlaskClient, run_id: int, action: str) -> Any:
    url = f"{RUNS}/{run_id}"
    return client.post(f"{url}/{action}", data={"csrf_token": csrf_token(client, url)})


@pytest.fixture
def clerks(app: Flask, db: Session, make: Any) -> tuple[FlaskClient, FlaskClient]:
    m = make.municipality()
    make.dunning_statute(m)
    for family in ("Ahorn", "Birke", "Eiche"):
        make.claim(m, make.person(m, family_name=family), amount=10000, due=DUE)
    first, _ = _clerk(app, make, m)
    second, _ = _clerk(app, make, m)
    db.commit()
    return first, second


def test_preview_and_booking_as_jobs_with_the_pdfs(
    app: Flask,
    db: Session,
    clerks: tuple[FlaskClient, FlaskClient],
    session_factory: sessionmaker[Session],
) -> None:
    first, second = clerks
    job_id = job_id_of(post_form(first, RUNS, {"run_date": RUN_1.isoformat()}))
    job = db.get_one(Job, job_id)
    run_id = int(job.params["run"])
    assert (job.kind, job.state, job.total) == ("dunning_preview", JobState.RUNNING, 3)
    progress = _page(first, f"/backoffice/laeufe/{job_id}")
    assert f"Vorschau des Mahnlaufs Nr. {run_id} erstellen" in progress
    assert f'href="/backoffice/mahnlaeufe/{run_id}">Zum Mahnlauf Nr. {run_id}</a>' in progress
    assert "0 von 3 (0 %)" in progress

    preparing = _page(first, f"{RUNS}/{run_id}")
    assert "Die Vorschau wird noch erstellt" in preparing and ">Freigeben<" not in preparing
    assert f'href="/backoffice/laeufe/{job_id}">Vorschau: Job Nr. {job_id}</a>' in preparing
    refused = _act(second, run_id, "freigeben")
    assert refused.status_code == 302
    shown = _page(second, f"{RUNS}/{run_id}")
    assert f"Die Vorschau des Mahnlaufs Nr. {run_id} wird noch erstellt." in shown
    assert db.get_one(DunningRun, run_id).approved_by is None

    assert drain_jobs(app, session_factory) == 1
    done = _page(first, f"/backoffice/laeufe/{job_id}")
    assert "3 von 3 (100 %)" in done and "3 Personen geprüft, 3 Mahnschreiben" in done
    ready = _page(first, f"{RUNS}/{run_id}")
    assert "3 Personen, 3 Schreiben, 3 Forderungen" in ready and "Ahorn" in ready
    assert ">Freigeben<" in ready and "wird noch erstellt" not in ready

    assert _act(second, run_id, "freigeben").status_code == 302
    booking = job_id_of(_act(second, run_id, "buchen"))
    assert drain_jobs(app, session_factory) == 2  # the booking, then the PDFs it started
    db.expire_all()
    assert db.get_one(DunningRun, run_id).state is RunState.BOOKED
    assert db.get_one(Job, booking).state is JobState.DONE
    final = _page(first, f"{RUNS}/{run_id}")
    assert "PDFs der Mahnschreiben: 3 von 3 erzeugt." in final and ">PDFs erzeugen<" not in final
    assert re.search(r"PDF-Erzeugung: Job Nr\. \d+</a> – fertig", final)


def test_pdfs_can_be_started_again_from_the_run_page(
    app: Flask,
    db: Session,
    clerks: tuple[FlaskClient, FlaskClient],
    session_factory: sessionmaker[Session],
) -> None:
    first, second = clerks
    job_id_of(post_form(first, RUNS, {"run_date": RUN_1.isoformat()}))
    drain_jobs(app, session_factory)
    run_id = max(r.id for r in db.query(DunningRun))
    early = _act(first, run_id, "pdf")
    assert early.status_code == 302
    assert "PDFs gibt es erst für einen gebuchten Mahnlauf." in _page(first, f"{RUNS}/{run_id}")
    _act(second, run_id, "freigeben")
    job_id_of(_act(second, run_id, "buchen"))
    # the booking's chunk is done but its PDFs job is cancelled before it renders anything
    worker.run_next_chunk(session_factory, environment={})
    db.expire_all()
    rendering = db.query(Job).filter(Job.kind == "dunning_letters").one()
    cancel = f"/backoffice/laeufe/{rendering.id}"
    first.post(f"{cancel}/abbrechen", data={"csrf_token": csrf_token(first, cancel)})
    shown = _page(first, f"{RUNS}/{run_id}")
    assert "PDFs der Mahnschreiben: 0 von 3 erzeugt." in shown and ">PDFs erzeugen<" in shown

    again = job_id_of(_act(first, run_id, "pdf"))
    drain_jobs(app, session_factory)
    assert "3 Mahnschreiben als PDF erzeugt" in _page(first, f"/backoffice/laeufe/{again}")
    assert "PDFs der Mahnschreiben: 3 von 3 erzeugt." in _page(first, f"{RUNS}/{run_id}")
