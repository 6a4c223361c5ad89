"""The annual run's bulk path (core.levies.assessing.issue_chunk, core.ledger.bulk) books the
same ledger as booking claim by claim — claims, journal entries, postings, Kassenzeichen,
notice numbers, audit rows — and a rerun books nothing; on SQLite and PostgreSQL."""

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.kernel.audit import AuditEvent
from core.kernel.errors import LedgerError
from core.ledger.accounts import accounts_by_id
from core.ledger.models import Claim, JournalEntry, PaymentChannel, Posting, TaxAccount
from core.ledger.receipts import record_payment
from core.levies import pipeline
from core.levies.dog_tax.assessment import DOG_TAX
from core.levies.dog_tax.models import Dog, DogStatus
from core.notices.records import Notice
from core.payments.sepa import mandates
from core.persons.models import Person
from core.tenancy.municipalities import Counter, Municipality

JAN = date(2026, 1, 10)
MARCH = date(2026, 3, 1)


def _dog(db: Session, m: Municipality, person: Person, n: int, **kw: Any) -> None:
    db.add(
        Dog(
            municipality_id=m.id,
            person_id=person.id,
            name=f"Hund {n}",
            breed="Mischling",
            acquired_on=kw.pop("acquired_on", date(2024, 1, 1)),
            tag_number=n,
            status=DogStatus.ACTIVE,
            **kw,
        )
    )
    db.flush()


def _town(db: Session, make: Any) -> tuple[Municipality, list[Person]]:
    """Owners of every kind the run meets: first assessments (bulk), one with two dogs, one
    exempt, one with credit and one with a direct-debit mandate (both one by one)."""
    m = make.municipality()
    make.dog_tax_statute(m)
    make.sepa_statute(m)
    owners = [make.person(m, family_name=f"Halter{i}") for i in range(8)]
    for i, owner in enumerate(owners[:7]):
        _dog(db, m, owner, 10 + i, acquired_on=date(2025, 1 + i, 1))
    _dog(db, m, owners[3], 30)
    _dog(db, m, owners[5], 31, exemption_code="assistance")
    record_payment(
        db,
        person=owners[4],
        amount_cents=2_345,
        received_on=date(2025, 12, 20),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2025, 12, 20),
        actor="test",
    )
    mandates.grant_mandate(
        db,
        person=owners[6],
        municipality=m,
        account_holder=owners[6].display_name,
        iban="DE89370400440532013000",
        tax_account_id=None,
        signed_on=date(2025, 12, 1),
        as_of=date(2025, 12, 1),
        actor="test",
    )
    return m, owners


def _runs(db: Session, m: Municipality, owners: list[Person], *, bulk: bool) -> None:
    """The annual run, then a second dog for one owner, a first for another, and a rerun in
    March (change assessments next to first ones in the same chunks)."""
    run = pipeline.run
    stats = run(
        db, DOG_TAX, municipality=m, year=2026, as_of=JAN, actor="cli", chunk_size=3, bulk=bulk
    )
    assert stats.notices == 7
    _dog(db, m, owners[0], 40)
    _dog(db, m, owners[7], 41)
    stats = run(
        db, DOG_TAX, municipality=m, year=2026, as_of=MARCH, actor="cli", chunk_size=3, bulk=bulk
    )
    assert stats.notices == 2


