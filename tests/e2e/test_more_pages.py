"""Every other page of the waste, water and refund services, once each, through axe-core.

The journeys (dog tax, payments, meter readings) check their own pages; this visits the rest:
the citizen's waste pages on a phone (including a form sent empty, so that its error summary is
checked too) and the clerk's pages for depot orders, readings, meter changes and refunds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import CITIZEN_EMAIL, CLERK_EMAIL

pytestmark = pytest.mark.e2e


def test_citizen_waste_pages(phone: Page) -> None:
    log_in(phone, "/musterstadt/anmelden", CITIZEN_EMAIL, phone=True)
    phone.goto("/musterstadt/abfall")
    expect(phone.get_by_role("heading", level=1)).to_be_visible()
    check_phone_page(phone)
    links = [
        phone.get_by_role("main").get_by_role("link", name=re.compile(name)).first
        for name in ("ändern", "beschädigt|Schaden", "abmelden", "Behälter anmelden")
    ]
    targets = [link.get_attribute("href") for link in links if link.count()]
    assert len(targets) == 4, f"register, change, damage, deregister expected: {targets}"
    for href in targets:
        phone.goto(href or "")
        check_phone_page(phone)
    phone.goto(targets[0] or "")
    phone.get_by_role("main").get_by_role("button").last.click()  # sent empty
    check_phone_page(phone)


def test_clerk_pages_of_the_new_services(new_page: Callable[..., Page]) -> None:
    clerk = new_page(desktop=True)
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=False)
    for path in (
        "/backoffice/abfuhrauftraege",
        "/backoffice/zaehlerstaende/erfassen",
        "/backoffice/zaehlerwechsel",
        "/backoffice/erstattungen",
    ):
        clerk.goto(path)
        expect(clerk.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(clerk)
    clerk.goto("/backoffice/zaehlerwechsel")
    clerk.get_by_role("button", name="Wechsel speichern").click()  # sent empty
    expect(clerk.get_by_role("alert")).to_be_visible()
    assert_accessible(clerk)


def test_remaining_small_pages(
    phone: Page, new_page: Callable[..., Page], live_app: Any, console_errors: list[str]
) -> None:
    """The invalid reading-card link (phone) and a clerk's refund form."""
    from sqlalchemy import select

    from core.kernel.db import make_engine, make_session_factory
    from core.ledger.models import Payment
    from core.tenancy.municipalities import get_by_slug

    phone.goto("/musterstadt/zaehlerstand/2026/kein-gueltiger-link")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Dieser Link ist ungültig")
    check_phone_page(phone)
    console_errors[:] = [e for e in console_errors if "status of 404" not in e]  # expected here

    engine = make_engine(live_app.database_url)
    try:
        with make_session_factory(engine)() as session:
            municipality = get_by_slug(session, "musterstadt")
            payment_id = session.scalars(
                select(Payment.id).where(Payment.municipality_id == municipality.id)
            ).first()
    finally:
        engine.dispose()
    clerk = new_page(desktop=True)
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=False)
    clerk.goto(f"/backoffice/zahlungen/{payment_id}/erstattung")
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Erstattung einer Kartenzahlung")
    assert_accessible(clerk)
    clerk.get_by_role("button", name="Erstattung veranlassen").click()  # sent empty
    expect(clerk.get_by_role("alert")).to_be_visible()
    assert_accessible(clerk)


def _latest_mail_link(live_app: Any, recipient: str, path: str) -> str:
    """The link of ``path`` in the newest outbox mail to ``recipient`` (the live server's
    outbox stands in for the mailbox)."""
    from sqlalchemy import select

    from core.kernel.db import make_engine, make_session_factory
    from core.kernel.mail import OutboxMessage

    engine = make_engine(live_app.database_url)
    try:
        with make_session_factory(engine)() as session:
            body = session.scalars(
                select(OutboxMessage.body)
                .where(OutboxMessage.recipient == recipient)
                .order_by(OutboxMessage.id.desc())
            ).first()
    finally:
        engine.dispose()
    match = re.search(rf"https?://\S+/{path}/\S+", body or "")
    assert match, body
    return match.group(0)


