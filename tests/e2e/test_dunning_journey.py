"""The journey of issue 13 in headless Chromium, with axe on every page (citizen and clerks on
a 390×844 phone, the approver at a desk): a claim is overdue → clerk A prepares the dunning run
in the back office (preview) → clerk B approves it (four eyes) and the booking job finishes →
the citizen logs in, sees the Zahlungserinnerung in the account and downloads it (the PDF read
back: its text and its GiroCode for the letter's total) → asks for two instalments online →
the plan is accepted straight through → pays the first instalment by the plan page's GiroCode
(the transfer arrives in a camt.053 statement the clerk uploads) → the plan check runs as a job
(started on the back office's run screen): the plan still runs → the second instalment arrives
the same way → the next check ends the plan: the account shows it done, its blocks ended.

Its own live server (own demo database) and its own town, so that no other browser test sees
the run's fees and surcharges or the plan."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from core.dunning.instalment_models import InstalmentPlan, PlanClaim, PlanState
from core.dunning.models import DunningBlock, DunningLetter
from core.identity import models as identity
from core.identity.models import Role
from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.kernel.money import format_euro
from core.kernel.references import format_kassenzeichen
from core.payments.bank.camt import CamtEntry, CamtStatement, CamtTransaction
from tests import factories
from tests.camt_files import build_camt053
from tests.e2e import browser as chromium
from tests.e2e.a11y import assert_accessible, check_phone_page
from tests.e2e.helpers import flat_text, log_in, qr_codes, qr_image_text
from tests.e2e.server import PASSWORD, LiveServer, serving
from tests.e2e.test_job_control import DONE

pytestmark = pytest.mark.e2e

SLUG = "ratenstadt"
IBAN = "DE02120300000000202051"
CLAIM_CENTS = 30000


@pytest.fixture(scope="module")
def journey_server() -> Iterator[LiveServer]:
    with serving() as server:
        yield server


def _town(database_url: str) -> dict[str, Any]:
    """Ratenstadt: dunning procedure, instalment and SEPA rules (the demo's), a citizen with a
    claim of 300 € overdue for a month, clerk A who prepares runs and clerk B who approves them."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            m = factories.municipality(
                session, slug=SLUG, name="Ratenstadt", iban=IBAN, kassenzeichen_prefix="777",
                official_key="05999777", cash_office_name="Stadtkasse Ratenstadt",
            )  # fmt: skip
            factories.dunning_statute(session, m)
            factories.instalment_statute(session, m)
            factories.sepa_statute(session, m)  # the bank import reads its return fees
            email = f"rita-{uuid.uuid4().hex[:6]}@ratenstadt.example"
            user = identity.create_user(
                session, email=email, password=PASSWORD, display_name="Rita Rate"
            )
            person = factories.person(session, m, user=user, family_name="Rate")
            claim = factories.claim(
                session, m, person, amount=CLAIM_CENTS, due=clock.today() - timedelta(days=30),
                description="Grundsteuer B, Rate 3", as_of=clock.today() - timedelta(days=60),
            )  # fmt: skip
            clerks = []
            for name, role in (("Clara Mahn", Role.CLERK), ("Fritz Freigabe", Role.APPROVER)):
                clerk_email = f"{name.split()[0].lower()}@ratenstadt.example"
                identity.create_user(
                    session, email=clerk_email, password=PASSWORD, display_name=name,
                    role=role, municipality_id=m.id,
                )  # fmt: skip
                clerks.append(clerk_email)
            session.commit()
            return {
                "citizen": email,
                "person_id": person.id,
                "claim_id": claim.id,
                "kassenzeichen": format_kassenzeichen(claim.kassenzeichen),
                "clerks": clerks,
            }
    finally:
        engine.dispose()


@pytest.fixture
def town(journey_server: LiveServer) -> dict[str, Any]:
    return _town(journey_server.database_url)


