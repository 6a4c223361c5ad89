"""The clerk's bank screens in the browser: the direct-debit page (and its error for a collection
day too early), a small camt.053 statement uploaded from disk, the report, the import's page,
the queue and one queued line, and the form for a mandate that arrived on paper (empty, with its
errors). Every page passes axe-core.

The statement holds one transfer without a Kassenzeichen, so it lands in the queue and books
nothing against the demo citizens' claims (other browser tests rely on those)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.payments.bank.camt import CamtEntry, CamtStatement, CamtTransaction
from core.payments.sepa.bank_days import next_target_day
from core.tenancy.municipalities import get_by_slug
from tests.camt_files import build_camt053
from tests.e2e.a11y import assert_accessible
from tests.e2e.helpers import log_in
from tests.e2e.server import CLERK_EMAIL, LiveServer

pytestmark = pytest.mark.e2e


def musterstadt_iban(live_app: LiveServer) -> str:
    engine = make_engine(live_app.database_url)
    try:
        with make_session_factory(engine)() as session:
            return get_by_slug(session, "musterstadt").iban
    finally:
        engine.dispose()


def small_statement(iban: str, remittance: str) -> bytes:
    today = clock.today()
    statement_id = f"E2E-{uuid.uuid4().hex[:12]}"
    return build_camt053(
        CamtStatement(
            message_id=f"MSG-{statement_id}",
            statement_id=statement_id,
            sequence_number="1",
            iban=iban,
            currency="EUR",
            created_at=None,
            kind="camt.053.001.08",
            entries=(
                CamtEntry(
                    index=1,
                    amount_cents=4242,
                    credit=True,
                    reversal=False,
                    booking_date=today,
                    value_date=today,
                    acct_svcr_ref=f"{statement_id}-1",
                    bank_transaction_code="PMNT/RCDT/ESCT",
                    batch_payment_info_id=None,
                    batch_message_id=None,
                    batch_count=None,
                    transactions=(
                        CamtTransaction(
                            amount_cents=4242,
                            end_to_end_id=None,
                            mandate_id=None,
                            acct_svcr_ref=None,
                            remittance=remittance,
                            creditor_reference=None,
                            counterparty_name="Unbekannte Zahlerin",
                            counterparty_iban="DE02100100100006820101",
                            return_reason=None,
                        ),
                    ),
                ),
            ),
        )
    )


def nav(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Sachbearbeitung").get_by_role(
        "link", name=name, exact=True
    )


def test_clerk_direct_debit_statement_upload_and_queue(
    live_app: LiveServer, new_page: Callable[..., Page], tmp_path: Path
) -> None:
    clerk = new_page(desktop=True)
    log_in(clerk, "/backoffice/anmelden", CLERK_EMAIL, phone=False)

    # Direct debit: the page, then a collection day that is too early (error summary).
    nav(clerk, "Lastschrift").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("SEPA-Lastschrift")
    assert_accessible(clerk)
    form = clerk.locator("form", has=clerk.get_by_role("button", name="Vorabankündigung versenden"))
    form.get_by_label("Einzugstag").fill(next_target_day(clock.today()).isoformat())
    form.get_by_role("button", name="Vorabankündigung versenden").click()
    expect(clerk.get_by_role("alert")).to_contain_text("frühester Einzugstag")
    assert_accessible(clerk)

    # Bank statement upload: a small camt.053 from disk, then the report.
    remittance = f"Zahlung ohne Bezug {uuid.uuid4().hex[:6]}"
    camt = tmp_path / "auszug.xml"
    camt.write_bytes(small_statement(musterstadt_iban(live_app), remittance))
    nav(clerk, "Kontoauszüge").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Kontoauszüge einlesen")
    assert_accessible(clerk)
    clerk.get_by_label("Kontoauszug (camt.053").set_input_files(camt)
    clerk.get_by_role("button", name="Kontoauszug einlesen").click()
    expect(clerk.get_by_role("heading", name="Bericht des Einlesens")).to_be_visible()
    expect(clerk.get_by_role("main")).to_contain_text("Trefferquote 0,0 %")
    assert_accessible(clerk)

    # The import's own page, with its line.
    clerk.get_by_role("link", name="E2E-").first.click()
    expect(clerk.get_by_role("main")).to_contain_text(remittance)
    assert_accessible(clerk)

    # The queue and the queued line.
    nav(clerk, "Zahlungsabgleich").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Zahlungsabgleich")
    row = clerk.get_by_role("row").filter(has_text=remittance)
    expect(row).to_contain_text("42,42 €")
    expect(row).to_contain_text("DE02 **** **** 0101")
    assert_accessible(clerk)
    row.get_by_role("link", name="Klären").click()
    expect(clerk.get_by_role("heading", level=1)).to_contain_text("42,42 €")
    assert_accessible(clerk)
    clerk.get_by_role("button", name="Als erledigt vermerken").click()  # without a note
    expect(clerk.get_by_role("alert")).to_contain_text("Bitte vermerken Sie")
    assert_accessible(clerk)

    # A mandate on paper: the form from Erika's page, submitted empty (nothing is recorded).
    nav(clerk, "Personen").click()
    clerk.get_by_label("Name, Unternehmen, Personenkonto, Kassenzeichen oder Mandatsreferenz").fill(
        "Mustermann"
    )
    clerk.get_by_role("button", name="Suchen").click()
    clerk.get_by_role("link", name="Erika Mustermann").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Erika Mustermann")
    clerk.get_by_role("link", name="Papiermandat erfassen").click()
    expect(clerk.get_by_role("heading", level=1)).to_have_text("Papiermandat erfassen")
    expect(clerk.get_by_label("Kontoinhaberin oder Kontoinhaber")).to_have_value("Erika Mustermann")
    expect(clerk.get_by_role("radio", name="alle Steuern und Gebühren")).to_be_checked()
    assert_accessible(clerk)
    clerk.get_by_label("Kontoinhaberin oder Kontoinhaber").fill("")
    clerk.get_by_role("button", name="Mandat erfassen").click()
    summary = clerk.get_by_role("alert")
    expect(summary).to_contain_text("Bitte geben Sie die IBAN an.")
    expect(summary).to_contain_text("Bitte geben Sie das Datum der Unterschrift an.")
    expect(summary).to_contain_text("das unterschriebene Original vorliegt")
    expect(clerk.get_by_label("IBAN")).to_have_attribute("aria-invalid", "true")
    assert_accessible(clerk)
