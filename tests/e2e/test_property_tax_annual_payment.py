"""The annual payment of the property tax on a 390×844 phone in Chromium, with axe on every
page: an owner of a plot goes from the account to the property-tax page, applies for a year
whose deadline has passed (the German refusal with the first 1 July it could apply from, the
error summary), applies for that year, sees it in the account and withdraws it.

The citizen and the plot are this test's own (the live server is shared by the session)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from core.identity import models as identity
from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.levies.basis_notices import imports
from core.levies.property_tax import annual_payment
from core.tenancy.municipalities import get_by_slug
from tests import factories
from tests.basis_notice_files import delivery, plot
from tests.e2e.a11y import check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import PASSWORD

pytestmark = pytest.mark.e2e


def _owner(database_url: str) -> tuple[str, int]:
    """A new citizen of Musterstadt owning one plot; their e-mail and the first year an
    application made today applies to."""
    email = f"grund-{uuid.uuid4().hex[:8]}@test.example"
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            m = get_by_slug(session, "musterstadt")
            user = identity.create_user(
                session, email=email, password=PASSWORD, display_name="Greta Grund"
            )
            person = factories.person(session, m, user=user, family_name="Grund")
            reference = f"3150/{uuid.uuid4().int % 1000:03d}/{uuid.uuid4().int % 10000:04d}"
            data = delivery(plot(m, reference, person_number=person.number))
            imports.import_file(session, m, data, filename=f"{email}.xml", actor="test")
            first = annual_payment.first_year(session, m.id, clock.today())
            session.commit()
    finally:
        engine.dispose()
    return email, first


def test_owner_applies_for_and_withdraws_the_annual_payment(phone: Page, live_app: Any) -> None:
    email, first = _owner(live_app.database_url)
    log_in(phone, "/musterstadt/anmelden", email, phone=True)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    section = phone.get_by_role("region", name="Grundsteuer")
    expect(section).to_contain_text("Sie zahlen die Grundsteuer vierteljährlich.")
    check_phone_page(phone)
    section.get_by_role("link", name=re.compile("Jahreszahlung beantragen")).click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Grundsteuer")
    check_phone_page(phone)

    expect(phone.get_by_label(re.compile(f"ab {first}"))).to_be_checked()  # the first possible
    offered = phone.get_by_role("radio")
    years = [int(re.sub(r"\D", "", offered.nth(i).get_attribute("value") or "")) for i in range(2)]
    if first > years[0]:  # after this year's deadline: the next year is too late
        phone.get_by_label(re.compile(f"ab {years[0]}")).check()
        phone.get_by_role("button", name="Jahreszahlung beantragen").click()
        summary = phone.get_by_role("alert")
        expect(summary).to_contain_text(f"Für {years[0]} ist die Frist abgelaufen")
        expect(summary).to_contain_text(f"gilt erst ab dem 01.07.{first}")
        check_phone_page(phone)
    phone.get_by_label(re.compile(f"ab {first}")).check()
    phone.get_by_role("button", name="Jahreszahlung beantragen").click()
    expect(phone.get_by_role("main")).to_contain_text(
        f"Ab {first} zahlen Sie die Grundsteuer in einem Betrag am 01.07.{first}."
    )
    check_phone_page(phone)

    phone.get_by_role("link", name="Zurück zu Mein Konto").click()
    section = phone.get_by_role("region", name="Grundsteuer")
    expect(section).to_contain_text(f"Jahreszahlung zum 1. Juli: beantragt ab {first}.")
    section.get_by_role("link", name=re.compile("Jahreszahlung widerrufen")).click()
    phone.get_by_role("button", name="Jahreszahlung widerrufen").click()
    expect(phone.get_by_role("main")).to_contain_text("Die Jahreszahlung ist widerrufen")
    expect(phone.get_by_role("button", name="Jahreszahlung beantragen")).to_be_visible()
    check_phone_page(phone)
