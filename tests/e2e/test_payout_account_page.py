"""The citizen names the bank account their credit is paid out to, on a 390×844 phone in
Chromium with axe on every page: from the account's credit note to the form, a wrong IBAN
(the German error summary, nothing saved), the right one (back on the account, the IBAN
shown masked on the form). The town, citizen and credit are this test's own."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from core.identity import models as identity
from core.kernel.db import make_engine, make_session_factory
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from tests import factories
from tests.e2e.a11y import check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import PASSWORD

pytestmark = pytest.mark.e2e


def _citizen_in_credit(database_url: str) -> tuple[str, str]:
    """A new town and a citizen of it who paid 9 € owing nothing; (town slug, e-mail)."""
    email = f"guthaben-{uuid.uuid4().hex[:8]}@test.example"
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            m = factories.municipality(session, name="Auszahlstadt")
            user = identity.create_user(
                session, email=email, password=PASSWORD, display_name="Max Muster"
            )
            person = factories.person(session, m, user=user, family_name="Muster")
            record_payment(
                session, person=person, amount_cents=900, channel=PaymentChannel.BANK_TRANSFER,
                received_on=date(2026, 11, 2), as_of=date(2026, 11, 2), actor="test",
            )  # fmt: skip
            session.commit()
            slug = m.slug
    finally:
        engine.dispose()
    return slug, email


def test_the_citizen_names_the_payout_account_on_a_phone(
    phone: Page, live_app: Any, console_errors: list[str]
) -> None:
    slug, email = _citizen_in_credit(live_app.database_url)
    log_in(phone, f"/{slug}/anmelden", email, phone=True)
    check_phone_page(phone)
    phone.get_by_role("link", name="Bankverbindung für Auszahlungen angeben").click()
    expect(phone.get_by_text("Zurzeit ist uns kein Konto bekannt")).to_be_visible()
    check_phone_page(phone)

    phone.get_by_label("Kontoinhaber").fill("Max Muster")
    phone.get_by_label("IBAN").fill("DE021203")
    phone.get_by_role("button").filter(has_text="speichern").first.click()
    expect(phone.get_by_role("alert")).to_contain_text("nicht die richtige Länge")
    check_phone_page(phone)
    console_errors[:] = [e for e in console_errors if "status of 422" not in e]  # the wrong IBAN

    phone.get_by_label("IBAN").fill("DE02120300000000202051")
    phone.get_by_role("button").filter(has_text="speichern").first.click()
    expect(phone.get_by_role("status")).to_contain_text("Bankverbindung für Auszahlungen")
    check_phone_page(phone)
    phone.goto(f"/{slug}/konto/auszahlungskonto")
    expect(phone.get_by_role("main")).to_contain_text("DE02 **** **** 2051")
    check_phone_page(phone)
