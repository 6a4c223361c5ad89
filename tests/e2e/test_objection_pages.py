"""The Widerspruch pages through axe-core on a phone: every notice's objection page of the demo
citizen (Musterstadt, NRW: the suit instead of the form where the statute has no Widerspruch;
the form, sent empty so that its error summary is checked too, where it has one) and the
clerk's list of objections."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.a11y import check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import CITIZEN_EMAIL, CLERK_EMAIL

pytestmark = pytest.mark.e2e


def test_objection_pages_are_accessible(phone: Page) -> None:
    log_in(phone, "/musterstadt/anmelden", CITIZEN_EMAIL, phone=True)
    phone.goto("/musterstadt/bescheide")
    links = phone.get_by_role("link", name=re.compile("Widerspruch gegen Bescheid"))
    targets = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    assert targets, "the demo citizen has notices"
    texts = []
    for href in targets:
        phone.goto(href)
        expect(phone.get_by_role("heading", level=1)).to_contain_text("Widerspruch gegen Bescheid")
        check_phone_page(phone)
        texts.append(phone.get_by_role("main").inner_text())
        form_button = phone.get_by_role("button", name="Widerspruch einlegen")
        if form_button.count():
            form_button.click()  # sent empty
            expect(phone.get_by_role("main")).to_contain_text("Bitte begründen Sie")
            check_phone_page(phone)
    assert any("Klage beim Verwaltungsgericht" in t for t in texts)  # NRW dog tax


def test_clerk_objection_list_is_accessible(phone: Page) -> None:
    log_in(phone, "/backoffice/anmelden", CLERK_EMAIL, phone=True)
    phone.goto("/backoffice/widersprueche")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Widersprüche")
    check_phone_page(phone)