@pytest.fixture
def pages(
    browser: Browser, journey_server: LiveServer, console_errors: list[str]
) -> Iterator[Callable[..., Page]]:
    contexts: list[BrowserContext] = []

    def open_page(*, desktop: bool = False) -> Page:
        url = journey_server.url
        context = (
            chromium.desktop_context(browser, url)
            if desktop
            else chromium.phone_context(browser, url)
        )
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: console_errors.append(f"script error: {exc}"))
        return page

    yield open_page
    for context in contexts:
        context.close()


def _statement(cents: int, reference: str) -> bytes:
    """A camt.053 with one credit transfer of ``cents`` to Ratenstadt with the RF reference
    the GiroCode carried (as a bank passes it on: structured creditor reference)."""
    today, statement_id = clock.today(), f"E2E-{uuid.uuid4().hex[:12]}"
    transaction = CamtTransaction(
        amount_cents=cents, end_to_end_id=None, mandate_id=None, acct_svcr_ref=None,
        remittance=reference, creditor_reference=reference, counterparty_name="Rita Rate",
        counterparty_iban="DE02100100100006820101", return_reason=None,
    )  # fmt: skip
    entry = CamtEntry(
        index=1, amount_cents=cents, credit=True, reversal=False, booking_date=today,
        value_date=today, acct_svcr_ref=f"{statement_id}-1", bank_transaction_code="PMNT/RCDT/ESCT",
        batch_payment_info_id=None, batch_message_id=None, batch_count=None,
        transactions=(transaction,),
    )  # fmt: skip
    statement = CamtStatement(
        message_id=f"MSG-{statement_id}", statement_id=statement_id, sequence_number="1",
        iban=IBAN, currency="EUR", created_at=None, kind="camt.053.001.08", entries=(entry,),
    )  # fmt: skip
    return build_camt053(statement)


def _epc(lines: list[str]) -> tuple[int, str]:
    """(amount in cents, RF reference) of a GiroCode (EPC QR) payload."""
    assert lines[:4] == ["BCD", "002", "1", "SCT"], lines
    amount = lines[7].removeprefix("EUR")
    euros, _, cents = amount.partition(".")
    reference = next(line for line in lines if line.startswith("RF"))
    return int(euros) * 100 + int((cents + "00")[:2]), reference


def _upload(clerk: Page, tmp_path: Path, cents: int, reference: str) -> None:
    camt = tmp_path / f"auszug-{uuid.uuid4().hex[:6]}.xml"
    camt.write_bytes(_statement(cents, reference))
    clerk.goto("/backoffice/")
    clerk.get_by_role("navigation", name="Sachbearbeitung").get_by_role(
        "link", name="Kontoauszüge", exact=True
    ).click()
    clerk.get_by_label("Kontoauszug (camt.053").set_input_files(camt)
    clerk.get_by_role("button", name="Kontoauszug einlesen").click()
    expect(clerk.get_by_role("heading", name="Bericht des Einlesens")).to_be_visible()
    expect(clerk.get_by_role("main")).to_contain_text("Trefferquote 100,0 %")
    check_phone_page(clerk)


def _check_plans(clerk: Page, summary: str) -> None:
    """Clerk A starts the plan check on the run screen and waits for the job."""
    clerk.goto("/backoffice/veranlagung")
    clerk.get_by_label("Lauf").select_option("instalment_plans")
    clerk.get_by_role("button", name="Vorschau anzeigen").click()
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("Vorschau: Ratenpläne prüfen")
    expect(clerk.get_by_text("1 laufende Ratenpläne werden geprüft.")).to_be_visible()
    check_phone_page(clerk)
    clerk.get_by_role("button", name="Lauf starten").click()
    expect(clerk).to_have_url(re.compile(r"/backoffice/laeufe/\d+$"))
    stand = clerk.locator("#job-stand")
    expect(stand.locator('[data-field="state_text"]')).to_have_text("fertig", timeout=DONE)
    expect(stand.locator('[data-field="summary"]')).to_contain_text(summary)
    check_phone_page(clerk)


