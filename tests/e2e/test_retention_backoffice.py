"""The back office's retention run in the browser on a phone (390×844), through axe-core: a
clerk prepares a run and sees per category what is due — a notice of 2015 — and what is
blocked with its reason (an open claim), never a document's content; her own approval is
refused (four eyes); a second clerk approves, and the job deletes in the live server's
in-process worker. The records are made in a town of their own."""

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
from tests import factories
from tests import retention_helpers as old
from tests.e2e.a11y import check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import PASSWORD, LiveServer
from tests.e2e.test_job_control import DONE, worker_idle

pytestmark = pytest.mark.e2e
OLD = date(2015, 3, 1)


@pytest.fixture
def factory(live_app: LiveServer) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(live_app.database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def town(factory: sessionmaker[Session]) -> dict[str, Any]:
    """A town with a settled person and her notice of 2015, a person who still owes from
    2015, a clerk who prepares runs and a second one who approves them."""
    with factory() as session:
        m = factories.municipality(session, name="Altablage")
        make = old.Make(session)
        settled = old.old_person(session, make, m, OLD, family_name="Erledigt")
        notice = old.notice(session, m, settled, OLD)
        owing = old.old_person(session, make, m, OLD, family_name="Offen")
        make.claim(m, owing, amount=700, due=OLD, as_of=OLD)
        clerks = []
        for name, role in (("Lisa Lösch", Role.CLERK), ("Fritz Freigabe", Role.APPROVER)):
            email = f"{name.split()[0].lower()}.{m.slug}@altablage.example"
            identity.create_user(
                session, email=email, password=PASSWORD, display_name=name, role=role,
                municipality_id=m.id,
            )  # fmt: skip
            clerks.append(email)
        session.commit()
        return {"document": notice.document_id, "owing": owing.number, "clerks": clerks}


def test_preview_four_eyes_and_deletion_on_a_phone(
    new_page: Callable[..., Page], live_app: LiveServer, town: dict[str, Any]
) -> None:
    worker_idle(live_app)
    clerk = new_page()  # a phone
    log_in(clerk, "/backoffice/anmelden", town["clerks"][0], phone=True)
    clerk.get_by_role("navigation", name="Sachbearbeitung").get_by_role(
        "link", name="Löschläufe"
    ).click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Löschläufe")
    check_phone_page(clerk)
    clerk.get_by_label("Stichtag des Löschlaufs").fill("2026-12-03")
    clerk.get_by_role("button", name="Vorschau erstellen").click()
    expect(clerk.get_by_role("status")).to_contain_text("gelöscht ist nichts")
    expect(clerk.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Löschlauf Nr\. \d+ zum 03\.12\.2026$")
    )
    run_url = clerk.url
    expect(
        clerk.get_by_text("Buchungsbelege (Bescheide, Mahnschreiben, SEPA-Mandate): 2")
    ).to_be_visible()
    due = clerk.get_by_role("region", name="Fällig je Art")
    expect(due).to_contain_text(f"Dokument {town['document']} (notice)")
    expect(due).to_contain_text("01.01.2026")
    blocked = clerk.get_by_role("region", name=re.compile("^Gesperrt"))
    expect(blocked).to_contain_text(f"Person {town['owing']}")
    expect(blocked).to_contain_text("offene Forderung")
    expect(clerk.get_by_text("Erledigt")).to_have_count(0)  # no names, no content
    check_phone_page(clerk)
    clerk.get_by_role("button", name="Freigeben und löschen").click()  # her own run: refused
    expect(clerk.get_by_role("status")).to_contain_text("Vier-Augen-Prinzip")
    check_phone_page(clerk)

    approver = new_page()  # a phone too
    log_in(approver, "/backoffice/anmelden", town["clerks"][1], phone=True)
    approver.goto(run_url)
    check_phone_page(approver)
    approver.get_by_role("button", name="Freigeben und löschen").click()
    expect(approver).to_have_url(re.compile(r"/backoffice/laeufe/\d+$"))
    stand = approver.locator("#job-stand")
    expect(stand.locator('[data-field="state_text"]')).to_have_text("fertig", timeout=DONE)
    expect(stand.locator('[data-field="summary"]')).to_contain_text(
        "1 Dokumente gelöscht, 0 E-Mails gelöscht, 0 Kontoumsätze und 1 Personen anonymisiert"
    )
    check_phone_page(approver)
    approver.get_by_role("link", name=re.compile(r"^Zum Löschlauf Nr\. \d+$")).click()
    expect(approver.get_by_text("Der Lauf ist ausgeführt.")).to_be_visible()
    check_phone_page(approver)
    approver.get_by_role("link", name="Zu den Löschläufen").click()
    approver.get_by_role("link", name="Löschsperren ansehen und eintragen").click()
    approver.get_by_label("Personennummer").fill(str(town["owing"]))
    approver.get_by_label("Grund").fill("Rechtsstreit Az. 7/26")
    approver.get_by_role("button", name="Löschsperre eintragen").click()
    expect(approver.get_by_role("status")).to_contain_text("Löschsperre eingetragen")
    expect(approver.get_by_role("region", name="Eingetragene Löschsperren")).to_contain_text(
        "Rechtsstreit Az. 7/26"
    )
    check_phone_page(approver)
    worker_idle(live_app)
