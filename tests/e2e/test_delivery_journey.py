"""Electronic delivery in headless Chromium on a 390×844 phone, with axe: the demo citizen
agrees to delivery with e-mail notification, the clerk has the new notices made available and
sent, the notification arrives at a real SMTP server on loopback (aiosmtpd), the citizen follows
its link, downloads the notice and sees the day it counts as notified (§ 122a (4) AO); the clerk
sees that day and the first download as evidence on the person page.

Its own live server (own demo database, its SMTP server): the deliveries must not change the
other browser tests' accounts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from core.delivery.dates import deemed_electronic
from core.kernel import clock
from tests.delivery_helpers import Inbox, smtp_server
from tests.e2e import browser as chromium
from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.server import CITIZEN_EMAIL, CLERK_EMAIL, PASSWORD, LiveServer, serving

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def mail_server() -> Iterator[tuple[LiveServer, Inbox]]:
    inbox = Inbox()
    with (
        smtp_server(inbox) as port,
        serving(
            {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SENDER": "kasse@test.example"}
        ) as server,
    ):
        yield server, inbox


@pytest.fixture
def pages(
    browser: Browser, mail_server: tuple[LiveServer, Inbox], console_errors: list[str]
) -> Iterator[tuple[Page, Page]]:
    url = mail_server[0].url
    phone, desk = chromium.phone_context(browser, url), chromium.desktop_context(browser, url)
    pages = phone.new_page(), desk.new_page()
    for page in pages:
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    yield pages
    phone.close()
    desk.close()


def _mails(inbox: Inbox) -> list[Message]:
    return [message_from_bytes(envelope.content) for envelope in inbox.messages]


def test_consent_notification_download_and_deemed_date(
    pages: tuple[Page, Page], mail_server: tuple[LiveServer, Inbox], tmp_path: Path
) -> None:
    phone, desk = pages
    server, inbox = mail_server
    chromium.log_in_citizen(phone, CITIZEN_EMAIL, PASSWORD)
    phone.get_by_role("link", name="Bescheide elektronisch").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Bescheide elektronisch bekommen")
    check_phone_page(phone)
    phone.get_by_label("In meinem Konto, mit Nachricht per E-Mail").check()
    expect(phone.get_by_label("E-Mail-Adresse für die Nachricht")).to_have_value(CITIZEN_EMAIL)
    phone.get_by_role("button", name="Auswahl speichern").click()
    expect(phone.get_by_role("main")).to_contain_text("Gespeichert")
    expect(phone.get_by_role("main")).to_contain_text(
        f"Benachrichtigung per E-Mail ({CITIZEN_EMAIL})"
    )
    check_phone_page(phone)

    desk.goto("/backoffice/anmelden")
    desk.get_by_label("E-Mail-Adresse").fill(CLERK_EMAIL)
    desk.get_by_label("Passwort").fill(PASSWORD)
    desk.get_by_role("button", name="Anmelden").click()
    desk.get_by_role("link", name="Zustellung", exact=True).click()
    assert_accessible(desk)
    desk.get_by_role("button", name=re.compile("Fälliges jetzt senden")).click()
    expect(desk.get_by_role("main")).to_contain_text("Nachrichten versandt")
    assert_accessible(desk)

    mails = [m for m in _mails(inbox) if m["To"] == CITIZEN_EMAIL]
    assert mails, "no notification reached the SMTP server"
    body = mails[0].get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "vierten Tag" in body
    (link,) = re.findall(r"https?://\S+/bescheide", body)
    assert link == f"{server.url}/musterstadt/bescheide"

    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Meine Bescheide")
    today = clock.today()
    deemed = deemed_electronic(today, today, "NW")  # Musterstadt lies in NRW
    expect(phone.get_by_role("main")).to_contain_text(f"{deemed:%d.%m.%Y} (elektronisch)")
    check_phone_page(phone)
    first_link = phone.get_by_role("link", name=re.compile(r"^Bescheid \d+ herunterladen")).first
    with phone.expect_download() as download:
        first_link.click()
    pdf = tmp_path / "bescheid.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    phone.reload()
    expect(phone.get_by_role("main")).to_contain_text("Zuerst heruntergeladen")

    desk.goto("/backoffice/personen")
    desk.get_by_label(re.compile("^Name")).fill("Mustermann")
    desk.keyboard.press("Enter")
    desk.get_by_role("link", name=re.compile("Mustermann")).first.click()
    section = desk.get_by_role("main")
    expect(section).to_contain_text(f"bekannt gegeben am {deemed:%d.%m.%Y}")
    expect(section).to_contain_text("Erster Abruf (Nachweis)")
    assert_accessible(desk)
