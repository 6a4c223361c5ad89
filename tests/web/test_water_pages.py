"""The reading form behind the card's QR code (no log-in) and the clerk's meter pages."""

from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from core.identity.models import Role
from core.kernel import clock
from core.levies.water import links as water_links
from core.levies.water import models as water
from core.levies.water import readings as water_readings
from core.tenancy.statutes import Statute
from tests.conftest import csrf_token, post_form, staff_login
from tests.integration.test_water_flow import WATER, meter


@pytest.fixture
def setup(db: Session, make: Any, app: Flask) -> Any:
    m = make.municipality()
    db.add(
        Statute(
            municipality_id=m.id,
            levy="water_fee",
            valid_from=date(2020, 1, 1),
            source="Wassergebührensatzung (Test)",
            data=WATER,
        )
    )
    owner = make.person(m, family_name="Wassermann")
    w = meter(db, m, owner)
    year = clock.today().year
    water_readings.submit_reading(
        db,
        meter=w,
        period=year - 1,
        value=195,
        read_on=date(year - 1, 12, 20),
        as_of=date(year - 1, 12, 31),
        source=water.ReadingSource.CARD,
        band_percent=50,
        confirmed=False,
        actor="test",
    )
    db.commit()
    token = water_links.reading_token(app.config["SECRET_KEY"], w, year, issued_at=clock.now())
    return m, w, f"/{m.slug}/zaehlerstand/{year}/{token}"


def test_plausible_reading_goes_straight_through(client: FlaskClient, setup: Any) -> None:
    _m, w, url = setup
    page = client.get(url).get_data(as_text=True)
    assert w.number in page and "195 m³" in page and "Wassermann" not in page
    token = csrf_token(client, url)  # a second tab opened before the first was sent
    done = client.post(url, data={"csrf_token": token, "value": "290"})
    assert "Zählerstand 290 m³ erhalten" in done.get_data(as_text=True)
    again = client.post(url, data={"csrf_token": token, "value": "300"})
    assert again.status_code == 409 and "schon gemeldet" in again.get_data(as_text=True)
    assert "Schon gemeldet" in client.get(url).get_data(as_text=True)


def test_implausible_reading_asks_to_confirm_then_goes_to_a_clerk(
    client: FlaskClient, app: Flask, db: Session, make: Any, setup: Any
) -> None:
    m, w, url = setup
    first = post_form(client, url, {"value": "900"}).get_data(as_text=True)
    assert "Bitte prüfen Sie den Zählerstand" in first and "vom Vorjahr ab" in first
    assert 'value="900"' in first  # the typed value is kept
    done = post_form(client, url, {"value": "900", "confirm": "y"}).get_data(as_text=True)
    assert "sieht ihn sich die Verwaltung noch an" in done
    clerk = make.user(role=Role.CLERK, municipality=m)
    desk = app.test_client()
    staff_login(desk, clerk.email)
    queue = desk.get("/backoffice/zaehlerstaende").get_data(as_text=True)
    assert w.number in queue and "900 m³" in queue


def test_bad_input_and_bad_links(client: FlaskClient, setup: Any) -> None:
    _m, _w, url = setup
    page = post_form(client, url, {"value": "12,5"}).get_data(as_text=True)
    assert "Bitte nur volle Kubikmeter" in page
    assert client.get(url[:-3] + "xyz").status_code == 404
    year = clock.today().year
    assert client.get(url.replace(f"/{year}/", f"/{year - 1}/")).status_code == 404


def test_clerk_fast_entry_of_paper_cards(app: Flask, db: Session, make: Any, setup: Any) -> None:
    m, w, _url = setup
    clerk = make.user(role=Role.CLERK, municipality=m)
    desk = app.test_client()
    staff_login(desk, clerk.email)
    year = clock.today().year
    response = post_form(
        desk,
        "/backoffice/zaehlerstaende/erfassen",
        {"period": str(year), "meter_number": w.number, "value": "290"},
    )
    assert response.status_code == 302
    assert water.current_reading(db, w.id, year).value == 290
    unknown = post_form(
        desk,
        "/backoffice/zaehlerstaende/erfassen",
        {"period": str(year), "meter_number": "GIBTSNICHT", "value": "1"},
    )
    assert "Diese Zählernummer gibt es hier nicht." in unknown.get_data(as_text=True)
    cards = desk.get(f"/backoffice/ablesekarten.pdf?period={year}")
    assert cards.data.startswith(b"%PDF")
    other = make.municipality()
    stranger = make.user(role=Role.CLERK, municipality=other)
    foreign = app.test_client()
    staff_login(foreign, stranger.email)
    assert (
        post_form(
            foreign,
            "/backoffice/zaehlerstaende/erfassen",
            {"period": str(year), "meter_number": w.number, "value": "5"},
        ).status_code
        == 200
    )  # not found there: the form comes back with an error


