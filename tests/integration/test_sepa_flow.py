"""SEPA end to end in the core: mandates → pre-notification → pain.008 (XSD-valid) → a camt.053
statement built from that file (with a return and an unrelated transfer) → import → items
settled, the return reversed, match rate reported; imported twice, nothing is booked twice."""

from __future__ import annotations

import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sepaxml
from lxml import etree
from sqlalchemy import select

from core.kernel.errors import FieldErrors, ValidationError
from core.ledger.accounts import system_account, tax_account
from core.ledger.balances import account_balance, credit_balance, open_amounts, trial_balance
from core.ledger.claims import post_claim
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.payments.bank import import_records
from core.payments.bank import imports as bank_import
from core.payments.bank import queue as bank_queue
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.bank_days import next_target_day
from core.payments.sepa.due import due_items
from core.payments.sepa.identifiers import is_valid_mandate_reference
from core.payments.sepa.models import ItemStatus, MandateStatus
from tests.camt_files import build_camt053, statement_from_pain008
from tests.camt_files import entry as camt_entry
from tests.camt_files import statement as camt_statement
from tests.camt_files import tx as camt_tx

AS_OF = date(2026, 3, 1)
COLLECTION = date(2026, 3, 16)
PAIN = "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"
XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.08.xsd"


@pytest.fixture
def setup(db: Any, make: Any) -> Any:
    m = make.municipality()
    make.sepa_statute(m)
    return m


def _grant(db: Any, m: Any, person: Any, iban: str = "DE89370400440532013000", **kw: Any) -> Any:
    return mandates.grant_mandate(
        db,
        person=person,
        municipality=m,
        account_holder=kw.pop("holder", person.display_name),
        iban=iban,
        tax_account_id=kw.pop("tax_account_id", None),
        signed_on=kw.pop("signed_on", AS_OF),
        as_of=AS_OF,
        actor="test",
    )


def _validate(xml: bytes) -> etree._Element:
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    doc = etree.fromstring(xml)
    schema.assertValid(doc)  # an independent check beside sepaxml's own (xmlschema)
    return doc


def test_mandate_reference_and_pdf_confirmation(
    db: Any, make: Any, setup: Any, tmp_path: Path
) -> None:
    m = setup
    person = make.person(m, family_name="Müller")
    mandate = _grant(db, m, person, holder="Jürgen Müller")
    assert is_valid_mandate_reference(mandate.reference)
    assert mandate.reference == f"{m.kassenzeichen_prefix}-SEPA-0000001"
    assert mandate.bic == "COBADEFFXXX"  # derived from the IBAN (schwifty's bank registry)
    assert "Gläubiger-Identifikationsnummer DE98ZZZ09999999999" in mandate.consent_text
    document = db.get_one(mandates.archive.Document, mandate.document_id)
    pdf = tmp_path / "mandat.pdf"
    pdf.write_bytes(document.content)
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert mandate.reference in text
    assert "DE89 3704 0044 0532 0130 00" in text
    assert "Jürgen Müller" in text
    assert "acht Wochen" in text


def test_change_replaces_and_revoke_keeps_history(db: Any, make: Any, setup: Any) -> None:
    m = setup
    person = make.person(m)
    first = _grant(db, m, person)
    second = _grant(db, m, person, iban="DE02120300000000202051")
    assert first.status is MandateStatus.REPLACED and first.replaced_by_id == second.id
    assert second.reference != first.reference
    mandates.revoke_mandate(db, second, as_of=AS_OF, actor="test")
    assert [x.status for x in mandates.mandates_of(db, person)] == [
        MandateStatus.REVOKED,
        MandateStatus.REPLACED,
    ]


@pytest.mark.parametrize(
    ("iban", "message"),
    [
        ("DE89370400440532013001", "Prüfziffer"),
        ("DE8937040044053201300", "Länge"),
        ("XX89370400440532013000", "Ländercode"),
        ("BR1800360305000010009795493C1", "SEPA-Raum"),
        ("", "Bitte geben Sie Ihre IBAN an"),
    ],
)
def test_iban_rejects(db: Any, make: Any, setup: Any, iban: str, message: str) -> None:
    person = make.person(setup)
    with pytest.raises(FieldErrors) as caught:
        _grant(db, setup, person, iban=iban)
    assert message in caught.value.errors["iban"]


