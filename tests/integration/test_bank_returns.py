"""Returns that come back with the bank's charges (36.00 € for a 33.00 € debit): matched by the
original EndToEndId and the original amount, the collection reversed, the charges booked and —
where the statute passes them on — claimed as costs; a debit that does not add up goes to the
clerks' queue with both amounts. Real camt/pain.002 XML, read back by the parser."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from core.kernel.errors import ValidationError
from core.ledger.accounts import system_account
from core.ledger.balances import account_balance, open_amounts, trial_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.payments.bank import imports as bank_import
from core.payments.bank import queue as bank_queue
from core.payments.bank.camt_parser import parse_statements
from core.payments.bank.models import BankLine, LineStatus
from core.payments.bank.report import ImportReport
from core.payments.bank.returns import split_return
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.models import ItemStatus
from tests.camt_files import build_camt053, build_camt054, statement_from_pain008

AS_OF = date(2026, 3, 1)
COLLECTION = date(2026, 3, 16)
RETURNED_ON = COLLECTION + timedelta(days=3)


def _collected(db: Any, make: Any, amount: int = 3300, **statute: Any) -> Any:
    """A debtor's claim collected by direct debit and credited by the bank."""
    m = make.municipality()
    make.sepa_statute(m, **statute)
    person = make.person(m, family_name="Rückgabe")
    claim = make.claim(m, person, amount=amount, due=date(2026, 3, 10))
    mandates.grant_mandate(
        db,
        person=person,
        municipality=m,
        account_holder=person.display_name,
        iban="DE02120300000000202051",
        tax_account_id=None,
        signed_on=AS_OF,
        as_of=AS_OF,
        actor="t",
    )
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    run = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t").run
    assert run is not None
    credit = statement_from_pain008(run.xml, iban=m.iban, booked_on=COLLECTION, statement_id="A1")
    bank_import.import_statements(
        db, m, build_camt053(credit), filename="a1.xml", as_of=COLLECTION, actor="t"
    )
    (item,) = debit_runs.items_of(db, run)
    assert item.status is ItemStatus.CREDITED
    return type(
        "Collected", (), {"m": m, "person": person, "claim": claim, "run": run, "item": item}
    )


def _return_file(
    c: Any, reason: str = "AM04", charges: int | None = 300, build: Any = build_camt053, **kw: Any
) -> bytes:
    statement = statement_from_pain008(
        c.run.xml,
        iban=c.m.iban,
        booked_on=RETURNED_ON,
        statement_id="A2",
        returns={c.item.end_to_end_id: reason},
        charges={c.item.end_to_end_id: charges} if charges is not None else None,
        with_credit=False,
    )
    if kw:  # change what the bank states about the return
        entry = statement.entries[0]
        tx = replace(entry.transactions[0], **kw)
        entry = replace(entry, amount_cents=tx.amount_cents, transactions=(tx,))
        statement = replace(statement, entries=(entry,))
    return bytes(build(statement, **({"version": kw.pop("version")} if "version" in kw else {})))


def _import(db: Any, c: Any, data: bytes) -> ImportReport:
    return bank_import.import_statements(
        db, c.m, data, filename="a2.xml", as_of=RETURNED_ON, actor="t"
    )


def _account(db: Any, c: Any, code: str) -> int:
    return account_balance(db, system_account(db, c.m.id, code))


def _cost_claims(db: Any, c: Any) -> list[int]:
    return [
        claim.amount_cents
        for claim in db.scalars(
            select(Claim).where(
                Claim.person_id == c.person.id, Claim.kind == ClaimKind.RETURN_DEBIT_FEE
            )
        )
    ]


@pytest.mark.parametrize(
    ("build", "version"),
    [(build_camt053, "08"), (build_camt053, "02"), (build_camt054, "08"), (build_camt054, "02")],
)
def test_return_with_charges_reverses_the_debit_and_claims_the_charges(
    db: Any, make: Any, build: Any, version: str
) -> None:
    c = _collected(db, make, return_fee_cents=450)  # the flat fee is not what is claimed
    data = build(
        statement_from_pain008(
            c.run.xml,
            iban=c.m.iban,
            booked_on=RETURNED_ON,
            statement_id="A2",
            returns={c.item.end_to_end_id: "AM04"},
            charges={c.item.end_to_end_id: 300},
            with_credit=False,
        ),
        version=version,
    )
    assert b"36.00" in data and b"33.00" in data
    report = _import(db, c, data)
    assert (report.returns, report.queued) == (1, 0)
    assert report.return_charges_cents == 300 and report.return_charges_passed_on_cents == 300
    assert c.item.status is ItemStatus.RETURNED
    assert open_amounts(db, [c.claim]) == {c.claim.id: 3300}  # open again
    assert _cost_claims(db, c) == [300]  # what the bank charged, statute passes it on
    assert _account(db, c, "1800") == 3300 - 3600  # the bank took 36 €
    assert _account(db, c, "6750") == 300
    assert _account(db, c, "1820") == 0
    assert sum(trial_balance(db, c.m.id).values()) == 0
    line = db.scalars(select(BankLine).where(BankLine.status == LineStatus.RETURNED)).one()
    assert (line.amount_cents, line.original_amount_cents, line.charges_cents) == (3600, 3300, 300)
    assert line.amount_text == "36,00 € (Originalbetrag 33,00 € + Bankentgelt 3,00 €)"


