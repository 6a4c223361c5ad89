"""The back office's dunning in the browser, through axe-core on a phone (390×844) and on a
desktop: a clerk prepares a run for an overdue claim and sees the preview (totals, the person,
the Kassenzeichen, level, open amount and surcharge); her own approval is refused (four eyes); a
second clerk approves and books it, and the booking job finishes in the live server's
in-process worker, which renders the letter's PDF after it; the claim's dunning level and a
Mahnsperre appear on the person page.

The run is made in a town of its own in the live server's database, so that no other browser
test finds fees or surcharges on the demo's accounts."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

from core.identity import models as identity
from core.identity.models import Role
from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.kernel.references import format_kassenzeichen
from tests import factories
from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import PASSWORD, LiveServer
from tests.e2e.test_job_control import DONE, worker_idle

pytestmark = pytest.mark.e2e


@pytest.fixture
def factory(live_app: LiveServer) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(live_app.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def town(factory: sessionmaker[Session]) -> dict[str, Any]:
    """A town with its dunning procedure, a person with a claim of 120 € overdue for a month,
    a clerk who prepares runs and a second one who approves them."""
    with factory() as session:
        m = factories.municipality(session, name="Mahnstadt")
        factories.dunning_statute(session, m)
        person = factories.person(session, m, family_name="Säumig")
        claim = factories.claim(
            session, m, person, amount=12000, due=clock.today() - timedelta(days=30),
            description="Grundsteuer, Rate 4", as_of=clock.today() - timedelta(days=60),
        )  # fmt: skip
        clerks = []
        for name, role in (("Clara Mahn", Role.CLERK), ("Fritz Freigabe", Role.APPROVER)):
            email = f"{name.split()[0].lower()}.{m.slug}@mahnstadt.example"
            identity.create_user(
                session, email=email, password=PASSWORD, display_name=name, role=role,
                municipality_id=m.id,
            )  # fmt: skip
            clerks.append(email)
        session.commit()
        return {
            "person_id": person.id,
            "name": person.display_name,
            "kassenzeichen": format_kassenzeichen(claim.kassenzeichen),
            "clerks": clerks,
        }


def test_overdue_claim_preview_four_eyes_booking_and_block(
    new_page: Callable[..., Page], live_app: LiveServer, town: dict[str, Any]
) -> None:
    worker_idle(live_app)
    clerk = new_page()  # a phone
    log_in(clerk, "/backoffice/anmelden", town["clerks"][0], phone=True)
    clerk.get_by_role("navigation", name="Sachbearbeitung").get_by_role(
        "link", name="Mahnläufe"
    ).click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Mahnläufe")
    expect(clerk.get_by_label("Stichtag des Mahnlaufs")).to_have_value(clock.today().isoformat())
    check_phone_page(clerk)
    clerk.get_by_role("button", name="Vorschau erstellen").click()  # starts the preview job
    expect(clerk).to_have_url(re.compile(r"/backoffice/laeufe/\d+$"))
    progress = clerk.locator("#job-stand")
    expect(progress.locator('[data-field="state_text"]')).to_have_text("fertig", timeout=DONE)
    expect(progress.locator('[data-field="summary"]')).to_contain_text("1 Mahnschreiben")
    check_phone_page(clerk)
    clerk.get_by_role("link", name=re.compile(r"^Zum Mahnlauf Nr\. \d+$")).click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text(
        re.compile(rf"^Mahnlauf Nr\. \d+ zum {clock.today():%d\.%m\.%Y}$")
    )
    run_url = clerk.url
    expect(clerk.get_by_text("1 Person, 1 Schreiben, 1 Forderung")).to_be_visible()
    letters = clerk.get_by_role("region", name="Schreiben")
    expect(letters).to_contain_text(town["name"])
    expect(letters).to_contain_text(town["kassenzeichen"])
    expect(letters).to_contain_text("1. Zahlungserinnerung")
    expect(letters).to_contain_text("120,00 €")
    expect(letters).to_contain_text("1,00 €")  # § 240 AO: 1 % of 100 € for the month begun
    check_phone_page(clerk)
    clerk.get_by_role("button", name="Freigeben").click()  # her own run: refused
    expect(clerk.get_by_role("status")).to_contain_text("Vier-Augen-Prinzip")
    expect(clerk.get_by_role("button", name="Freigeben")).to_be_visible()
    check_phone_page(clerk)

    approver = new_page(desktop=True)
    log_in(approver, "/backoffice/anmelden", town["clerks"][1], phone=False)
    approver.goto("/backoffice/mahnlaeufe")
    assert_accessible(approver)
    approver.get_by_role("link", name=re.compile(r"^Nr\. \d+ zum")).first.click()
    expect(approver).to_have_url(run_url)
    approver.get_by_role("button", name="Freigeben").click()
    expect(approver.get_by_role("status")).to_contain_text("freigegeben")
    expect(approver.get_by_role("button", name="Verwerfen")).to_have_count(0)
    assert_accessible(approver)
    approver.get_by_role("button", name="Buchen").click()  # starts the job, wakes the worker
    expect(approver).to_have_url(re.compile(r"/backoffice/laeufe/\d+$"))
    stand = approver.locator("#job-stand")
    expect(stand.locator('[data-field="state_text"]')).to_have_text("fertig", timeout=DONE)
    expect(stand.locator('[data-field="summary"]')).to_contain_text("1 Mahnschreiben gebucht")
    assert_accessible(approver)

    worker_idle(live_app)  # the booking's last chunk started the letters' PDFs job
    clerk.goto(run_url)
    expect(clerk.get_by_text("Der Lauf ist gebucht.")).to_be_visible()
    expect(clerk.get_by_text("PDFs der Mahnschreiben: 1 von 1 erzeugt.")).to_be_visible()
    expect(clerk.get_by_role("link", name=re.compile(r"^Buchung: Job Nr\."))).to_be_visible()
    expect(clerk.get_by_text("von Fritz Freigabe").first).to_be_visible()
    check_phone_page(clerk)

    clerk.get_by_role("region", name="Schreiben").get_by_role("link", name=town["name"]).click()
    levels = clerk.get_by_role("region", name="Mahnstufen der Forderungen")
    expect(levels).to_contain_text("1. Zahlungserinnerung")
    expect(levels).to_contain_text("gebucht")
    expect(clerk.get_by_text("Keine Mahnsperren.")).to_be_visible()
    check_phone_page(clerk)
    clerk.get_by_role("combobox", name="Grund").select_option(label="Stundung")
    chosen = f"{town['kassenzeichen']} – Grundsteuer, Rate 4"
    clerk.get_by_role("combobox", name="Forderung").select_option(label=chosen)
    clerk.get_by_role("textbox", name="Vermerk").fill("Stundung bis Jahresende, Az. 7/26")
    clerk.get_by_role("button", name="Mahnsperre eintragen").click()
    expect(clerk.get_by_role("status")).to_contain_text("Mahnsperre eingetragen")
    blocks = clerk.get_by_role("region", name="Mahnsperren")
    expect(blocks).to_contain_text("Stundung bis Jahresende, Az. 7/26")
    expect(blocks).to_contain_text("in Kraft")
    expect(blocks).to_contain_text("Clara Mahn")
    check_phone_page(clerk)
    blocks.get_by_role("button", name=re.compile("^Beenden")).click()
    expect(clerk.get_by_role("status")).to_contain_text("Mahnsperre beendet")
    expect(clerk.get_by_role("region", name="Mahnsperren")).to_contain_text("beendet von")
    check_phone_page(clerk)
    worker_idle(live_app)
