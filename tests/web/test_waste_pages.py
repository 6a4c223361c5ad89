"""Waste pages through the Flask test client: the bin forms, ownership checks, the back-office
decision on a waste application and the depot's work orders."""

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel import clock
from core.levies.waste.models import WasteBin, WorkOrder, WorkOrderStatus
from core.workflow.applications import Application, ApplicationStatus
from tests.conftest import csrf_token, login, post_form, staff_login


@pytest.fixture
def citizen(client: FlaskClient, make: Any) -> Any:
    m = make.municipality()
    make.waste_statute(m)
    user = make.user()
    person = make.person(m, user=user, family_name="Tonnenhalter")
    prop = make.waste_property(m, person, liable_from=clock.today() - timedelta(days=400))
    login(client, m.slug, user.email)
    return m, person, prop


def days(n: int) -> str:
    return (clock.today() + timedelta(days=n)).isoformat()


def register(client: FlaskClient, m: Any, prop: Any, **changes: str) -> Any:
    data = {"litres": "120", "rhythm": "fortnightly", "start": days(-10)}
    data.update(changes)
    return post_form(client, f"/{m.slug}/abfall/grundstuecke/{prop.id}/behaelter", data)


def own_bin(db: Session, prop: Any) -> WasteBin:
    return db.scalars(
        select(WasteBin).where(WasteBin.property_id == prop.id, WasteBin.end.is_(None))
    ).one()


def test_account_links_to_the_waste_page(client: FlaskClient, citizen: Any) -> None:
    m, _person, prop = citizen
    assert f"/{m.slug}/abfall" in client.get(f"/{m.slug}/konto").get_data(as_text=True)
    page = client.get(f"/{m.slug}/abfall").get_data(as_text=True)
    assert prop.label in page and "Für dieses Grundstück ist kein Behälter angemeldet." in page


