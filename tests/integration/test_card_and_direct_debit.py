"""A claim is collected by one way only: no card payment for an item a direct debit will
collect or is collecting, and no direct debit for an item a card payment holds."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from core.kernel import clock
from core.ledger.balances import open_amounts, trial_balance
from core.payments import reservations
from core.payments.card import checkout
from core.payments.card.provider import Intent
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.debit_outlook import CollectedByDebit, DebitState, debit_outlook

AS_OF = date(2026, 3, 1)
COLLECTION = date(2026, 3, 16)  # a bank day, 15 days on (the statute asks for 14)


class RecordingProvider:
    """What ``checkout.start`` asks of a provider; records each payment it creates."""

    name = "stripe"

    def __init__(self) -> None:
        self.created: list[int] = []

    def create_intent(self, *, amount_cents: int, **_: Any) -> Intent:
        self.created.append(amount_cents)
        return Intent(
            ref=f"pi_test_{len(self.created)}",
            status="requires_payment_method",
            amount_cents=amount_cents,
            currency="EUR",
        )


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "today", lambda: AS_OF)
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def setup(db: Any, make: Any, today: None) -> Any:
    m = make.municipality()
    make.sepa_statute(m)
    person = make.person(m)
    claim = make.claim(m, person, amount=4500, due=date(2026, 3, 10))
    free = make.claim(m, person, amount=1000, due=date(2026, 3, 10))
    return m, person, claim, free


def grant(db: Any, m: Any, person: Any) -> Any:
    return mandates.grant_mandate(
        db,
        person=person,
        municipality=m,
        account_holder=person.display_name,
        iban="DE89370400440532013000",
        tax_account_id=None,
        signed_on=AS_OF,
        as_of=AS_OF,
        actor="test",
    )


def pay_by_card(
    db: Any, m: Any, provider: RecordingProvider, claim_ids: list[int], **kw: Any
) -> Any:
    return checkout.start(
        db,
        provider,  # type: ignore[arg-type]
        municipality=m,
        person_id=kw.get("person_id"),
        kassenzeichen=kw.get("kassenzeichen"),
        claim_ids=claim_ids,
        origin="notice_link" if "kassenzeichen" in kw else "account",
        actor="citizen",
    )


@pytest.mark.parametrize("via", ["account", "notice_link"])
def test_no_card_payment_for_an_item_a_direct_debit_will_collect(
    db: Any, setup: Any, via: str
) -> None:
    m, person, claim, _free = setup
    grant(db, m, person)
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    assert debit_outlook(db, person, as_of=AS_OF)[claim.id].state is DebitState.ANNOUNCED
    provider = RecordingProvider()
    who = {"person_id": person.id} if via == "account" else {"kassenzeichen": claim.kassenzeichen}
    with pytest.raises(CollectedByDebit, match=r"am 16\.03\.2026 per Lastschrift eingezogen"):
        pay_by_card(db, m, provider, [claim.id], **who)
    assert provider.created == []
    assert reservations.active(db, [claim.id]) == []


def test_no_card_payment_for_an_item_in_collection(db: Any, setup: Any) -> None:
    m, person, claim, _free = setup
    grant(db, m, person)
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    run = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t").run
    assert run is not None
    provider = RecordingProvider()
    with pytest.raises(CollectedByDebit, match="wird gerade per Lastschrift"):
        pay_by_card(db, m, provider, [claim.id], person_id=person.id)
    assert provider.created == []


def test_items_no_mandate_collects_are_still_paid_by_card(db: Any, setup: Any) -> None:
    m, person, claim, free = setup
    provider = RecordingProvider()
    attempt = pay_by_card(db, m, provider, [claim.id, free.id], person_id=person.id)
    assert attempt.amount_cents == 5500 and provider.created == [5500]


def test_a_run_leaves_out_an_item_a_card_payment_holds_and_takes_it_later(
    db: Any, setup: Any
) -> None:
    """The card attempt started before the item was announced; the run must not debit it as
    well. Once the attempt is gone without a payment, a later run collects it under the same
    pre-notification."""
    m, person, claim, free = setup
    provider = RecordingProvider()
    attempt = pay_by_card(db, m, provider, [claim.id], person_id=person.id)
    grant(db, m, person)
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    result = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    assert result.run is not None
    assert {i.claim_id for i in debit_runs.items_of(db, result.run)} == {free.id}
    assert result.skipped.get("card_payment_running") == 1
    assert open_amounts(db, [claim]) == {claim.id: 4500}

    reservations.release(db, attempt.id, now=clock.now())  # the attempt ended unpaid
    later = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    assert later.run is not None
    assert {i.claim_id for i in debit_runs.items_of(db, later.run)} == {claim.id}
    assert sum(trial_balance(db, m.id).values()) == 0


def test_a_hold_past_its_time_still_keeps_the_run_away(db: Any, setup: Any) -> None:
    """Until the attempt is closed (cancelled at the provider), its card may still be charged."""
    m, person, claim, _free = setup
    provider = RecordingProvider()
    pay_by_card(db, m, provider, [claim.id], person_id=person.id)
    for held in reservations.active(db, [claim.id]):
        held.expires_at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # expired, not yet released
    grant(db, m, person)
    prenotifications.prenotify(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    result = debit_runs.create_run(db, m, collection_date=COLLECTION, as_of=AS_OF, actor="t")
    assert result.skipped.get("card_payment_running") == 1
    assert open_amounts(db, [claim]) == {claim.id: 4500}
