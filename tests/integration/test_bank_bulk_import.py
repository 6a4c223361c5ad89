"""The bank import's bulk path (core.payments.bank.bulk_import, core.ledger.bulk_receipts) books
the same ledger as booking line by line — bank lines with their status, notes and suggestions,
payments and their allocation (§ 225 AO), journal entries and postings, direct-debit items,
audit rows, the reports — for a statement of every kind of line, with returns and credits by
mandate reference (booked one by one) between the chunks; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.audit import AuditEvent
from core.kernel.references import make_rf
from core.ledger.accounts import accounts_by_id, tax_account
from core.ledger.balances import trial_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import (
    Claim,
    JournalEntry,
    LedgerAccount,
    Payment,
    PaymentChannel,
    TaxAccount,
)
from core.ledger.receipts import record_payment
from core.payments.bank import bulk_import
from core.payments.bank import imports as bank_import
from core.payments.bank.camt import CamtEntry
from core.payments.bank.models import BankLine, StatementImport
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.models import DirectDebitItem, Mandate
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from tests.camt_files import build_camt053, entry, statement, tx

AS_OF = date(2026, 3, 1)
DAY = date(2026, 3, 16)


def _town(db: Session, make: Any) -> dict[str, Any]:
    """Six persons with claims of several kinds and due dates; two with a mandate (collected in
    a run), one with credit, two sharing a Kassenzeichen."""
    m = make.municipality()
    make.sepa_statute(m)
    persons = [make.person(m, family_name=f"Zahler{i}") for i in range(6)]
    claims = []
    for i, person in enumerate(persons):
        claims.append(make.claim(m, person, amount=3000 + 100 * i, due=date(2026, 2, 15)))
        claims.append(
            make.claim(
                m,
                person,
                amount=1250,
                kind=ClaimKind.PROPERTY_TAX,
                due=date(2026, 5, 15),
                description="Grundsteuer 2026",
            )
        )
    db.add(  # person 5's Kassenzeichen for property tax names person 4 too
        Claim(
            municipality_id=m.id,
            person_id=persons[4].id,
            kind=ClaimKind.PROPERTY_TAX,
            description="Grundsteuer 2025",
            amount_cents=800,
            due_date=date(2025, 11, 15),
            kassenzeichen=claims[11].kassenzeichen,
        )
    )
    newcomer = make.person(m, family_name="Zahler6")  # a Steuerkonto, no claim, no accounts
    newcomer_kz = tax_account(db, newcomer, m, ClaimKind.DOG_TAX).kassenzeichen
    record_payment(
        db,
        person=persons[3],
        amount_cents=500,
        received_on=date(2026, 1, 5),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2026, 1, 5),
        actor="test",
    )
    for person in persons[:2]:
        mandates.grant_mandate(
            db,
            person=person,
            municipality=m,
            account_holder=person.display_name,
            iban="DE02120300000000202051",
            tax_account_id=None,
            signed_on=AS_OF,
            as_of=AS_OF,
            actor="test",
        )
    prenotifications.prenotify(db, m, collection_date=DAY, as_of=AS_OF, actor="test")
    run = debit_runs.create_run(db, m, collection_date=DAY, as_of=AS_OF, actor="test").run
    assert run is not None
    items = debit_runs.items_of(db, run)
    assert len(items) >= 2
    mandate = db.get_one(Mandate, items[1].mandate_id).reference
    return {
        "m": m,
        "persons": persons,
        "claims": claims,
        "items": items,
        "mandate": mandate,
        "newcomer": newcomer_kz,
    }


def _files(town: dict[str, Any]) -> list[bytes]:
    """Two statements (the second repeating some lines of the first) and the first again."""
    m, claims, items = town["m"], town["claims"], town["items"]
    kz = [c.kassenzeichen for c in claims]
    lines: list[tuple[bool, Any, str]] = [
        (True, tx(items[0].amount_cents, end_to_end_id=items[0].end_to_end_id), "PMNT/IDDT/ESDD"),
        (True, tx(3000, remittance=f"Hundesteuer {kz[0]}", counterparty_name="Testa Zahler0"), ""),
        (True, tx(99_00, remittance=f"KZ {kz[2]} und mehr"), ""),  # more than owed: credit
        (True, tx(1000, creditor_reference=make_rf(kz[4])), ""),  # RF reference
        (True, tx(700, remittance=f"Rate {kz[4]}"), ""),  # the same person again
        (True, tx(1250, remittance="Grundsteuer", counterparty_name="Zahler5 Testa"), ""),
        (True, tx(items[0].amount_cents, end_to_end_id=items[0].end_to_end_id), "PMNT/IDDT/ESDD"),
        (
            False,
            tx(items[0].amount_cents, end_to_end_id=items[0].end_to_end_id, return_reason="AM04"),
            "PMNT/IDDT/UPDD",
        ),
        (True, tx(4200, remittance=f"{kz[10]} {kz[8]}"), ""),  # two persons
        (False, tx(1999, remittance="Gebühr"), ""),  # a debit without a direct debit
        (True, tx(500, remittance=f"KZ {kz[6]}"), ""),  # person 3, who has credit
        (True, tx(items[1].amount_cents, end_to_end_id="UNBEKANNT-1"), ""),
        (True, tx(3000, remittance="ohne Bezug", counterparty_name="Testa Zahler0"), ""),
        (True, tx(3300, remittance=f"Hundesteuer {kz[6]}"), ""),
        (True, tx(1500, remittance=f"Hundesteuer {town['newcomer']}"), ""),
    ]
    lines.insert(9, (True, tx(items[1].amount_cents, mandate_id=town["mandate"]), ""))
    first = [
        entry(n, t, credit=credit, day=DAY, ref=f"R{n}", code=code or "PMNT/RCDT/ESCT")
        for n, (credit, t, code) in enumerate(lines, start=1)
    ]
    first.append(_pending(len(first) + 1))
    first.append(entry(len(first) + 1, tx(3000, remittance=f"KZ {kz[0]}"), day=DAY, ref="R2"))
    second = [
        entry(1, tx(3000, remittance=f"KZ {kz[0]}"), day=DAY, ref="R2"),  # known: duplicate
        entry(2, tx(1250, remittance=f"KZ {kz[1]}"), day=DAY + timedelta(days=1), ref="S2"),
        entry(3, tx(777, remittance="ohne alles"), day=DAY, ref="S3"),
    ]
    one = build_camt053(statement(m.iban, "AUSZUG-1", *first))
    two = build_camt053(statement(m.iban, "AUSZUG-2", *second))
    return [one, two, one]


def _pending(index: int) -> CamtEntry:
    booked = entry(index, tx(100, remittance="vorgemerkt"), day=DAY, ref="P1")
    return CamtEntry(**{**booked.__dict__, "status": "PDNG"})


def _import(db: Session, town: dict[str, Any], *, bulk: bool) -> list[dict[str, Any]]:
    reports = []
    for n, xml in enumerate(_files(town)):
        report = bank_import.import_statements(
            db, town["m"], xml, filename=f"f{n}.xml", as_of=DAY, actor="clerk", bulk=bulk
        )
        reports.append({k: v for k, v in report.as_dict().items() if k != "import_ids"})
    return reports


def _ledger(db: Session, m: Municipality) -> dict[str, Any]:
    """The municipality's ledger and bank lines with ids replaced by what they stand for."""
    number = dict(
        db.execute(select(Person.id, Person.number).where(Person.municipality_id == m.id)).all()
    )
    codes = {a.id: a.code for a in accounts_by_id(db, m.id).values()}
    claims = {c.id: c for c in db.scalars(select(Claim).where(Claim.municipality_id == m.id))}
    items = {
        i.id: i
        for i in db.scalars(select(DirectDebitItem).where(DirectDebitItem.municipality_id == m.id))
    }
    payments = {p.id: p for p in db.scalars(select(Payment).where(Payment.municipality_id == m.id))}

    def claim_key(claim_id: int | None) -> Any:
        c = claims.get(claim_id or 0)
        if c is None:
            return None
        return (
            number[c.person_id],
            c.kind.value,
            kz_free(c.description),
            c.amount_cents,
            c.due_date,
        )

    taxes = db.scalars(select(TaxAccount.kassenzeichen).where(TaxAccount.municipality_id == m.id))
    every_kz = {c.kassenzeichen for c in claims.values()} | set(taxes)

    def kz_free(text: str) -> str:
        for kz in every_kz:
            text = text.replace(kz, kz[3:11])
        return text

    def same(text: Any) -> Any:
        if not isinstance(text, str):
            return text
        for i in items.values():
            text = text.replace(i.end_to_end_id, f"<e2e {claim_key(i.claim_id)}>")
        text = kz_free(text)
        for own in (m.name, m.slug, m.city, m.cash_office_name, m.kassenzeichen_prefix + "-"):
            text = text.replace(own, "<m>")
        return text

    def payment_key(payment_id: int | None) -> Any:
        p = payments.get(payment_id or 0)
        if p is None:
            return None
        return (
            number.get(p.person_id or 0),
            p.amount_cents,
            p.received_on,
            p.channel.value,
            same(p.reference_text),
            same(p.external_ref),
            p.reversed_by_entry_id is not None,
        )

    entries = []
    for e in db.scalars(select(JournalEntry).where(JournalEntry.municipality_id == m.id)):
        postings = sorted(
            str(
                (
                    codes[p.debit_account_id],
                    codes[p.credit_account_id],
                    p.amount_cents,
                    claim_key(p.claim_id),
                    payment_key(p.payment_id),
                )
            )
            for p in e.postings
        )
        entries.append(
            str(
                (
                    number.get(e.person_id or 0),
                    e.kind.value,
                    e.value_date,
                    same(e.text),
                    e.actor,
                    e.reverses_entry_id is not None,
                    postings,
                )
            )
        )
    lines = []
    for x in db.scalars(select(BankLine).where(BankLine.municipality_id == m.id)):
        suggestions = [
            (
                number[s["person_id"]],
                s["person_number"],
                s["name"],
                claim_key(s["claim_id"]),
                s["reason"],
            )
            for s in x.suggestions
        ]
        lines.append(
            str(
                (
                    x.entry_index,
                    x.external_ref,
                    x.amount_cents,
                    x.credit,
                    x.booking_date,
                    x.counterparty_name,
                    x.counterparty_iban,
                    same(x.remittance),
                    same(x.end_to_end_id),
                    x.return_reason,
                    x.original_amount_cents,
                    x.charges_cents,
                    x.status.value,
                    x.method,
                    same(x.note),
                    number.get(x.person_id or 0),
                    payment_key(x.payment_id),
                    claim_key(items[x.item_id].claim_id) if x.item_id else None,
                    suggestions,
                    x.resolved_by,
                    x.resolved_at,
                )
            )
        )
    audit = []
    mine = (AuditEvent.municipality_id == m.id, AuditEvent.actor == "clerk")  # the imports'
    for a in db.scalars(select(AuditEvent).where(*mine)):
        after = dict(a.after or {})
        after.pop("import_ids", None)
        if "allocated" in after:
            after["allocated"] = [[str(claim_key(c)), cents] for c, cents in after["allocated"]]
        obj = {
            "payment": lambda i: payment_key(i),
            "claim": lambda i: claim_key(i),
            "sepa_item": lambda i: claim_key(items[i].claim_id),
        }.get(a.object_type, lambda i: None)(a.object_id)
        audit.append(
            same(
                json.dumps(
                    [a.actor, a.action, a.object_type, str(obj), a.before, after],
                    sort_keys=True,
                    default=str,
                )
            )
        )
    return {
        "entries": sorted(entries),
        "lines": sorted(lines),
        "payments": sorted(str(payment_key(p)) for p in payments),
        "claims": sorted(str(claim_key(c)) for c in claims),
        "items": sorted(
            str(
                (
                    claim_key(i.claim_id),
                    i.status.value,
                    i.credited_on,
                    i.returned_on,
                    i.return_reason,
                )
            )
            for i in items.values()
        ),
        "mandates": sorted(
            (number[x.person_id], x.status.value)
            for x in db.scalars(select(Mandate).where(Mandate.municipality_id == m.id))
        ),
        "imports": sorted(
            (
                s.filename,
                s.statement_id,
                json.dumps(
                    {k: v for k, v in s.report.items() if k != "import_ids"}, sort_keys=True
                ),
            )
            for s in db.scalars(
                select(StatementImport).where(StatementImport.municipality_id == m.id)
            )
        ),
        "audit": sorted(audit),
        "trial balance": trial_balance(db, m.id),
        "accounts": sorted(
            (a.code, a.name.replace(m.name, "<m>"), a.kind.value)
            for a in db.scalars(select(LedgerAccount).where(LedgerAccount.municipality_id == m.id))
        ),
    }


