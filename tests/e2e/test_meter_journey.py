"""Meter readings from the paper reading card, in the browser.

A clerk prints the reading cards (PDF from the back office); the QR codes are decoded from the
rendered pages. On a phone, without log-in, one card's link gets an implausible reading — the
form asks to confirm, and after confirming the reading waits in the clerk's queue. Another
card's link gets a plausible reading, which goes straight through; its link then says the
reading is in. Every page passes axe-core; phone pages do not scroll sideways.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.levies.water import links as water_links
from core.levies.water import models as water
from core.levies.water import readings as water_readings
from core.tenancy.municipalities import get_by_slug
from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import CLERK_EMAIL, LiveServer

pytestmark = pytest.mark.e2e


def card_links(pdf: Path, out: Path) -> list[str]:
    """The QR code of every page of the reading-card PDF (one card a page)."""
    subprocess.run(
        ["pdftoppm", "-r", "110", "-png", str(pdf), str(out / "card")],
        check=True,
        capture_output=True,
    )
    links = []
    for png in sorted(out.glob("card-*.png")):
        with Image.open(png) as image:
            links += [
                b.text
                for b in zxingcpp.read_barcodes(image)
                if b.format == zxingcpp.BarcodeFormat.QRCode
            ]
    return links


def meter_of(live_app: LiveServer, link: str) -> tuple[str, int, int | None, str]:
    """Number, last reading, last year's consumption and status of the link's meter."""
    engine = make_engine(live_app.database_url)
    try:
        with make_session_factory(engine)() as session:
            period = int(link.split("/")[-2])
            meter = water_links.meter_from_token(
                session,
                live_app.app.config["SECRET_KEY"],
                get_by_slug(session, "musterstadt").id,
                period,
                link.rsplit("/", 1)[1],
                now=clock.now(),
            )
            current = water.current_reading(session, meter.id, period)
            return (
                meter.number,
                water_readings.previous_reading(session, meter, period),
                water_readings.last_consumption(session, meter, period),
                current.status.value if current else "",
            )
    finally:
        engine.dispose()


def test_reading_cards_to_the_clerks_queue(
    live_app: LiveServer, new_page: Callable[..., Page], phone: Page, tmp_path: Path
) -> None:
    year = clock.today().year
    clerk = new_page(desktop=True)
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=False)
    clerk.goto("/backoffice/zaehlerstaende")
    assert_accessible(clerk)
    with clerk.expect_download() as download:
        clerk.get_by_role("link", name=f"Ablesekarten {year} drucken (PDF)").click()
    pdf = tmp_path / "karten.pdf"
    download.value.save_as(pdf)
    links = card_links(pdf, tmp_path)
    assert len(links) >= 2, links
    pattern = re.escape(live_app.url) + rf"/musterstadt/zaehlerstand/{year}/[\w.-]+"
    assert all(re.fullmatch(pattern, link) for link in links), links
    fresh = [link for link in links if not meter_of(live_app, link)[3]]
    assert len(fresh) >= 2, "the demo leaves this year's readings open"

    # 1. An implausible reading: confirm, then it waits for the clerk.
    number, last, consumption, _ = meter_of(live_app, fresh[0])
    phone.goto(fresh[0])
    expect(phone.get_by_role("heading", level=1)).to_have_text(f"Zählerstand {year} melden")
    check_phone_page(phone)
    expect(phone.get_by_role("main")).to_contain_text(number)
    expect(phone.get_by_role("main")).to_contain_text(f"{last} m³")
    too_much = last + 10 * (consumption or 50) + 1
    phone.get_by_label("Neuer Zählerstand in m³").fill(str(too_much))
    phone.get_by_role("button", name="Zählerstand senden").click()
    expect(phone.get_by_role("alert")).to_contain_text("vom Vorjahr ab")
    check_phone_page(phone)
    expect(phone.get_by_label("Neuer Zählerstand in m³")).to_have_value(str(too_much))
    phone.get_by_label("Ja, der Zählerstand ist richtig abgelesen.").check()
    phone.get_by_role("button", name="Zählerstand senden").click()
    expect(phone.locator("#reading-done")).to_contain_text(f"Zählerstand {too_much} m³ erhalten")
    expect(phone.locator("#reading-done")).to_contain_text("Verwaltung")
    check_phone_page(phone)
    clerk.goto("/backoffice/zaehlerstaende")
    expect(clerk.get_by_role("main")).to_contain_text(f"Zähler {number}: {too_much} m³")
    assert_accessible(clerk)

    # 2. A plausible reading goes straight through; the link then says it is in.
    number, last, consumption, _ = meter_of(live_app, fresh[1])
    phone.goto(fresh[1])
    phone.get_by_label("Neuer Zählerstand in m³").fill(str(last + (consumption or 80)))
    phone.get_by_role("button", name="Zählerstand senden").click()
    expect(phone.locator("#reading-done")).to_contain_text("erhalten")
    expect(phone.locator("#reading-done")).not_to_contain_text("Verwaltung")
    assert meter_of(live_app, fresh[1])[3] == "accepted"
    phone.goto(fresh[1])
    expect(phone.get_by_role("main")).to_contain_text("Schon gemeldet")
    check_phone_page(phone)
    clerk.goto("/backoffice/zaehlerstaende")
    expect(clerk.get_by_role("main")).not_to_contain_text(f"Zähler {number}:")