def test_round_trip(db: Any, make: Any, setup: Any) -> None:
    m = setup
    mueller = make.person(m, family_name="Müller", given_name="Jürgen")
    schmidt = make.person(m, family_name="Schmidt")
    other = make.person(m, family_name="Weber")
    c1 = make.claim(m, mueller, amount=4500, due=date(2026, 3, 15))
    c2 = make.claim(m, schmidt, amount=12000, due=date(2026, 3, 15), kind=ClaimKind.WASTE_FEE)
    later = make.claim(m, schmidt, amount=999, due=date(2026, 4, 15))  # not yet due
    transfer_claim = make.claim(m, other, amount=3000, due=date(2026, 3, 1))
    _grant(db, m, mueller, holder="Jürgen Müller")
    _grant(db, m, schmidt, iban="DE02120300000000202051")

    # Without a pre-notification nothing is collected.
    assert (
        debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t").run is None
    )
    with pytest.raises(ValidationError, match="14 Tage"):
        prenotifications.prenotify(
            db, m, collection_date=AS_OF + timedelta(days=10), as_of=AS_OF, actor="t"
        )
    announced = prenotifications.prenotify(
        db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t"
    )
    assert (announced.items, announced.total_cents) == (2, 16500)

    result = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    run = result.run
    assert run is not None and (run.count, run.total_cents) == (2, 16500)
    doc = _validate(run.xml)
    ns = {"p": PAIN}
    names = doc.xpath("//p:DrctDbtTxInf/p:Dbtr/p:Nm/text()", namespaces=ns)
    assert "Juergen Mueller" in names  # umlauts spelt out, not "Muller"
    assert doc.xpath("string(//p:ReqdColltnDt)", namespaces=ns) == "2026-03-16"
    assert doc.xpath("string(//p:SeqTp)", namespaces=ns) == "RCUR"
    assert doc.xpath("string(//p:CdtrSchmeId//p:Othr/p:Id)", namespaces=ns) == m.creditor_id
    assert doc.xpath("string(//p:GrpHdr/p:CtrlSum)", namespaces=ns) == "165.00"
    # In collection: the claims are settled (into clearing), the later one is untouched.
    open_now = open_amounts(db, [c1, c2, later])
    assert open_now == {c1.id: 0, c2.id: 0, later.id: 999}
    # A second run finds nothing new.
    again = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    assert again.run is None

    # The bank's statement: the batch credited with details, then one return, one transfer
    # naming the Kassenzeichen (printed in groups), one transfer nobody can place.
    returned = next(i for i in debit_runs.items_of(db, run) if i.amount_cents == 12000)
    kz = transfer_claim.kassenzeichen
    statement = statement_from_pain008(
        run.xml,
        iban=m.iban,
        booked_on=COLLECTION,
        returns={returned.end_to_end_id: "AC04"},
        statement_id="2026-03-16-001",
        extra=(
            camt_entry(
                0,
                camt_tx(3000, remittance=f"Hundesteuer KZ {kz[:3]} {kz[3:11]} {kz[11:]}"),
                day=COLLECTION,
                ref="REF-TRF-1",
            ),
            camt_entry(
                0, camt_tx(777, remittance="Spende Vereinsfest"), day=COLLECTION, ref="REF-UNK-1"
            ),
        ),
    )
    xml = build_camt053(statement)
    as_of = COLLECTION + timedelta(days=4)
    report = bank_import.import_statements(
        db, m, xml, filename="auszug.xml", as_of=as_of, actor="t"
    )
    print(f"match rate {report.match_rate_text()}")
    assert report.credits == 4 and report.credits_matched == 3
    assert report.match_rate_text() == "75,0 %"
    assert (report.cleared, report.returns, report.return_fees, report.mandates_suspended) == (
        2,
        1,
        1,
        1,
    )
    assert report.queued == 1 and report.queued_cents == 777

    balances = open_amounts(db, [c1, c2, transfer_claim])
    assert balances == {c1.id: 0, c2.id: 12000, transfer_claim.id: 0}  # the return re-opened c2
    fee = db.scalars(select(Claim).where(Claim.kind == ClaimKind.RETURN_DEBIT_FEE)).one()
    assert fee.person_id == schmidt.id and fee.amount_cents == 300
    items = {i.amount_cents: i for i in debit_runs.items_of(db, run)}
    assert items[4500].status is ItemStatus.CREDITED
    assert items[12000].status is ItemStatus.RETURNED and items[12000].return_reason == "AC04"
    assert mandates.mandates_of(db, schmidt)[0].status is MandateStatus.SUSPENDED
    trial = trial_balance(db, m.id)
    assert sum(trial.values()) == 0
    bank = account_balance(db, system_account(db, m.id, "1800"))
    assert bank == 16500 - 12000 + 3000 + 777  # the ledger's bank account follows the statement
    assert account_balance(db, system_account(db, m.id, "1820")) == 0

    # The same statement again (even under another file name): nothing is booked twice.
    again = bank_import.import_statements(
        db, m, xml, filename="nochmal.xml", as_of=as_of, actor="t"
    )
    assert again.already_imported == ["2026-03-16-001"] and again.credits == 0
    assert account_balance(db, system_account(db, m.id, "1800")) == bank

    # The clerk assigns the unknown transfer to Weber: booked from suspense as credit.
    line = bank_queue.queued_lines(db, m.id)[0]
    bank_queue.assign_line(db, line, other, claim_ids=[], as_of=as_of, actor="clerk")
    assert credit_balance(db, other) == 777
    assert account_balance(db, system_account(db, m.id, "1890")) == 0
    assert bank_queue.queued_lines(db, m.id) == []


