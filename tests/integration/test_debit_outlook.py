"""core.payments.sepa.debit_outlook: the one answer to "will a mandate collect this item, on which
day" — it says yes exactly when a direct-debit run on that day would take the item."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from core.ledger.accounts import tax_account
from core.ledger.kinds import ClaimKind
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.debit_outlook import DebitState, debit_outlook
from core.payments.sepa.models import ItemStatus
from core.payments.sepa.rules import rules_on

AS_OF = date(2026, 3, 1)
COLLECTION = date(2026, 3, 16)  # a bank day, 15 days on (the statute asks for 14)


@pytest.fixture
def setup(db: Any, make: Any) -> Any:
    m = make.municipality()
    make.sepa_statute(m)
    person = make.person(m)
    claim = make.claim(m, person, amount=4500, due=date(2026, 3, 10))
    return m, person, claim


def grant(db: Any, m: Any, person: Any, *, signed_on: date = AS_OF, **kw: Any) -> Any:
    return mandates.grant_mandate(
        db,
        person=person,
        municipality=m,
        account_holder=person.display_name,
        iban=kw.pop("iban", "DE89370400440532013000"),
        tax_account_id=kw.pop("tax_account_id", None),
        signed_on=signed_on,
        as_of=max(signed_on, AS_OF),
        actor="test",
    )


def announce(db: Any, m: Any) -> None:
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="test")


def would_be_collected(db: Any, m: Any) -> set[int]:
    """What a run on the announced day really takes (rolled back by the test's transaction)."""
    nested = db.begin_nested()
    result = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    items = {i.claim_id for i in debit_runs.items_of(db, result.run)} if result.run else set()
    nested.rollback()
    return items


def test_an_announced_item_of_an_active_mandate_is_collected_on_the_day(
    db: Any, setup: Any
) -> None:
    m, person, claim = setup
    mandate = grant(db, m, person)
    announce(db, m)
    [outlook] = debit_outlook(db, person, as_of=AS_OF).values()
    assert (outlook.claim_id, outlook.state, outlook.collection_date) == (
        claim.id,
        DebitState.ANNOUNCED,
        COLLECTION,
    )
    assert outlook.will_be_collected and outlook.amount_cents == 4500
    assert outlook.mandate_id == mandate.id
    assert would_be_collected(db, m) == {claim.id}


@pytest.mark.parametrize("end", ["suspend", "revoke", "expire", "replace"])
def test_an_ended_mandate_collects_nothing_and_the_item_is_payable_again(
    db: Any, setup: Any, end: str
) -> None:
    m, person, _claim = setup
    mandate = grant(db, m, person)
    announce(db, m)
    if end == "suspend":  # e.g. after a return with reason MD01
        mandates.suspend_mandate(db, mandate, as_of=AS_OF, reason="Rücklastschrift", actor="t")
    elif end == "revoke":
        mandates.revoke_mandate(db, mandate, as_of=AS_OF, actor="t")
    elif end == "expire":
        mandates.expire_mandate(db, mandate, rules_on(db, m.id, AS_OF), actor="t")
    else:  # a new account: the old announcement named the old mandate
        grant(db, m, person, iban="DE02120300000000202051")
    assert debit_outlook(db, person, as_of=AS_OF) == {}
    assert would_be_collected(db, m) == set()


def test_a_mandate_that_lapses_before_the_day_collects_nothing(db: Any, setup: Any) -> None:
    m, person, _claim = setup
    grant(db, m, person, signed_on=date(2023, 3, 10))  # 36 months unused on 10.03.2026
    announce(db, m)
    assert debit_outlook(db, person, as_of=AS_OF) == {}
    assert would_be_collected(db, m) == set()


def test_a_reactivated_mandate_collects_again(db: Any, setup: Any) -> None:
    m, person, claim = setup
    mandate = grant(db, m, person)
    announce(db, m)
    mandates.suspend_mandate(db, mandate, as_of=AS_OF, reason="Rücklastschrift", actor="t")
    mandates.reactivate_mandate(db, mandate, actor="t")
    assert debit_outlook(db, person, as_of=AS_OF)[claim.id].will_be_collected


def test_a_changed_amount_or_a_passed_day_is_no_announcement(db: Any, setup: Any) -> None:
    m, person, claim = setup
    grant(db, m, person)
    announce(db, m)
    assert debit_outlook(db, person, as_of=COLLECTION.replace(day=17)) == {}  # day passed
    record_payment(
        db,
        person=person,
        amount_cents=500,
        received_on=AS_OF,
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=AS_OF,
        actor="t",
        claim_ids=[claim.id],
    )
    assert debit_outlook(db, person, as_of=AS_OF) == {}  # 40 € open, 45 € announced


def test_scope_only_the_levy_of_a_levy_mandate(db: Any, make: Any, setup: Any) -> None:
    m, person, dog_claim = setup
    waste_account = tax_account(db, person, m, ClaimKind.WASTE_FEE)
    waste = make.claim(
        m,
        person,
        amount=3000,
        due=date(2026, 3, 10),
        kind=ClaimKind.WASTE_FEE,
        description="Abfall",
    )
    grant(db, m, person, tax_account_id=waste_account.id)
    announce(db, m)
    assert set(debit_outlook(db, person, as_of=AS_OF)) == {waste.id} != {dog_claim.id}
    assert would_be_collected(db, m) == {waste.id}


def test_in_collection_then_returned(db: Any, setup: Any) -> None:
    m, person, claim = setup
    grant(db, m, person)
    announce(db, m)
    result = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    assert result.run is not None
    [outlook] = debit_outlook(db, person, as_of=AS_OF).values()
    assert outlook.claim_id == claim.id and outlook.collection_date == COLLECTION
    assert outlook.state is DebitState.IN_COLLECTION and not outlook.will_be_collected
    [item] = debit_runs.items_of(db, result.run)
    item.status = ItemStatus.RETURNED  # as the bank import marks a return
    db.flush()
    assert debit_outlook(db, person, as_of=AS_OF) == {}
