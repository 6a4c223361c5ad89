"""The flattened reading of plain camt entries (core.payments.bank.camt_flat) gives exactly what
the parser's own reading of the elements gives: the same statements, or the same German
refusal, over the test files, the builder's statements and hand-made edge cases."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from core.kernel.errors import ValidationError
from core.kernel.references import make_rf
from core.payments.bank import bank_xml, camt_flat, camt_parser
from tests.camt_files import build_camt053, build_camt054, entry, statement, tx

OWN = "DE89370400440532013000"
OTHER = "DE02100100100006820101"
DATA = Path(__file__).resolve().parents[1] / "data" / "camt"
DAY = date(2026, 3, 16)


def both_readings(data: bytes) -> tuple[object, object]:
    """(flattened, element by element): the statements or the refusal's message."""
    results = []
    for flat in (True, False):
        root = bank_xml.parse_xml(data)
        try:
            results.append(camt_parser.CamtReader(root, camt_parser._kind(root), flat=flat))
            results[-1] = results[-1].statements()
        except ValidationError as exc:
            results[-1] = exc.message
    return results[0], results[1]


def plain_count(data: bytes) -> int:
    """How many entries the flattened reading takes (the rest the parser reads itself)."""
    root = bank_xml.parse_xml(data)
    kind = camt_parser._kind(root)
    reader = camt_parser.CamtReader(root, kind)
    flats = camt_flat.flat_statements(root, reader.prefix[1:-1], *camt_parser._BODY[kind[:8]])
    return sum(
        camt_flat.plain_entry(flat, n, "", OWN, reader.cents) is not None
        for statement_flats in flats
        for n, flat in enumerate(statement_flats, start=1)
    )


def builder_statement(kind: str) -> object:
    rf = make_rf("HUND2025000123")
    return statement(
        OWN,
        "S-1",
        entry(1, tx(1250, remittance="Hundesteuer"), day=DAY),
        entry(
            2,
            tx(990, remittance=f"KZ 123 {rf}", creditor_reference=rf, counterparty_iban=OTHER),
            day=DAY,
            ref="BANK-2",
        ),
        entry(
            3,
            tx(500, end_to_end_id="E2E-3", mandate_id="M-3", counterparty_name="Erika Muster"),
            day=DAY,
            credit=False,
            code="PMNT/ICDT/ESCT",
        ),
        entry(4, tx(700, remittance="Rücklastschrift", return_reason="AC04"), day=DAY),
        entry(5, tx(100, remittance="a"), tx(200, remittance="b"), day=DAY),
        entry(6, tx(300, counterparty_iban=OWN, counterparty_name="Wir"), day=DAY),
        entry(7, tx(400, remittance="NDDT"), day=DAY, code="NDDT+109+901"),
        kind=kind,
    )


@pytest.mark.parametrize(
    ("builder", "kind"),
    [
        (build_camt053, "camt.053.001.08"),
        (build_camt054, "camt.054.001.08"),
        (build_camt053, "camt.053.001.02"),
        (build_camt054, "camt.054.001.02"),
    ],
)
def test_builder_statements_read_alike(builder: object, kind: str) -> None:
    data = builder(builder_statement(kind), version=kind[-2:])  # type: ignore[operator]
    flat, reference = both_readings(data)
    assert flat == reference
    assert not isinstance(flat, str)
    assert plain_count(data) == 4  # entries 1, 2, 3, 6; returns and the batch are read in full


def test_bank_file_reads_alike() -> None:
    data = (DATA / "sparkasse_camt053_v02.xml").read_bytes()
    flat, reference = both_readings(data)
    assert flat == reference


NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
PLAIN_DETAILS = (
    "<TxDtls><Refs><EndToEndId> E2E-1 </EndToEndId><MndtId>NOTPROVIDED</MndtId></Refs>"
    '<Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
    "<RltdPties><Dbtr><Pty><Nm>Erika Muster</Nm></Pty></Dbtr>"
    "<DbtrAcct><Id><IBAN>de02 1001 0010 0006 8201 01</IBAN></Id></DbtrAcct></RltdPties>"
    "<RmtInf><Ustrd>Hundesteuer</Ustrd><Ustrd> KZ 1 </Ustrd><Ustrd/>"
    "<Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>"
)
PLAIN = (
    '<Ntry><Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
    "<BookgDt><Dt>2026-03-16</Dt></BookgDt><ValDt><DtTm>2026-03-16T10:00:00</DtTm></ValDt>"
    "<AcctSvcrRef>R-1</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd>"
    f"<SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd><NtryDtls>{PLAIN_DETAILS}</NtryDtls>"
    "</Ntry>"
)
# each (old, new) turns the plain entry into an edge case; both readings must still agree
CHANGES = [
    ("", ""),
    (
        '<Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>',
        "<Amt>12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>",
    ),
    (
        '<Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>',
        '<Amt Ccy="USD">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>',
    ),
    (
        '<Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>',
        '<Amt Ccy="EUR"> 12,50 </Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>',
    ),
    (
        '<Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>',
        '<Amt Ccy="EUR"/><CdtDbtInd>CRDT</CdtDbtInd><Sts>',
    ),
    (
        '<Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>',
        '<Amt Ccy="EUR">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>',
    ),
    (
        '<Amt Ccy="EUR">12.50</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>',
        "<CdtDbtInd>CRDT</CdtDbtInd><Sts>",
    ),
    ('</Refs><Amt Ccy="EUR">12.50</Amt>', '</Refs><Amt Ccy="EUR">12.40</Amt>'),
    ('</Refs><Amt Ccy="EUR">12.50</Amt>', "</Refs><Amt>12.50</Amt>"),
    ('</Refs><Amt Ccy="EUR">12.50</Amt>', "</Refs><Amt/>"),
    ('</Refs><Amt Ccy="EUR">12.50</Amt>', "</Refs>"),
    (
        '</Refs><Amt Ccy="EUR">12.50</Amt>',
        '</Refs><AmtDtls><TxAmt><Amt Ccy="EUR">12.50</Amt></TxAmt></AmtDtls>',
    ),
    (
        '</Refs><Amt Ccy="EUR">12.50</Amt>',
        '</Refs><AmtDtls><TxAmt><Amt Ccy="CHF">12.50</Amt></TxAmt></AmtDtls>',
    ),
    (
        '</Refs><Amt Ccy="EUR">12.50</Amt>',
        '</Refs><AmtDtls><TxAmt><Amt Ccy="EUR">1.50</Amt></TxAmt></AmtDtls>',
    ),
    (
        '</Refs><Amt Ccy="EUR">12.50</Amt>',
        '</Refs><AmtDtls><InstdAmt><Amt Ccy="EUR">1.50</Amt></InstdAmt></AmtDtls>',
    ),
    ("<CdtDbtInd>CRDT</CdtDbtInd><Sts>", "<CdtDbtInd>DBIT</CdtDbtInd><Sts>"),
    ("<CdtDbtInd>CRDT</CdtDbtInd><Sts>", "<CdtDbtInd> CRDT </CdtDbtInd><Sts>"),
    ("<CdtDbtInd>CRDT</CdtDbtInd><Sts>", "<CdtDbtInd>GUT</CdtDbtInd><Sts>"),
    ("<CdtDbtInd>CRDT</CdtDbtInd><Rltd", "<CdtDbtInd>DBIT</CdtDbtInd><Rltd"),
    ("<Sts><Cd>BOOK</Cd></Sts>", "<Sts>PDNG</Sts>"),
    ("<Sts><Cd>BOOK</Cd></Sts>", "<Sts><Prtry>INFO</Prtry></Sts><Sts><Cd>PDNG</Cd></Sts>"),
    ("<Sts><Cd>BOOK</Cd></Sts>", "<Sts><Cd/></Sts><RvslInd>true</RvslInd>"),
    ("<Dt>2026-03-16</Dt></BookgDt>", "<Dt>16.03.2026</Dt></BookgDt>"),
    ("<Dt>2026-03-16</Dt></BookgDt>", "<DtTm>kaputt</DtTm></BookgDt>"),
    ("<Dt>2026-03-16</Dt></BookgDt>", "<Dt>2026-03-16+01:00</Dt></BookgDt>"),
    ("<ValDt><DtTm>2026-03-16T10:00:00</DtTm></ValDt>", ""),
    ("<AcctSvcrRef>R-1</AcctSvcrRef>", "<AcctSvcrRef>notprovided</AcctSvcrRef>"),
    ("<AcctSvcrRef>R-1</AcctSvcrRef>", "<AcctSvcrRef><x:y xmlns:x='urn:x'/>R</AcctSvcrRef>"),
    ("<SubFmlyCd>ESCT</SubFmlyCd>", "<SubFmlyCd>UPDD</SubFmlyCd>"),
    ("<SubFmlyCd>ESCT</SubFmlyCd>", ""),
    ("</Domn></BkTxCd>", "</Domn><Prtry><Cd>NDDT+109</Cd></Prtry></BkTxCd>"),
    ("<Domn><Cd>PMNT</Cd>", "<Domn><Cd> </Cd>"),
    ("</Domn></BkTxCd>", "</Domn><Prtry><Cd>NTRF+166</Cd></Prtry></BkTxCd>"),
    (f"<NtryDtls>{PLAIN_DETAILS}</NtryDtls>", ""),
    (f"<NtryDtls>{PLAIN_DETAILS}</NtryDtls>", "<AddtlNtryInf> Sammler </AddtlNtryInf>"),
    ("<NtryDtls>", "<NtryDtls><Btch><NbOfTxs>1</NbOfTxs></Btch>"),
    ("<NtryDtls>", "<NtryDtls><Btch><NbOfTxs>eins</NbOfTxs></Btch>"),
    ("</NtryDtls>", f"{PLAIN_DETAILS}</NtryDtls>"),
    ("</NtryDtls>", f"</NtryDtls><NtryDtls>{PLAIN_DETAILS}</NtryDtls>"),
    (
        "<NtryDtls>",
        '<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">1.00</TtlChrgsAndTaxAmt></Chrgs><NtryDtls>',
    ),
    ("</RltdPties>", "</RltdPties><RtrInf><Rsn><Cd>AC04</Cd></Rsn></RtrInf>"),
    ("<IBAN>de02 1001 0010 0006 8201 01</IBAN>", f"<IBAN>{OWN}</IBAN>"),
    (
        "</DbtrAcct>",
        f"</DbtrAcct><Cdtr><Nm>Kasse</Nm></Cdtr><CdtrAcct><Id><IBAN>{OWN}</IBAN></Id></CdtrAcct>",
    ),
    ("<DbtrAcct><Id><IBAN>de02 1001 0010 0006 8201 01</IBAN></Id></DbtrAcct>", ""),
    ("<Pty><Nm>Erika Muster</Nm></Pty>", "<Nm>Erika Muster</Nm>"),
    ("<Pty><Nm>Erika Muster</Nm></Pty>", "<Pty><Nm>  </Nm></Pty><Nm>E. M.</Nm>"),
    ("<Ustrd>Hundesteuer</Ustrd>", "<Ustrd>Hunde\nsteuer\t</Ustrd><Ustrd><![CDATA[<&>]]></Ustrd>"),
    (
        "</RmtInf>",
        "</RmtInf><RmtInf><Ustrd>zweite</Ustrd><Strd><CdtrRefInf><Ref/></CdtrRefInf></Strd></RmtInf>",
    ),
    (
        "<Ustrd>Hundesteuer</Ustrd>",
        "<Ustrd xmlns='urn:fremd'>fremd</Ustrd><Ustrd>&amp;&#252;</Ustrd>",
    ),
    ("<EndToEndId> E2E-1 </EndToEndId>", "<EndToEndId>NOTPROVIDED</EndToEndId>"),
]


