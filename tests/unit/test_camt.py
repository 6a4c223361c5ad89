"""camt.053 / camt.054 bank statements: parsing, the test builder, and malformed files."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from lxml import etree

from core.kernel.errors import ValidationError
from core.kernel.references import make_rf
from core.payments.bank.camt import CamtEntry, CamtStatement, CamtTransaction, is_return_code
from core.payments.bank.camt_parser import parse_statements
from tests.camt_files import build_camt053, build_camt054

OWN_IBAN = "DE89370400440532013000"
DATA = Path(__file__).resolve().parents[1] / "data" / "camt"
RF = make_rf("HUND2025000123")
NS08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
Builder = Callable[..., bytes]


def tx(amount: int, **fields: object) -> CamtTransaction:
    values: dict[str, object] = {
        "amount_cents": amount,
        "end_to_end_id": None,
        "mandate_id": None,
        "acct_svcr_ref": None,
        "remittance": "",
        "creditor_reference": None,
        "counterparty_name": None,
        "counterparty_iban": None,
        "return_reason": None,
    }
    values.update(fields)
    return CamtTransaction(**values)  # type: ignore[arg-type]


def entry(
    index: int, amount: int, transactions: tuple[CamtTransaction, ...], **fields: object
) -> CamtEntry:
    values: dict[str, object] = {
        "index": index,
        "amount_cents": amount,
        "credit": True,
        "reversal": False,
        "booking_date": date(2025, 3, 13),
        "value_date": date(2025, 3, 14),
        "acct_svcr_ref": f"BANKREF{index:05d}",
        "bank_transaction_code": "PMNT/RCDT/ESCT",
        "batch_payment_info_id": None,
        "batch_message_id": None,
        "batch_count": None,
        "transactions": transactions,
    }
    values.update(fields)
    return CamtEntry(**values)  # type: ignore[arg-type]


def sample_entries() -> tuple[CamtEntry, ...]:
    return (
        # a single transfer with the Kassenzeichen in the unstructured text
        entry(
            1,
            13_525,
            (
                tx(
                    13_525,
                    end_to_end_id="E2E-HUND-1",
                    acct_svcr_ref="TX-0001",
                    remittance="Kassenzeichen 6.1000.004711.3 Hundesteuer 2025",
                    counterparty_name="Müller, Jürgen",
                    counterparty_iban="DE02120300000000202051",
                ),
            ),
        ),
        # a structured RF creditor reference (and no text)
        entry(
            2,
            25_000,
            (
                tx(
                    25_000,
                    remittance=RF,
                    creditor_reference=RF,
                    counterparty_name="Bäckerei Krume GmbH",
                    counterparty_iban="DE02500105170137075030",
                ),
            ),
        ),
        # a direct-debit batch with three details
        entry(
            3,
            123_456,
            (
                tx(
                    40_000,
                    end_to_end_id="OK-E2E-1",
                    mandate_id="MUS-HUND-000017",
                    remittance="Grundsteuer B I/2025",
                    counterparty_name="Schröder, Käthe",
                    counterparty_iban="DE02100500000054540402",
                ),
                tx(
                    53_456,
                    end_to_end_id="OK-E2E-2",
                    mandate_id="MUS-ABF-000042",
                    remittance="Abfallgebühren 2025",
                    counterparty_name="Weiß, Günther",
                    counterparty_iban="DE02300209000106531065",
                ),
                tx(
                    30_000,
                    end_to_end_id="OK-E2E-3",
                    mandate_id="MUS-GEW-000003",
                    remittance="Gewerbesteuer Vorauszahlung",
                    counterparty_name="Öztürk & Söhne OHG",
                ),
            ),
            bank_transaction_code="PMNT/IDDT/ESDD",
            batch_payment_info_id="OK-LS-2025-03-001-CORE",
            batch_message_id="OK-LS-2025-03-001",
            batch_count=3,
        ),
        # a collective booking without details (the bank gives only the batch)
        entry(
            4,
            987_654,
            (tx(987_654, remittance="SEPA-LASTSCHRIFT SAMMLER 812 POSTEN"),),
            bank_transaction_code="PMNT/IDDT/ESDD",
            batch_payment_info_id="OK-LS-2025-03-002-CORE",
            batch_count=812,
        ),
        # a returned direct debit (debit, reason AM04)
        entry(
            5,
            4_800,
            (
                tx(
                    4_800,
                    end_to_end_id="OK-E2E-4",
                    mandate_id="MUS-HUND-000023",
                    remittance="Hundesteuer 2025",
                    counterparty_name="Yılmaz, Özlem",
                    counterparty_iban="DE02200505501015871393",
                    return_reason="AM04",
                ),
            ),
            credit=False,
            bank_transaction_code="PMNT/IDDT/UPDD",
        ),
        # a reversal with a proprietary German code and no value date
        entry(
            6,
            1,
            (tx(1, remittance="Storno"),),
            reversal=True,
            credit=False,
            value_date=None,
            acct_svcr_ref=None,
            bank_transaction_code="NMSC+201",
        ),
    )


def statement(kind: str, entries: tuple[CamtEntry, ...] | None = None) -> CamtStatement:
    return CamtStatement(
        message_id="MSG-2025-03-14-0001",
        statement_id="0532013000_2025_051",
        sequence_number="51",
        iban=OWN_IBAN,
        currency="EUR",
        created_at=datetime(2025, 3, 14, 3, 45, 12),
        kind=kind,
        entries=sample_entries() if entries is None else entries,
    )


# --- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "build", "version"),
    [
        ("camt.053.001.08", build_camt053, "08"),
        ("camt.053.001.02", build_camt053, "02"),
        ("camt.054.001.08", build_camt054, "08"),
        ("camt.054.001.02", build_camt054, "02"),
    ],
)
def test_round_trip(kind: str, build: Builder, version: str) -> None:
    original = statement(kind)
    assert parse_statements(build(original, version=version)) == [original]


def test_parsed_fields_of_the_sample_statement() -> None:
    (parsed,) = parse_statements(build_camt053(statement("camt.053.001.08")))
    single, structured, batch, collective, returned, reversal = parsed.entries
    assert parsed.iban == OWN_IBAN and parsed.currency == "EUR"
    assert parsed.sequence_number == "51"
    assert single.transactions[0].remittance.startswith("Kassenzeichen 6.1000.004711.3")
    assert single.transactions[0].counterparty_name == "Müller, Jürgen"
    assert structured.transactions[0].creditor_reference == RF
    assert [t.amount_cents for t in batch.transactions] == [40_000, 53_456, 30_000]
    assert batch.batch_count == 3 and batch.batch_payment_info_id == "OK-LS-2025-03-001-CORE"
    assert batch.transactions[0].mandate_id == "MUS-HUND-000017"
    assert len(collective.transactions) == 1 and collective.batch_count == 812
    assert collective.transactions[0].amount_cents == collective.amount_cents
    assert returned.is_return and not returned.credit
    assert returned.transactions[0].end_to_end_id == "OK-E2E-4"
    assert returned.transactions[0].return_reason == "AM04"
    assert returned.transactions[0].counterparty_name == "Yılmaz, Özlem"
    assert reversal.reversal and reversal.value_date is None
    assert not single.is_return and not batch.is_return
    assert [e.index for e in parsed.entries] == [1, 2, 3, 4, 5, 6]


def test_camt054_v08_uses_the_notification_elements() -> None:
    data = build_camt054(statement("camt.054.001.08"))
    root = etree.fromstring(data)
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
    assert root.find(f"{{{ns}}}BkToCstmrDbtCdtNtfctn/{{{ns}}}Ntfctn") is not None
    assert root.find(f".//{{{ns}}}Bal") is None
    assert parse_statements(data)[0].kind == "camt.054.001.08"


def test_status_code_is_written_per_version() -> None:
    v08 = etree.fromstring(build_camt053(statement("camt.053.001.08"), version="08"))
    v02 = etree.fromstring(build_camt053(statement("camt.053.001.02"), version="02"))
    ns02 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
    assert v08.findtext(f".//{{{NS08}}}Ntry/{{{NS08}}}Sts/{{{NS08}}}Cd") == "BOOK"
    assert v02.findtext(f".//{{{ns02}}}Ntry/{{{ns02}}}Sts") == "BOOK"


def test_pending_entries_keep_their_status() -> None:
    pending = replace(sample_entries()[0], status="PDNG")
    original = statement("camt.054.001.08", (pending,))
    assert parse_statements(build_camt054(original))[0].entries[0].status == "PDNG"


# element order of the ISO 20022 schemas (camt.053.001.02 / .08), for the elements written
ORDER = {
    "Stmt": ["Id", "ElctrncSeqNb", "CreDtTm", "Acct", "Bal", "Ntry"],
    "Ntfctn": ["Id", "ElctrncSeqNb", "CreDtTm", "Acct", "Ntry"],
    "Ntry": [
        "Amt",
        "CdtDbtInd",
        "RvslInd",
        "Sts",
        "BookgDt",
        "ValDt",
        "AcctSvcrRef",
        "BkTxCd",
        "NtryDtls",
        "AddtlNtryInf",
    ],
    "NtryDtls": ["Btch", "TxDtls"],
    "Btch": ["MsgId", "PmtInfId", "NbOfTxs"],
    "TxDtls": ["Refs", "Amt", "CdtDbtInd", "AmtDtls", "RltdPties", "RmtInf", "RtrInf"],
    "Refs": ["MsgId", "AcctSvcrRef", "PmtInfId", "EndToEndId", "MndtId"],
    "RltdPties": ["Dbtr", "DbtrAcct", "Cdtr", "CdtrAcct"],
    "RmtInf": ["Ustrd", "Strd"],
    "Bal": ["Tp", "Amt", "CdtDbtInd", "Dt"],
}


@pytest.mark.parametrize("version", ["02", "08"])
@pytest.mark.parametrize("build", [build_camt053, build_camt054])
def test_built_files_follow_the_schema_order(build: Builder, version: str) -> None:
    root = etree.fromstring(build(statement("camt.053.001.08"), version=version))
    checked = 0
    for element in root.iter():
        name = etree.QName(element).localname
        if name not in ORDER or etree.QName(element.getparent()).localname == "Tp":
            continue
        children = [etree.QName(child).localname for child in element]
        positions = [ORDER[name].index(child) for child in children]
        assert positions == sorted(positions), (name, children)
        checked += 1
    assert checked > 20


# --- amounts --------------------------------------------------------------------------------


def one_entry_file(amount: str = "12.50", currency: str = "EUR", extra: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{NS08}"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2025-03-14T08:00:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><CreDtTm>2025-03-14T08:00:00</CreDtTm>
<Acct><Id><IBAN>{OWN_IBAN}</IBAN></Id></Acct>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0</Amt>
<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-03-14</Dt></Dt></Bal>
<Ntry><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><DtTm>2025-03-14T10:11:12+01:00</DtTm></BookgDt><BkTxCd/>{extra}</Ntry>
</Stmt></BkToCstmrStmt></Document>""".encode()


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("0.01", 1),
        ("123456789.99", 12_345_678_999),
        ("10.5", 1_050),
        ("10", 1_000),
        ("10.50000", 1_050),
        ("0000012.30", 1_230),
    ],
)
def test_amounts_are_read_exactly(text: str, cents: int) -> None:
    (parsed,) = parse_statements(one_entry_file(text))
    assert parsed.entries[0].amount_cents == cents
    assert parsed.entries[0].transactions[0].amount_cents == cents


