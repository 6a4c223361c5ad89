"""Nothing of one municipality is visible from another: portal and back office."""

from typing import Any

from flask.testing import FlaskClient

from core.identity.models import Role
from tests.conftest import login, staff_login


def test_citizen_sees_only_this_municipalitys_items(client: FlaskClient, make: Any) -> None:
    a, b = make.municipality(name="Stadt Alpha"), make.municipality(name="Gemeinde Beta")
    u = make.user()
    pa = make.person(a, user=u)
    ca = make.claim(a, pa, amount=4321, description="Hundesteuer Alpha")
    login(client, a.slug, u.email)
    page_a = client.get(f"/{a.slug}/konto").get_data(as_text=True)
    assert "Hundesteuer Alpha" in page_a and "43,21" in page_a
    page_b = client.get(f"/{b.slug}/konto").get_data(as_text=True)
    assert "Keine Vorgänge bei Gemeinde Beta" in page_b
    assert ca.kassenzeichen[:3] not in page_b.replace(b.kassenzeichen_prefix, "")
    assert "Hundesteuer Alpha" not in page_b and "43,21" not in page_b


def test_citizen_never_sees_another_citizens_items(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    me, other = make.user(), make.user()
    make.claim(m, make.person(m, user=me), amount=1111, description="Meine Steuer")
    make.claim(m, make.person(m, user=other), amount=2222, description="Fremde Steuer")
    login(client, m.slug, me.email)
    page = client.get(f"/{m.slug}/konto").get_data(as_text=True)
    assert "Meine Steuer" in page
    assert "Fremde Steuer" not in page and "22,22" not in page


def test_clerk_cannot_find_or_open_persons_of_another_municipality(
    client: FlaskClient, make: Any
) -> None:
    a, b = make.municipality(), make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=a)
    mine = make.person(a, family_name="Zander")
    theirs = make.person(b, family_name="Zander")
    staff_login(client, clerk.email)
    page = client.get("/backoffice/personen?q=Zander").get_data(as_text=True)
    assert f"/backoffice/personen/{mine.id}" in page
    assert f"/backoffice/personen/{theirs.id}" not in page
    assert client.get(f"/backoffice/personen/{mine.id}").status_code == 200
    assert client.get(f"/backoffice/personen/{theirs.id}").status_code == 404
    # person numbers restart per municipality: searching by number finds only one's own
    page = client.get(f"/backoffice/personen?q={theirs.number}").get_data(as_text=True)
    assert f"/backoffice/personen/{theirs.id}" not in page


def test_unknown_municipality_is_not_found(client: FlaskClient) -> None:
    assert client.get("/gibt-es-nicht/").status_code == 404
    assert client.get("/gibt-es-nicht/konto").status_code == 404
