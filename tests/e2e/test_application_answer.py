"""A clerk's question answered in the portal: the citizen registers a listed breed on her phone,
the clerk asks a question at the desk, the citizen answers on the application's status page
(first empty: the German error), and the clerk reads the answer with the application back in
the review queue.

Every page visited passes axe-core; the citizen's pages do not scroll sideways at 390 px. The
live server is shared by the session: the dog has a fresh name and chip number, and the clerk
rejects the application at the end, so no other test sees it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from core.kernel import clock
from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.helpers import log_in
from tests.e2e.server import CITIZEN_EMAIL, CLERK_EMAIL
from tests.e2e.test_dog_tax_journey import BREED, acquired_on

pytestmark = pytest.mark.e2e

QUESTION = "Bitte nennen Sie uns die Nummer Ihres Sachkundenachweises."
ANSWER = "Die Nummer lautet SK-2024-0815.\nDas Original bringe ich gern vorbei."


def test_citizen_answers_the_clerks_question_on_her_phone(
    phone: Page, new_page: Callable[..., Page]
) -> None:
    dog_name = f"Rex {uuid.uuid4().hex[:6].upper()}"

    # The citizen registers a listed breed: it waits for a clerk.
    log_in(phone, "/musterstadt/anmelden", CITIZEN_EMAIL, phone=True)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    phone.goto("/musterstadt/hunde/anmelden")
    phone.get_by_label("Name des Hundes").fill(dog_name)
    phone.get_by_label("Rasse", exact=True).select_option(BREED)
    phone.get_by_label("Seit wann halten Sie den Hund?").fill(
        acquired_on(clock.today()).isoformat()
    )
    phone.get_by_label("Chipnummer (Transponder)").fill(f"276098{uuid.uuid4().int % 10**9:09d}")
    phone.get_by_role("button", name="Hund anmelden").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/antraege/\d+$"))
    application_id = phone.url.rsplit("/", 1)[1]
    status_url = phone.url

    # The clerk asks a question.
    clerk = new_page(desktop=True)
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=False)
    clerk.goto(f"/backoffice/antraege/{application_id}")
    expect(clerk.get_by_role("heading", level=1)).to_contain_text(f"Antrag {application_id}")
    clerk.get_by_label("Begründung oder Rückfrage").fill(QUESTION)
    clerk.get_by_role("button", name="Rückfrage stellen").click()
    expect(clerk).to_have_url(re.compile(r"/backoffice/pruefung$"))
    row = clerk.get_by_role("row").filter(
        has=clerk.get_by_role("link", name=application_id, exact=True)
    )
    expect(row).to_contain_text("Rückfrage")

    # The citizen sees the question and the reply form; no e-mail any more.
    phone.goto(status_url)
    main = phone.get_by_role("main")
    expect(phone.get_by_role("status")).to_contain_text("Rückfrage der Verwaltung")
    expect(phone.get_by_role("status")).to_contain_text(QUESTION)
    expect(main).not_to_contain_text("per E-Mail")
    answer = phone.get_by_label("Ihre Antwort")
    expect(answer).to_be_visible()
    check_phone_page(phone)

    # Sent empty: the German error, linked to the field.
    phone.get_by_role("button", name="Antwort senden").click()
    summary = phone.get_by_role("alert")
    expect(summary).to_contain_text("Bitte prüfen Sie Ihre Angaben")
    expect(summary).to_contain_text("Bitte geben Sie Ihre Antwort ein.")
    expect(answer).to_have_attribute("aria-invalid", "true")
    expect(answer).to_have_accessible_description(re.compile("Bitte geben Sie Ihre Antwort ein"))
    expect(phone.get_by_role("status")).to_contain_text(QUESTION)
    check_phone_page(phone)

    # Answered: back on the status page, in review again, the conversation listed.
    answer.fill(ANSWER)
    phone.get_by_role("button", name="Antwort senden").click()
    expect(phone).to_have_url(status_url)
    expect(
        phone.get_by_role("status").filter(has_text="Ihre Antwort ist eingegangen.")
    ).to_have_count(1)
    expect(main).to_contain_text("In Prüfung")
    expect(main.get_by_role("heading", name="Rückfragen und Antworten")).to_be_visible()
    expect(main).to_contain_text(QUESTION)
    expect(main).to_contain_text("Die Nummer lautet SK-2024-0815.")
    expect(phone.get_by_role("button", name="Antwort senden")).to_have_count(0)
    check_phone_page(phone)

    # The clerk finds it in review again and reads the answer.
    clerk.goto("/backoffice/pruefung")
    expect(row).to_contain_text("in Prüfung")
    row.get_by_role("link", name=application_id, exact=True).click()
    desk = clerk.get_by_role("main")
    expect(desk.get_by_role("heading", name="Rückfragen und Antworten")).to_be_visible()
    expect(desk).to_contain_text(QUESTION)
    expect(desk).to_contain_text("Das Original bringe ich gern vorbei.")
    assert_accessible(clerk)

    # Tidy up: the clerk rejects it, so no other test meets this dog.
    clerk.get_by_label("Begründung oder Rückfrage").fill("Test beendet.")
    clerk.get_by_role("button", name="Ablehnen").click()
    expect(clerk).to_have_url(re.compile(r"/backoffice/pruefung$"))
