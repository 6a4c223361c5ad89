"""The back office's enforcement pages: hand-over, the list and a case's page, the case file
as PDF and XML, costs, write-offs with four eyes (a clerk requests, an approver approves, never
the same person); other municipalities' cases and bad input are a German 4xx, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy.orm import Session

from core.dunning import case_file, enforcement
from core.dunning.enforcement_models import CaseStatus
from core.identity.models import Role
from core.kernel.references import format_kassenzeichen
from tests.conftest import csrf_token, post_form, staff_login
from tests.integration.test_enforcement import HAND_OVER, scene  # noqa: F401  (fixture)

LIST = "/backoffice/vollstreckung"


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENKASSE_TODAY", HAND_OVER.isoformat())


def desk(app: Any, make: Any, m: Any, role: Role = Role.CLERK) -> FlaskClient:
    client = app.test_client()
    staff_login(client, make.user(role=role, municipality=m).email)
    return client


def handed_over(app: Any, make: Any, db: Session, scene: dict[str, Any]) -> tuple[Any, Any]:  # noqa: F811
    clerk = desk(app, make, scene["m"])
    response = post_form(clerk, LIST, {})
    assert response.status_code == 302
    db.expire_all()
    (case,) = enforcement.cases_of(db, scene["m"].id)
    return clerk, case


def test_hand_over_list_case_page_and_files(
    app: Any,
    make: Any,
    db: Session,
    scene: dict[str, Any],  # noqa: F811
) -> None:
    clerk, case = handed_over(app, make, db, scene)
    assert case.person_id == scene["people"]["anna"].id
    listing = clerk.get(LIST).get_data(as_text=True)
    assert f'href="{LIST}/{case.id}"' in listing and "an die Vollstreckung abgegeben" in listing
    page = clerk.get(f"{LIST}/{case.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert format_kassenzeichen(scene["claims"]["anna"].kassenzeichen) in html
    assert "Pfändungsgebühr" in html  # the cost kinds of the statute
    pdf = clerk.get(f"{LIST}/{case.id}/fallakte.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    xml = clerk.get(f"{LIST}/{case.id}/fallakte.xml")
    assert xml.mimetype == "application/xml"
    etree.XMLSchema(etree.parse(str(case_file.XSD))).assertValid(etree.fromstring(xml.data))
    assert post_form(clerk, LIST, {}).status_code == 302  # again: nothing new
    db.expire_all()
    assert len(enforcement.cases_of(db, scene["m"].id)) == 1
    assert clerk.get(f"{LIST}?status=paid").status_code == 200
    assert clerk.get(f"{LIST}?status=bogus").status_code == 200


def test_cost_booked_from_the_case_page(
    app: Any,
    make: Any,
    db: Session,
    scene: dict[str, Any],  # noqa: F811
) -> None:
    clerk, case = handed_over(app, make, db, scene)
    url = f"{LIST}/{case.id}"
    token = csrf_token(clerk, url)
    done = clerk.post(
        url, data={"cost-csrf_token": token, "action": "cost", "cost-code": "auslagen"}
    )
    assert done.status_code == 302
    db.expire_all()
    assert sum(enforcement.open_of(db, case).values()) == case.handed_over_cents + 350
    bad = clerk.post(url, data={"cost-csrf_token": token, "action": "cost", "cost-code": "haft"})
    assert bad.status_code == 200 and "Bitte wählen Sie eine der Möglichkeiten." in bad.get_data(
        as_text=True
    )


def test_write_off_four_eyes(app: Any, make: Any, db: Session, scene: dict[str, Any]) -> None:  # noqa: F811
    clerk, case = handed_over(app, make, db, scene)
    url = f"{LIST}/{case.id}"
    token = csrf_token(clerk, url)
    request = {"wo-csrf_token": token, "action": "write_off", "wo-kind": "remission"}
    short = clerk.post(url, data={**request, "wo-reason": "kurz"})
    assert "mindestens 10 Zeichen" in short.get_data(as_text=True)
    bogus = clerk.post(url, data={**request, "wo-kind": "alles", "wo-reason": "x" * 20})
    assert bogus.status_code == 200
    assert "Bitte wählen Sie eine der Möglichkeiten." in bogus.get_data(as_text=True)
    asked = clerk.post(url, data={**request, "wo-reason": "Unbillige Härte laut Bescheid"})
    assert asked.status_code == 302
    db.expire_all()
    pending = enforcement_pending(db, case)
    decide = {"decide-csrf_token": token, "action": "approve", "write_off_id": str(pending.id)}
    own = clerk.post(url, data=decide).get_data(as_text=True)
    assert "Freigabe" in own  # a clerk may not approve (and never the requester)
    assert clerk.post(url, data={**decide, "write_off_id": "abc"}).status_code == 404
    assert clerk.post(url, data={**decide, "write_off_id": "999999"}).status_code == 200
    approver = desk(app, make, scene["m"], Role.APPROVER)
    assert (
        approver.post(
            url, data={**decide, "decide-csrf_token": csrf_token(approver, url)}
        ).status_code
        == 302
    )
    db.expire_all()
    assert case.status is CaseStatus.WRITTEN_OFF
    assert sum(enforcement.open_of(db, case).values()) == 0
    assert "abgeschrieben" in approver.get(url).get_data(as_text=True)


def enforcement_pending(db: Session, case: Any) -> Any:
    from core.dunning import writeoffs

    found = writeoffs.pending(db, case)
    assert found is not None
    return found


def test_other_municipality_and_bad_urls(
    app: Any,
    make: Any,
    db: Session,
    scene: dict[str, Any],  # noqa: F811
) -> None:
    _, case = handed_over(app, make, db, scene)
    other = desk(app, make, make.municipality())
    for path in ("", "/fallakte.pdf", "/fallakte.xml"):
        assert other.get(f"{LIST}/{case.id}{path}").status_code == 404
    assert other.get(f"{LIST}/999999").status_code == 404
    token = csrf_token(other, LIST)
    forged = {"cost-csrf_token": token, "action": "cost", "cost-code": "auslagen"}
    assert other.post(f"{LIST}/{case.id}", data=forged).status_code == 404
    anonymous = app.test_client()
    assert anonymous.get(LIST).status_code in (302, 401, 403)
    no_csrf = desk(app, make, scene["m"]).post(f"{LIST}/{case.id}", data={"action": "write_off"})
    assert no_csrf.status_code == 400  # CSRF refused before the view