def test_a_photo_of_the_meter_can_be_sent_along(
    client: FlaskClient, db: Session, setup: Any
) -> None:
    import io

    from core.kernel import archive

    _m, w, url = setup
    fake = {
        "csrf_token": csrf_token(client, url),
        "value": "290",
        "photo": (io.BytesIO(b"%PDF-1.4 kein Foto"), "zaehler.jpg"),
    }
    page = client.post(url, data=fake, content_type="multipart/form-data").get_data(as_text=True)
    assert "keine gültige" in page
    assert water.current_reading(db, w.id, clock.today().year) is None  # nothing saved
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    real = {
        "csrf_token": csrf_token(client, url),
        "value": "290",
        "photo": (io.BytesIO(png), "zaehler.png"),
    }
    done = client.post(url, data=real, content_type="multipart/form-data")
    assert "erhalten" in done.get_data(as_text=True)
    reading = water.current_reading(db, w.id, clock.today().year)
    photo = db.get(archive.Document, reading.photo_document_id)
    assert photo.media_type == "image/png" and photo.person_id == w.person_id


def test_clerk_records_a_meter_change(app: Flask, db: Session, make: Any, setup: Any) -> None:
    m, w, _url = setup
    clerk = make.user(role=Role.CLERK, municipality=m)
    desk = app.test_client()
    staff_login(desk, clerk.email)
    today = clock.today()
    response = post_form(
        desk,
        "/backoffice/zaehlerwechsel",
        {
            "old_number": w.number,
            "final_reading": "230",
            "new_number": "W-NEU-1",
            "start_reading": "0",
            "changed_on": today.isoformat(),
        },
    )
    assert response.status_code == 302
    db.refresh(w)
    assert w.removed_on == today
    again = post_form(
        desk,
        "/backoffice/zaehlerwechsel",
        {
            "old_number": w.number,
            "final_reading": "1",
            "new_number": "X",
            "start_reading": "0",
            "changed_on": today.isoformat(),
        },
    )
    assert "Diese Zählernummer gibt es hier nicht." in again.get_data(as_text=True)


def test_clerk_starts_the_water_billing_and_the_waste_run_from_the_back_office(
    app: Flask, db: Session, make: Any, setup: Any, session_factory: sessionmaker[Session]
) -> None:
    from sqlalchemy import func, select

    from core.notices.records import Notice
    from tests.web.test_job_pages import drain_jobs, job_id_of, start_from_screen

    m, w, _url = setup
    clerk = make.user(role=Role.CLERK, municipality=m)
    desk = app.test_client()
    staff_login(desk, clerk.email)
    year = clock.today().year - 1
    page = desk.get("/backoffice/veranlagung").get_data(as_text=True)
    assert "Wasser (Verbrauchsabrechnung des Jahres)" in page
    water = start_from_screen(desk, "water_fee", str(year))
    drain_jobs(app, session_factory)
    job_page = desk.get(f"/backoffice/laeufe/{job_id_of(water)}").get_data(as_text=True)
    assert "1 Zähler abgerechnet" in job_page
    assert db.scalar(select(func.count(Notice.id)).where(Notice.person_id == w.person_id)) == 1
    waste = start_from_screen(desk, "waste_fee", "2026")
    drain_jobs(app, session_factory)
    assert "Abfallgebühren 2026: 0 Personen geprüft" in desk.get(
        f"/backoffice/laeufe/{job_id_of(waste)}"
    ).get_data(as_text=True)  # nobody with bins here
