"""The back office's Hebesatz simulator (issue #14 "Statute simulator"): the form with CSRF and
German messages for every wrong entry (never a server error), the figures with the SVG chart
and its tables, the CSV export as a GET with the same parameters — clerks only, only the own
municipality's objects, nothing booked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.ledger.models import Claim, JournalEntry, Posting
from tests.conftest import csrf_token, login, post_form, staff_login
from tests.realtax_simulator_data import enact_hebesaetze, import_objects

PAGE = "/backoffice/hebesatz-simulation"
CSV = "/backoffice/hebesatz-simulation.csv"
FORM = {
    "levy": "property_tax",
    "residential": "650",
    "non_residential": "1080",
    "from_year": "2026",
    "years": "2",
}


def _town(db: Session, make: Any, slug: str, state: str = "NW") -> Any:
    m = make.municipality(slug=slug, state=state)
    enact_hebesaetze(db, m)
    owner, other = make.person(m), make.person(m)
    import_objects(db, m, owner, other)
    clerk = make.user(role=Role.CLERK, municipality=m)
    db.commit()
    return type("Town", (), {"m": m, "owner": owner, "clerk": clerk})


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    return _town(db, make, "musterstadt")


def _ledger(db: Session) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count(Claim.id))) or 0,
        db.scalar(select(func.count(JournalEntry.id))) or 0,
        db.scalar(select(func.count(Posting.id))) or 0,
    )


def test_figures_chart_tables_and_nothing_booked(
    client: FlaskClient, db: Session, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    nav = client.get("/backoffice/personen").get_data(as_text=True)
    assert f'href="{PAGE}"' in nav and "Hebesatz-Simulation" in nav
    before = _ledger(db)
    response = post_form(client, PAGE, FORM)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Hebesatz-Simulation: Grundsteuer ab 2026" in page
    assert "1.466,00 €" in page and "1.499,00 €" in page and "33,00 €" in page
    assert "3150/1/1" in page and str(town.owner.number) in page
    assert town.owner.family_name not in page  # data minimisation: no owner's name
    assert '<svg xmlns="http://www.w3.org/2000/svg" viewBox=' in page and 'role="img"' in page
    assert 'id="tabelle-aufkommen"' in page and 'id="tabelle-verteilung"' in page
    assert "<script" not in page.split('id="inhalt"')[-1]
    assert _ledger(db) == before


def test_csv_export_with_the_same_parameters(client: FlaskClient, db: Session, town: Any) -> None:
    staff_login(client, town.clerk.email)
    page = post_form(client, PAGE, FORM).get_data(as_text=True)
    link = re.search(r'href="(/backoffice/hebesatz-simulation\.csv\?[^"]+)"', page)
    assert link
    before = _ledger(db)
    response = client.get(link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffAbschnitt;Bezeichnung;Art;Messbetrag;Objekte;")
    lines = text.lstrip("\ufeff").splitlines()
    assert "Aufkommen (EUR);2026;Grundsteuer;;3;1466,00;1499,00;33,00" in lines
    assert "Hebesatz (%);Grundsteuer B (Wohngrundstück);;;;595;650;" in lines
    assert (
        "Größte Erhöhungen (EUR);3150/1/1;Grundsteuer B (Wohngrundstück);60,00;1;357,00;390,00;"
        "33,00" in lines
    )
    assert all(len(line.split(";")) == 8 for line in lines)  # no Personenkonto in the CSV
    assert _ledger(db) == before


def test_trade_tax_and_its_minimum(client: FlaskClient, town: Any) -> None:
    staff_login(client, town.clerk.email)
    data = {"levy": "trade_tax", "hebesatz": "500", "from_year": "2026", "years": "1"}
    page = post_form(client, PAGE, data).get_data(as_text=True)
    assert "2.360,75 €" in page and "2.485,00 €" in page and "3150/001/00042" in page
    low = post_form(client, PAGE, {**data, "hebesatz": "180"})
    assert low.status_code == 200 and "Aufkommen je Jahr" not in low.get_data(as_text=True)
    assert "mindestens 200 %" in low.get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"residential": "abc"}, "als Zahl in Prozent an"),
        ({"residential": "-5"}, "darf nicht negativ sein"),
        ({"residential": "480,125"}, "höchstens zwei Nachkommastellen"),
        ({"residential": "99999"}, "zu hoch"),
        ({"residential": "9" * 5000}, "zu hoch"),
        ({"residential": "", "non_residential": ""}, "mindestens einen Hebesatz"),
        ({"residential": ""}, "brauchen beide Felder"),
        ({"hebesatz": "500"}, "Entweder ein Hebesatz B"),
        ({"from_year": "20x6"}, "vierstellig"),
        ({"from_year": "2019"}, "keine Satzung"),
        ({"years": "99"}, "eine der Möglichkeiten"),
        ({"levy": "hundesteuer"}, "eine der Möglichkeiten"),
        ({"levy": "trade_tax"}, "Hebesatz der Gewerbesteuer an"),
        ({"levy": "trade_tax", "hebesatz": "400"}, "nur einen Hebesatz"),
    ],
)
def test_wrong_entries_re_render_the_form_in_german(
    client: FlaskClient, town: Any, changes: dict[str, str], message: str
) -> None:
    staff_login(client, town.clerk.email)
    response = post_form(client, PAGE, {**FORM, **changes})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Aufkommen je Jahr" not in page
    assert message in page and "Bitte prüfen Sie Ihre Angaben" in page
    assert 'name="csrf_token"' in page
    csv = client.get(CSV, query_string={**FORM, **changes})
    assert csv.status_code == 422 and message in csv.get_data(as_text=True)


def test_split_refused_where_the_land_does_not_allow_it(
    client: FlaskClient, db: Session, make: Any
) -> None:
    village = _town(db, make, "beispielhausen", state="BY")
    staff_login(client, village.clerk.email)
    page = post_form(client, PAGE, FORM).get_data(as_text=True)
    assert "lässt das Landesrecht in Bayern nicht zu" in page and "Aufkommen je Jahr" not in page
    one = {**FORM, "residential": "", "non_residential": "", "hebesatz": "400"}
    assert "Aufkommen je Jahr" in post_form(client, PAGE, one).get_data(as_text=True)


def test_without_csrf_token_refused(client: FlaskClient, town: Any) -> None:
    staff_login(client, town.clerk.email)
    assert client.post(PAGE, data=FORM).status_code == 400


def test_another_municipality_s_objects_never_appear(
    client: FlaskClient, db: Session, make: Any, town: Any
) -> None:
    elsewhere = make.municipality(state="NW")
    enact_hebesaetze(db, elsewhere)
    stranger = make.person(elsewhere)
    import_objects(db, elsewhere, stranger, make.person(elsewhere), prefix="4711")
    clerk = make.user(role=Role.CLERK, municipality=elsewhere)
    db.commit()
    staff_login(client, clerk.email)
    page = post_form(client, PAGE, FORM).get_data(as_text=True)
    assert "4711/1/1" in page and "3150/1/" not in page  # the own town's objects only
    text = client.get(CSV, query_string=FORM).get_data(as_text=True)
    assert "4711/1/1" in text and "3150/" not in text
    # its own statute (one B rate of 350 %; NRW law allows the split) and its 3 objects
    assert "Aufkommen (EUR);2026;Grundsteuer;;3;594,00;1504,00;910,00" in text.splitlines()


@pytest.mark.parametrize("path", [PAGE, f"{CSV}?levy=trade_tax&hebesatz=400&from_year=2026"])
def test_citizens_and_visitors_get_no_access(
    client: FlaskClient, make: Any, db: Session, path: str
) -> None:
    m = make.municipality()
    citizen = make.user()
    make.person(m, user=citizen)
    db.commit()
    assert client.get(path).status_code == 302  # to the log-in
    login(client, m.slug, citizen.email)
    assert client.get(path).status_code == 403
    assert client.post(
        PAGE, data={"csrf_token": csrf_token(client, f"/{m.slug}/"), **FORM}
    ).status_code in (400, 403)