@pytest.mark.parametrize("chunk", [1, 3, bulk_import.CHUNK])
def test_bulk_and_one_by_one_imports_book_identical_ledgers(
    db: Session, make: Any, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    one_by_one, in_bulk = _town(db, make), _town(db, make)
    reports_one = _import(db, one_by_one, bulk=False)
    monkeypatch.setattr(bulk_import, "CHUNK", chunk)
    reports_bulk = _import(db, in_bulk, bulk=True)
    assert reports_bulk == reports_one
    assert reports_one[0]["queued"] >= 4 and reports_one[0]["returns"] == 1
    assert reports_one[2]["already_imported"] == ["AUSZUG-1"]
    expected, got = _ledger(db, one_by_one["m"]), _ledger(db, in_bulk["m"])
    assert any("Betrag und Name" in line for line in expected["lines"])
    assert any("'mandate'" in line for line in expected["lines"])
    assert sum("payment.booked" in a for a in expected["audit"]) >= 6
    for part in expected:
        assert got[part] == expected[part], _difference(got[part], expected[part])


def _difference(got: Any, expected: Any) -> str:
    if not isinstance(got, list):
        return f"{got} != {expected}"
    return f"only in bulk: {sorted(set(got) - set(expected))}; only one by one: " + str(
        sorted(set(expected) - set(got))
    )
