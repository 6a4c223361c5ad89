"""Every page tells the same about a direct debit (core.payments.sepa.debit_outlook): while the
mandate is active the notice's instalments are announced on the account, pay, mandate, notice
link and back-office pages; once the mandate is suspended (after a return), revoked or expired,
none of them says "wird eingezogen – bitte nicht überweisen" any more and the items are
payable (and ticked) again."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel import clock
from core.levies.dog_tax import assessment as dog_tax_run
from core.levies.dog_tax.models import Dog, DogStatus
from core.notices.records import NoticeSettings, link_token
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa.rules import rules_on
from tests.conftest import login, staff_login


@pytest.fixture
def debtor(client: FlaskClient, db: Session, make: Any) -> Any:
    """A dog owner with a mandate whose notice for next year pre-notifies four debits."""
    m = make.municipality()
    make.sepa_statute(m)
    make.dog_tax_statute(m)
    user = make.user()
    person = make.person(m, user=user, family_name="Lastschrift")
    today = clock.today()
    mandate = mandates.grant_mandate(
        db,
        person=person,
        municipality=m,
        account_holder=person.display_name,
        iban="DE89370400440532013000",
        tax_account_id=None,
        signed_on=today,
        as_of=today,
        actor="test",
    )
    db.add(
        Dog(
            municipality_id=m.id,
            person_id=person.id,
            name="Bello",
            breed="Mischling",
            acquired_on=date(2024, 1, 1),
            tag_number=1,
            status=DogStatus.ACTIVE,
        )
    )
    db.flush()
    notice = dog_tax_run.assess_person(
        db, person=person, municipality=m, year=today.year + 1, as_of=today, actor="test"
    )
    assert notice is not None and notice.data["direct_debit"]
    [first, *_] = sorted(prenotifications.prenotifications_of(db, person), key=lambda p: p.id)
    db.flush()
    login(client, m.slug, user.email)
    return m, person, mandate, notice, first


def pages(
    client: FlaskClient, clerk_email: str, m: Any, person: Any, notice: Any
) -> dict[str, str]:
    """The five pages that speak about the person's items, as citizen, anyone and clerk."""
    clerk = client.application.test_client()
    staff_login(clerk, clerk_email)
    token = link_token(NoticeSettings(secret="test-secret", public_base_url="x"), notice)
    found = {
        "account": client.get(f"/{m.slug}/konto"),
        "pay": client.get(f"/{m.slug}/bezahlen"),
        "mandates": client.get(f"/{m.slug}/lastschrift"),
        "notice link": client.application.test_client().get(f"/{m.slug}/zahlung/{token}"),
        "back office": clerk.get(f"/backoffice/personen/{person.id}"),
    }
    assert all(r.status_code == 200 for r in found.values()), {
        k: r.status_code for k, r in found.items()
    }
    return {k: html.unescape(r.get_data(as_text=True)) for k, r in found.items()}


def end(db: Session, m: Any, mandate: Any, how: str) -> None:
    today = clock.today()
    if how == "suspend":  # what the bank import does after a return (e.g. MD01)
        mandates.suspend_mandate(
            db, mandate, as_of=today, reason="Rücklastschrift MD01", actor="test"
        )
    elif how == "revoke":
        mandates.revoke_mandate(db, mandate, as_of=today, actor="test")
    else:
        mandates.expire_mandate(db, mandate, rules_on(db, m.id, today), actor="test")
    db.flush()


@pytest.mark.parametrize("how", ["suspend", "revoke", "expire"])
def test_every_page_agrees_before_and_after_the_mandate_ends(
    client: FlaskClient, db: Session, make: Any, debtor: Any, how: str
) -> None:
    m, person, mandate, notice, first = debtor
    clerk = make.user(role=Role.CLERK, municipality=m).email
    day = first.collection_date.strftime("%d.%m.%Y")
    claim_box = re.compile(rf'<input[^>]*value="{first.claim_id}"[^>]*>')

    before = pages(client, clerk, m, person, notice)
    assert f"wird am {day} eingezogen – bitte nicht überweisen" in before["account"]
    assert f"wird am {day} per Lastschrift eingezogen" in before["pay"]
    assert "checked" not in claim_box.search(before["pay"]).group(0)
    assert day in before["mandates"] and "kein Einzug angekündigt" not in before["mandates"]
    assert f"wird am {day} eingezogen – bitte nicht überweisen" in before["notice link"]
    assert f"Lastschrift angekündigt zum {day}" in before["back office"]

    end(db, m, mandate, how)

    after = pages(client, clerk, m, person, notice)
    for name, page in after.items():
        assert "bitte nicht überweisen" not in page, name
        assert "per Lastschrift eingezogen" not in page, name
        assert "Lastschrift angekündigt" not in page, name
    assert "Zurzeit ist kein Einzug angekündigt." in after["mandates"]
    assert "checked" in claim_box.search(after["pay"]).group(0)  # payable again, ticked
    assert "jetzt online bezahlen" in after["notice link"]
