"""The Hebesatz simulator in the browser on a 390×844 phone: from the back-office navigation,
a wrong rate answered in German on the form, the figures of the demo town (Musterstadt, NRW:
separate B rates) with the SVG charts and their tables, the CSV download, and trade tax.
Every page passes axe-core and fits the phone's width."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.a11y import check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import CLERK_EMAIL, LiveServer

pytestmark = pytest.mark.e2e


def test_clerk_simulates_hebesaetze_on_a_phone(
    live_app: LiveServer, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    clerk = new_page()
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=True)
    clerk.get_by_role("navigation", name="Sachbearbeitung").get_by_role(
        "link", name="Hebesatz-Simulation", exact=True
    ).click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Hebesatz-Simulation")
    check_phone_page(clerk)

    clerk.get_by_label("Grundsteuer B, Wohngrundstücke, in %").fill("abc")
    clerk.get_by_label("Grundsteuer B, Nichtwohngrundstücke, in %").fill("1080")
    clerk.get_by_label("Ab Jahr").fill("2026")
    clerk.get_by_role("button", name="Simulation berechnen").click()
    expect(clerk.get_by_role("alert")).to_contain_text("als Zahl in Prozent an")
    check_phone_page(clerk)

    clerk.get_by_label("Grundsteuer B, Wohngrundstücke, in %").fill("650")
    clerk.get_by_label("Anzahl der Jahre").select_option("3")
    clerk.get_by_role("button", name="Simulation berechnen").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text(
        "Hebesatz-Simulation: Grundsteuer ab 2026"
    )
    expect(clerk.get_by_role("img", name="Aufkommen je Jahr: Satzung und Annahme")).to_be_visible()
    revenue = clerk.locator("#tabelle-aufkommen")
    expect(revenue.get_by_role("row")).to_have_count(4)  # header and three years
    expect(clerk.get_by_role("region", name="Größte Erhöhungen 2026")).to_contain_text(
        "Grundsteuer B (Wohngrundstück)"
    )
    check_phone_page(clerk)

    with clerk.expect_download() as download:
        clerk.get_by_role("link", name="Ergebnis als CSV herunterladen").click()
    saved = tmp_path / "simulation.csv"
    download.value.save_as(saved)
    lines = saved.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "Abschnitt;Bezeichnung;Art;Messbetrag;Objekte;Satzung;Annahme;Differenz"
    years = [line.split(";") for line in lines if line.startswith("Aufkommen (EUR);")]
    assert [row[1] for row in years] == ["2026", "2027", "2028"]
    assert all("," in row[5] and int(row[7].replace(",", "")) > 0 for row in years)

    clerk.get_by_label("Steuer", exact=True).select_option("trade_tax")
    clerk.get_by_label("Grundsteuer B, Wohngrundstücke, in %").fill("")
    clerk.get_by_label("Grundsteuer B, Nichtwohngrundstücke, in %").fill("")
    clerk.get_by_label("Hebesatz in %").fill("500")
    clerk.get_by_role("button", name="Simulation berechnen").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text(
        "Hebesatz-Simulation: Gewerbesteuer ab 2026"
    )
    expect(clerk.get_by_role("main")).to_contain_text("Gewerbebetrieb")
    check_phone_page(clerk)