def _ledger(db: Session, m: Municipality) -> dict[str, Any]:
    """The municipality's ledger with ids replaced by what they stand for (person numbers,
    account codes, Kassenzeichen serials, notice numbers), ready to compare."""
    number = dict(
        db.execute(select(Person.id, Person.number).where(Person.municipality_id == m.id)).all()
    )
    codes = {a.id: a.code for a in accounts_by_id(db, m.id).values()}
    notices = {n.id: n for n in db.scalars(select(Notice).where(Notice.municipality_id == m.id))}
    claims = {c.id: c for c in db.scalars(select(Claim).where(Claim.municipality_id == m.id))}

    def same(text: str) -> str:
        for own in (m.name, m.slug, m.city, m.cash_office_name, f"{m.kassenzeichen_prefix}-SEPA"):
            text = text.replace(own, "<m>")
        for kz in {c.kassenzeichen for c in claims.values()}:
            text = text.replace(kz, kz[3:11])
        return text

    def claim_key(claim_id: int | None) -> Any:
        c = claims.get(claim_id) if claim_id else None
        if c is None:
            return None
        return (
            number[c.person_id],
            c.kind.value,
            c.description,
            c.period_start,
            c.period_end,
            c.amount_cents,
            c.due_date,
            c.kassenzeichen[3:11],
            c.assessment_key,
            notices[c.notice_id].number if c.notice_id else None,
            c.cancelled_by_entry_id is not None,
        )

    entries = []
    for e in db.scalars(select(JournalEntry).where(JournalEntry.municipality_id == m.id)):
        postings = sorted(
            (
                codes[p.debit_account_id],
                codes[p.credit_account_id],
                p.amount_cents,
                str(claim_key(p.claim_id)),
            )
            for p in e.postings
        )
        entries.append(
            str(
                (
                    number.get(e.person_id or 0),
                    e.kind.value,
                    e.value_date,
                    e.text,
                    e.actor,
                    postings,
                )
            )
        )
    audit = []
    for a in db.scalars(
        select(AuditEvent).where(
            AuditEvent.municipality_id == m.id,
            AuditEvent.object_type.in_(["claim", "notice", "journal_entry", "payment"]),
        )
    ):
        obj = (
            claim_key(a.object_id)
            if a.object_type == "claim"
            else (
                notices[a.object_id].number
                if a.object_type == "notice" and a.object_id
                else a.object_type
            )
        )
        audit.append(
            same(
                json.dumps(
                    [a.actor, a.action, a.object_type, str(obj), a.before, a.after], sort_keys=True
                )
            )
        )
    return {
        "claims": sorted(str(claim_key(i)) for i in claims),
        "entries": sorted(entries),
        "tax accounts": sorted(
            (number[t.person_id], t.kassenzeichen[3:11])
            for t in db.scalars(select(TaxAccount).where(TaxAccount.municipality_id == m.id))
        ),
        "notices": sorted(
            (
                n.number,
                number[n.person_id],
                n.title,
                n.kassenzeichen[3:11],
                n.total_cents,
                n.previous_cents,
                same(
                    json.dumps(
                        {k: v for k, v in n.data.items() if k != "recipient"}, sort_keys=True
                    )
                ),
            )
            for n in notices.values()
        ),
        "audit": sorted(audit),
        "counters": sorted(
            db.execute(
                select(Counter.name, Counter.last_value).where(Counter.municipality_id == m.id)
            ).all()
        ),
    }


def test_bulk_and_one_by_one_runs_book_identical_ledgers(db: Session, make: Any) -> None:
    one_by_one, owners_a = _town(db, make)
    in_bulk, owners_b = _town(db, make)
    _runs(db, one_by_one, owners_a, bulk=False)
    _runs(db, in_bulk, owners_b, bulk=True)
    expected, got = _ledger(db, one_by_one), _ledger(db, in_bulk)
    assert len(expected["claims"]) > 20 and len(expected["audit"]) > 20
    for part in expected:
        assert got[part] == expected[part], part


def test_a_rerun_in_bulk_books_nothing(db: Session, make: Any) -> None:
    m, owners = _town(db, make)
    _runs(db, m, owners, bulk=True)
    before = _ledger(db, m)
    counts = [
        db.scalar(select(func.count()).select_from(t))
        for t in (Claim, JournalEntry, Posting, AuditEvent, Notice)
    ]
    stats = pipeline.run(
        db, DOG_TAX, municipality=m, year=2026, as_of=MARCH, actor="cli", chunk_size=3
    )
    assert (stats.persons, stats.notices) == (8, 0)
    assert _ledger(db, m) == before
    assert [
        db.scalar(select(func.count()).select_from(t))
        for t in (Claim, JournalEntry, Posting, AuditEvent, Notice)
    ] == counts


def test_rows_booked_in_bulk_are_append_only(db: Session, make: Any) -> None:
    m, owners = _town(db, make)
    _runs(db, m, owners, bulk=True)
    posting = db.scalars(
        select(Posting)
        .join(Claim, Posting.claim_id == Claim.id)
        .where(Claim.municipality_id == m.id)
    ).first()
    assert posting is not None
    with pytest.raises(DBAPIError), db.begin_nested():  # the database's trigger refuses it
        db.execute(update(Posting).where(Posting.id == posting.id).values(amount_cents=1))
    posting.amount_cents += 1
    with pytest.raises(LedgerError, match="unveränderlich"):  # and so does the session hook
        db.flush()
    db.rollback()