def _dun(clerk: Page, approver: Page, town: dict[str, Any]) -> None:
    """Clerk A's preview, clerk B's approval and booking (the job finishes)."""
    log_in(clerk, "/backoffice/anmelden", town["clerks"][0], phone=True)
    clerk.goto("/backoffice/mahnlaeufe")
    check_phone_page(clerk)
    clerk.get_by_role("button", name="Vorschau erstellen").click()  # starts the preview job
    progress = clerk.locator("#job-stand")
    expect(progress.locator('[data-field="state_text"]')).to_have_text("fertig", timeout=DONE)
    clerk.get_by_role("link", name=re.compile(r"^Zum Mahnlauf Nr\. \d+$")).click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Mahnlauf Nr\. \d+"))
    expect(clerk.get_by_text("1 Person, 1 Schreiben, 1 Forderung")).to_be_visible()
    letters = clerk.get_by_role("region", name="Schreiben")
    expect(letters).to_contain_text(town["kassenzeichen"])
    expect(letters).to_contain_text("1. Zahlungserinnerung")
    check_phone_page(clerk)
    run_url = clerk.url

    log_in(approver, "/backoffice/anmelden", town["clerks"][1], phone=False)
    approver.goto(run_url)
    approver.get_by_role("button", name="Freigeben").click()
    expect(approver.get_by_role("status")).to_contain_text("freigegeben")
    assert_accessible(approver)
    approver.get_by_role("button", name="Buchen").click()
    stand = approver.locator("#job-stand")
    expect(stand.locator('[data-field="state_text"]')).to_have_text("fertig", timeout=DONE)
    expect(stand.locator('[data-field="summary"]')).to_contain_text("1 Mahnschreiben gebucht")
    assert_accessible(approver)


def _letter_total(server: LiveServer, person_id: int) -> int:
    engine = make_engine(server.database_url)
    try:
        with make_session_factory(engine)() as session:
            return session.scalars(
                select(DunningLetter.total_cents).where(
                    DunningLetter.person_id == person_id, DunningLetter.booked_at.is_not(None)
                )
            ).one()
    finally:
        engine.dispose()


def _download_letter(citizen: Page, total: int, tmp_path: Path) -> None:
    section = citizen.get_by_role("region", name="Mahnschreiben")
    link = section.get_by_role(
        "link", name=re.compile(r"^Zahlungserinnerung vom \d\d\.\d\d\.\d{4} \(PDF\)$")
    )
    expect(link).to_be_visible()
    expect(section).to_contain_text(f"{format_euro(total)} zu zahlen bis")
    check_phone_page(citizen)
    with citizen.expect_download() as download:
        link.click()  # made on this first download
    pdf = tmp_path / "zahlungserinnerung.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    text = flat_text(pdf)
    assert "Zahlungserinnerung" in text and format_euro(total) in text
    codes = [c for found in qr_codes(pdf, tmp_path).values() for c in found]
    epc = next(c for c in codes if c.startswith("BCD\n"))
    assert _epc(epc.splitlines())[0] == total


def _request_plan(citizen: Page) -> None:
    citizen.get_by_role("link", name="Stundung oder Ratenzahlung beantragen").click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text(
        "Stundung oder Ratenzahlung beantragen"
    )
    for box in citizen.locator('input[name="claims"]').all():
        box.check()  # the claim and the surcharge the run added
    citizen.get_by_label("Anzahl der Raten").fill("2")
    citizen.get_by_role("button", name="Ratenplan berechnen").click()
    expect(citizen.get_by_label(re.compile(r"Rate 2 \(.*€\) fällig am"))).to_be_visible()
    check_phone_page(citizen)
    citizen.get_by_label("Begründung").fill("Kurzarbeit seit dem Frühjahr.")
    citizen.get_by_role("button", name="Antrag stellen").click()
    expect(citizen.get_by_role("status")).to_contain_text("Ihr Ratenplan ist bewilligt")
    check_phone_page(citizen)


