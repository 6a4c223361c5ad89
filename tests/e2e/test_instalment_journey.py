"""Stundung oder Ratenzahlung on a 390×844 phone in Chromium, with axe on every page: a citizen
with an overdue claim asks for three instalments from the account (first without a reason: the
German error, the choice kept), the plan is accepted straight through, shown in the account,
and the plan page offers the first instalment's GiroCode.

The live server is shared by the session: the citizen and the claim are this test's own, so no
other test sees the plan.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from core.identity import models as identity
from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.kernel.months import add_months
from core.tenancy.municipalities import get_by_slug
from tests import factories
from tests.e2e.a11y import check_phone_page
from tests.e2e.helpers import log_in, qr_image_text
from tests.e2e.server import PASSWORD
from tests.e2e.test_payment_journey import CARD_OK, PAID, card_page, described, fill_card

pytestmark = pytest.mark.e2e


def _citizen_with_a_claim(database_url: str) -> str:
    """A new citizen of Musterstadt with one overdue claim of 240 €; their e-mail address."""
    email = f"raten-{uuid.uuid4().hex[:8]}@test.example"
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            m = get_by_slug(session, "musterstadt")
            user = identity.create_user(
                session, email=email, password=PASSWORD, display_name="Rita Rate"
            )
            person = factories.person(session, m, user=user, family_name="Rate")
            factories.claim(
                session,
                m,
                person,
                amount=24000,
                due=date(clock.today().year, 1, 15),
                description="Grundsteuer B 2026",
                as_of=clock.today(),
            )
            session.commit()
    finally:
        engine.dispose()
    return email


def test_citizen_requests_instalments_and_sees_the_plan(phone: Page, live_app: Any) -> None:
    email = _citizen_with_a_claim(live_app.database_url)
    log_in(phone, "/musterstadt/anmelden", email, phone=True)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    phone.get_by_role("link", name="Stundung oder Ratenzahlung beantragen").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Stundung oder Ratenzahlung beantragen"
    )
    check_phone_page(phone)

    claim = phone.get_by_label(re.compile(r"240,00 € – Grundsteuer B 2026"))
    expect(claim).to_be_checked()
    phone.get_by_label("Anzahl der Raten").fill("3")
    phone.get_by_role("button", name="Ratenplan berechnen").click()
    first = add_months(clock.today(), 1)
    expect(phone.get_by_label(re.compile(r"Rate 1 \(80,00 €\) fällig am"))).to_have_value(
        first.isoformat()
    )
    check_phone_page(phone)

    # Sent without a reason: the German message, linked to the field; the choice stays.
    phone.get_by_role("button", name="Antrag stellen").click()
    summary = phone.get_by_role("alert")
    expect(summary).to_contain_text("Bitte begründen Sie Ihren Antrag.")
    expect(phone.get_by_label("Begründung")).to_have_attribute("aria-invalid", "true")
    expect(claim).to_be_checked()
    check_phone_page(phone)

    phone.get_by_label("Begründung").fill("Kurzarbeit seit Januar, ab Mai wieder voller Lohn.")
    phone.get_by_role("button", name="Antrag stellen").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/konto/raten/antrag/\d+$"))
    expect(phone.get_by_role("status")).to_contain_text("Ihr Ratenplan ist bewilligt")
    expect(phone.get_by_role("main")).to_contain_text("Rate 3: 80,00 €")
    check_phone_page(phone)

    phone.get_by_role("link", name="Zurück zu meinem Konto").click()
    plans = phone.get_by_role("region", name="Stundung und Ratenzahlung")
    expect(plans).to_contain_text("läuft")
    expect(plans).to_contain_text(f"80,00 € am {first:%d.%m.%Y}")
    check_phone_page(phone)

    plans.get_by_role("link", name=re.compile(r"Ratenplan \d+ ansehen und Rate bezahlen")).click()
    expect(
        phone.get_by_role("heading", level=2, name=re.compile("Rate 1 bezahlen"))
    ).to_be_visible()
    payload = qr_image_text(phone.locator("img.ok-qr"))[0].splitlines()
    assert "EUR80.00" in payload
    check_phone_page(phone)
    payee, plan_url = described(phone.get_by_role("main"), "Empfänger"), phone.url

    # Rate 1 by card: exactly 80 € of the 240 €, then the plan shows Rate 2 as next.
    phone.get_by_role("button", name="Rate jetzt mit Karte bezahlen").click()
    pay = card_page(phone, 8000, payee)
    fill_card(phone, CARD_OK)
    pay.click()
    expect(phone).to_have_url(re.compile(r"/zahlvorgang/[\w.-]+/ergebnis$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(PAID)
    expect(phone.get_by_role("status")).to_contain_text("80,00 € bezahlt")
    check_phone_page(phone)
    phone.goto(plan_url)
    expect(
        phone.get_by_role("heading", level=2, name=re.compile("Rate 2 bezahlen"))
    ).to_be_visible()
    assert "EUR80.00" in qr_image_text(phone.locator("img.ok-qr"))[0].splitlines()
