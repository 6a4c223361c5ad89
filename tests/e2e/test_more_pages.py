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

    from core.db import make_engine, make_session_factory
    from core.ledger.models import Payment
    from core.tenancy import get_by_slug

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