def test_collective_credit_without_details_is_split_back(db: Any, make: Any, setup: Any) -> None:
    m = setup
    people = [make.person(m) for _ in range(3)]
    for p in people:
        make.claim(m, p, amount=1000, due=date(2026, 3, 10))
        _grant(db, m, p)
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    run = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t").run
    assert run is not None
    statement = camt_statement(
        m.iban,
        "S2",
        camt_entry(
            1,
            camt_tx(3000, remittance="SEPA-Sammler"),
            day=COLLECTION,
            ref="B-1",
            code="PMNT/IDDT/ESDD",
            batch_payment_info_id=run.payment_info_id,
            batch_count=3,
        ),
        kind="camt.053.001.02",
    )
    report = bank_import.import_statements(
        db, m, build_camt053(statement, version="02"), filename="s.xml", as_of=COLLECTION, actor="t"
    )
    assert report.cleared == 3 and report.credits_matched == 1 and report.queued == 0
    assert {i.status for i in debit_runs.items_of(db, run)} == {ItemStatus.CREDITED}


def test_malformed_file_books_nothing(db: Any, make: Any, setup: Any) -> None:
    m = setup
    with pytest.raises(ValidationError):
        bank_import.import_statements(db, m, b"<kein xml", filename="x", as_of=AS_OF, actor="t")
    assert import_records.imports_of(db, m.id) == []


def test_statement_of_another_account_is_refused(db: Any, make: Any, setup: Any) -> None:
    m = setup
    statement = camt_statement("DE02120300000000202051", "S")
    with pytest.raises(ValidationError, match="nicht zum Konto"):
        bank_import.import_statements(
            db, m, build_camt053(statement), filename="x", as_of=AS_OF, actor="t"
        )


def test_expired_mandate_is_not_used(db: Any, make: Any, setup: Any) -> None:
    m = setup
    person = make.person(m)
    make.claim(m, person, amount=1000, due=date(2026, 3, 10))
    mandate = _grant(db, m, person, signed_on=date(2023, 1, 10))  # never used since
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    result = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    assert result.run is None and result.skipped == {"mandate_expired": 1}
    assert mandate.status is MandateStatus.EXPIRED


def test_levy_mandate_covers_only_its_tax_account(db: Any, make: Any, setup: Any) -> None:
    m = setup
    person = make.person(m)
    account = tax_account(db, person, m, ClaimKind.DOG_TAX)
    dog = post_claim(
        db,
        person=person,
        municipality=m,
        kind=ClaimKind.DOG_TAX,
        amount_cents=2000,
        due_date=date(2026, 3, 10),
        description="Hundesteuer",
        as_of=AS_OF,
        actor="t",
        kassenzeichen=account.kassenzeichen,
    )
    make.claim(m, person, amount=5000, due=date(2026, 3, 10), kind=ClaimKind.WASTE_FEE)
    _grant(db, m, person, tax_account_id=account.id)
    due = due_items(db, m, COLLECTION)
    assert [d.claim.id for d in due] == [dog.id]