def test_entry_without_details_and_date_time_booking_date() -> None:
    (parsed,) = parse_statements(one_entry_file(extra="<AddtlNtryInf>Zinsen</AddtlNtryInf>"))
    (only,) = parsed.entries
    assert only.booking_date == date(2025, 3, 14)
    assert only.bank_transaction_code == ""
    assert only.transactions == (tx(1_250, remittance="Zinsen"),)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("12,50", "kein gültiger Betrag"),
        ("1.234", "mehr als zwei Nachkommastellen"),
        ("-5.00", "kein gültiger Betrag"),
        ("1e3", "kein gültiger Betrag"),
        ("NaN", "kein gültiger Betrag"),
        ("", "Betrag fehlt"),
        ("0.00", "größer als 0"),
    ],
)
def test_bad_amounts_are_rejected(amount: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as caught:
        parse_statements(one_entry_file(amount))
    assert "Buchung 1" in caught.value.message


def test_other_currencies_are_rejected() -> None:
    with pytest.raises(ValidationError, match="USD"):
        parse_statements(one_entry_file(currency="USD"))


def test_account_in_another_currency_is_rejected() -> None:
    data = one_entry_file().replace(b"</Id></Acct>", b"</Id><Ccy>CHF</Ccy></Acct>")
    with pytest.raises(ValidationError, match="CHF"):
        parse_statements(data)


# --- malformed files ------------------------------------------------------------------------


def test_not_xml_is_rejected_with_its_line() -> None:
    with pytest.raises(ValidationError, match=r"kein lesbares XML \(Zeile 2\)"):
        parse_statements(b"<?xml version='1.0'?>\n<Document><unclosed></Document>")
    with pytest.raises(ValidationError, match="kein lesbares XML"):
        parse_statements(b"")
    with pytest.raises(ValidationError, match="kein lesbares XML"):
        parse_statements(b"Datum;Betrag\n13.03.2025;12,50")


@pytest.mark.parametrize(
    "document",
    [
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"/>',
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08"/>',
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04"/>',
        b"<Document><BkToCstmrStmt/></Document>",
        f'<Statement xmlns="{NS08}"/>'.encode(),
    ],
)
def test_wrong_message_or_namespace_is_rejected(document: bytes) -> None:
    with pytest.raises(
        ValidationError, match=r"kein Kontoauszug im Format camt\.053 oder camt\.054"
    ):
        parse_statements(document)


def test_prefixed_namespace_is_read() -> None:
    data = (
        one_entry_file()
        .replace(f'xmlns="{NS08}"'.encode(), f'xmlns:c="{NS08}"'.encode())
        .replace(b"<", b"<c:")
        .replace(b"<c:/", b"</c:")
        .replace(b"<c:?xml", b"<?xml")
    )
    assert b"<c:Ntry>" in data
    assert parse_statements(data)[0].entries[0].amount_cents == 1_250


def test_missing_amount_names_element_and_entry() -> None:
    data = build_camt053(statement("camt.053.001.08"))
    root = etree.fromstring(data)
    third = root.findall(f".//{{{NS08}}}Ntry")[2]
    third.remove(third.find(f"{{{NS08}}}Amt"))
    with pytest.raises(ValidationError, match=r"Buchung 3: das Pflichtelement <Amt> fehlt"):
        parse_statements(etree.tostring(root))


def test_missing_iban_and_message_id_are_named() -> None:
    with pytest.raises(ValidationError, match="IBAN"):
        parse_statements(one_entry_file().replace(b"<IBAN>", b"<Othr><Id>").replace(
            b"</IBAN>", b"</Id></Othr>"))  # fmt: skip
    with pytest.raises(ValidationError, match="GrpHdr/MsgId"):
        parse_statements(one_entry_file().replace(b"<MsgId>M1</MsgId>", b""))


def test_bad_credit_debit_indicator_and_date() -> None:
    with pytest.raises(ValidationError, match="CRDT oder DBIT"):
        parse_statements(
            one_entry_file().replace(b">CRDT</CdtDbtInd><Sts", b">HABEN</CdtDbtInd><Sts")
        )
    with pytest.raises(ValidationError, match="kein gültiger Zeitpunkt"):
        parse_statements(one_entry_file().replace(b"2025-03-14T10:11:12", b"14.03.2025 10:11"))


def test_batch_details_must_add_up_to_the_entry() -> None:
    entries = sample_entries()
    batch = entries[2]
    wrong = replace(batch, amount_cents=batch.amount_cents + 1)
    data = build_camt053(statement("camt.053.001.08", (wrong,)))
    with pytest.raises(ValidationError, match=r"Buchung 1: die Einzelumsätze ergeben 1\.234,56 €"):
        parse_statements(data)


def test_batch_detail_without_amount_is_rejected() -> None:
    data = build_camt053(statement("camt.053.001.02", sample_entries()[2:3]), version="02")
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
    root = etree.fromstring(data)
    detail = root.findall(f".//{{{ns}}}TxDtls")[1]
    detail.remove(detail.find(f"{{{ns}}}AmtDtls"))
    with pytest.raises(
        ValidationError, match="Einzelumsatz 2: der Betrag des Einzelumsatzes fehlt"
    ):
        parse_statements(etree.tostring(root))


def test_xxe_is_not_expanded() -> None:
    data = one_entry_file(extra="<AddtlNtryInf>&xxe;</AddtlNtryInf>").replace(
        b"<Document",
        b'<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<Document',
        1,
    )
    with pytest.raises(ValidationError) as caught:
        parse_statements(data)
    assert "DTD" in caught.value.message
    assert "root:" not in caught.value.message


def test_internal_entities_are_not_expanded_either() -> None:
    data = one_entry_file(extra="<AddtlNtryInf>&a;</AddtlNtryInf>").replace(
        b"<Document", b'<!DOCTYPE Document [<!ENTITY a "aaaaaaaaaa">]>\n<Document', 1
    )
    with pytest.raises(ValidationError, match="DTD"):
        parse_statements(data)


# --- codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "is_return"),
    [
        ("PMNT/IDDT/UPDD", True),
        ("PMNT/RDDT/UPDD", True),
        ("PMNT/ICDT/RRTN", True),
        ("PMNT/IDDT/ESDD", False),
        ("PMNT/RCDT/ESCT", False),
        ("NRTI+109+9310+901", True),
        ("109", True),
        ("NTRF+159", True),
        ("NTRF+166+9310+997", False),
        ("", False),
    ],
)
def test_return_codes(code: str, is_return: bool) -> None:
    assert is_return_code(code) is is_return


