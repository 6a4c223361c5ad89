"""The direct-debit run in bulk (core.payments.sepa.collectable, bulk_run) books the same ledger
and writes the same pain.008 as the one-by-one run (record_payment per item, sepaxml): the same
rows except ids and timestamps, the same skipped items, the same expired mandates; and neither
collects anything twice — on SQLite and PostgreSQL.

Both runs start from one town: the second runs after the first was rolled back to a savepoint,
so claims, mandates and pre-notifications are the very same rows."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.ledger.accounts import tax_account
from core.ledger.kinds import ClaimKind
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.card import checkout
from core.payments.card.provider import Intent
from core.payments.sepa import prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.models import (
    DirectDebitItem,
    Mandate,
    MandateStatus,
    PreNotification,
)
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from tests.sepa_ledger import largest_ids, pain008_content, state

AS_OF = date(2026, 3, 2)
COLLECTION = date(2026, 3, 16)


class _Provider:
    name = "stripe"

    def create_intent(self, *, amount_cents: int, **_: Any) -> Intent:
        return Intent(
            ref="pi_bulk",
            status="requires_payment_method",
            amount_cents=amount_cents,
            currency="EUR",
        )


def _mandate(db: Session, m: Municipality, person: Person, n: int, **kw: Any) -> Mandate:
    values: dict[str, Any] = dict(
        municipality_id=m.id,
        person_id=person.id,
        reference=f"REF-{n}",
        reference_key=f"REF-{n}",
        account_holder=person.display_name,
        iban="DE02120300000000202051",
        signed_on=date(2025, 6, 1),
        consent_text="…",
        status=MandateStatus.ACTIVE,
        created_by="test",
    )
    values.update(kw)
    mandate = Mandate(**values)
    db.add(mandate)
    db.flush()
    return mandate


# long because it is the town's list of cases, one short block each
def _town(db: Session, make: Any) -> Municipality:
    """Every case a run meets: plain items (umlauts, no BIC, two per person), one partly paid,
    one scoped mandate beside a general one, a card payment holding an item, a lapsed mandate,
    a pre-notification of another amount, none at all, one item not yet due, one paid."""
    m = make.municipality()
    make.sepa_statute(m)
    p = [make.person(m, family_name=name) for name in ("Müller", "Öztürk", "Weiß", "Bauer")]
    p += [make.person(m, family_name=f"Zahler{i}") for i in range(4)]
    for person in p[:3]:
        make.claim(m, person, amount=4_500, due=date(2026, 2, 15))
        make.claim(m, person, amount=1_200, due=date(2026, 3, 1), description="Hundesteuer 2026 II")
    partly = make.claim(m, p[3], amount=9_000, due=date(2026, 1, 15))
    record_payment(
        db,
        person=p[3],
        amount_cents=2_500,
        received_on=AS_OF,
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=AS_OF,
        actor="test",
        claim_ids=[partly.id],
    )
    make.claim(m, p[4], amount=7_000, kind=ClaimKind.PROPERTY_TAX, due=date(2026, 2, 15))
    make.claim(m, p[4], amount=3_000, due=date(2026, 2, 15))
    held = make.claim(m, p[5], amount=5_000, due=date(2026, 2, 15))
    make.claim(m, p[5], amount=2_000, due=date(2026, 2, 16))
    make.claim(m, p[6], amount=6_000, due=date(2026, 2, 15))  # lapsed mandate
    make.claim(m, p[7], amount=1_500, due=date(2026, 2, 15))  # announced with another amount
    make.claim(m, p[7], amount=2_500, due=date(2026, 2, 20))  # announced, then paid
    make.claim(m, p[7], amount=3_500, due=date(2026, 4, 1))  # not yet due
    checkout.start(
        db,
        _Provider(),  # type: ignore[arg-type]
        municipality=m,
        person_id=p[5].id,
        claim_ids=[held.id],
        origin="account",
        actor="citizen",
    )
    for n, person in enumerate(p):
        if n == 6:
            _mandate(db, m, person, n, signed_on=date(2022, 1, 10))
        elif n == 4:
            levy = tax_account(db, person, m, ClaimKind.PROPERTY_TAX)
            _mandate(db, m, person, n, bic="BYLADEM1001")
            _mandate(db, m, person, 40, tax_account_id=levy.id, iban="DE89370400440532013000")
        else:
            _mandate(db, m, person, n, bic=None if n % 2 else "COBADEFFXXX")
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    pns = list(db.scalars(select(PreNotification).where(PreNotification.municipality_id == m.id)))
    for pn in pns:
        if pn.person_id == p[7].id and pn.amount_cents == 1_500:
            pn.amount_cents = 1_400  # announced wrongly: must not be collected
    paid = next(c for c in pns if c.person_id == p[7].id and c.amount_cents == 2_500)
    record_payment(
        db,
        person=p[7],
        amount_cents=1_000,
        received_on=AS_OF,
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=AS_OF,
        actor="test",
        claim_ids=[paid.claim_id],
    )  # the open amount no longer matches the announcement
    db.flush()
    return m


def _run_and_read(db: Session, m: Municipality, *, bulk: bool) -> tuple[Any, ...]:
    since = largest_ids(db)
    result = debit_runs.create_run(
        db, m, collection_date=COLLECTION, as_of=AS_OF, actor="clerk", bulk=bulk
    )
    assert result.run is not None
    again = debit_runs.create_run(
        db, m, collection_date=COLLECTION, as_of=AS_OF, actor="clerk", bulk=bulk
    )
    assert again.run is None  # nothing is collected twice
    run = result.run
    summary = (run.count, run.total_cents, run.filename.rsplit("-", 1)[0], result.skipped)
    return summary, again.skipped, pain008_content(run), state(db, m, since)


def test_bulk_and_one_by_one_runs_book_the_same_ledger_and_file(db: Session, make: Any) -> None:
    m = _town(db, make)
    savepoint = db.begin_nested()
    expected = _run_and_read(db, m, bulk=False)
    savepoint.rollback()
    savepoint = db.begin_nested()
    got = _run_and_read(db, m, bulk=True)
    savepoint.rollback()
    summary, _, _, state = expected
    assert summary[0] == 10 and summary[3] == {
        "card_payment_running": 1,
        "mandate_expired": 1,
        "not_prenotified": 2,
    }
    assert len(state["entries"]) == 10 and len(state["audit"]) >= 11
    assert any('"mandate.expired"' in row for row in state["audit"])
    assert got[:3] == expected[:3]  # the run, the second run (nothing), the pain.008
    for key, part in state.items():
        assert got[3][key] == part, key


def test_a_file_the_xsd_refuses_books_nothing(db: Session, make: Any) -> None:
    m = make.municipality()
    make.sepa_statute(m)
    person = make.person(m)
    make.claim(m, person, amount=4_500, due=date(2026, 2, 15))
    _mandate(db, m, person, 1, iban="de02120300000000202051")  # not an IBAN the XSD accepts
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    savepoint = db.begin_nested()
    with pytest.raises(ValidationError, match=r"pain\.008\.001\.08"):
        debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="clerk")
    savepoint.rollback()  # what the caller does with the failed transaction
    assert (
        db.scalars(select(DirectDebitItem).where(DirectDebitItem.municipality_id == m.id)).all()
        == []
    )