def test_collection_only_on_bank_days(db: Any, make: Any, setup: Any) -> None:
    m = setup
    good_friday = date(2026, 4, 3)
    with pytest.raises(ValidationError, match="kein Bankarbeitstag"):
        debit_runs.create_run(db, m, collection_date=good_friday, as_of=AS_OF, actor="t")
    assert next_target_day(good_friday) == date(2026, 4, 7)  # after Easter Monday
    assert prenotifications.earliest_collection(db, m.id, date(2026, 12, 11)) == date(2026, 12, 28)


def _pain002(
    original_msg_id: str, rejected: dict[str, str], group_reject: str | None = None
) -> bytes:
    """A payment status report as German banks send it (pain.002.001.10, GBIC_4)."""
    txs = "".join(
        f"<TxInfAndSts><StsId>S{n}</StsId><OrgnlEndToEndId>{e2e}</OrgnlEndToEndId>"
        f"<TxSts>RJCT</TxSts><StsRsnInf><Rsn><Cd>{code}</Cd></Rsn></StsRsnInf></TxInfAndSts>"
        for n, (e2e, code) in enumerate(rejected.items())
    )
    group = (
        f"<GrpSts>RJCT</GrpSts><StsRsnInf><Rsn><Cd>{group_reject}</Cd></Rsn></StsRsnInf>"
        if group_reject
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10"><CstmrPmtStsRpt>'
        "<GrpHdr><MsgId>STATUS-4711</MsgId><CreDtTm>2026-03-15T08:00:00</CreDtTm></GrpHdr>"
        f"<OrgnlGrpInfAndSts><OrgnlMsgId>{original_msg_id}</OrgnlMsgId>"
        f"<OrgnlMsgNmId>pain.008.001.08</OrgnlMsgNmId>{group}</OrgnlGrpInfAndSts>"
        f"<OrgnlPmtInfAndSts><OrgnlPmtInfId>X</OrgnlPmtInfId>{txs}</OrgnlPmtInfAndSts>"
        "</CstmrPmtStsRpt></Document>"
    ).encode()


def test_rejection_before_settlement_reopens_the_claim(db: Any, make: Any, setup: Any) -> None:
    m = setup
    a, b = make.person(m), make.person(m)
    ca = make.claim(m, a, amount=1000, due=date(2026, 3, 10))
    cb = make.claim(m, b, amount=2000, due=date(2026, 3, 10))
    _grant(db, m, a)
    mandate_b = _grant(db, m, b)
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    run = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t").run
    assert run is not None
    item_b = next(i for i in debit_runs.items_of(db, run) if i.claim_id == cb.id)
    report_xml = _pain002(run.message_id, {item_b.end_to_end_id: "MD01"})
    as_of = COLLECTION - timedelta(days=1)
    report = bank_import.import_statements(
        db, m, report_xml, filename="p2.xml", as_of=as_of, actor="t"
    )
    assert (report.rejected, report.mandates_suspended, report.return_fees) == (1, 1, 0)
    assert open_amounts(db, [ca, cb]) == {ca.id: 0, cb.id: 2000}
    assert item_b.status is ItemStatus.REJECTED and item_b.return_reason == "MD01"
    assert mandate_b.status is MandateStatus.SUSPENDED
    assert account_balance(db, system_account(db, m.id, "1820")) == 1000
    assert account_balance(db, system_account(db, m.id, "1800")) == 0
    again = bank_import.import_statements(
        db, m, report_xml, filename="p2.xml", as_of=as_of, actor="t"
    )
    assert again.already_imported == ["STATUS-4711"] and again.rejected == 0
    with pytest.raises(ValidationError, match="keine Lastschriftdatei"):
        bank_import.import_statements(
            db, m, _pain002("FREMD", {}, "AC01"), filename="x", as_of=as_of, actor="t"
        )