# --- a bank's file --------------------------------------------------------------------------


def test_real_world_shaped_camt053_v02_sample() -> None:
    (parsed,) = parse_statements((DATA / "sparkasse_camt053_v02.xml").read_bytes())
    assert parsed.kind == "camt.053.001.02"
    assert parsed.message_id == "camt53_20250314034512_0532013000"
    assert parsed.sequence_number == "51"
    assert parsed.created_at is not None and parsed.created_at.utcoffset() is not None
    assert [e.amount_cents for e in parsed.entries] == [13_525, 25_000, 123_456, 4_800, 1_290]
    transfer, structured, batch, returned, fee = parsed.entries
    assert transfer.bank_transaction_code == "NTRF+166+9310+997"
    only = transfer.transactions[0]
    assert only.remittance == "Kassenzeichen 6.1000.004711.3 Hundesteuer 2025"
    assert only.end_to_end_id is None  # NOTPROVIDED
    assert (only.counterparty_name, only.counterparty_iban) == (
        "Müller, Jürgen",
        "DE02120300000000202051",
    )
    assert structured.bank_transaction_code == "PMNT/RCDT/ESCT"
    assert structured.transactions[0].creditor_reference == "RF60HUND2025000123"
    assert batch.batch_count == 3 and batch.batch_message_id == "OK-LS-2025-03-001"
    assert sum(t.amount_cents for t in batch.transactions) == batch.amount_cents
    assert batch.transactions[1].counterparty_name == "Weiß, Günther"
    assert returned.is_return and returned.transactions[0].return_reason == "MS03"
    # the return names the citizen (debtor of the original collection), not the municipality
    assert returned.transactions[0].counterparty_iban == "DE02200505501015871393"
    assert fee.transactions[0].remittance == "Entgelt Kontofuehrung 02/2025"
    assert not fee.is_return and fee.bank_transaction_code == "NCHG+805+9310+000"


# --- size -----------------------------------------------------------------------------------


def test_many_entries_round_trip() -> None:
    entries = tuple(
        entry(
            i,
            100 + i,
            (tx(100 + i, end_to_end_id=f"E2E-{i}", remittance=f"Kassenzeichen {i}"),),
        )
        for i in range(1, 5_001)
    )
    original = statement("camt.053.001.08", entries)
    assert parse_statements(build_camt053(original)) == [original]