def _pay_next(citizen: Page, clerk: Page, number: int, tmp_path: Path) -> None:
    """The citizen reads the plan page's GiroCode of instalment ``number``; the transfer
    arrives in a statement clerk A uploads."""
    citizen.goto(f"/{SLUG}/konto")
    plans = citizen.get_by_role("region", name="Stundung und Ratenzahlung")
    plans.get_by_role("link", name=re.compile(r"Ratenplan \d+ ansehen und Rate bezahlen")).click()
    heading = citizen.get_by_role("heading", level=2, name=re.compile(f"Rate {number} bezahlen"))
    expect(heading).to_be_visible()
    check_phone_page(citizen)
    cents, reference = _epc(qr_image_text(citizen.locator("img.ok-qr"))[0].splitlines())
    expect(heading).to_contain_text(format_euro(cents))
    _upload(clerk, tmp_path, cents, reference)


def _plan_in_db(server: LiveServer, person_id: int) -> tuple[InstalmentPlan, list[DunningBlock]]:
    engine = make_engine(server.database_url)
    try:
        with make_session_factory(engine)() as session:
            plan = session.scalars(
                select(InstalmentPlan).where(InstalmentPlan.person_id == person_id)
            ).one()
            found = list(
                session.scalars(
                    select(DunningBlock)
                    .join(PlanClaim, PlanClaim.block_id == DunningBlock.id)
                    .where(PlanClaim.plan_id == plan.id)
                )
            )
            session.expunge_all()
            return plan, found
    finally:
        engine.dispose()


def test_overdue_claim_dunned_letter_instalments_paid_and_the_plan_done(
    pages: Callable[..., Page], journey_server: LiveServer, town: dict[str, Any], tmp_path: Path
) -> None:
    clerk, approver, citizen = pages(), pages(desktop=True), pages()
    _dun(clerk, approver, town)

    log_in(citizen, f"/{SLUG}/anmelden", town["citizen"], phone=True)
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    _download_letter(citizen, _letter_total(journey_server, town["person_id"]), tmp_path)

    citizen.goto(f"/{SLUG}/konto")
    _request_plan(citizen)
    citizen.get_by_role("link", name="Zurück zu meinem Konto").click()
    plans = citizen.get_by_role("region", name="Stundung und Ratenzahlung")
    expect(plans).to_contain_text("läuft")
    check_phone_page(citizen)
    plan, held = _plan_in_db(journey_server, town["person_id"])
    assert plan.state is PlanState.ACTIVE and held
    assert all(b.active_on(clock.today()) for b in held)

    _pay_next(citizen, clerk, 1, tmp_path)
    _check_plans(clerk, "1 geprüft, 0 erledigt, 0 wegen versäumter Rate beendet")
    _pay_next(citizen, clerk, 2, tmp_path)  # the plan page now asks for the second
    _check_plans(clerk, "1 geprüft, 1 erledigt, 0 wegen versäumter Rate beendet")

    citizen.goto(f"/{SLUG}/konto")
    plans = citizen.get_by_role("region", name="Stundung und Ratenzahlung")
    expect(plans).to_contain_text(f"Ratenplan Nr. {plan.id}: erledigt")
    expect(plans).to_contain_text(re.compile(rf"Beendet am\s*{clock.today():%d\.%m\.%Y}"))
    expect(plans).to_contain_text(re.compile(r"Noch offen\s*0,00 €"))
    expect(citizen.get_by_role("region", name="Offene Posten")).to_contain_text(
        "Sie haben keine offenen Posten."
    )
    check_phone_page(citizen)
    plans.get_by_role("link", name=f"Ratenplan {plan.id} ansehen").click()
    expect(citizen.get_by_role("main")).to_contain_text(f"erledigt am {clock.today():%d.%m.%Y}")
    check_phone_page(citizen)
    done, ended = _plan_in_db(journey_server, town["person_id"])
    assert done.state is PlanState.COMPLETED
    assert all(b.ends_on == clock.today() for b in ended)
    assert not any(b.active_on(clock.today() + timedelta(days=1)) for b in ended)