def test_credit_without_end_to_end_id_found_by_mandate_reference(
    db: Any, make: Any, setup: Any
) -> None:
    m = setup
    person = make.person(m)
    make.claim(m, person, amount=4200, due=date(2026, 3, 10))
    mandate = _grant(db, m, person)
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    run = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t").run
    assert run is not None
    statement = camt_statement(
        m.iban,
        "S-M",
        camt_entry(
            1,
            camt_tx(4200, mandate_id=mandate.reference.lower(), remittance="Lastschrift"),
            day=COLLECTION,
            ref="R1",
            code="PMNT/IDDT/ESDD",
        ),
    )
    report = bank_import.import_statements(
        db, m, build_camt053(statement), filename="s", as_of=COLLECTION, actor="t"
    )
    assert report.cleared == 1 and report.credits_matched == 1
    assert debit_runs.items_of(db, run)[0].status is ItemStatus.CREDITED


def test_prenotification_letters_for_those_without_email(
    db: Any, make: Any, setup: Any, tmp_path: Path
) -> None:
    m = setup
    by_mail = make.person(m, email="erika@test.example")
    by_post = make.person(m, family_name="Großmann", given_name="Jörg")
    make.claim(m, by_mail, amount=1000, due=date(2026, 3, 10))
    make.claim(m, by_post, amount=2550, due=date(2026, 3, 10), description="Grundsteuer 2026")
    make.claim(m, by_post, amount=450, due=date(2026, 3, 12), description="Mahngebühr")
    _grant(db, m, by_mail)
    mandate = _grant(db, m, by_post)
    result = prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    assert (result.persons, result.emails) == (2, 1)
    letters = prenotifications.prenotification_letters(db, m, collection_date=COLLECTION)
    assert letters is not None and letters[1] == 1
    pdf = tmp_path / "briefe.pdf"
    pdf.write_bytes(letters[0])
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "Jörg Großmann" in text and "Erika" not in text
    assert "16.03.2026" in text and "30,00 €" in text and mandate.reference in text
    assert mandate.masked_iban in text
    assert (
        prenotifications.prenotification_letters(db, m, collection_date=date(2026, 3, 17)) is None
    )