def test_only_the_original_amount_stated(db: Any, make: Any) -> None:
    c = _collected(db, make)
    report = _import(
        db, c, _return_file(c, charges=None, amount_cents=3600, original_amount_cents=3300)
    )
    assert report.returns == 1 and report.return_charges_cents == 300
    assert _cost_claims(db, c) == [300]


def test_only_the_charges_stated(db: Any, make: Any) -> None:
    c = _collected(db, make)
    report = _import(db, c, _return_file(c, original_amount_cents=None))
    assert report.returns == 1 and _cost_claims(db, c) == [300]


def test_statute_without_pass_on_keeps_the_flat_fee_and_books_the_charges(
    db: Any, make: Any
) -> None:
    c = _collected(db, make, pass_on_bank_charges=False, return_fee_cents=450)
    assert _import(db, c, _return_file(c)).returns == 1
    assert _cost_claims(db, c) == [450]
    assert _account(db, c, "6750") == 300


def test_reason_the_debtor_is_not_responsible_for_costs_nothing(db: Any, make: Any) -> None:
    c = _collected(db, make)
    report = _import(db, c, _return_file(c, reason="MD06"))  # refund requested: not in the list
    assert report.returns == 1 and report.return_fees == 0
    assert _cost_claims(db, c) == []
    assert _account(db, c, "6750") == 300  # the municipality bears the bank's charge


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        ({"original_amount_cents": 3000, "charges_cents": 600}, "lautet über 33,00 €"),
        ({"original_amount_cents": 3300, "charges_cents": 200}, "ergeben nicht den belasteten"),
        ({"original_amount_cents": None, "charges_cents": None}, "lautet über 33,00 €"),
    ],
)
def test_a_return_that_does_not_add_up_goes_to_the_queue_with_both_amounts(
    db: Any, make: Any, changes: dict[str, Any], shown: str
) -> None:
    c = _collected(db, make)
    report = _import(db, c, _return_file(c, amount_cents=3600, **changes))
    assert (report.returns, report.queued, report.queued_cents) == (0, 1, 3600)
    (line,) = bank_queue.queued_lines(db, c.m.id)
    assert shown in (line.note or "") and "36,00 €" in (line.note or "")
    assert open_amounts(db, [c.claim]) == {c.claim.id: 0}  # nothing guessed
    assert sum(trial_balance(db, c.m.id).values()) == 0


def test_split_return() -> None:
    assert split_return(3600, None, None) == split_return(3600, 3600, 0)
    assert split_return(3600, 3300, None) == split_return(3600, None, 300)
    assert split_return(3600, 3300, 300) is not None
    assert split_return(3600, 3300, 200) is None
    assert split_return(3600, None, 3600) is None  # nothing left of the collection
    assert split_return(3600, 3700, None) is None


@pytest.mark.parametrize("version", ["08", "02"])
def test_round_trip_of_a_return_with_charges(db: Any, make: Any, version: str) -> None:
    c = _collected(db, make)
    statement = statement_from_pain008(
        c.run.xml,
        iban=c.m.iban,
        booked_on=RETURNED_ON,
        statement_id="A2",
        returns={c.item.end_to_end_id: "AM04"},
        charges={c.item.end_to_end_id: 300},
    )
    statement = replace(statement, kind=f"camt.053.001.{version}", sequence_number="1")
    (parsed,) = parse_statements(build_camt053(statement, version=version))
    assert parsed.entries == statement.entries
    credit = parsed.entries[0].transactions[0]
    assert (credit.original_amount_cents, credit.charges_cents) == (None, None)


def _pain002(original_msg_id: str, e2e: str, original: str, charges: str | None) -> bytes:
    charge = f'<ChrgsInf><Amt Ccy="EUR">{charges}</Amt></ChrgsInf>' if charges else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>'
        "<GrpHdr><MsgId>STATUS-1</MsgId><CreDtTm>2026-03-15T08:00:00</CreDtTm></GrpHdr>"
        f"<OrgnlGrpInfAndSts><OrgnlMsgId>{original_msg_id}</OrgnlMsgId>"
        "<OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId></OrgnlGrpInfAndSts>"
        "<OrgnlPmtInfAndSts><OrgnlPmtInfId>X</OrgnlPmtInfId>"
        f"<TxInfAndSts><StsId>S1</StsId><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId>"
        f"<TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf>{charge}"
        f'<OrgnlTxRef><Amt><InstdAmt Ccy="EUR">{original}</InstdAmt></Amt></OrgnlTxRef>'
        "</TxInfAndSts></OrgnlPmtInfAndSts></CstmrPmtStsRpt></Document>"
    ).encode()