def test_register_a_bin_gets_a_number_a_delivery_and_a_notice(
    client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, _person, prop = citizen
    response = register(client, m, prop)
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Erledigt" in page and "Behälter: Nr. 1" in page and "Abfallbehälter" in page
    overview = client.get(f"/{m.slug}/abfall").get_data(as_text=True)
    assert "Behälter Nr. 1" in overview
    assert "Behälter liefern: Nr. 1 (120 Liter, 14-täglich)" in overview
    assert "Anmeldung eines Abfallbehälters" in overview
    assert "Abfallgebühren" in client.get(f"/{m.slug}/bescheide").get_data(as_text=True)


def test_bad_input_comes_back_in_german_and_keeps_what_was_typed(
    client: FlaskClient, citizen: Any
) -> None:
    m, _person, prop = citizen
    page = register(client, m, prop, litres="240", start=days(90)).get_data(as_text=True)
    assert "höchstens 31 Tage in der Zukunft" in page
    assert 'selected value="240"' in page and f'value="{days(90)}"' in page
    page = register(client, m, prop, litres="100").get_data(as_text=True)
    assert "Für 100 Liter, 14-täglich, sieht die Satzung keinen Behälter vor." in page
    page = register(client, m, prop, rhythm="").get_data(as_text=True)
    assert "Bitte wählen Sie einen Abfuhrrhythmus." in page


def test_change_swap_and_deregister_through_the_forms(
    client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, _person, prop = citizen
    register(client, m, prop)
    old = own_bin(db, prop)
    url = f"/{m.slug}/abfall/behaelter/{old.id}"
    same = post_form(
        client, f"{url}/aendern", {"litres": "120", "rhythm": "fortnightly", "start": days(5)}
    ).get_data(as_text=True)
    assert "andere Größe" in same
    changed = post_form(
        client, f"{url}/aendern", {"litres": "240", "rhythm": "fortnightly", "start": days(5)}
    )
    assert changed.status_code == 302
    new = own_bin(db, prop)
    db.refresh(old)
    assert new.litres == 240 and old.end == clock.today() + timedelta(days=4)
    assert client.get(f"{url}/schaden").status_code == 404  # the old bin is gone
    url = f"/{m.slug}/abfall/behaelter/{new.id}"
    assert post_form(client, f"{url}/schaden", {"note": "Deckel ab"}).status_code == 302
    assert post_form(client, f"{url}/abmelden", {"end": days(20)}).status_code == 302
    kinds = [
        o.kind.value
        for o in db.scalars(
            select(WorkOrder).where(WorkOrder.property_id == prop.id).order_by(WorkOrder.id)
        )
    ]
    assert kinds == ["deliver", "pick_up", "deliver", "swap"]
    last = db.scalars(select(Application).order_by(Application.id.desc())).first()
    assert last.service == "bin_deregistration"
    assert last.status is ApplicationStatus.IN_REVIEW  # no bin left for three residents


def test_citizens_cannot_touch_other_peoples_bins(
    client: FlaskClient, app: Any, make: Any, citizen: Any, db: Session
) -> None:
    m, _person, prop = citizen
    register(client, m, prop)
    waste_bin = own_bin(db, prop)
    other = make.user()
    make.person(m, user=other)
    stranger = app.test_client()
    login(stranger, m.slug, other.email)
    assert stranger.get(f"/{m.slug}/abfall/grundstuecke/{prop.id}/behaelter").status_code == 404
    for action in ("aendern", "schaden", "abmelden"):
        url = f"/{m.slug}/abfall/behaelter/{waste_bin.id}/{action}"
        assert stranger.get(url).status_code == 404
    application = db.scalars(select(Application)).first()
    assert stranger.get(f"/{m.slug}/antraege/{application.id}").status_code == 404
    assert prop.label not in stranger.get(f"/{m.slug}/abfall").get_data(as_text=True)


def test_clerk_approves_a_bin_below_the_minimum_and_marks_the_delivery_done(
    client: FlaskClient, app: Any, db: Session, make: Any, citizen: Any
) -> None:
    m, person, prop = citizen
    prop.residents = 9  # 60 l a week for nine persons
    db.flush()
    register(client, m, prop)
    application = db.scalars(select(Application).where(Application.person_id == person.id)).one()
    assert application.status is ApplicationStatus.IN_REVIEW
    clerk = make.user(role=Role.CLERK, municipality=m)
    desk = app.test_client()
    staff_login(desk, clerk.email)
    queue = desk.get("/backoffice/pruefung").get_data(as_text=True)
    assert "Anmeldung eines Abfallbehälters" in queue and "Mindestvolumen" in queue
    url = f"/backoffice/antraege/{application.id}"
    assert "14-täglich" in desk.get(url).get_data(as_text=True)
    assert post_form(desk, url, {"decision": "approve", "message": ""}).status_code == 302
    db.refresh(application)
    assert application.status is ApplicationStatus.APPROVED
    detail = desk.get(f"/backoffice/personen/{person.id}").get_data(as_text=True)
    assert prop.label in detail and "Behälter Nr. 1: 120 l, 14-täglich" in detail
    orders = desk.get("/backoffice/abfuhrauftraege").get_data(as_text=True)
    assert "Behälter liefern" in orders and "Tonnenhalter" in orders
    order = db.scalars(select(WorkOrder).where(WorkOrder.property_id == prop.id)).one()
    done_url = f"/backoffice/abfuhrauftraege/{order.id}/erledigt"
    assert desk.post(done_url).status_code == 400  # no CSRF token
    token = csrf_token(desk, "/backoffice/abfuhrauftraege")
    assert desk.post(done_url, data={"csrf_token": token}).status_code == 302
    db.refresh(order)
    assert order.status is WorkOrderStatus.DONE and order.done_by == f"user:{clerk.id}"
    assert "Keine offenen Aufträge" in desk.get("/backoffice/abfuhrauftraege").get_data(
        as_text=True
    )


def test_clerks_of_another_municipality_see_nothing(
    client: FlaskClient, app: Any, db: Session, make: Any, citizen: Any
) -> None:
    m, person, prop = citizen
    register(client, m, prop)
    order = db.scalars(select(WorkOrder).where(WorkOrder.property_id == prop.id)).one()
    clerk = make.user(role=Role.CLERK, municipality=make.municipality())
    desk = app.test_client()
    staff_login(desk, clerk.email)
    assert "Keine offenen Aufträge" in desk.get("/backoffice/abfuhrauftraege").get_data(
        as_text=True
    )
    done_url = f"/backoffice/abfuhrauftraege/{order.id}/erledigt"
    token = csrf_token(desk, "/backoffice/pruefung")
    assert desk.post(done_url, data={"csrf_token": token}).status_code == 404
    assert desk.get(f"/backoffice/personen/{person.id}").status_code == 404
    db.refresh(order)
    assert order.status is WorkOrderStatus.OPEN