def test_the_notice_of_a_mandate_holder_is_the_pre_notification(
    db: Any, make: Any, setup: Any, tmp_path: Path
) -> None:
    from core.levies.dog_tax import assessment as dog_tax_run
    from core.levies.dog_tax.models import Dog, DogStatus
    from core.notices.records import NoticeSettings, notices_of, render

    m = setup
    make.dog_tax_statute(m)
    owner = make.person(m)
    mandate = _grant(db, m, owner, signed_on=date(2025, 12, 1))
    db.add(
        Dog(
            municipality_id=m.id,
            person_id=owner.id,
            name="Bello",
            breed="Mischling",
            acquired_on=date(2024, 1, 1),
            tag_number=7,
            status=DogStatus.ACTIVE,
        )
    )
    db.flush()
    issued = date(2026, 1, 10)
    dog_tax_run.assess_all(db, municipality=m, year=2026, as_of=issued, actor="t")
    [notice] = notices_of(db, owner.id, m.id)
    assert notice.data["direct_debit"]["reference"] == mandate.reference
    days = [i["collection_date"] for i in notice.data["instalments"]]
    assert days == ["2026-02-16", "2026-05-15", "2026-08-17", "2026-11-16"]  # next bank days
    announced = prenotifications.prenotifications_of(db, owner)
    assert [p.collection_date.isoformat() for p in announced] == days
    assert all(p.sent_on == issued and p.mandate_id == mandate.id for p in announced)

    pdf = tmp_path / "bescheid.pdf"
    pdf.write_bytes(render(db, notice, NoticeSettings("geheim", "https://portal.example")))
    text = " ".join(
        subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "Zahlung per SEPA-Lastschrift" in text and mandate.reference in text
    assert "Einzug am" in text and "16.02.2026" in text and "bitte nicht überweisen" in text
    assert "GiroCode" not in text

    # The run on the first collection day needs no separate pre-notification.
    result = debit_runs.create_run(
        db, m, collection_date=date(2026, 2, 16), as_of=date(2026, 2, 1), actor="t"
    )
    assert result.run is not None and result.run.count == 1 and not result.skipped


def test_the_notice_of_someone_without_mandate_asks_for_a_transfer(
    db: Any, make: Any, setup: Any
) -> None:
    from core.levies.dog_tax import assessment as dog_tax_run
    from core.levies.dog_tax.models import Dog, DogStatus
    from core.notices.records import notices_of

    m = setup
    make.dog_tax_statute(m)
    owner = make.person(m)
    db.add(
        Dog(
            municipality_id=m.id,
            person_id=owner.id,
            name="Luna",
            breed="Mischling",
            acquired_on=date(2024, 1, 1),
            tag_number=8,
            status=DogStatus.ACTIVE,
        )
    )
    db.flush()
    dog_tax_run.assess_all(db, municipality=m, year=2026, as_of=date(2026, 1, 10), actor="t")
    [notice] = notices_of(db, owner.id, m.id)
    assert "direct_debit" not in notice.data
    assert prenotifications.prenotifications_of(db, owner) == []


def test_collection_details_by_camt054_notification(db: Any, make: Any, setup: Any) -> None:
    from tests.camt_files import build_camt054, statement_from_pain008

    m = setup
    for amount in (1500, 2500):
        person = make.person(m)
        make.claim(m, person, amount=amount, due=date(2026, 3, 10))
        _grant(db, m, person)
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    run = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t").run
    assert run is not None
    notification = statement_from_pain008(
        run.xml, iban=m.iban, booked_on=COLLECTION, statement_id="NTF-1"
    )
    for version in ("08", "02"):  # .02 is the same notification again: nothing twice
        report = bank_import.import_statements(
            db, m, build_camt054(notification, version=version), filename="n", as_of=COLLECTION,
            actor="t",
        )  # fmt: skip
        if version == "08":
            assert report.cleared == 2 and report.match_rate_text() == "100,0 %"
        else:
            assert report.already_imported == ["NTF-1"] and report.cleared == 0
    assert {i.status for i in debit_runs.items_of(db, run)} == {ItemStatus.CREDITED}


def test_the_days_statement_after_its_notification_books_nothing_twice(
    db: Any, make: Any, setup: Any
) -> None:
    """The same entries (same bank references) come first in a camt.054 during the day, then in
    the evening's camt.053 under another statement id."""
    from dataclasses import replace

    from tests.camt_files import build_camt054

    m = setup
    person = make.person(m)
    claim = make.claim(m, person, amount=3000, due=date(2026, 3, 1))
    intraday = camt_statement(
        m.iban,
        "NTF-9",
        camt_entry(
            1,
            camt_tx(3000, remittance=f"KZ {claim.kassenzeichen}", counterparty_name="A"),
            day=COLLECTION,
            ref="BANK-77",
            code="",
        ),
        kind="camt.054.001.08",
    )
    first = bank_import.import_statements(
        db, m, build_camt054(intraday), filename="n", as_of=COLLECTION, actor="t"
    )
    assert first.credits_matched == 1
    evening = replace(intraday, statement_id="STMT-9", kind="camt.053.001.08")
    second = bank_import.import_statements(
        db, m, build_camt053(evening), filename="s", as_of=COLLECTION, actor="t"
    )
    assert second.duplicates == 1 and second.credits == 0
    assert open_amounts(db, [claim]) == {claim.id: 0}
    assert credit_balance(db, person) == 0


def test_the_database_refuses_a_claim_in_two_collections(db: Any, make: Any, setup: Any) -> None:
    """The last line of defence if two runs raced (create_run also locks per municipality)."""
    from sqlalchemy.exc import IntegrityError

    from core.payments.sepa.models import DirectDebitItem

    m = setup
    person = make.person(m)
    make.claim(m, person, amount=1000, due=date(2026, 3, 10))
    _grant(db, m, person)
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    run = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t").run
    assert run is not None
    [item] = debit_runs.items_of(db, run)
    twin = DirectDebitItem(
        municipality_id=m.id,
        run_id=run.id,
        mandate_id=item.mandate_id,
        person_id=item.person_id,
        claim_id=item.claim_id,
        amount_cents=item.amount_cents,
        end_to_end_id=item.end_to_end_id + "X",
        payment_id=item.payment_id,
    )
    with db.begin_nested():
        db.add(twin)
        with pytest.raises(IntegrityError):
            db.flush()
