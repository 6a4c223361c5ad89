"""Dog-tax pages through the Flask test client: forms, ownership checks, downloads, the public
notice page and the back-office decisions."""

import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel import archive, clock
from core.levies.dog_tax.models import Dog
from core.notices.records import Notice, NoticeSettings, link_token
from core.workflow.applications import Application, ApplicationStatus
from tests.conftest import csrf_token, login, post_form, staff_login


@pytest.fixture
def citizen(client: FlaskClient, make: Any) -> Any:
    m = make.municipality()
    make.dog_tax_statute(m)
    user = make.user()
    person = make.person(m, user=user, family_name="Hundhalter")
    login(client, m.slug, user.email)
    return m, user, person


def registration(**changes: Any) -> dict[str, str]:
    today = clock.today()
    data = {
        "name": "Bello",
        "breed": "Mischling",
        "breed_other": "",
        "born_on": (today - timedelta(days=800)).isoformat(),
        "acquired_on": (today - timedelta(days=10)).isoformat(),
        "chip_number": "276098100000001",
        "exemption_code": "",
        "exemption_note": "",
    }
    data.update(changes)
    return data


def test_register_a_dog_gets_a_tag_and_a_notice(
    client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, _user, person = citizen
    response = post_form(client, f"/{m.slug}/hunde/anmelden", registration())
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Erledigt" in page and "Hundemarke: Nr. 1" in page
    notices_page = client.get(f"/{m.slug}/bescheide").get_data(as_text=True)
    assert "Hundesteuer" in notices_page
    notice = db.scalars(select(Notice).where(Notice.person_id == person.id)).first()
    pdf = client.get(f"/{m.slug}/bescheide/{notice.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    db.refresh(notice)
    downloads = archive.downloads_of(db, [notice.document_id])
    assert len(downloads) == 1 and downloads[0].actor.startswith("user:")


def test_bad_input_comes_back_in_german_and_keeps_what_was_typed(
    client: FlaskClient, citizen: Any
) -> None:
    m, _user, _person = citizen
    future = (clock.today() + timedelta(days=90)).isoformat()
    page = post_form(
        client,
        f"/{m.slug}/hunde/anmelden",
        registration(name="Wuffi", chip_number="12ab", acquired_on=future),
    ).get_data(as_text=True)
    assert "Die Chipnummer hat genau 15 Ziffern." in page
    assert "höchstens 31 Tage in der Zukunft" in page
    assert 'value="Wuffi"' in page
    page = post_form(
        client, f"/{m.slug}/hunde/anmelden", registration(breed="__andere__")
    ).get_data(as_text=True)
    assert "Bitte geben Sie die Rasse an." in page


def test_proof_upload_must_be_a_real_pdf_or_image(
    client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, _user, person = citizen
    url = f"/{m.slug}/hunde/anmelden"
    fake = {
        **registration(exemption_code="assistance"),
        "csrf_token": csrf_token(client, url),
        "proof": (io.BytesIO(b"MZ not a pdf"), "nachweis.pdf"),
    }
    page = client.post(url, data=fake, content_type="multipart/form-data").get_data(as_text=True)
    assert "keine gültige PDF-, JPG- oder PNG-Datei" in page
    real = {
        **registration(exemption_code="assistance"),
        "csrf_token": csrf_token(client, url),
        "proof": (io.BytesIO(b"%PDF-1.4 Ausweis"), "nachweis.pdf"),
    }
    response = client.post(url, data=real, content_type="multipart/form-data")
    assert response.status_code == 302
    application = db.scalars(select(Application).where(Application.person_id == person.id)).one()
    assert application.status is ApplicationStatus.IN_REVIEW  # exemptions need a clerk
    proof = db.get(archive.Document, application.data["proof_document_id"])
    assert proof.media_type == "application/pdf" and proof.person_id == person.id


def test_citizens_cannot_touch_other_peoples_dogs_or_notices(
    client: FlaskClient, db: Session, make: Any, citizen: Any
) -> None:
    m, _user, _person = citizen
    other = make.person(m)
    dog = Dog(
        municipality_id=m.id,
        person_id=other.id,
        name="Fremd",
        breed="Mischling",
        acquired_on=date(2024, 1, 1),
        tag_number=99,
        status="active",
    )
    db.add(dog)
    db.flush()
    from core.levies.dog_tax import assessment as dog_tax_run

    notice = dog_tax_run.assess_person(
        db, person=other, municipality=m, year=2026, as_of=date(2026, 1, 10), actor="test"
    )
    db.commit()
    for url in (
        f"/{m.slug}/hunde/{dog.id}/abmelden",
        f"/{m.slug}/hunde/{dog.id}/ersatzmarke",
        f"/{m.slug}/bescheide/{notice.id}.pdf",
    ):
        assert client.get(url).status_code == 404, url
    assert "Fremd" not in client.get(f"/{m.slug}/hunde").get_data(as_text=True)


def test_deregistration_before_registration_is_refused_in_german(
    client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, _user, person = citizen
    post_form(client, f"/{m.slug}/hunde/anmelden", registration())
    dog = db.scalars(select(Dog).where(Dog.person_id == person.id)).one()
    page = post_form(
        client,
        f"/{m.slug}/hunde/{dog.id}/abmelden",
        {"reason": "died", "ended_on": "2001-01-01", "new_owner": ""},
    ).get_data(as_text=True)
    assert "kann nicht vor der Anmeldung liegen" in page
    response = post_form(
        client,
        f"/{m.slug}/hunde/{dog.id}/abmelden",
        {"reason": "died", "ended_on": clock.today().isoformat(), "new_owner": ""},
    )
    assert response.status_code == 302
    assert "abgemeldet" in client.get(f"/{m.slug}/hunde").get_data(as_text=True)


def test_public_notice_page_shows_amounts_but_no_personal_data(
    app: Any, client: FlaskClient, db: Session, citizen: Any
) -> None:
    m, _user, person = citizen
    post_form(client, f"/{m.slug}/hunde/anmelden", registration())
    notice = db.scalars(select(Notice).where(Notice.person_id == person.id)).first()
    settings = NoticeSettings(secret=app.config["SECRET_KEY"], public_base_url="http://x")
    token = link_token(settings, notice)
    anonymous = app.test_client()
    page = anonymous.get(f"/{m.slug}/zahlung/{token}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Kassenzeichen" in text and "Insgesamt offen" in text
    for private in ("Hundhalter", "Testa", "Weg ", person.addresses[0].street + " "):
        assert private not in re.sub(r"<[^>]+>", " ", text)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    bad = anonymous.get(f"/{m.slug}/zahlung/{tampered}")
    assert bad.status_code == 404 and "ungültig" in bad.get_data(as_text=True)
    assert "Insgesamt offen" not in bad.get_data(as_text=True)
    other = client.application.test_client()
    assert other.get(f"/nicht-da/zahlung/{token}").status_code == 404


def test_clerk_reviews_and_approves_a_listed_breed(
    client: FlaskClient, app: Any, db: Session, make: Any, citizen: Any
) -> None:
    m, _user, person = citizen
    post_form(client, f"/{m.slug}/hunde/anmelden", registration(breed="Rottweiler"))
    application = db.scalars(select(Application).where(Application.person_id == person.id)).one()
    assert application.status is ApplicationStatus.IN_REVIEW
    clerk = make.user(role=Role.CLERK, municipality=m)
    desk = app.test_client()
    staff_login(desk, clerk.email)
    queue = desk.get("/backoffice/pruefung").get_data(as_text=True)
    assert "Rasse steht auf der Liste" in queue
    url = f"/backoffice/antraege/{application.id}"
    empty_reject = post_form(desk, url, {"decision": "reject", "message": ""})
    assert "Bitte begründen Sie die Ablehnung." in empty_reject.get_data(as_text=True)
    assert post_form(desk, url, {"decision": "approve", "message": ""}).status_code == 302
    db.refresh(application)
    assert application.status is ApplicationStatus.APPROVED
    assert application.decided_by == f"user:{clerk.id}"
    detail = desk.get(f"/backoffice/personen/{person.id}").get_data(as_text=True)
    assert "Rottweiler" in detail and "Bescheid" in detail


def test_clerks_of_another_municipality_see_nothing(
    client: FlaskClient, app: Any, db: Session, make: Any, citizen: Any
) -> None:
    m, _user, person = citizen
    post_form(client, f"/{m.slug}/hunde/anmelden", registration(breed="Rottweiler"))
    application = db.scalars(select(Application).where(Application.person_id == person.id)).one()
    stranger = make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=stranger)
    desk = app.test_client()
    staff_login(desk, clerk.email)
    assert "Keine Anträge" in desk.get("/backoffice/pruefung").get_data(as_text=True)
    assert desk.get(f"/backoffice/antraege/{application.id}").status_code == 404
    notice_id = db.scalar(select(Notice.id).where(Notice.person_id == person.id))
    if notice_id:
        assert desk.get(f"/backoffice/bescheide/{notice_id}.pdf").status_code == 404


def test_criteria_can_be_switched_off_by_a_clerk(
    client: FlaskClient, app: Any, db: Session, make: Any, citizen: Any
) -> None:
    from core.workflow.criteria import ReviewCriterion

    m, _user, person = citizen
    clerk = make.user(role=Role.CLERK, municipality=m)
    desk = app.test_client()
    staff_login(desk, clerk.email)
    listed = db.scalars(
        select(ReviewCriterion).where(
            ReviewCriterion.municipality_id == m.id, ReviewCriterion.code == "listed_breed"
        )
    ).one()
    response = post_form(
        desk,
        "/backoffice/kriterien",
        {"criterion_id": str(listed.id), "enabled": "0", "parameter": ""},
    )
    assert response.status_code == 302
    db.refresh(listed)
    assert listed.enabled is False
    post_form(client, f"/{m.slug}/hunde/anmelden", registration(breed="Rottweiler"))
    application = db.scalars(select(Application).where(Application.person_id == person.id)).one()
    assert application.status is ApplicationStatus.APPROVED
