"""The back office's run screen: bad input is a German form error, never a 500 nor another
year, at the preview and at the start; a water billing before the reading deadline shows what it
would do and is previewed and started (as a job) only when the clerk ticks the confirmation. The
reading cards print the statute's deadline."""

import subprocess
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.identity.models import Role
from core.kernel import clock
from core.ledger.models import Claim
from core.levies.water import models as water
from core.levies.water import readings as water_readings
from core.notices.records import Notice
from core.tenancy.statutes import Statute
from tests.conftest import csrf_token, post_form, staff_login
from tests.integration.test_water_flow import WATER, meter
from tests.web.test_job_pages import drain_jobs, job_id_of

PAGE = "/backoffice/veranlagung"


@pytest.fixture
def desk(app: Flask, db: Session, make: Any) -> Any:
    """A clerk's client in a town whose statute ends the reading period 15 days after the
    year; two meters: one read and accepted this year, one whose reading waits for a clerk."""
    m = make.municipality()
    make.dog_tax_statute(m)
    db.add(
        Statute(
            municipality_id=m.id,
            levy="water_fee",
            valid_from=date(2020, 1, 1),
            source="Wassergebührensatzung (Test)",
            data={**WATER, "reading_deadline_days": 15},
        )
    )
    year = clock.today().year
    meters = [meter(db, m, make.person(m), n) for n in ("W-OK", "W-WAIT")]
    for w, value in zip(meters, (290, 900), strict=True):
        for period, v, confirmed in ((year - 1, 195, False), (year, value, True)):
            water_readings.submit_reading(
                db,
                meter=w,
                period=period,
                value=v,
                read_on=date(period, 1, 2),
                as_of=date(period, 1, 2),
                source=water.ReadingSource.CARD,
                band_percent=50,
                confirmed=confirmed,
                actor="test",
            )
    clerk = make.user(role=Role.CLERK, municipality=m)
    db.commit()
    client = app.test_client()
    staff_login(client, clerk.email)
    return client, m


def claims_of(db: Session, m: Any) -> int:
    return db.scalar(select(func.count(Claim.id)).where(Claim.municipality_id == m.id)) or 0


@pytest.mark.parametrize(
    ("levy", "year", "message"),
    [
        ("foo", "2026", "Bitte wählen Sie einen Lauf aus der Liste."),
        ("dog_tax", "abc", "vierstellig"),
        ("dog_tax", "-5", "vierstellig"),
        ("dog_tax", "99999999999999999999", "vierstellig"),
        ("dog_tax", "1999", "Für das Jahr 1999 ist kein Lauf möglich"),
        ("waste_fee", "2100", "Für das Jahr 2100 ist kein Lauf möglich"),
        ("water_fee", "1999", "Für das Jahr 1999 ist kein Lauf möglich"),
    ],
)
@pytest.mark.parametrize("step", ["preview", "start"])
def test_bad_runs_are_german_form_errors(
    desk: Any, db: Session, levy: str, year: str, message: str, step: str
) -> None:
    client, m = desk
    response = post_form(client, PAGE, {"levy": levy, "year": year, "step": step})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Bitte prüfen Sie Ihre Angaben" in page and message in page
    assert f'value="{year}"' in page  # the choice is kept
    assert claims_of(db, m) == 0  # nothing run, not even for another year


def test_early_water_billing_lists_what_it_would_do_and_needs_the_tick(
    app: Flask, desk: Any, db: Session, session_factory: sessionmaker[Session]
) -> None:
    client, m = desk
    year = clock.today().year  # the period has not ended: its deadline is 15 January next year
    refused = post_form(client, PAGE, {"levy": "water_fee", "year": str(year)})
    assert refused.status_code == 200  # nothing wrong with the input: it asks to confirm
    page = refused.get_data(as_text=True)
    assert f"15.01.{year + 1}" in page and "Ablesefrist" in page
    assert "Geschätzt würden 1 von 2 Zählern" in page
    assert "W-WAIT" in page and "900 m³" in page  # the reading still waiting for a clerk
    assert 'name="confirm_early"' in page
    assert claims_of(db, m) == 0
    unticked = post_form(client, PAGE, {"levy": "water_fee", "year": str(year), "step": "start"})
    assert unticked.status_code == 200 and 'name="confirm_early"' in unticked.get_data(as_text=True)
    ticked = {"levy": "water_fee", "year": str(year), "confirm_early": "1"}
    preview = post_form(client, PAGE, ticked)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "2 Zähler werden geprüft" in page
    assert "Geschätzt würden 1 von 2 Zählern" in page  # the check stays in view
    assert 'type="hidden" name="confirm_early" value="1"' in page and "Lauf starten" in page
    assert claims_of(db, m) == 0  # a preview books nothing
    job_id = job_id_of(post_form(client, PAGE, {**ticked, "step": "start"}))
    drain_jobs(app, session_factory)
    job_page = client.get(f"/backoffice/laeufe/{job_id}").get_data(as_text=True)
    assert "2 Zähler abgerechnet" in job_page and "fertig" in job_page
    assert db.scalar(select(func.count(Notice.id)).where(Notice.municipality_id == m.id)) == 2


def test_last_years_billing_after_the_deadline_needs_no_tick(desk: Any) -> None:
    client, _m = desk
    today = clock.today()
    if today <= date(today.year, 1, 15):
        pytest.skip("the previous period's reading deadline has not passed yet")
    last_year = {"levy": "water_fee", "year": str(today.year - 1)}
    preview = post_form(client, PAGE, last_year)
    assert preview.status_code == 200 and 'name="confirm_early"' not in preview.get_data(
        as_text=True
    )
    done = post_form(client, PAGE, {**last_year, "step": "start"})
    assert done.status_code == 302


def test_reading_cards_ask_for_the_reading_by_the_statutes_deadline(
    desk: Any, tmp_path: Any
) -> None:
    client, _m = desk
    year = clock.today().year
    response = client.get(f"/backoffice/ablesekarten.pdf?period={year}")
    assert response.status_code == 200
    (tmp_path / "cards.pdf").write_bytes(response.data)
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(tmp_path / "cards.pdf"), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    )
    assert text.count(f"Bitte melden bis 15.01.{year + 1}") == 2  # one card per meter
    assert f"{clock.today():%d.%m.%Y}" not in text.split("Bitte melden bis")[1][:12]
    for bad in ("abc", "-5", "1999"):
        assert client.get(f"/backoffice/ablesekarten.pdf?period={bad}").status_code == 400


def test_assessing_one_person_refuses_a_bad_year(desk: Any, db: Session, make: Any) -> None:
    client, m = desk
    person = make.person(m)
    db.commit()
    url = f"/backoffice/personen/{person.id}"
    for bad in ("abc", "-5", "1999", "2100"):
        response = client.post(
            f"{url}/veranlagen",
            data={"csrf_token": csrf_token(client, url), "year": bad},
            follow_redirects=True,
        )
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "vierstellig" in page or "kein Lauf möglich" in page
    assert claims_of(db, m) == 0
