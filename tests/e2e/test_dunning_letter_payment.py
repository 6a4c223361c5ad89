"""Paying a dunning letter from its signed link, on a 390×844 phone in headless Chromium with
axe, without logging in: the page behind the link offers the letter's open total by card; the
card page (localstripe's stand-in widget) charges it; the result page says it is paid; the
link's page then says everything is paid and offers no payment; a second browser's button of
the page loaded before is refused and nothing is charged twice.

Its own live server and its own localstripe (the dunning runs must not change the other browser
tests' accounts, and its payment events must not reach their server)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from core.dunning import letters
from core.dunning.models import DunningLetter
from core.identity.models import UserAccount
from core.kernel.money import format_euro
from core.ledger.models import Payment, PaymentChannel
from core.notices.records import NoticeSettings
from core.persons.models import Person
from tests.e2e import browser as chromium
from tests.e2e.a11y import check_phone_page
from tests.e2e.server import (
    CITIZEN_EMAIL,
    SECRET_KEY,
    LiveServer,
    register_webhook,
    serving,
    stripe_config,
)
from tests.e2e.test_dunning_letters import _dun_the_citizen
from tests.e2e.test_payment_journey import CARD_OK, PAID, card_page, fill_card
from tests.localstripe import running_localstripe

pytestmark = pytest.mark.e2e


def _in_db(server: LiveServer, query: Any) -> Any:
    """Read the live server's SQLite file with a plain engine (the app's own engines begin
    every transaction IMMEDIATE, a write lock the server would wait for)."""
    engine = create_engine(server.database_url)
    try:
        with Session(engine) as session:
            return session.execute(query).scalar_one()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def letter_link() -> Iterator[tuple[LiveServer, str, int]]:
    """A live server with the citizen dunned twice; the Mahnung's signed link and total."""
    with running_localstripe() as stripe_base, serving(stripe_config(stripe_base)) as server:
        register_webhook(stripe_base, server.url)
        _dun_the_citizen(server.database_url)
        letter = _in_db(
            server,
            select(DunningLetter)
            .join(Person, Person.id == DunningLetter.person_id)
            .join(UserAccount, UserAccount.id == Person.user_id)
            .where(UserAccount.email == CITIZEN_EMAIL, DunningLetter.level_name == "Mahnung"),
        )
        token = letters.link_token(NoticeSettings(SECRET_KEY, server.url), letter)
        yield server, f"/musterstadt/mahnschreiben/{token}", letter.person_id


def _card_payments(server: LiveServer, person_id: int) -> int:
    return int(
        _in_db(
            server,
            select(func.count(Payment.id)).where(
                Payment.person_id == person_id, Payment.channel == PaymentChannel.CARD
            ),
        )
    )


def test_pay_the_letter_by_card_from_its_link_on_a_phone(
    browser: Browser, letter_link: tuple[LiveServer, str, int], console_errors: list[str]
) -> None:
    server, link, person_id = letter_link
    context = chromium.phone_context(browser, server.url)
    other = chromium.phone_context(browser, server.url)
    try:
        page, stale = context.new_page(), other.new_page()
        for p in (page, stale):
            p.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.goto(link)  # scanned from the paper: no log-in
        expect(page.get_by_role("heading", level=1)).to_contain_text("Mahnung vom")
        main = page.get_by_role("main")
        button = main.get_by_role("button", name=re.compile(r"jetzt mit Karte bezahlen$"))
        expect(button).to_be_visible()
        expect(page.get_by_role("img", name=re.compile("GiroCode"))).to_be_visible()
        check_phone_page(page)  # axe (WCAG 2.1 A/AA) and no sideways scrolling at 390 px
        amount_text = button.inner_text().split(" jetzt")[0]
        amount = int(re.sub(r"\D", "", amount_text))
        assert format_euro(amount) == amount_text
        stale.goto(link)  # someone else opens the same link before it is paid
        before = _card_payments(server, person_id)

        button.click()
        pay = card_page(page, amount, "Stadtkasse Musterstadt")
        fill_card(page, CARD_OK)
        pay.click()

        expect(page).to_have_url(re.compile(r"/zahlvorgang/[\w.-]+/ergebnis$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(PAID)
        expect(page.get_by_role("status")).to_contain_text(f"{format_euro(amount)} bezahlt")
        check_phone_page(page)
        assert _card_payments(server, person_id) == before + 1

        page.goto(link)
        expect(page.get_by_role("status")).to_contain_text("Alles bezahlt")
        expect(page.get_by_role("button", name=re.compile("bezahlen"))).to_have_count(0)
        expect(page.get_by_role("img", name=re.compile("GiroCode"))).to_have_count(0)
        check_phone_page(page)

        # the page loaded before: its button charges nothing more
        stale.get_by_role("button", name=re.compile(r"jetzt mit Karte bezahlen$")).click()
        expect(stale.get_by_role("main")).to_contain_text("bereits alles bezahlt")
        check_phone_page(stale)
        assert _card_payments(server, person_id) == before + 1
        # the refusal is answered 409; Chromium logs that as a console error
        console_errors[:] = [e for e in console_errors if "status of 409" not in e]
    finally:
        context.close()
        other.close()
