"""The citizen's dunned account in headless Chromium on a 390×844 phone, with axe: the demo
citizen's overdue claims are dunned twice (Zahlungserinnerung, then Mahnung with its fee), the
account shows the letters and, on each dunned claim's card, its level, fee and surcharges; the
letter downloads as a PDF whose GiroCode asks for the letter's total.

Its own live server (own demo database): the runs must not change the other browser tests'
accounts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from core.dunning import booking, runs
from core.dunning.models import DunningLetter
from core.identity.models import UserAccount
from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory, unit_of_work
from core.kernel.money import format_euro
from core.persons.models import Person
from core.tenancy.municipalities import get_by_slug
from tests.e2e import browser as chromium
from tests.e2e.a11y import check_phone_page
from tests.e2e.helpers import flat_text, qr_codes
from tests.e2e.server import CITIZEN_EMAIL, PASSWORD, LiveServer, serving

pytestmark = pytest.mark.e2e


def _dun_the_citizen(database_url: str) -> list[tuple[str, int]]:
    """Two booked runs over Musterstadt; the citizen's letters as (level name, total)."""
    engine = make_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            m = get_by_slug(session, "musterstadt")
            for days in (40, 70):
                run = runs.preview(session, m, clock.today() + timedelta(days=days), "user:1")
                runs.approve(session, run, "user:2")
                booking.book(session, run, "user:2")
            person = session.scalars(
                select(Person)
                .join(UserAccount, UserAccount.id == Person.user_id)
                .where(UserAccount.email == CITIZEN_EMAIL, Person.municipality_id == m.id)
            ).one()
            found = session.execute(
                select(DunningLetter.level_name, DunningLetter.total_cents)
                .where(DunningLetter.person_id == person.id)
                .order_by(DunningLetter.id)
            ).all()
            return [(name, total) for name, total in found]
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def dunned_server() -> Iterator[tuple[LiveServer, list[tuple[str, int]]]]:
    with serving() as server:
        yield server, _dun_the_citizen(server.database_url)


@pytest.fixture
def dunned_phone(
    browser: Browser,
    dunned_server: tuple[LiveServer, list[tuple[str, int]]],
    console_errors: list[str],
) -> Iterator[Page]:
    context = chromium.phone_context(browser, dunned_server[0].url)
    page = context.new_page()
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    yield page
    context.close()


def test_dunned_account_on_a_phone_with_axe_and_the_letter_pdf(
    dunned_phone: Page, dunned_server: tuple[LiveServer, list[tuple[str, int]]], tmp_path: Path
) -> None:
    letters = dunned_server[1]
    # the second run: the Mahnung, and a first reminder of the first run's surcharges
    assert [name for name, _ in letters].count("Mahnung") == 1
    assert letters[0][0] == "Zahlungserinnerung"
    mahnung_total = next(total for name, total in letters if name == "Mahnung")
    page = dunned_phone
    chromium.log_in_citizen(page, CITIZEN_EMAIL, PASSWORD)

    section = page.get_by_role("region", name="Mahnschreiben")
    expect(section).to_be_visible()
    link = section.get_by_role("link", name=re.compile(r"^Mahnung vom \d\d\.\d\d\.\d{4} \(PDF\)$"))
    expect(link).to_be_visible()
    expect(section).to_contain_text(f"{format_euro(mahnung_total)} zu zahlen bis")
    dunned_card = (
        page.get_by_role("region", name="Offene Posten")
        .get_by_role("listitem")
        .filter(has_text="Mahngebühr")
    )
    expect(dunned_card.first).to_contain_text(re.compile(r"Mahnung vom \d\d\.\d\d\.\d{4} – "))
    # fees (waste) bear no Säumniszuschlag; the overdue tax's card says why it bears one
    taxed_card = dunned_card.filter(has_text="Säumniszuschlag")
    expect(taxed_card.first).to_contain_text("(§ 240 AO)")
    check_phone_page(page)  # axe (WCAG 2.1 A/AA) and no sideways scrolling at 390 px

    with page.expect_download() as download:
        link.click()
    pdf = tmp_path / "mahnung.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    text = flat_text(pdf)
    assert "Mahnung" in text and f"Bitte zahlen Sie {format_euro(mahnung_total)}" in text
    codes = [c for page_codes in qr_codes(pdf, tmp_path).values() for c in page_codes]
    epc = next(c for c in codes if c.startswith("BCD\n"))
    amount = epc.split("\n")[7]
    assert amount == f"EUR{mahnung_total // 100}.{mahnung_total % 100:02d}"

    # The signed link on the paper: what is still open, with a GiroCode, without a log-in.
    (link_url,) = [c for c in codes if c.startswith(dunned_server[0].url)]
    page.context.clear_cookies()
    page.goto(link_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mahnung vom")
    expect(page.get_by_role("img", name=re.compile("GiroCode"))).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(format_euro(mahnung_total))
    check_phone_page(page)
