"""Change of address from the account through the Flask test client: straight through when no
criterion applies, to a clerk when the new address lies outside the municipality (and the
clerk's approval carries it out), German errors that keep what was typed."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.address import SERVICE_ADDRESS_CHANGE
from core.identity.models import Role
from core.kernel import clock
from core.persons.models import Address
from core.workflow.applications import Application, ApplicationStatus
from tests import factories
from tests.conftest import login, post_form, staff_login


@pytest.fixture
def citizen(client: FlaskClient, make: Any) -> Any:
    m = make.municipality()  # postal code 12345, as the person's current address
    user = make.user()
    person = make.person(m, user=user, family_name="Umzug")
    login(client, m.slug, user.email)
    return m, person


def move(client: FlaskClient, m: Any, **changes: str) -> Any:
    data = {
        "street": "Neue Straße",
        "house_number": "7a",
        "postal_code": "12345",
        "city": m.city,
        "valid_from": (clock.today() - timedelta(days=5)).isoformat(),
    }
    data.update(changes)
    return post_form(client, f"/{m.slug}/anschrift/aendern", data)


def addresses(db: Session, person: Any) -> list[Address]:
    return list(
        db.scalars(
            select(Address).where(Address.person_id == person.id).order_by(Address.valid_from)
        )
    )


def application_of(db: Session, person: Any) -> Application:
    return db.scalars(
        select(Application).where(
            Application.person_id == person.id, Application.service == SERVICE_ADDRESS_CHANGE
        )
    ).one()


def test_account_shows_the_address_and_links_to_the_change(
    client: FlaskClient, citizen: Any
) -> None:
    m, _person = citizen
    page = html.unescape(client.get(f"/{m.slug}/konto").get_data(as_text=True))
    assert f"/{m.slug}/anschrift/aendern" in page and "Anschrift ändern" in page
    assert f"12345 {m.city}" in page
    form = html.unescape(client.get(f"/{m.slug}/anschrift/aendern").get_data(as_text=True))
    assert "Bisherige Anschrift" in form and f"12345 {m.city}" in form


def test_inside_the_municipality_goes_straight_through(
    client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, person = citizen
    response = move(client, m)
    assert response.status_code == 302
    application = application_of(db, person)
    assert application.status is ApplicationStatus.APPROVED
    assert application.review_reasons == []
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Änderung der Anschrift" in page and "Erledigt" in page
    assert "Meine Hunde" not in page and "neuen Bescheid" not in page  # no dog, no notice
    assert "Mein Konto" in page
    old, new = addresses(db, person)
    moved_on = clock.today() - timedelta(days=5)
    assert (new.street, new.house_number, new.postal_code) == ("Neue Straße", "7a", "12345")
    assert new.valid_from == moved_on and new.valid_to is None and old.valid_to == moved_on
    account = html.unescape(client.get(f"/{m.slug}/konto").get_data(as_text=True))
    assert f"Neue Straße 7a, 12345 {m.city}" in account


def test_outside_the_municipality_waits_for_a_clerk_who_approves(
    client: FlaskClient, db: Session, citizen: Any, make: Any, app: Any
) -> None:
    m, person = citizen
    response = move(client, m, postal_code="54321", city="Anderswo")
    assert response.status_code == 302
    application = application_of(db, person)
    assert application.status is ApplicationStatus.IN_REVIEW
    assert application.review_reasons == [
        "Neue Anschrift außerhalb der Kommune (andere Postleitzahl)"
    ]
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "In Prüfung" in page
    assert len(addresses(db, person)) == 1  # nothing changed yet

    clerk = app.test_client()
    staff = make.user(role=Role.CLERK, municipality=m)
    staff_login(clerk, staff.email)
    queue = html.unescape(clerk.get("/backoffice/pruefung").get_data(as_text=True))
    assert "Änderung der Anschrift" in queue
    url = f"/backoffice/antraege/{application.id}"
    assert "Anderswo" in html.unescape(clerk.get(url).get_data(as_text=True))
    assert post_form(clerk, url, {"decision": "approve", "message": ""}).status_code == 302
    db.refresh(application)
    assert application.status is ApplicationStatus.APPROVED
    db.expire(person, ["addresses"])
    assert [a.city for a in addresses(db, person)] == [m.city, "Anderswo"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"street": ""}, "street", "Bitte geben Sie die Straße an."),
        ({"postal_code": "1234"}, "postal_code", "Die Postleitzahl hat fünf Ziffern."),
        ({"valid_from": ""}, "valid_from", "Bitte geben Sie das Datum des Umzugs an."),
        (
            {"valid_from": (clock.today() + timedelta(days=120)).isoformat()},
            "valid_from",
            "höchstens 3 Monate in der Zukunft",
        ),
        (
            {"valid_from": "2020-01-01"},
            "valid_from",
            f"nach dem Beginn Ihrer bisherigen Anschrift ({factories.AS_OF:%d.%m.%Y})",
        ),
    ],
)
def test_errors_come_back_in_german_and_keep_the_input(
    client: FlaskClient,
    db: Session,
    citizen: Any,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    m, person = citizen
    response = move(client, m, house_number="99b", **changes)
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert "Bitte prüfen Sie Ihre Angaben" in page and message in page
    assert f'href="#{field}"' in page
    assert 'value="99b"' in page
    assert len(addresses(db, person)) == 1
    assert db.scalars(select(Application).where(Application.person_id == person.id)).all() == []


def test_without_csrf_token_nothing_changes(client: FlaskClient, db: Session, citizen: Any) -> None:
    m, person = citizen
    response = client.post(
        f"/{m.slug}/anschrift/aendern",
        data={
            "street": "X",
            "house_number": "1",
            "postal_code": "12345",
            "city": "Y",
            "valid_from": clock.today().isoformat(),
        },
    )
    assert response.status_code == 400
    assert len(addresses(db, person)) == 1
