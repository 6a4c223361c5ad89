"""Job-Steuerung in the browser, through axe-core at phone size and on a desktop: the clerk
starts the dog-tax run of this year from the run screen with its preview (the demo has it
booked already, so it books nothing that other browser tests rely on) and sees it finish; a
notice-PDF job started from the command line is watched live on its page (its figures change
without a reload), cancelled and resumed, and finishes in the live server's in-process worker
(the live server runs a real SQLite file, so the worker thread really works)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
import portal.jobs
from core.jobs import control, worker
from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.tenancy.municipalities import get_by_slug
from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import CLERK_EMAIL, LiveServer

pytestmark = pytest.mark.e2e

DONE = 60_000  # ms a page may take to show a job finished (a bound for waiting, no assertion)


@pytest.fixture
def factory(live_app: LiveServer) -> Iterator[sessionmaker[Session]]:
    """Sessions on the live server's database file, beside the server's own."""
    engine = make_engine(live_app.database_url)
    yield make_session_factory(engine)
    engine.dispose()


def worker_idle(live_app: LiveServer) -> None:
    """Wait until the live server's in-process job worker has ended (it ends when no chunk is
    left), so that a job put up now waits for a clerk's click or this test's own worker."""
    for _ in range(600):
        thread: threading.Thread | None = live_app.app.extensions.get(portal.jobs.THREAD)
        if thread is None or not thread.is_alive():
            return
        time.sleep(0.1)
    raise AssertionError("the in-process job worker did not end")


def test_clerk_starts_a_run_with_its_preview_and_sees_it_finish(
    new_page: Callable[..., Page], live_app: LiveServer
) -> None:
    clerk = new_page()  # a phone
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=True)
    clerk.get_by_role("navigation", name="Sachbearbeitung").get_by_role(
        "link", name="Veranlagung"
    ).click()
    year = str(clock.today().year)
    check_phone_page(clerk)
    clerk.get_by_label("Lauf").select_option("dog_tax")
    clerk.get_by_label("Jahr").fill(year)
    clerk.get_by_role("button", name="Vorschau anzeigen").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text(
        re.compile(f"^Vorschau: Hundesteuer {year}")
    )
    expect(clerk.get_by_text("Halterinnen und Halter werden geprüft")).to_be_visible()
    check_phone_page(clerk)

    clerk.get_by_role("button", name="Lauf starten").click()
    expect(clerk).to_have_url(re.compile(r"/backoffice/laeufe/\d+$"))
    expect(clerk.get_by_role("heading", level=1)).to_have_text(re.compile(f"^Hundesteuer {year}"))
    stand = clerk.locator("#job-stand")
    expect(stand.locator('[data-field="state_text"]')).to_have_text("fertig", timeout=DONE)
    expect(stand.locator('[data-field="summary"]')).to_contain_text(
        f"Hundesteuer {year}: 1 Personen geprüft, 0 Bescheide erstellt."  # booked by the demo
    )
    expect(clerk.get_by_role("button", name="Abbrechen")).to_be_hidden()
    check_phone_page(clerk)

    clerk.get_by_role("link", name="Alle Läufe").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Läufe (Job-Steuerung)")
    expect(clerk.get_by_role("link", name=re.compile(f"^Hundesteuer {year}")).first).to_be_visible()
    check_phone_page(clerk)
    worker_idle(live_app)


def test_clerk_watches_cancels_and_resumes_a_notices_job(
    new_page: Callable[..., Page], live_app: LiveServer, factory: sessionmaker[Session]
) -> None:
    worker_idle(live_app)
    with factory() as session:  # started from the command line: nothing woke a worker
        job = control.start(
            session, get_by_slug(session, "musterstadt"), "notices", {}, actor="cli"
        )
        session.commit()
        job_id, total = job.id, job.total
    assert total > 8, "the demo should leave more than one chunk of notices without a PDF"
    clerk = new_page(desktop=True)
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=False)
    clerk.goto("/backoffice/laeufe")
    assert_accessible(clerk)
    clerk.get_by_role("link", name=re.compile("^Bescheide als PDF")).first.click()
    expect(clerk).to_have_url(re.compile(f"/backoffice/laeufe/{job_id}$"))
    stand = clerk.locator("#job-stand")
    expect(stand.locator('[data-field="state_text"]')).to_have_text("läuft")
    expect(stand.locator('[data-field="done_text"]')).to_have_text(f"0 von {total} (0 %)")
    expect(clerk.get_by_text("Kommandozeile", exact=False).first).to_be_visible()
    assert_accessible(clerk)

    clerk.evaluate("window.notReloaded = true")
    with live_app.app.app_context():
        environment = portal.jobs.environment()
    assert worker.run_next_chunk(factory, environment=environment) is not None  # 8 notices
    expect(stand.locator('[data-field="done_text"]')).to_have_text(
        re.compile(f"^8 von {total} "), timeout=DONE
    )  # the live refresh, without a reload:
    assert clerk.evaluate("window.notReloaded") is True
    assert_accessible(clerk)

    clerk.get_by_role("button", name="Abbrechen").click()
    expect(clerk.get_by_role("status").filter(has_text="Der Lauf ist abgebrochen")).to_be_visible()
    expect(stand.locator('[data-field="state_text"]')).to_have_text("abgebrochen")
    expect(clerk.get_by_role("button", name="Abbrechen")).to_be_hidden()
    assert_accessible(clerk)

    clerk.get_by_role("button", name="Fortsetzen").click()  # wakes the in-process worker
    expect(clerk.get_by_role("status").filter(has_text="wird fortgesetzt")).to_be_visible()
    expect(stand.locator('[data-field="state_text"]')).to_have_text("fertig", timeout=DONE)
    expect(stand.locator('[data-field="done_text"]')).to_have_text(f"{total} von {total} (100 %)")
    expect(stand.locator('[data-field="summary"]')).to_have_text(
        f"{total} Bescheide als PDF erzeugt und archiviert."
    )
    expect(clerk.get_by_role("button", name="Fortsetzen")).to_be_hidden()
    clerk.get_by_role("link", name="Aktualisieren").click()  # the reload offered without script
    expect(stand.locator('[data-field="state_text"]')).to_have_text("fertig")
    trail = clerk.get_by_role("heading", name="Protokoll").locator("xpath=following-sibling::ul[1]")
    for action in ("gestartet", "abgebrochen", "fortgesetzt", "fertig"):
        expect(trail).to_contain_text(action)
    assert_accessible(clerk)
    worker_idle(live_app)
