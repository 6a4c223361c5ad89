"""The back office's dunning screens (backoffice.dunning, backoffice.dunning_blocks): a clerk
prepares a run for a date and sees its totals and, page by page, per person the claims with
Kassenzeichen, level, open amount, fee and surcharge; the same clerk may not approve it (four
eyes, the core's German message), a second clerk does; booking starts the job, whose page shows
it finish. Every change is a CSRF form; bad dates, an open run or a date before the last run
are refused in German (never a 500); another municipality's run is not found. The person page
shows the Mahnsperren with their history, adds and ends them, and each claim's dunning levels.
On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.dunning import blocks, booking, overview, runs
from core.dunning.models import BlockReason, DunningBlock, DunningRun, RunState
from core.identity.models import Role
from core.jobs.models import Job, JobState
from core.kernel import clock
from core.kernel.audit import AuditEvent
from core.kernel.references import format_kassenzeichen
from core.tenancy.municipalities import Municipality
from portal.database import EXTENSION
from tests.conftest import csrf_token, post_form, staff_login
from tests.web.test_job_pages import drain_jobs

RUNS = "/backoffice/mahnlaeufe"
DUE = date(2026, 2, 15)  # a Sunday: due on Monday 16.02.
RUN_1 = date(2026, 3, 16)
RUN_2 = date(2026, 3, 30)


def _clerk(app: Flask, make: Any, m: Municipality) -> tuple[FlaskClient, Any]:
    user = make.user(role=Role.CLERK, municipality=m)
    client = app.test_client()
    staff_login(client, user.email)
    return client, user


@pytest.fixture
def town(app: Flask, db: Session, make: Any) -> Any:
    """A town with its dunning procedure, Anna with an overdue claim of 100 €, two clerks."""
    m = make.municipality()
    make.dunning_statute(m)
    anna = make.person(m, family_name="Ahorn")
    claim = make.claim(m, anna, amount=10000, due=DUE)
    first, first_user = _clerk(app, make, m)
    second, second_user = _clerk(app, make, m)
    db.commit()
    return type(
        "Town",
        (),
        dict(m=m, anna=anna, claim=claim, first=first, second=second,
             first_user=first_user, second_user=second_user),
    )  # fmt: skip


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def prepare(client: FlaskClient, day: date) -> int:
    """ "Vorschau erstellen": the run is opened and its preview job started (the redirect to the
    job's page), the job done as the worker would; the run's id."""
    response = post_form(client, RUNS, {"run_date": day.isoformat()})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    location = response.headers["Location"]
    match = re.fullmatch(r".*/backoffice/mahnlaeufe/(\d+)", location)
    if match:  # nobody due: no job
        return int(match.group(1))
    job = re.fullmatch(r".*/backoffice/laeufe/(\d+)", location)
    assert job, location
    app = client.application
    drain_jobs(app, app.extensions[EXTENSION])
    with app.extensions[EXTENSION]() as session:
        found = session.get_one(Job, int(job.group(1)))
        assert found.kind == "dunning_preview" and found.state is JobState.DONE
        return int(found.params["run"])


def act(client: FlaskClient, run_id: int, action: str) -> Any:
    url = f"{RUNS}/{run_id}"
    return client.post(
        f"{url}/{action}", data={"csrf_token": csrf_token(client, url)}, follow_redirects=True
    )


def test_prepare_four_eyes_approve_and_book_as_a_job(
    app: Flask, db: Session, town: Any, session_factory: sessionmaker[Session]
) -> None:
    listing = page(town.first, RUNS)
    assert f'value="{clock.today().isoformat()}"' in listing  # the run date proposed: today
    navigation = listing.split('aria-label="Sachbearbeitung"')[1].split("</nav>")[0]
    assert 'href="/backoffice/mahnlaeufe">Mahnläufe</a>' in navigation

    run_id = prepare(town.first, RUN_1)
    run = db.get_one(DunningRun, run_id)
    assert (run.state, run.created_by) == (RunState.PREVIEW, f"user:{town.first_user.id}")
    shown = page(town.first, f"{RUNS}/{run_id}")
    assert f"Mahnlauf Nr. {run_id} zum 16.03.2026" in shown and "Vorschau" in shown
    assert "1 Person, 1 Schreiben, 1 Forderung" in shown
    assert "1. Zahlungserinnerung" in shown and "Ahorn" in shown
    assert format_kassenzeichen(town.claim.kassenzeichen) in shown
    assert "100,00 €" in shown and "1,00 €" in shown  # open; one month's 1 % surcharge
    assert town.first_user.display_name in shown and "Vorschau erstellt" in shown

    refused = act(town.first, run_id, "freigeben")
    assert refused.status_code == 200
    assert "Vier-Augen-Prinzip: Wer den Mahnlauf vorbereitet hat, darf ihn nicht selbst" in (
        refused.get_data(as_text=True)
    )
    db.refresh(run)
    assert run.state is RunState.PREVIEW and run.approved_by is None

    approved = act(town.second, run_id, "freigeben").get_data(as_text=True)
    assert f"Mahnlauf Nr. {run_id} freigegeben" in approved and ">Buchen<" in approved
    assert ">Verwerfen<" not in approved

    response = town.second.post(
        f"{RUNS}/{run_id}/buchen", data={"csrf_token": csrf_token(town.second, RUNS)}
    )
    assert response.status_code == 302
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    job = db.get_one(Job, job_id)
    assert (job.kind, job.params, job.started_by) == (
        "dunning", {"run": run_id}, f"user:{town.second_user.id}",
    )  # fmt: skip
    assert ">Buchen<" not in page(town.second, f"{RUNS}/{run_id}")  # the job runs
    assert drain_jobs(app, session_factory) >= 1
    done = page(town.second, f"/backoffice/laeufe/{job_id}")
    assert "fertig" in done and f"Mahnlauf Nr. {run_id}: 1 Mahnschreiben gebucht" in done
    db.expire_all()
    assert db.get_one(Job, job_id).state is JobState.DONE
    run = db.get_one(DunningRun, run_id)
    assert (run.state, run.booked_by) == (RunState.BOOKED, f"user:{town.second_user.id}")
    final = page(town.first, f"{RUNS}/{run_id}")
    assert "Der Lauf ist gebucht." in final and f'href="/backoffice/laeufe/{job_id}"' in final
    assert "PDFs der Mahnschreiben: 1 von 1 erzeugt." in final
    assert town.second_user.display_name in final
    actions = set(
        db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.object_type == "dunning_run", AuditEvent.object_id == run_id
            )
        )
    )
    assert actions == {"dunning_run.previewed", "dunning_run.approved", "dunning_run.booked"}
    listed = page(town.first, RUNS)
    assert f'href="/backoffice/mahnlaeufe/{run_id}"' in listed and "gebucht" in listed


def test_every_step_needs_its_csrf_token(db: Session, town: Any) -> None:
    made = town.first.post(RUNS, data={"run_date": RUN_1.isoformat()})
    assert made.status_code == 400  # the app's CSRF protection refuses it before the view
    assert db.scalar(select(DunningRun.id).where(DunningRun.municipality_id == town.m.id)) is None
    run_id = prepare(town.first, RUN_1)
    for action in ("freigeben", "verwerfen", "buchen"):
        assert town.second.post(f"{RUNS}/{run_id}/{action}").status_code == 400
        assert (
            town.second.post(f"{RUNS}/{run_id}/{action}", data={"csrf_token": "x"}).status_code
            == 400
        )
    db.expire_all()
    assert db.get_one(DunningRun, run_id).state is RunState.PREVIEW


def test_bad_dates_and_refused_runs_get_german_messages(
    app: Flask, db: Session, make: Any, town: Any
) -> None:
    def refused(day: str, message: str, client: FlaskClient = town.first) -> None:
        response = post_form(client, RUNS, {"run_date": day})
        text = response.get_data(as_text=True)
        assert response.status_code == 422, text[:2000]
        assert message in text and 'role="alert"' in text
        assert f'value="{day}"' in text or not day  # the date entered is kept

    refused("", "Bitte geben Sie den Stichtag an.")
    refused("2026-13-45", "gültiges Datum")
    refused("99999-01-01", "gültiges Datum")
    far = clock.today() + timedelta(days=400)
    refused(far.isoformat(), "zu weit in der Zukunft")
    run_id = prepare(town.first, RUN_2)
    refused(RUN_2.isoformat(), f"Mahnlauf Nr. {run_id} ist noch offen")
    act(town.first, run_id, "verwerfen")
    run = runs.preview(db, town.m, RUN_2, "user:1")
    runs.approve(db, run, "user:2")
    booking.book(db, run, "user:2")
    db.commit()
    refused(RUN_1.isoformat(), "darf nicht vor dem letzten Mahnlauf (30.03.2026) liegen")
    bare = make.municipality()
    lonely, _ = _clerk(app, make, bare)
    db.commit()
    refused(RUN_1.isoformat(), "keine Satzung", lonely)


def test_discard_and_booking_before_approval_are_refused_in_german(db: Session, town: Any) -> None:
    run_id = prepare(town.first, RUN_1)
    early = act(town.first, run_id, "buchen").get_data(as_text=True)
    assert "gebucht wird nur ein freigegebener Lauf" in early
    assert db.scalar(select(Job.id).where(Job.kind == "dunning")) is None  # no booking job
    gone = act(town.first, run_id, "verwerfen").get_data(as_text=True)
    assert f"Mahnlauf Nr. {run_id} verworfen" in gone and "Der Lauf ist verworfen" in gone
    again = act(town.second, run_id, "verwerfen").get_data(as_text=True)
    assert "verwerfen lässt sich nur eine Vorschau" in again
    late = act(town.second, run_id, "freigeben").get_data(as_text=True)
    assert "kann nicht freigegeben werden" in late
    assert prepare(town.first, RUN_1) != run_id  # a discarded run leaves the date free


def test_a_run_with_nothing_to_book_is_closed_without_a_job(
    db: Session, make: Any, town: Any
) -> None:
    blocks.add_block(
        db, person=town.anna, reason=BlockReason.INSOLVENCY, starts_on=DUE, actor="test"
    )
    db.commit()
    run_id = prepare(town.first, RUN_1)
    empty = page(town.first, f"{RUNS}/{run_id}")
    assert "Niemand ist zu mahnen." in empty and "Dieser Mahnlauf hat keine Schreiben." in empty
    act(town.second, run_id, "freigeben")
    closed = act(town.second, run_id, "buchen").get_data(as_text=True)
    assert f"Mahnlauf Nr. {run_id} gebucht; es war kein Schreiben zu buchen." in closed
    assert "Der Lauf ist gebucht." in closed
    assert db.scalar(select(Job.id).where(Job.kind == "dunning")) is None  # no booking job
    assert prepare(town.first, RUN_2) != run_id  # the next run is free to be made


def test_another_municipalitys_run_and_person_are_not_found(
    app: Flask, db: Session, make: Any, town: Any
) -> None:
    other = make.municipality()
    make.dunning_statute(other)
    stranger = make.person(other)
    make.claim(other, stranger, due=DUE)
    run = runs.preview(db, other, RUN_1, "user:99")
    db.commit()
    client = town.second
    assert client.get(f"{RUNS}/{run.id}").status_code == 404
    token = csrf_token(client, RUNS)
    for action in ("freigeben", "verwerfen", "buchen"):
        assert (
            client.post(f"{RUNS}/{run.id}/{action}", data={"csrf_token": token}).status_code == 404
        )
    for huge in (2**31, 2**63):
        assert client.get(f"{RUNS}/{huge}").status_code == 404
        assert client.get(f"/backoffice/personen/{huge}/mahnsperren").status_code == 404
    assert client.get(f"/backoffice/personen/{stranger.id}/mahnsperren").status_code == 404
    db.expire_all()
    assert db.get_one(DunningRun, run.id).state is RunState.PREVIEW
    anonymous = app.test_client().get(RUNS)
    assert anonymous.status_code == 302 and "anmelden" in anonymous.headers["Location"]


def test_letters_come_a_page_at_a_time_and_can_be_searched(
    db: Session, make: Any, town: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(overview, "PER_PAGE", 2)
    bert = make.person(town.m, family_name="Birke")
    cara = make.person(town.m, family_name="Cedernholz")
    make.claim(town.m, bert, amount=20000, due=DUE)
    caras = make.claim(town.m, cara, amount=30000, due=DUE)
    db.commit()
    run_id = prepare(town.first, RUN_1)
    url = f"{RUNS}/{run_id}"
    first = page(town.first, url)
    assert "3 Personen, 3 Schreiben, 3 Forderungen" in first
    assert "Seite 1 von 2" in first and "Ahorn" in first and "Birke" in first
    assert "Cedernholz" not in first and 'rel="next"' in first
    second = page(town.first, f"{url}?seite=2")
    assert "Cedernholz" in second and "Ahorn" not in second and 'rel="prev"' in second
    for junk in ("99", "abc", "-1", "0", str(2**63)):
        assert "Seite" in page(town.first, f"{url}?seite={junk}")
    assert "Cedernholz" in page(town.first, f"{url}?seite=99")  # past the last: the last
    by_name = page(town.first, f"{url}?q=birke")
    assert "Birke" in by_name and "Ahorn" not in by_name and "1 Schreiben für „birke“" in by_name
    by_reference = page(town.first, f"{url}?q={caras.kassenzeichen}")
    assert "Cedernholz" in by_reference and "Birke" not in by_reference
    assert "Kein Schreiben dieses Mahnlaufs" in page(town.first, f"{url}?q=Zeder%25")


def test_blocks_on_the_person_page(db: Session, make: Any, town: Any) -> None:
    person_url = f"/backoffice/personen/{town.anna.id}"
    add_url = f"{person_url}/mahnsperren"
    shown = page(town.first, person_url)
    assert 'id="mahnwesen"' in shown and "Keine Mahnsperren." in shown
    assert "Mahnsperre eintragen" in shown and "Keine Forderung wurde bisher gemahnt." in shown

    added = post_form(
        town.first, add_url,
        {"reason": "deferral", "claim": str(town.claim.id), "starts_on": "2026-03-01",
         "ends_on": "2026-06-30", "note": "Stundung Az. 12/26"},
    )  # fmt: skip
    assert added.status_code == 302 and added.headers["Location"].endswith("#mahnwesen")
    shown = page(town.first, person_url)
    assert "Stundung" in shown and "Stundung Az. 12/26" in shown and "30.06.2026" in shown
    assert format_kassenzeichen(town.claim.kassenzeichen) in shown
    assert town.first_user.display_name in shown
    block = db.scalars(select(DunningBlock).where(DunningBlock.person_id == town.anna.id)).one()
    assert (block.reason, block.claim_id) == (BlockReason.DEFERRAL, town.claim.id)
    assert db.scalar(
        select(AuditEvent.id).where(
            AuditEvent.action == "dunning_block.added", AuditEvent.object_id == block.id
        )
    )

    def refused(data: dict[str, str], message: str) -> None:
        response = post_form(town.first, add_url, {"reason": "clerk", "claim": "", **data})
        text = response.get_data(as_text=True)
        assert response.status_code == 422, text[:2000]
        assert message in text and 'role="alert"' in text

    refused({"starts_on": "2026-05-01", "ends_on": "2026-04-01"}, "nicht vor ihrem Beginn enden")
    refused({"starts_on": "2026-02-30"}, "gültiges Datum")
    refused({"starts_on": ""}, "Bitte geben Sie den Beginn an.")
    refused({"starts_on": "2026-03-01", "reason": "weil"}, "eine der Möglichkeiten")
    other = make.claim(town.m, make.person(town.m), due=DUE)
    db.commit()
    refused({"starts_on": "2026-03-01", "claim": str(other.id)}, "gehört nicht zu dieser Person")
    refused({"starts_on": "2026-03-01", "claim": "abc"}, "gehört nicht zu dieser Person")
    unprotected = town.first.post(add_url, data={"reason": "clerk", "starts_on": "2026-03-01"})
    assert unprotected.status_code == 400
    assert db.scalar(select(DunningBlock.id).where(DunningBlock.id != block.id)) is None

    end_url = f"{add_url}/{block.id}/beenden"
    assert town.first.post(end_url, data={"last_day": "2026-04-30"}).status_code == 400
    token = csrf_token(town.first, person_url)
    bad = town.first.post(
        end_url, data={"csrf_token": token, "last_day": "x"}, follow_redirects=True
    )
    assert "Mahnsperre beenden: Bitte geben Sie ein gültiges Datum an" in bad.get_data(as_text=True)
    ended = town.first.post(
        end_url, data={"csrf_token": token, "last_day": "2026-04-30"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Mahnsperre beendet: Stundung vom 01.03.2026 bis 30.04.2026" in ended
    assert "beendet von" in ended
    again = town.first.post(
        end_url, data={"csrf_token": token, "last_day": "2026-05-30"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "Diese Mahnsperre endet bereits am 30.04.2026." in again
    stranger_block = blocks.add_block(
        db, person=make.person(town.m), reason=BlockReason.CLERK, starts_on=RUN_1, actor="t"
    )
    db.commit()
    foreign = f"{add_url}/{stranger_block.id}/beenden"
    assert (
        town.first.post(foreign, data={"csrf_token": token, "last_day": "2026-05-01"}).status_code
        == 404
    )


def test_the_person_page_shows_each_claims_dunning_levels(
    db: Session, make: Any, town: Any
) -> None:
    run = runs.preview(db, town.m, RUN_1, "user:1")
    runs.approve(db, run, "user:2")
    booking.book(db, run, "user:2")
    make.claim(town.m, town.anna, amount=5000, due=date(2026, 3, 2))  # first letter on 30.03.
    planned = runs.preview(db, town.m, RUN_2, "user:1")
    db.commit()
    totals = page(town.first, f"{RUNS}/{planned.id}").split('id="summen"')[1].split("</table>")[0]
    rows = re.findall(r'scope="row">([^<]+)</th>((?:\s*<td[^>]*>[^<]*</td>)+)', totals)
    cells = {name: re.findall(r">([^<]*)</td>", tds) for name, tds in rows}
    assert cells["1. Zahlungserinnerung"][:3] == ["1", "1", "1"]
    assert cells["2. Mahnung"][:3] == ["1", "1", "1"]
    assert cells["Alle Stufen"][:4] == ["1", "2", "2", "150,00 €"]  # one person, two letters
    shown = page(town.first, f"/backoffice/personen/{town.anna.id}")
    history = shown.split('id="mahnstufen"')[1]
    assert f"Nr. {run.id} zum 16.03.2026" in history and "1. Zahlungserinnerung" in history
    assert "gebucht" in history
    assert f"Nr. {planned.id} zum 30.03.2026" in history and "2. Mahnung" in history
    assert "vorgesehen (Mahnlauf Vorschau)" in history