@pytest.mark.parametrize(("old", "new"), CHANGES)
def test_edge_cases_read_alike(old: str, new: str) -> None:
    assert old in PLAIN
    changed = PLAIN.replace(old, new, 1)
    data = (
        f'<Document xmlns="{NS}"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId>'
        "<CreDtTm>2026-03-16T00:00:00</CreDtTm></GrpHdr><Stmt><Id>S</Id><Acct><Id>"
        f"<IBAN>{OWN}</IBAN></Id><Ccy>EUR</Ccy></Acct>{PLAIN}{changed}</Stmt><Stmt><Id>T</Id>"
        f"<Acct><Id><IBAN>{OWN}</IBAN></Id></Acct>{changed}</Stmt></BkToCstmrStmt></Document>"
    ).encode()
    flat, reference = both_readings(data)
    assert flat == reference
    assert plain_count(data) >= 1  # the unchanged entry is read flattened


def test_plain_entry_is_read_flattened() -> None:
    """The plain entry above is one the flattened reading takes (so the cases compare it)."""
    data = (
        f'<Document xmlns="{NS}"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt>'
        f"<Id>S</Id><Acct><Id><IBAN>{OWN}</IBAN></Id></Acct>{PLAIN}</Stmt></BkToCstmrStmt>"
        "</Document>"
    ).encode()
    assert plain_count(data) == 1
    (read,) = camt_parser.parse_statements(data)
    (tx_read,) = read.entries[0].transactions
    assert tx_read.remittance == "Hundesteuer KZ 1 RF18539007547034"
    assert tx_read.counterparty_iban == OTHER
    assert tx_read.end_to_end_id == "E2E-1"
    assert tx_read.mandate_id is None
