"""The clerk's page for the tax office's basis notices in the browser: the page, a refused
delivery with its lines listed, the demo's notice waiting for a person, assigned from the
suggestions, and the tax object on the person page. Every page passes axe-core."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.kernel.db import make_engine, make_session_factory
from core.tenancy.municipalities import get_by_slug
from tests.basis_notice_files import delivery, plot
from tests.e2e.a11y import assert_accessible
from tests.e2e.helpers import log_in
from tests.e2e.server import CLERK_EMAIL, LiveServer

pytestmark = pytest.mark.e2e


def refused_delivery(live_app: LiveServer) -> bytes:
    engine = make_engine(live_app.database_url)
    try:
        with make_session_factory(engine)() as session:
            m = get_by_slug(session, "musterstadt")
            return delivery(plot(m, "E2E/1/1", person_number=99999), plot(m, "E2E/1/1"))
    finally:
        engine.dispose()


def test_clerk_uploads_and_assigns_basis_notices(
    live_app: LiveServer, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    clerk = new_page(desktop=True)
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=False)
    clerk.get_by_role("navigation", name="Sachbearbeitung").get_by_role(
        "link", name="Messbescheide", exact=True
    ).click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Messbescheide einlesen")
    assert_accessible(clerk)

    bad = tmp_path / "lieferung.xml"
    bad.write_bytes(refused_delivery(live_app))
    clerk.get_by_label("Lieferung des Finanzamts").set_input_files(bad)
    clerk.get_by_role("button", name="Messbescheide einlesen").click()
    expect(clerk.get_by_role("alert")).to_contain_text("nichts übernommen")
    problems = clerk.get_by_role("region", name="Abgelehnte Zeilen (2)")
    expect(problems).to_contain_text("Personenkonto 99999 gibt es")
    expect(problems).to_contain_text("steht schon in Zeile 4")
    assert_accessible(clerk)

    # The demo delivery left one notice without a person number in the queue.
    queued = clerk.get_by_role("region", name="Zur Klärung").get_by_role("link").first
    reference = queued.inner_text()
    queued.click()
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("zuordnen")
    assert_accessible(clerk)
    card = clerk.locator(".ok-card").first
    name = card.get_by_role("link").first.inner_text()
    card.get_by_role("button", name="Zuordnen").click()
    expect(clerk.get_by_role("main")).to_contain_text("zugeordnet und übernommen")
    assert_accessible(clerk)
    clerk.get_by_role("navigation", name="Sachbearbeitung").get_by_role(
        "link", name="Personen", exact=True
    ).click()
    clerk.get_by_label("Name, Unternehmen, Personenkonto, Kassenzeichen oder Mandatsreferenz").fill(
        name
    )
    clerk.get_by_role("button", name="Suchen").click()
    clerk.get_by_role("link", name=name).first.click()
    expect(clerk.get_by_role("main")).to_contain_text(reference.split(", Aktenzeichen ")[-1])
    assert_accessible(clerk)
