"""The clerk's page for the tax office's basis notices: upload (CSRF, whole-file refusal listed
in German, no server error on garbage), the imports, the queue with suggestions and the
assignment — limited to the clerk's own municipality; an accepted upload says what it assessed."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.ledger.models import Claim
from core.levies.basis_notices import queue
from core.levies.basis_notices.applying import find_object
from core.levies.basis_notices.models import BasisNotice, BasisNoticeImport, TaxKind
from core.levies.trade_tax import approval
from core.notices.records import Notice
from core.persons.models import PersonKind
from tests.basis_notice_files import business, delivery, plot
from tests.conftest import csrf_token, staff_login
from tests.integration.test_property_tax_levy import enact

PAGE = "/backoffice/messbescheide"


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    m = make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=m)
    owner = make.person(m, family_name="Ackermann")
    db.commit()
    return type("Town", (), {"m": m, "clerk": clerk, "owner": owner})


def _upload(client: FlaskClient, data: bytes, filename: str = "lieferung.xml") -> Any:
    return client.post(
        PAGE,
        data={"csrf_token": csrf_token(client, PAGE), "delivery": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def _imports(db: Session) -> int:
    return db.scalar(select(func.count(BasisNoticeImport.id))) or 0


def test_upload_imports_and_a_second_upload_changes_nothing(
    client: FlaskClient, db: Session, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    data = delivery(plot(town.m, person_number=town.owner.number), business(town.m, name="Neu"))
    page = _upload(client, data).get_data(as_text=True)
    assert "2 Bescheide, 1 übernommen, 1 zur Klärung, 0 schon bekannt" in page
    assert "Zur Klärung (1)" in page and "5315/001/00042" in page
    notices = db.scalar(select(func.count(BasisNotice.id)))
    again = _upload(client, data, "nochmal.xml").get_data(as_text=True)
    assert "wurde bereits eingelesen; es wurde nichts geändert" in again
    assert db.scalar(select(func.count(BasisNotice.id))) == notices and _imports(db) == 1


def test_refused_file_lists_every_line_in_german_and_applies_nothing(
    client: FlaskClient, db: Session, town: Any, make: Any
) -> None:
    staff_login(client, town.clerk.email)
    elsewhere = make.municipality()
    data = delivery(
        plot(town.m, person_number=town.owner.number),
        plot(town.m, "3150/2/2", person_number=987654),
        plot(elsewhere, "3150/3/3"),
    )
    response = _upload(client, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Abgelehnte Zeilen (2)" in page
    assert "Personenkonto 987654 gibt es" in page and "für die Gemeinde" in page
    assert "es wurde nichts übernommen" in page
    assert _imports(db) == 0
    assert find_object(db, town.m.id, TaxKind.PROPERTY_TAX, "3150/123/4567") is None


@pytest.mark.parametrize(
    "junk",
    [b"", b"%PDF-1.4 kein XML", b"<messbescheide", b"\xff\xfe\x00<<", b"<a/>", b"x" * 5000],
)
def test_garbage_gets_a_german_message_never_a_server_error(
    client: FlaskClient, db: Session, town: Any, junk: bytes
) -> None:
    staff_login(client, town.clerk.email)
    response = _upload(client, junk, "kaputt.xml")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "nichts übernommen" in page or "Bitte wählen Sie die Datei" in page
    assert _imports(db) == 0


def test_upload_without_csrf_token_is_refused(client: FlaskClient, db: Session, town: Any) -> None:
    staff_login(client, town.clerk.email)
    data = delivery(plot(town.m, person_number=town.owner.number))
    response = client.post(
        PAGE,
        data={"delivery": (io.BytesIO(data), "x.xml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Formular abgelaufen" in response.get_data(as_text=True)
    assert _imports(db) == 0


def test_clerk_assigns_a_queued_notice_from_the_suggestions(
    client: FlaskClient, db: Session, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    _upload(client, delivery(plot(town.m, "3150/9/9", name="Ackermann")))
    pending = queue.open_pending(db, town.m.id)[0]
    url = f"{PAGE}/klaerung/{pending.id}"
    page = client.get(url).get_data(as_text=True)
    assert "Vorschläge" in page and f"Personenkonto {town.owner.number}" in page
    assert client.get(f"{url}?q=Ackermann").status_code == 200
    token = csrf_token(client, url)
    refused = client.post(f"{url}/zuordnen", data={"person_id": str(town.owner.id)})
    assert refused.status_code == 400  # no CSRF token
    bogus = client.post(f"{url}/zuordnen", data={"csrf_token": token, "person_id": "abc"})
    assert bogus.status_code == 404
    done = client.post(
        f"{url}/zuordnen",
        data={"csrf_token": token, "person_id": str(town.owner.id)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "zugeordnet und übernommen" in done and "Keine Bescheide zu klären" in done
    obj = find_object(db, town.m.id, TaxKind.PROPERTY_TAX, "3150/9/9")
    assert obj is not None and obj.person_id == town.owner.id
    person_page = client.get(f"/backoffice/personen/{town.owner.id}").get_data(as_text=True)
    assert "3150/9/9" in person_page and "Messbetrag 60,00" in person_page


def test_another_municipalitys_records_are_not_visible(
    client: FlaskClient, db: Session, town: Any, make: Any
) -> None:
    other = make.municipality()
    other_clerk = make.user(role=Role.CLERK, municipality=other)
    db.commit()
    staff_login(client, town.clerk.email)
    _upload(client, delivery(plot(town.m, "3150/4/4", name="Geheim")))
    pending = queue.open_pending(db, town.m.id)[0]
    client.post("/backoffice/abmelden", data={"csrf_token": csrf_token(client, PAGE)})
    staff_login(client, other_clerk.email)
    page = client.get(PAGE).get_data(as_text=True)
    assert "3150/4/4" not in page and "Geheim" not in page and "lieferung.xml" not in page
    assert client.get(f"{PAGE}/klaerung/{pending.id}").status_code == 404
    token = csrf_token(client, PAGE)
    stolen = client.post(
        f"{PAGE}/klaerung/{pending.id}/zuordnen",
        data={"csrf_token": token, "person_id": str(town.owner.id)},
    )
    assert stolen.status_code == 404
    # the other clerk's own upload of the first town's file is refused as another municipality
    page = _upload(client, delivery(plot(town.m, "3150/5/5"))).get_data(as_text=True)
    assert re.search(r"für die Gemeinde \d{8}, nicht für", page)


def test_upload_assesses_what_it_brought_and_says_so_in_german(
    client: FlaskClient, db: Session, make: Any, town: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENKASSE_TODAY", "2026-06-20")
    enact(db, town.m)
    make.trade_tax_statute(town.m)
    firm = make.person(town.m, kind=PersonKind.BUSINESS, company_name="Werk GmbH")
    db.commit()
    staff_login(client, town.clerk.email)
    data = delivery(
        plot(town.m, person_number=town.owner.number),  # from 2025: the notices of 2025 and 2026
        business(town.m, person_number=firm.number, messbetrag_cents=300000),  # above the limit
    )
    page = _upload(client, data).get_data(as_text=True)
    assert "2 Bescheide, 2 übernommen, 0 zur Klärung, 0 schon bekannt" in page
    assert (
        "Festgesetzt: 2 Grundsteuerbescheide erlassen, 0 Gewerbesteuerbescheide erlassen, "
        "1 warten auf Freigabe." in page
    )
    assert db.scalar(select(func.count(Notice.id)).where(Notice.person_id == town.owner.id)) == 2
    assert len(approval.open_applications(db, town.m.id)) == 1
    again = _upload(client, data, "nochmal.xml").get_data(as_text=True)
    assert "bereits eingelesen" in again and "Festgesetzt" not in again
    assert db.scalar(select(func.count(Notice.id))) == 2
    assert len(approval.open_applications(db, town.m.id)) == 1


def test_an_assigned_notice_is_assessed_at_once(
    client: FlaskClient, db: Session, town: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENKASSE_TODAY", "2026-06-20")
    enact(db, town.m)
    db.commit()
    staff_login(client, town.clerk.email)
    _upload(client, delivery(plot(town.m, "3150/9/9", name="Ackermann")))
    claims = select(func.coalesce(func.sum(Claim.amount_cents), 0)).where(
        Claim.person_id == town.owner.id
    )
    assert db.scalar(claims) == 0
    pending = queue.open_pending(db, town.m.id)[0]
    url = f"{PAGE}/klaerung/{pending.id}"
    token = csrf_token(client, url)
    done = client.post(
        f"{url}/zuordnen",
        data={"csrf_token": token, "person_id": str(town.owner.id)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "zugeordnet und übernommen. Festgesetzt: 2 Grundsteuerbescheide erlassen" in done
    assert db.scalar(claims) == 2 * 28800  # 2025 and 2026
    again = client.post(
        f"{url}/zuordnen", data={"csrf_token": token, "person_id": str(town.owner.id)}
    )
    assert again.status_code == 302 and db.scalar(claims) == 2 * 28800
