"""The back office's retention screens (backoffice.retention): a clerk prepares a run and sees
per category what is due and what is blocked with its reason, never a document's content; the
same clerk may not approve it (four eyes, the core's German message), a second clerk does and
the job deletes; legal holds are placed and ended; bad input gets German messages (never a
500); another municipality's run is not found. On SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel.archive import Document, DocumentDownload
from core.kernel.audit import AuditEvent
from core.retention.models import LegalHold, RetentionRun, RunState
from portal.database import EXTENSION
from tests import retention_helpers as old
from tests.conftest import csrf_token, login, post_form, staff_login
from tests.web.test_job_pages import drain_jobs

RUNS = "/backoffice/loeschlaeufe"
HOLDS = "/backoffice/loeschsperren"
OLD = date(2015, 3, 1)


def _clerk(app: Flask, make: Any, m: Any) -> FlaskClient:
    user = make.user(role=Role.CLERK, municipality=m)
    client = app.test_client()
    staff_login(client, user.email)
    return client


def _act(client: FlaskClient, page: str, url: str, **kw: Any) -> Any:
    """Press a button of ``page`` (its CSRF token) that posts to ``url``."""
    return client.post(url, data={"csrf_token": csrf_token(client, page)}, **kw)


def _page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def test_preview_four_eyes_and_deletion(app: Flask, db: Session, make: Any) -> None:
    m = make.municipality()
    erika = old.old_person(db, make, m, OLD, family_name="Mustermann")
    notice = old.notice(db, m, erika, OLD)
    owing = old.old_person(db, make, m, OLD, family_name="Schuldner")
    make.claim(m, owing, amount=700, due=OLD, as_of=OLD)
    first, second = _clerk(app, make, m), _clerk(app, make, m)
    db.commit()

    response = post_form(first, RUNS, {"as_of": "2026-12-03"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    run_url = response.headers["Location"]
    run_id = int(re.fullmatch(r".*/loeschlaeufe/(\d+)", run_url).group(1))  # type: ignore[union-attr]
    shown = _page(first, run_url)
    assert "Buchungsbelege (Bescheide, Mahnschreiben, SEPA-Mandate): 2" in shown
    assert f"Dokument {notice.document_id} (notice)" in shown
    assert f"Person {owing.number}" in shown and "offene Forderung" in shown
    assert "Mustermann" not in shown and "Bescheid an Erika" not in shown  # no content

    refused = _act(first, run_url, f"{RUNS}/{run_id}/freigeben", follow_redirects=True)
    assert "Vier-Augen-Prinzip" in refused.get_data(as_text=True)
    approved = _act(second, run_url, f"{RUNS}/{run_id}/freigeben")
    assert approved.status_code == 302 and "/backoffice/laeufe/" in approved.headers["Location"]
    drain_jobs(app, app.extensions[EXTENSION])
    db.expire_all()
    assert db.get_one(RetentionRun, run_id).state is RunState.DONE
    assert db.scalar(select(Document.content).where(Document.id == notice.document_id)) == b""
    done = _page(second, run_url)
    assert "ausgeführt" in done and "2 von 2" in done and "Gesperrt (1)" in done


def test_bad_input_and_other_municipalities(app: Flask, db: Session, make: Any) -> None:
    m, other = make.municipality(), make.municipality()
    client = _clerk(app, make, m)
    foreign = _clerk(app, make, other)
    db.commit()
    for value in ("", "2026-02-30", "2999-01-01"):
        response = post_form(client, RUNS, {"as_of": value})
        assert response.status_code == 422
        body = response.get_data(as_text=True)
        assert "Stichtag" in body or "Datum" in body
    post_form(client, RUNS, {"as_of": "2026-12-01"})
    run_id = db.scalar(select(RetentionRun.id).where(RetentionRun.municipality_id == m.id))
    assert foreign.get(f"{RUNS}/{run_id}").status_code == 404
    assert _act(foreign, RUNS, f"{RUNS}/{run_id}/freigeben").status_code == 404
    assert client.get(f"{RUNS}/99999999999999").status_code == 404
    assert client.post(f"{RUNS}/{run_id}/freigeben", data={}).status_code == 400  # no CSRF


def test_legal_holds_are_placed_and_ended(app: Flask, db: Session, make: Any) -> None:
    m = make.municipality()
    person = make.person(m)
    client = _clerk(app, make, m)
    db.commit()
    missing = post_form(client, HOLDS, {"reason": "", "starts_on": "2026-12-01"})
    assert missing.status_code == 422 and "Grund" in missing.get_data(as_text=True)
    neither = post_form(client, HOLDS, {"reason": "Prüfung", "starts_on": "2026-12-01"})
    assert "entweder eine Personennummer" in neither.get_data(as_text=True)
    letters = post_form(
        client, HOLDS, {"person_number": "abc", "reason": "Prüfung", "starts_on": "2026-12-01"}
    )
    assert "nur Ziffern" in letters.get_data(as_text=True)
    unknown = post_form(
        client, HOLDS, {"person_number": "999999", "reason": "Prüfung", "starts_on": "2026-12-01"}
    )
    assert "gibt es hier nicht" in unknown.get_data(as_text=True)
    placed = post_form(
        client, HOLDS,
        {"person_number": str(person.number), "reason": "Rechtsstreit Az. 7/26",
         "starts_on": "2026-12-01"},
    )  # fmt: skip
    assert placed.status_code == 302
    hold = db.scalars(select(LegalHold).where(LegalHold.person_id == person.id)).one()
    listed = _page(client, HOLDS)
    assert "Rechtsstreit Az. 7/26" in listed and f"Person {person.number}" in listed
    ended = _act(client, HOLDS, f"{HOLDS}/{hold.id}/beenden", follow_redirects=True)
    assert "Löschsperre beendet" in ended.get_data(as_text=True)
    db.expire_all()
    assert db.get_one(LegalHold, hold.id).ends_on is not None
    actions = set(
        db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "legal_hold", AuditEvent.object_id == hold.id
            )
        )
    )
    assert actions == {"legal_hold.placed", "legal_hold.ended"}
    again = _act(client, HOLDS, f"{HOLDS}/{hold.id}/beenden", follow_redirects=True)
    assert "bereits beendet" in again.get_data(as_text=True)


def test_an_erased_notice_is_not_handed_out(
    app: Flask, db: Session, make: Any, client: FlaskClient
) -> None:
    m = make.municipality()
    user = make.user(email="alt.buerger@test.example")
    person = make.person(m, user=user)
    notice = old.notice(db, m, person, OLD)
    db.commit()
    login(client, m.slug, user.email)
    assert client.get(f"/{m.slug}/bescheide/{notice.id}.pdf").status_code == 200
    db.execute(
        update(Document).where(Document.id == notice.document_id).values(content=b""),
        execution_options={"synchronize_session": False},
    )
    db.commit()
    downloads = db.scalar(select(func.count(DocumentDownload.id)))
    gone = client.get(f"/{m.slug}/bescheide/{notice.id}.pdf")
    assert gone.status_code == 404
    assert "Aufbewahrungsfrist gelöscht" in html.unescape(gone.get_data(as_text=True))
    assert db.scalar(select(func.count(DocumentDownload.id))) == downloads
