"""The clerk's bank screens: direct debit (pre-notification, run, pain.008 download), bank
statement upload with its report, the queue of unmatched lines, mandates on the person page —
each limited to the clerk's own municipality."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sepaxml
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel import clock
from core.kernel.references import format_kassenzeichen
from core.ledger.balances import open_amounts
from core.ledger.models import JournalEntry
from core.payments.bank import import_records
from core.payments.bank import queue as bank_queue
from core.payments.bank.camt import CamtEntry, CamtStatement, CamtTransaction
from core.payments.bank.models import LineStatus
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.bank_days import next_target_day
from core.payments.sepa.models import DirectDebitRun, ItemStatus, MandateStatus
from tests.camt_files import build_camt053
from tests.conftest import csrf_token, login, staff_login

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.08.xsd"
PAGE = "/backoffice/lastschrift"
UPLOAD = "/backoffice/kontoauszuege"


def _day(offset: int) -> date:
    return clock.today() + timedelta(days=offset)


def _bank_day(offset: int) -> date:
    """The first TARGET2 bank day ``offset`` days from today or later (collections settle
    only on those)."""
    return next_target_day(_day(offset))


@pytest.fixture
def town(db: Session, make: Any) -> Any:
    """A municipality with direct-debit rules, a clerk, and two debtors with mandates and a
    claim each that falls due before the earliest collection day."""
    m = make.municipality()
    make.sepa_statute(m)
    clerk = make.user(role=Role.CLERK, municipality=m)
    debtors = [make.person(m, family_name="Müller"), make.person(m, family_name="Schmidt")]
    claims = [
        make.claim(m, debtors[0], amount=4500, due=_day(5)),
        make.claim(m, debtors[1], amount=12000, due=_day(7)),
    ]
    for person, iban in zip(
        debtors, ["DE89370400440532013000", "DE02120300000000202051"], strict=True
    ):
        mandates.grant_mandate(
            db,
            person=person,
            municipality=m,
            account_holder=person.display_name,
            iban=iban,
            tax_account_id=None,
            signed_on=clock.today(),
            as_of=clock.today(),
            actor="test",
        )
    db.commit()
    return type("Town", (), {"m": m, "clerk": clerk, "debtors": debtors, "claims": claims})


def _post(client: FlaskClient, url: str, data: dict[str, Any], page: str = PAGE, **kw: Any) -> Any:
    """POST to ``url`` with the CSRF token of the page that holds the form."""
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data}, **kw)


def _run(db: Session, m: Any) -> DirectDebitRun:
    """Pre-notify and collect in the core (the screens are tested separately)."""
    collection = _bank_day(14)
    prenotifications.prenotify(db, m, collection_date=collection, as_of=clock.today(), actor="t")
    run = debit_runs.create_run(
        db, m, collection_date=collection, as_of=clock.today(), actor="t"
    ).run
    assert run is not None
    db.commit()
    return run


def _tx(amount: int, **kw: Any) -> CamtTransaction:
    values: dict[str, Any] = dict(
        amount_cents=amount,
        end_to_end_id=None,
        mandate_id=None,
        acct_svcr_ref=None,
        remittance="",
        creditor_reference=None,
        counterparty_name=None,
        counterparty_iban=None,
        return_reason=None,
    )
    values.update(kw)
    return CamtTransaction(**values)


def _statement(iban: str, transactions: list[CamtTransaction], sid: str = "AUSZUG-1") -> bytes:
    entries = tuple(
        CamtEntry(
            index=n,
            amount_cents=tx.amount_cents,
            credit=True,
            reversal=False,
            booking_date=_day(0),
            value_date=_day(0),
            acct_svcr_ref=f"{sid}-REF-{n}",
            bank_transaction_code="PMNT/RCDT/ESCT",
            batch_payment_info_id=None,
            batch_message_id=None,
            batch_count=None,
            transactions=(tx,),
        )
        for n, tx in enumerate(transactions, start=1)
    )
    return build_camt053(
        CamtStatement(
            message_id=f"MSG-{sid}",
            statement_id=sid,
            sequence_number="1",
            iban=iban,
            currency="EUR",
            created_at=None,
            kind="camt.053.001.08",
            entries=entries,
        )
    )


def _upload(client: FlaskClient, data: bytes, filename: str = "auszug.xml") -> Any:
    return _post(
        client,
        UPLOAD,
        {"statement": (io.BytesIO(data), filename)},
        page=UPLOAD,
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def _entries(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(JournalEntry)) or 0


# --------------------------------------------------------------------------- direct debit


def test_prenotify_run_and_download_the_pain008(
    client: FlaskClient, db: Session, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    page = client.get(PAGE).get_data(as_text=True)
    assert "2 Posten" in page and "165,00 €" in page  # the preview up to the earliest day

    collection = _bank_day(14)
    too_early = _post(
        client, f"{PAGE}/vorabankuendigung", {"vorab-collection_date": _bank_day(3).isoformat()}
    )
    assert too_early.status_code == 200
    assert "frühester Einzugstag ist der" in too_early.get_data(as_text=True)

    done = _post(
        client,
        f"{PAGE}/vorabankuendigung",
        {"vorab-collection_date": collection.isoformat()},
        follow_redirects=True,
    )
    text = done.get_data(as_text=True)
    assert f"Vorabankündigung zum {collection:%d.%m.%Y} versandt: 2 Posten" in text
    assert "165,00 €" in text
    letters_url = f"{PAGE}/vorabankuendigung/{collection.isoformat()}.pdf"
    assert letters_url in text  # the debtors have no e-mail: letters to print
    letters = client.get(letters_url)
    assert letters.status_code == 200 and letters.data.startswith(b"%PDF")
    assert letters.mimetype == "application/pdf"
    assert client.get(f"{PAGE}/vorabankuendigung/2001-01-01.pdf").status_code == 404
    assert client.get(f"{PAGE}/vorabankuendigung/kein-datum.pdf").status_code == 404

    d_minus_1 = _post(client, f"{PAGE}/lauf", {"lauf-collection_date": _day(0).isoformat()})
    assert "D-1" in d_minus_1.get_data(as_text=True)
    assert debit_runs.runs_of(db, town.m.id) == []

    created = _post(client, f"{PAGE}/lauf", {"lauf-collection_date": collection.isoformat()})
    assert created.status_code == 302
    run = debit_runs.runs_of(db, town.m.id)[0]
    assert created.headers["Location"].endswith(f"{PAGE}/{run.id}")
    detail = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Lastschriftdatei erstellt: 2 Lastschriften, zusammen 165,00 €" in detail
    for person, claim in zip(town.debtors, town.claims, strict=True):
        assert str(person.number) in detail
        assert format_kassenzeichen(claim.kassenzeichen) in detail
    assert "im Einzug" in detail

    listing = client.get(PAGE).get_data(as_text=True)
    assert f"Lauf {run.id}" in listing and "0 Posten" in listing  # all in collection now

    download = client.get(f"{PAGE}/{run.id}/datei.xml")
    assert download.status_code == 200
    assert download.mimetype == "application/xml"
    assert download.headers["Content-Disposition"] == f'attachment; filename="{run.filename}"'
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.fromstring(download.data)
    schema.assertValid(doc)
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
    assert doc.xpath("string(//p:GrpHdr/p:CtrlSum)", namespaces=ns) == "165.00"


def test_run_without_anything_announced_says_what_was_skipped(
    client: FlaskClient, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    response = _post(
        client,
        f"{PAGE}/lauf",
        {"lauf-collection_date": _bank_day(14).isoformat()},
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert "ist nichts einzuziehen" in text
    assert "2 ohne gültige Vorabankündigung" in text


# --------------------------------------------------------------------------- statements


def test_upload_statement_shows_report_and_credits_items(
    client: FlaskClient, db: Session, town: Any, make: Any
) -> None:
    run = _run(db, town.m)
    items = debit_runs.items_of(db, run)
    other = make.person(town.m, family_name="Weber")
    transfer = make.claim(town.m, other, amount=3000)
    db.commit()
    xml = _statement(
        town.m.iban,
        [
            *(_tx(i.amount_cents, end_to_end_id=i.end_to_end_id) for i in items),
            _tx(
                3000, remittance=f"Hundesteuer {transfer.kassenzeichen}", counterparty_name="Weber"
            ),
            _tx(777, remittance="Spende Vereinsfest", counterparty_name="Irgendwer"),
        ],
    )
    staff_login(client, town.clerk.email)
    page = _upload(client, xml).get_data(as_text=True)
    assert "Kontoauszug „auszug.xml“ eingelesen." in page
    assert "Bericht des Einlesens" in page
    assert "3 (Trefferquote 75,0 %)" in page
    assert "2 (165,00 €)" in page  # direct debits credited
    assert "1 (7,77 €)" in page  # queued to the clerk
    assert "AUSZUG-1" in page  # in the list of imports
    db.expire_all()
    assert {i.status for i in debit_runs.items_of(db, run)} == {ItemStatus.CREDITED}
    assert open_amounts(db, [transfer]) == {transfer.id: 0}
    # The report is shown once; the import's own page keeps it, with its lines.
    assert "Bericht des Einlesens" not in client.get(UPLOAD).get_data(as_text=True)
    record = import_records.imports_of(db, town.m.id)[0]
    detail = client.get(f"{UPLOAD}/{record.id}").get_data(as_text=True)
    assert "Trefferquote 75,0 %" in detail and "Spende Vereinsfest" in detail
    assert "Lastschrift gutgeschrieben" in detail and "zu klären" in detail


def test_malformed_or_foreign_statement_books_nothing(
    client: FlaskClient, db: Session, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    before = _entries(db)
    broken = _upload(client, b"<?xml version='1.0'?><Document><kein camt")
    assert broken.status_code == 200
    assert "Bitte prüfen Sie Ihre Angaben" in broken.get_data(as_text=True)
    foreign = _upload(client, _statement("DE02100100100006820101", [_tx(500, remittance="x")]))
    assert "nicht zum Konto" in foreign.get_data(as_text=True)
    assert "Es wurde nichts gebucht" in foreign.get_data(as_text=True)
    wrong_type = _upload(client, b"%PDF-1.4", filename="auszug.pdf")
    assert "Bitte laden Sie eine XML-Datei" in wrong_type.get_data(as_text=True)
    assert _entries(db) == before
    assert import_records.imports_of(db, town.m.id) == []


def test_a_file_above_the_request_limit_gets_a_german_page(
    client: FlaskClient, db: Session, town: Any
) -> None:
    staff_login(client, town.clerk.email)
    # A raw body (the test client would spool a multipart one to a temporary file).
    response = client.post(
        UPLOAD,
        data=b"<" * (11 * 1024 * 1024),
        content_type="multipart/form-data; boundary=grenze",
    )
    assert response.status_code == 413
    assert "Datei zu groß" in response.get_data(as_text=True)
    assert import_records.imports_of(db, town.m.id) == []


def test_same_statement_twice_is_already_imported(
    client: FlaskClient, db: Session, town: Any
) -> None:
    xml = _statement(town.m.iban, [_tx(1234, remittance="ohne Bezug")])
    staff_login(client, town.clerk.email)
    _upload(client, xml)
    before = _entries(db)
    again = _upload(client, xml, filename="nochmal.xml").get_data(as_text=True)
    assert "bereits eingelesen" in again
    assert _entries(db) == before
    assert len(import_records.imports_of(db, town.m.id)) == 1


# --------------------------------------------------------------------------- queue


def test_queue_assign_to_claim_and_close_with_note(
    client: FlaskClient, db: Session, town: Any, make: Any
) -> None:
    payer = make.person(town.m, family_name="Krause")
    claim = make.claim(town.m, payer, amount=4321)
    db.commit()
    xml = _statement(
        town.m.iban,
        [
            _tx(
                4321,
                remittance="Rechnung Maerz",
                counterparty_name="Krause, Testa",
                counterparty_iban="DE02100100100006820101",
            ),
            _tx(250, remittance="Gebuehr", counterparty_name="Bank"),
        ],
    )
    staff_login(client, town.clerk.email)
    _upload(client, xml)
    queue = client.get("/backoffice/zahlungsabgleich").get_data(as_text=True)
    assert "Rechnung Maerz" in queue and "43,21 €" in queue and "2,50 €" in queue
    assert "DE02 **** **** 0101" in queue  # the payer's IBAN masked
    assert "Kein gültiges Kassenzeichen" in queue
    assert f"Krause ({payer.number})" in queue  # suggested by amount and name

    lines = {x.amount_cents: x for x in bank_queue.queued_lines(db, town.m.id)}
    url = f"/backoffice/zahlungsabgleich/{lines[4321].id}"
    detail = client.get(url).get_data(as_text=True)
    assert "Betrag und Name" in detail
    found = client.get(f"{url}?q={payer.number}").get_data(as_text=True)
    assert "1 Treffer" in found and f"person={payer.id}" in found
    chosen = client.get(f"{url}?person={payer.id}").get_data(as_text=True)
    assert format_kassenzeichen(claim.kassenzeichen) in chosen and "offen 43,21 €" in chosen

    assigned = _post(
        client,
        f"{url}/zuordnen",
        {"person_id": str(payer.id), "claim_id": str(claim.id)},
        page=url,
        follow_redirects=True,
    )
    assert f"Personenkonto {payer.number}) zugeordnet" in assigned.get_data(as_text=True)
    db.expire_all()
    assert open_amounts(db, [claim]) == {claim.id: 0}
    again = _post(client, f"{url}/zuordnen", {"person_id": str(payer.id)}, page=url)
    assert again.status_code == 302  # already resolved: back to the line with a message
    assert "bereits geklärt" in client.get(again.headers["Location"]).get_data(as_text=True)

    fee_url = f"/backoffice/zahlungsabgleich/{lines[250].id}"
    empty = _post(client, f"{fee_url}/erledigen", {"note": ""}, page=fee_url)
    assert "Bitte vermerken Sie" in empty.get_data(as_text=True)
    closed = _post(
        client,
        f"{fee_url}/erledigen",
        {"note": "Bankgebühr, Sachkonto"},
        page=fee_url,
        follow_redirects=True,
    )
    assert "als erledigt vermerkt" in closed.get_data(as_text=True)
    assert "Keine Umsätze zu klären" in closed.get_data(as_text=True)
    assert bank_queue.queued_lines(db, town.m.id) == []


# --------------------------------------------------------------------------- tenancy, roles


def test_another_municipalitys_clerk_gets_404(
    client: FlaskClient, db: Session, town: Any, make: Any
) -> None:
    run = _run(db, town.m)
    xml = _statement(town.m.iban, [_tx(999, remittance="unbekannt")])
    staff_login(client, town.clerk.email)
    _upload(client, xml)
    line = bank_queue.queued_lines(db, town.m.id)[0]
    record = import_records.imports_of(db, town.m.id)[0]
    mandate = mandates.mandates_of(db, town.debtors[0])[0]
    client.post("/backoffice/abmelden", data={"csrf_token": csrf_token(client, PAGE)})

    b = make.municipality()
    make.sepa_statute(b)
    clerk_b = make.user(role=Role.CLERK, municipality=b)
    stranger = make.person(b)
    db.commit()
    staff_login(client, clerk_b.email)
    assert f"Lauf {run.id}" not in client.get(PAGE).get_data(as_text=True)
    assert client.get(f"{PAGE}/{run.id}").status_code == 404
    assert client.get(f"{PAGE}/{run.id}/datei.xml").status_code == 404
    assert client.get(f"{UPLOAD}/{record.id}").status_code == 404
    assert "unbekannt" not in client.get("/backoffice/zahlungsabgleich").get_data(as_text=True)
    line_url = f"/backoffice/zahlungsabgleich/{line.id}"
    assert client.get(line_url).status_code == 404
    own = "/backoffice/zahlungsabgleich"
    assign = _post(client, f"{line_url}/zuordnen", {"person_id": str(stranger.id)}, page=own)
    assert assign.status_code == 404
    close = _post(client, f"{line_url}/erledigen", {"note": "weg damit"}, page=own)
    assert close.status_code == 404
    reactivate = _post(
        client,
        f"/backoffice/personen/{town.debtors[0].id}/mandate/{mandate.id}/reaktivieren",
        {},
        page=own,
    )
    assert reactivate.status_code == 404
    db.expire_all()
    assert bank_queue.get_line(db, town.m.id, line.id).status is LineStatus.QUEUED


def test_clerk_cannot_assign_to_a_person_of_another_municipality(
    client: FlaskClient, db: Session, town: Any, make: Any
) -> None:
    stranger = make.person(make.municipality())
    db.commit()
    staff_login(client, town.clerk.email)
    _upload(client, _statement(town.m.iban, [_tx(999, remittance="unbekannt")]))
    url = f"/backoffice/zahlungsabgleich/{bank_queue.queued_lines(db, town.m.id)[0].id}"
    assert client.get(f"{url}?person={stranger.id}").status_code == 404
    response = _post(client, f"{url}/zuordnen", {"person_id": str(stranger.id)}, page=url)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "path", [PAGE, UPLOAD, "/backoffice/zahlungsabgleich", f"{PAGE}/1", f"{PAGE}/1/datei.xml"]
)
def test_citizens_and_visitors_cannot_reach_the_bank_screens(
    client: FlaskClient, make: Any, db: Session, path: str
) -> None:
    m = make.municipality()
    citizen = make.user()
    make.person(m, user=citizen)
    db.commit()
    assert client.get(path).status_code == 302  # to the log-in
    login(client, m.slug, citizen.email)
    assert client.get(path).status_code == 403


# --------------------------------------------------------------------------- mandates


def test_person_page_shows_mandates_and_reactivates_a_suspended_one(
    client: FlaskClient, db: Session, town: Any
) -> None:
    person = town.debtors[1]
    mandate = mandates.mandates_of(db, person)[0]
    mandates.suspend_mandate(
        db, mandate, as_of=clock.today(), reason="Rücklastschrift AC04", actor="t"
    )
    db.commit()
    staff_login(client, town.clerk.email)
    url = f"/backoffice/personen/{person.id}"
    page = client.get(url).get_data(as_text=True)
    assert mandate.reference in page and "alle Steuern und Gebühren" in page
    assert "DE02 **** **** 2051" in page
    assert "ausgesetzt (Rücklastschrift AC04)" in page
    assert "Mandat wieder aktivieren" in page
    response = _post(
        client,
        f"{url}/mandate/{mandate.id}/reaktivieren",
        {},
        page=url,
        follow_redirects=True,
    )
    text = response.get_data(as_text=True)
    assert f"Mandat {mandate.reference} ist wieder aktiv." in text
    assert "Mandat wieder aktivieren" not in text
    db.expire_all()
    assert mandates.mandates_of(db, person)[0].status is MandateStatus.ACTIVE
