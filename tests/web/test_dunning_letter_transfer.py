"""Paying a dunning letter by transfer: the page behind the signed link shows a GiroCode for what
is open with the letter's own reference as RF reference (the one on the PDF, never a
Kassenzeichen) and prints it as Verwendungszweck; a bank statement (camt.053) with that
reference settles the letter's claims — main claim, fee, surcharge — and nothing else first, a
part of it in the order of § 225 AO (taxes, then costs, Säumniszuschläge last), and the page
then says what is paid and offers only the rest. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import io
import re
from datetime import date
from typing import Any

import zxingcpp
from flask import Flask
from PIL import Image
from sqlalchemy.orm import Session

from core.dunning import account as dunning_account
from core.dunning import booking, letters, runs
from core.dunning.models import DunningLetter
from core.kernel import clock
from core.kernel.references import format_rf, make_rf
from core.ledger.balances import open_amounts
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.notices.records import NoticeSettings
from core.payments.bank import imports as bank_import
from tests.camt_files import build_camt053, entry, statement, tx

DUE = date(2026, 2, 15)
RUN = date(2026, 3, 16)
# One level with a fee: the first letter is already a Mahnung (NRW fee on 1,234.56 € = 17 €).
MAHNUNG = [{"name": "Mahnung", "days_after_due": 7, "payment_days": 7, "fee": {"model": "nrw"}}]


def _letter(app: Flask, db: Session, make: Any) -> dict[str, Any]:
    """Anna's Mahnung of a tax, and a later claim of hers under another Kassenzeichen that is
    not in the letter (it fell due after the run)."""
    m = make.municipality()
    make.dunning_statute(m, levels=MAHNUNG)
    make.sepa_statute(m)  # the bank import reads it (return charges)
    anna = make.person(m)
    tax = make.claim(m, anna, amount=123456, due=DUE, description="Hundesteuer 2026")
    later = make.claim(m, anna, amount=5000, due=date(2026, 3, 20), description="Abfall 2026")
    run = runs.preview(db, m, RUN, "user:1")
    runs.approve(db, run, "user:2")
    booking.book(db, run, "user:2")
    (letter,) = runs.letters_of(db, run)
    db.commit()
    claims = {c.kind: c for c in dunning_account.letter_claims(db, letter)}
    settings = NoticeSettings(app.config["SECRET_KEY"], app.config["PUBLIC_BASE_URL"])
    return {
        "m": m,
        "tax": tax,
        "later": later,
        "letter": letter,
        "fee": claims[ClaimKind.DUNNING_FEE],
        "surcharge": claims[ClaimKind.LATE_PAYMENT_SURCHARGE],
        "url": f"/{m.slug}/mahnschreiben/{letters.link_token(settings, letter)}",
    }


def _transfer(db: Session, m: Any, cents: int, rf: str, ref: str) -> None:
    day = clock.today()
    line = tx(cents, remittance="Mahnung", creditor_reference=rf, counterparty_name="Anna")
    data = build_camt053(statement(m.iban, f"AUSZUG-{ref}", entry(1, line, day=day, ref=ref)))
    report = bank_import.import_statements(
        db, m, data, filename=f"{ref}.xml", as_of=clock.today(), actor="test"
    )
    assert report.booked_cents == cents
    db.commit()
    db.expire_all()


def _girocode(page: str) -> list[str]:
    found = re.search(r'<img class="ok-qr" src="data:image/png;base64,([^"]+)"', page)
    assert found is not None
    with Image.open(io.BytesIO(base64.b64decode(found.group(1)))) as image:
        (code,) = zxingcpp.read_barcodes(image)
    return code.text.split("\n")


def _open(db: Session, *claims: Claim) -> list[int]:
    found = open_amounts(db, claims)
    return [found[c.id] for c in claims]


def test_the_girocode_total_settles_the_letters_claims_and_nothing_else(
    app: Flask, db: Session, make: Any
) -> None:
    s = _letter(app, db, make)
    letter: DunningLetter = s["letter"]
    assert (letter.fee_cents, letter.surcharge_cents) == (1700, 1200)
    assert letter.total_cents == 123456 + 1700 + 1200
    client = app.test_client()
    page = client.get(s["url"]).get_data(as_text=True)
    epc = _girocode(page)
    reference = letters.reference_of(db, letter)  # the PDF's reference
    assert epc[7] == "EUR1263.56" and epc[9] == make_rf(reference)
    assert reference != s["tax"].kassenzeichen and epc[9] != make_rf(s["tax"].kassenzeichen)
    assert f'ok-ref">{format_rf(epc[9])}</dd>' in page  # the Verwendungszweck shown

    _transfer(db, s["m"], letter.total_cents, epc[9], "T-1")

    assert _open(db, s["tax"], s["fee"], s["surcharge"]) == [0, 0, 0]
    assert _open(db, s["later"]) == [5000]  # not in the letter: untouched
    page = client.get(s["url"]).get_data(as_text=True)
    assert "Alles bezahlt" in page and "jetzt mit Karte bezahlen" not in page


def test_a_part_settles_in_the_order_of_225_ao_and_the_page_offers_the_rest(
    app: Flask, db: Session, make: Any
) -> None:
    s = _letter(app, db, make)
    client = app.test_client()
    rf = _girocode(client.get(s["url"]).get_data(as_text=True))[9]  # the letter's reference

    _transfer(db, s["m"], 123456 + 500, rf, "T-2")  # the tax and 5 € more

    # taxes first, then costs (the fee), Säumniszuschläge last (§ 225 (2) AO)
    assert _open(db, s["tax"], s["fee"], s["surcharge"]) == [0, 1200, 1200]
    assert _open(db, s["later"]) == [5000]  # not in the letter: after the letter's claims
    page = client.get(s["url"]).get_data(as_text=True)
    assert "Teilweise bezahlt" in page and "1.239,56 €" in page  # paid since the letter
    assert "24,00 € jetzt mit Karte bezahlen" in page
    assert _girocode(page)[7] == "EUR24.00"

    _transfer(db, s["m"], 1300, rf, "T-3")  # a part of the rest: the fee, then the surcharge

    assert _open(db, s["tax"], s["fee"], s["surcharge"]) == [0, 0, 1100]
    assert "11,00 € jetzt mit Karte bezahlen" in client.get(s["url"]).get_data(as_text=True)
