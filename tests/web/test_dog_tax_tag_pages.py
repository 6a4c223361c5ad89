"""Lost and replacement dog tags: the status page promises a notice only when one was issued.
A lost tag is only noted (no notice, no fee); a replacement tag with the statute's fee is
assessed by a fee notice (Gebührenbescheid) whose Kassenzeichen the fee claim carries."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import clock
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies.dog_tax.models import dogs_of
from core.notices.records import NoticeSettings, notices_of, render
from core.workflow.applications import Application
from tests.conftest import login, post_form
from tests.pdf_layout import assert_clean_layout, assert_in_address_window, page_texts
from tests.web.test_dog_tax_pages import registration

PROMISE = "finden Sie unter „Meine Bescheide“"
SETTINGS = NoticeSettings(secret="test-secret", public_base_url="https://portal.example")


def status_page(client: FlaskClient, response: Any) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(response.headers["Location"]).get_data(as_text=True)


def owner_with_a_dog(client: FlaskClient, db: Session, make: Any, fee_cents: int) -> Any:
    m = make.municipality()
    make.dog_tax_statute(m, replacement_tag_fee_cents=fee_cents)
    user = make.user()
    person = make.person(m, user=user, family_name="Markenlos")
    login(client, m.slug, user.email)
    page = status_page(client, post_form(client, f"/{m.slug}/hunde/anmelden", registration()))
    assert PROMISE in page  # the registration did issue the tax notice
    [dog] = dogs_of(db, person.id, m.id)
    return m, person, dog


def fee_claims(db: Session, person: Any) -> list[Claim]:
    return list(
        db.scalars(
            select(Claim).where(Claim.person_id == person.id, Claim.kind == ClaimKind.ADMIN_FEE)
        )
    )


def last_application(db: Session, person: Any) -> Application:
    return db.scalars(
        select(Application).where(Application.person_id == person.id).order_by(Application.id)
    ).all()[-1]


def test_a_lost_tag_is_noted_without_promising_a_notice(
    client: FlaskClient, db: Session, make: Any
) -> None:
    m, person, dog = owner_with_a_dog(client, db, make, fee_cents=500)
    before = len(notices_of(db, person.id, m.id))
    page = status_page(
        client,
        post_form(
            client,
            f"/{m.slug}/hunde/{dog.id}/marke-verloren",
            {"lost_on": clock.today().isoformat()},
        ),
    )
    assert "Erledigt" in page and "als verloren vermerkt" in page
    assert PROMISE not in page and "Bescheid" not in page.split("<main", 1)[1]
    assert len(notices_of(db, person.id, m.id)) == before and fee_claims(db, person) == []
    assert last_application(db, person).data["notice_ids"] == []


def test_a_replacement_tag_with_a_fee_comes_with_a_fee_notice(
    client: FlaskClient, db: Session, make: Any
) -> None:
    m, person, dog = owner_with_a_dog(client, db, make, fee_cents=500)
    page = status_page(client, post_form(client, f"/{m.slug}/hunde/{dog.id}/ersatzmarke", {}))
    assert "Erledigt" in page and "Hundemarke: Nr. 2" in page and PROMISE in page
    [fee] = fee_claims(db, person)
    notice = notices_of(db, person.id, m.id)[0]
    assert last_application(db, person).data["notice_ids"] == [notice.id]
    assert (fee.amount_cents, fee.notice_id, fee.kassenzeichen) == (
        500,
        notice.id,
        notice.kassenzeichen,
    )
    assert notice.title == "Gebührenbescheid über eine Ersatz-Hundemarke"
    assert notice.total_cents == 500 and notice.previous_cents == 0
    assert notice.title in client.get(f"/{m.slug}/bescheide").get_data(as_text=True)

    pdf = render(db, notice, SETTINGS)
    assert_clean_layout(pdf)
    assert_in_address_window(pdf, person.display_name)
    text = " ".join(" ".join(page_texts(pdf)).split())
    assert "Gebührenbescheid über eine Ersatz-Hundemarke" in text
    assert f"Ersatzmarke Nr. 2 für {dog.name}" in text and "Festgesetzte Gebühr 5,00 €" in text
    assert f"{fee.due_date:%d.%m.%Y}" in text  # the due date
    assert "Rechtsbehelfsbelehrung" in text and "Hundesteuersatzung" in text


def test_a_free_replacement_tag_promises_no_notice(
    client: FlaskClient, db: Session, make: Any
) -> None:
    m, person, dog = owner_with_a_dog(client, db, make, fee_cents=0)
    before = len(notices_of(db, person.id, m.id))
    page = status_page(client, post_form(client, f"/{m.slug}/hunde/{dog.id}/ersatzmarke", {}))
    assert "Hundemarke: Nr. 2" in page and PROMISE not in page
    assert len(notices_of(db, person.id, m.id)) == before and fee_claims(db, person) == []


@pytest.mark.parametrize("fee_cents", [400])
def test_the_fee_is_the_statutes(
    client: FlaskClient, db: Session, make: Any, fee_cents: int
) -> None:
    m, person, dog = owner_with_a_dog(client, db, make, fee_cents=fee_cents)
    post_form(client, f"/{m.slug}/hunde/{dog.id}/ersatzmarke", {})
    assert [c.amount_cents for c in fee_claims(db, person)] == [fee_cents]