def _in_collection(db: Any, make: Any) -> Any:
    m = make.municipality()
    make.sepa_statute(m)
    person = make.person(m)
    claim = make.claim(m, person, amount=3300, due=date(2026, 3, 10))
    mandates.grant_mandate(
        db, person=person, municipality=m, account_holder="X", iban="DE02120300000000202051",
        tax_account_id=None, signed_on=AS_OF, as_of=AS_OF, actor="t",
    )  # fmt: skip
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    run = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t").run
    assert run is not None
    (item,) = debit_runs.items_of(db, run)
    return m, person, claim, run, item


def test_pain002_rejection_matched_by_original_amount_and_charges_passed_on(
    db: Any, make: Any
) -> None:
    m, person, claim, run, item = _in_collection(db, make)
    data = _pain002(run.message_id, item.end_to_end_id, "33.00", "3.00")
    report = bank_import.import_statements(db, m, data, filename="p", as_of=COLLECTION, actor="t")
    assert (report.rejected, report.return_fees, report.return_charges_cents) == (1, 1, 300)
    assert open_amounts(db, [claim]) == {claim.id: 3300}
    fee = db.scalars(select(Claim).where(Claim.kind == ClaimKind.RETURN_DEBIT_FEE)).one()
    assert (fee.person_id, fee.amount_cents) == (person.id, 300)


def test_pain002_with_another_original_amount_books_nothing(db: Any, make: Any) -> None:
    m, _person, _claim, run, item = _in_collection(db, make)
    data = _pain002(run.message_id, item.end_to_end_id, "30.00", None)
    with pytest.raises(ValidationError) as caught:
        bank_import.import_statements(db, m, data, filename="p", as_of=COLLECTION, actor="t")
    assert "30,00 €" in caught.value.message and "33,00 €" in caught.value.message
    assert "Es wurde nichts gebucht" in caught.value.message
    assert item.status is ItemStatus.IN_COLLECTION


def _hand_written_return(c: Any, entry_extra: str, details: str) -> bytes:
    """A return as some banks write it, by hand: the entry is what was debited (36.00 €)."""
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{ns}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>HAND-1</MsgId><CreDtTm>2026-03-19T10:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>HAND-1</Id><Acct><Id><IBAN>{c.m.iban}</IBAN></Id></Acct>"
        '<Ntry><Amt Ccy="EUR">36.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
        "<BookgDt><Dt>2026-03-19</Dt></BookgDt><AcctSvcrRef>R-1</AcctSvcrRef>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>UPDD</SubFmlyCd></Fmly></Domn>"
        f"</BkTxCd>{entry_extra}<NtryDtls><TxDtls><Refs><EndToEndId>{c.item.end_to_end_id}"
        f"</EndToEndId></Refs>{details}<RtrInf><Rsn><Cd>AM04</Cd></Rsn></RtrInf></TxDtls>"
        "</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>"
    ).encode()


@pytest.mark.parametrize(
    ("entry_extra", "details"),
    [
        # the detail is the original amount, the charges beside it
        ("", '<Amt Ccy="EUR">33.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Chrgs><Rcrd>'
             '<Amt Ccy="EUR">3.00</Amt><CdtDbtInd>DBIT</CdtDbtInd></Rcrd></Chrgs>'),
        # the charges are given for the entry, the detail has no amount of its own
        ('<Chrgs><TtlChrgsAndTaxAmt Ccy="EUR">3.00</TtlChrgsAndTaxAmt></Chrgs>', ""),
        # the original as instructed amount, the detail's amount is what was debited
        ("", '<Amt Ccy="EUR">36.00</Amt><CdtDbtInd>DBIT</CdtDbtInd>'
             '<AmtDtls><InstdAmt><Amt Ccy="EUR">33.00</Amt></InstdAmt></AmtDtls>'),
        # two charge records, one the bank books separately (ChrgInclInd false): left out
        ("", '<Amt Ccy="EUR">36.00</Amt><Chrgs><Rcrd><Amt Ccy="EUR">3.00</Amt></Rcrd>'
             '<Rcrd><Amt Ccy="EUR">1.00</Amt><ChrgInclInd>false</ChrgInclInd></Rcrd></Chrgs>'),
    ],
)  # fmt: skip
def test_returns_as_banks_write_them(db: Any, make: Any, entry_extra: str, details: str) -> None:
    c = _collected(db, make)
    report = _import(db, c, _hand_written_return(c, entry_extra, details))
    assert (report.returns, report.queued, report.return_charges_cents) == (1, 0, 300)
    assert open_amounts(db, [c.claim]) == {c.claim.id: 3300}
    assert _cost_claims(db, c) == [300]
    assert _account(db, c, "1800") == 3300 - 3600
