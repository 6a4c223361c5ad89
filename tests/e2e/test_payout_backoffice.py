"""The back office's payout run in the browser on a phone (390×844), through axe-core: a clerk
prepares a run and sees who is paid (masked IBAN) and who is listed with the reason (no
account known); her own approval is refused (four eyes); a second clerk approves, the payout
is booked and the file is offered for download. The records are made in a town of their
own."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from core.identity import models as identity
from core.identity.models import Role
from core.kernel.db import make_engine, make_session_factory
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.payouts.accounts import record_payout_account
from tests import factories
from tests.e2e.a11y import check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import PASSWORD, LiveServer

pytestmark = pytest.mark.e2e
DAY = date(2026, 3, 1)


@pytest.fixture
def factory(live_app: LiveServer) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(live_app.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def town(factory: sessionmaker[Session]) -> dict[str, Any]:
    """A town with two persons in credit, one with a payout account and one without, a clerk
    who prepares runs and a second one who approves them."""
    with factory() as session:
        m = factories.municipality(session, name="Auszahlstadt")
        for family_name, cents, iban in (
            ("Guthaben", 4200, "DE02120300000000202051"),
            ("Ohnekonto", 1300, None),
        ):
            person = factories.person(session, m, family_name=family_name)
            record_payment(
                session, person=person, amount_cents=cents,
                channel=PaymentChannel.BANK_TRANSFER, received_on=DAY, as_of=DAY, actor="test",
            )  # fmt: skip
            if iban:
                record_payout_account(
                    session, person, iban=iban, account_holder="Testa Guthaben", actor="test"
                )
        clerks = []
        for name, role in (("Paula Plan", Role.CLERK), ("Fritz Freigabe", Role.APPROVER)):
            email = f"{name.split()[0].lower()}.{m.slug}@auszahlstadt.example"
            identity.create_user(
                session, email=email, password=PASSWORD, display_name=name, role=role,
                municipality_id=m.id,
            )  # fmt: skip
            clerks.append(email)
        session.commit()
        return {"clerks": clerks}


def test_preview_four_eyes_and_payout_on_a_phone(
    new_page: Callable[..., Page], town: dict[str, Any]
) -> None:
    clerk = new_page()  # a phone
    log_in(clerk, "/backoffice/anmelden", town["clerks"][0], phone=True)
    clerk.get_by_role("navigation", name="Sachbearbeitung").get_by_role(
        "link", name="Auszahlungen"
    ).click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Auszahlungsläufe")
    check_phone_page(clerk)
    clerk.get_by_label("Stichtag").fill("2026-03-01")
    clerk.get_by_role("button", name="Vorschau erstellen").click()
    expect(clerk.get_by_role("status")).to_contain_text("gebucht ist nichts")
    expect(clerk.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Auszahlungslauf Nr\. \d+ zum 01\.03\.2026$")
    )
    run_url = clerk.url
    paid = clerk.get_by_role("region", name=re.compile("^Auszahlungen"))
    expect(paid).to_contain_text("Guthaben")
    expect(paid).to_contain_text("DE02 **** **** 2051")
    expect(paid).to_contain_text("42,00")
    listed = clerk.get_by_role("region", name=re.compile("^Nicht ausgezahlt"))
    expect(listed).to_contain_text("Ohnekonto")
    expect(listed).to_contain_text("keine Bankverbindung bekannt")
    check_phone_page(clerk)
    clerk.get_by_role("button", name="Freigeben und buchen").click()  # her own run: refused
    expect(clerk.get_by_role("status")).to_contain_text("Vier-Augen-Prinzip")
    check_phone_page(clerk)

    approver = new_page()
    log_in(approver, "/backoffice/anmelden", town["clerks"][1], phone=True)
    approver.goto(run_url)
    check_phone_page(approver)
    approver.get_by_role("button", name="Freigeben und buchen").click()
    expect(approver.get_by_role("status")).to_contain_text("1 Auszahlungen gebucht")
    expect(approver.get_by_text("Der Lauf ist gebucht.")).to_be_visible()
    check_phone_page(approver)
    with approver.expect_download() as waiting:
        approver.get_by_role("link", name="Überweisungsdatei (pain.001) herunterladen").click()
    assert waiting.value.suggested_filename.endswith(".xml")