def test_account_pages_register_confirm_and_reset(
    phone: Page, live_app: Any, console_errors: list[str]
) -> None:
    """Registration with a weak password, the "e-mail sent" page, the page of an unconfirmed
    account, the confirmation link, "Passwort vergessen" and the new-password form."""
    email, first, second = "e2e.neu@beispiel.example", "Sonnenblume am Fenster", "Regenschirm Juni"
    phone.goto("/musterstadt/registrieren")
    phone.get_by_label("Vorname").fill("Ella")
    phone.get_by_label("Nachname").fill("Neumann")
    phone.get_by_label("Straße").fill("Lindenallee")
    phone.get_by_label("Hausnummer").fill("4a")
    phone.get_by_label("Postleitzahl").fill("12345")
    phone.get_by_label("Ort", exact=True).fill("Musterstadt")
    phone.get_by_label("E-Mail-Adresse").fill(email)
    phone.get_by_label("Passwort", exact=True).fill("123456789012345")
    phone.get_by_label("Passwort wiederholen").fill("123456789012345")
    phone.get_by_role("button", name="Konto anlegen").click()
    expect(phone.get_by_role("alert")).to_contain_text("Zeichenfolge wie")
    check_phone_page(phone)
    phone.get_by_label("Passwort", exact=True).fill(first)
    phone.get_by_label("Passwort wiederholen").fill(first)
    phone.get_by_role("button", name="Konto anlegen").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Bitte sehen Sie in Ihr E-Mail-Postfach"
    )
    check_phone_page(phone)

    # Logging in before confirming leads to the confirmation page only.
    phone.goto("/musterstadt/anmelden")
    phone.get_by_label("E-Mail-Adresse").fill(email)
    phone.get_by_label("Passwort").fill(first)
    phone.get_by_role("button", name="Anmelden").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/konto/unbestaetigt$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Bitte bestätigen Sie Ihre E-Mail-Adresse"
    )
    check_phone_page(phone)
    phone.get_by_role("button", name="Link noch einmal senden").click()
    expect(phone.get_by_role("status")).to_contain_text("noch einmal")
    phone.goto(_latest_mail_link(live_app, email, "konto/bestaetigen"))
    expect(phone).to_have_url(re.compile(r"/musterstadt/konto$"))
    expect(phone.get_by_role("status")).to_contain_text("bestätigt")
    phone.get_by_role("button", name="Abmelden").click()

    # Passwort vergessen: from the log-in page, sent empty once, then the link.
    phone.goto("/musterstadt/anmelden")
    phone.get_by_role("link", name="Passwort vergessen?").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Passwort vergessen")
    check_phone_page(phone)
    phone.get_by_role("button", name="Link anfordern").click()
    expect(phone.get_by_role("alert")).to_be_visible()
    check_phone_page(phone)
    phone.get_by_label("E-Mail-Adresse").fill(email)
    phone.get_by_role("button", name="Link anfordern").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        "Bitte sehen Sie in Ihr E-Mail-Postfach"
    )
    check_phone_page(phone)
    link = _latest_mail_link(live_app, email, "passwort/neu")
    phone.goto(link)
    expect(phone).to_have_url(re.compile(r"/musterstadt/passwort/neu$"))
    check_phone_page(phone)
    phone.get_by_label("Neues Passwort", exact=True).fill(email)
    phone.get_by_label("Neues Passwort wiederholen").fill(email)
    phone.get_by_role("button", name="Passwort speichern").click()
    expect(phone.get_by_role("alert")).to_contain_text("E-Mail-Adresse")
    check_phone_page(phone)
    phone.get_by_label("Neues Passwort", exact=True).fill(second)
    phone.get_by_label("Neues Passwort wiederholen").fill(second)
    phone.get_by_role("button", name="Passwort speichern").click()
    expect(phone.get_by_role("status")).to_contain_text("neues Passwort gilt")
    phone.get_by_label("E-Mail-Adresse").fill(email)
    phone.get_by_label("Passwort").fill(second)
    phone.get_by_role("button", name="Anmelden").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    phone.get_by_role("button", name="Abmelden").click()

    # The used link: its page says so and offers a new one.
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Dieser Link ist ungültig")
    check_phone_page(phone)
    console_errors[:] = [e for e in console_errors if "status of 404" not in e]  # expected here
