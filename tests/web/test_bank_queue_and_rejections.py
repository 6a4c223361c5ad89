"""The clerks' matching queue comes in pages and keeps its filters; a junk bank file is refused
in German with what to do (never lxml's English); impossible amounts and ids are German 4xx or
report lines, never server errors."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel import clock
from core.payments.bank import import_records
from core.payments.bank import imports as bank_import
from core.payments.bank import queue as bank_queue
from core.payments.bank.queue import PAGE_SIZE, QueueFilter, queue_page
from tests.camt_files import build_camt053, entry, statement, tx
from tests.conftest import staff_login
from tests.web.test_backoffice_bank import _entries, _statement, _tx, _upload

QUEUE = "/backoffice/zahlungsabgleich"
KLAEREN = re.compile(r">Klären<span")


@pytest.fixture
def desk(client: FlaskClient, db: Session, make: Any) -> Any:
    m = make.municipality()
    make.sepa_statute(m)
    clerk = make.user(role=Role.CLERK, municipality=m)
    db.commit()
    staff_login(client, clerk.email)
    return m


def _queued(db: Session, m: Any, credits: int, debits: int = 0) -> None:
    day = clock.today()
    entries = [
        entry(n, tx(1000 + n, remittance=f"Spende {n}", counterparty_name=f"Zahler {n}"),
              day=day, ref=f"IN-{n}")
        for n in range(1, credits + 1)
    ] + [
        entry(credits + n, tx(500 + n, remittance=f"Abbuchung {n}"), day=day, credit=False,
              ref=f"OUT-{n}", code="PMNT/ICDT/ESCT")
        for n in range(1, debits + 1)
    ]  # fmt: skip
    data = build_camt053(statement(m.iban, "VIELE", *entries))
    report = bank_import.import_statements(
        db, m, data, filename="viele.xml", as_of=clock.today(), actor="t"
    )
    assert report.queued == credits + debits
    db.commit()


def test_queue_is_paginated_and_keeps_its_filters(
    client: FlaskClient, db: Session, desk: Any
) -> None:
    _queued(db, desk, credits=2 * PAGE_SIZE + 10, debits=5)
    first = client.get(QUEUE).get_data(as_text=True)
    assert len(KLAEREN.findall(first)) == PAGE_SIZE
    assert "Seite 1 von 3" in first and "Offen: 115 Umsätze" in first
    assert f"{QUEUE}?seite=2" in first and "Vorherige Seite" not in first
    last = client.get(f"{QUEUE}?seite=3").get_data(as_text=True)
    assert len(KLAEREN.findall(last)) == 15 and "Nächste Seite" not in last
    # the filter travels with every page link; counts and sum are those of the filter
    incoming = client.get(f"{QUEUE}?richtung=eingang").get_data(as_text=True)
    assert "Gefunden: 110 Umsätze" in incoming and "Seite 1 von 3" in incoming
    assert f"{QUEUE}?seite=2&amp;richtung=eingang" in incoming
    outgoing = client.get(f"{QUEUE}?richtung=abgang").get_data(as_text=True)
    assert len(KLAEREN.findall(outgoing)) == 5 and "Seite 1 von" not in outgoing
    found = client.get(f"{QUEUE}?suche=zahler+7&seite=1").get_data(as_text=True)
    assert "Gefunden: 11 Umsätze" in found  # Zahler 7 and Zahler 70 … 79
    assert 'value="zahler 7"' in found


def test_queue_page_numbers_and_search_are_safe(
    client: FlaskClient, db: Session, desk: Any
) -> None:
    _queued(db, desk, credits=3)
    for query in ("seite=abc", "seite=-1", "seite=999999", f"seite={2**70}", "richtung=x",
                  "suche=%25", "suche=_", "suche=" + "x" * 5000):  # fmt: skip
        answer = client.get(f"{QUEUE}?{query}")
        assert answer.status_code == 200, query
    assert len(KLAEREN.findall(client.get(f"{QUEUE}?seite=999999").get_data(as_text=True))) == 3
    assert "Keine Umsätze passen" in client.get(f"{QUEUE}?suche=%25").get_data(as_text=True)


def test_queue_page_in_the_core(db: Session, make: Any) -> None:
    m = make.municipality()
    make.sepa_statute(m)
    _queued(db, m, credits=7, debits=2)
    page = queue_page(db, m.id, page=2, per_page=4)
    assert (page.page, page.pages, page.total, len(page.lines)) == (2, 3, 9, 4)
    assert page.has_previous and page.has_next
    ins = queue_page(db, m.id, wanted=QueueFilter(credit=True))
    assert ins.total == 7 and ins.total_cents == sum(1000 + n for n in range(1, 8))
    assert queue_page(db, m.id, wanted=QueueFilter(search="Spende 3")).total == 1
    other = make.municipality()
    assert queue_page(db, other.id).total == 0


def _junk_camt(amount: str) -> bytes:
    return _statement_text(amount).encode()


def _statement_text(amount: str) -> str:
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-03-14T10:00:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>S1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>"
        f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        "<BookgDt><Dt>2026-03-14</Dt></BookgDt><BkTxCd/></Ntry></Stmt></BkToCstmrStmt></Document>"
    )


ENGLISH = re.compile(r"Premature|expected|Document is empty|Extra content|tag mismatch|line \d")


@pytest.mark.parametrize(
    ("data", "german"),
    [
        (b"Buchungstag;Betrag\n14.03.2026;12,50\n", "beginnt nicht mit"),
        (b"%PDF-1.7\n%\xe2\xe3", "PDF-Dokument"),
        (b"", "leer"),
        (_junk_camt("12.50")[:300], "bricht mitten im Inhalt ab"),
        (b'<?xml version="1.0"?><Document><a></Document>', "nicht passend geschlossen"),
        (b"<a/><b/>", "weiterer Inhalt"),
        (b'<?xml version="1.0" encoding="UTF-8"?><a>\xff\xfe</a>', "Zeichenkodierung"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>', "kein Kontoauszug"),
        (b'<Document xmlns="urn:example:camt.053.001.08"><BkToCstmrStmt/></Document>',
         "kein Kontoauszug"),
        (b"<Kontoauszug><Umsatz/></Kontoauszug>", "kein Kontoauszug"),
        (_junk_camt("99999999999999999999.99"), "höchstens 18 Ziffern"),
        (_junk_camt("30000000.00"), "größer als der größte Betrag"),
        (b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"/>', "Statusbericht"),
    ],
)  # fmt: skip
def test_junk_bank_files_are_refused_in_german_with_what_to_do(
    client: FlaskClient, db: Session, desk: Any, data: bytes, german: str
) -> None:
    before = _entries(db)
    answer = _upload(client, data)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert german in page
    assert "Es wurde nichts gebucht." in page and "Bitte " in page
    message = re.search(r'class="kern-error"[^>]*>(.*?)</p>', page, re.S)
    assert message is not None and not ENGLISH.search(message.group(1)), message
    assert _entries(db) == before
    assert import_records.imports_of(db, desk.id) == []


def test_bad_ids_on_the_bank_forms_are_a_german_404(
    client: FlaskClient, db: Session, desk: Any
) -> None:
    _upload(client, _statement(desk.iban, [_tx(777, remittance="unbekannt")]))
    (line,) = bank_queue.queued_lines(db, desk.id)
    detail = f"{QUEUE}/{line.id}"
    for value in ("abc", "", str(2**64), "-3", "1.0"):
        page = client.get(f"{detail}?person={value}")
        assert page.status_code == 200, value
        answer = client.post(
            f"{detail}/zuordnen",
            data={"csrf_token": _csrf(client, detail), "person_id": value},
        )
        assert answer.status_code == 404, value
        assert "Diese Seite gibt es nicht" in answer.get_data(as_text=True)
        with_claim = client.post(
            f"{detail}/zuordnen",
            data={"csrf_token": _csrf(client, detail), "person_id": "1", "claim_id": value or "x"},
        )
        assert with_claim.status_code == 404, value
    assert client.get(f"{QUEUE}/{2**64}").status_code == 404
    assert bank_queue.queued_lines(db, desk.id)[0].id == line.id  # nothing changed


def _csrf(client: FlaskClient, url: str) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, url)


def test_amounts_in_the_report_are_read_exactly_up_to_the_limit(db: Session, make: Any) -> None:
    m = make.municipality()
    make.sepa_statute(m)
    big = build_camt053(
        statement(m.iban, "GROSS", entry(1, tx(2**31 - 1, remittance="x"), day=date(2026, 3, 2)))
    )
    report = bank_import.import_statements(db, m, big, filename="g", as_of=clock.today(), actor="t")
    assert report.queued_cents == 2**31 - 1


def test_statement_detail_is_paginated(client: FlaskClient, db: Session, desk: Any) -> None:
    _queued(db, desk, credits=130)
    (record,) = import_records.imports_of(db, desk.id)
    url = f"/backoffice/kontoauszuege/{record.id}"
    first = client.get(url).get_data(as_text=True)
    assert first.count("Zahler ") == 100 and "Seite 1 von 2 (130 Umsätze)" in first
    second = client.get(f"{url}?seite=2").get_data(as_text=True)
    assert second.count("Zahler ") == 30 and "Zahler 130" in second
    assert client.get(f"{url}?seite=x").status_code == 200
    assert client.get(f"/backoffice/kontoauszuege/{2**64}").status_code == 404
