"""The same provider notification delivered twice at the same moment (Stripe retries, or sends
an event to two endpoints): the second delivery is answered "duplicate" once the first one's
transaction ends — never a second booking, never a unique-constraint error (a 500)."""

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.kernel.db import make_engine
from core.ledger.balances import open_amounts, trial_balance
from core.ledger.models import Payment
from core.payments.card import checkout, settlement
from core.payments.card.attempts import PaymentAttempt, ProviderEvent
from core.payments.card.provider import Intent, ProviderEventData
from tests import factories
from tests.conftest import migrated_database


class OneEventProvider:
    """Creates payments and "verifies" one succeeded-event about the last of them."""

    name = "stripe"

    def __init__(self) -> None:
        self.intent: Intent | None = None

    def create_intent(self, *, amount_cents: int, **_: Any) -> Intent:
        self.intent = Intent(
            ref="pi_duplicate_delivery",
            status="succeeded",
            amount_cents=amount_cents,
            currency="EUR",
        )
        return self.intent

    def parse_event(self, payload: bytes, signature_header: str) -> ProviderEventData:
        return ProviderEventData(
            event_id="evt_delivered_twice", type="payment_intent.succeeded", intent=self.intent
        )


def _wait_until_blocked(
    engine: Any, backend: str, second: threading.Thread, outcome: list[object]
) -> None:
    """Until the second delivery waits for the first one's transaction (PostgreSQL: a backend
    waiting for a lock); SQLite's waiting writer cannot be seen, so give it a moment. Up to a
    minute on a loaded machine; a second delivery that ends without waiting fails at once."""
    if backend == "sqlite":
        time.sleep(0.5)
        return
    deadline = time.monotonic() + 60
    with engine.connect() as probe:
        while time.monotonic() < deadline:
            waiting = probe.scalar(
                text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            )
            if waiting:
                return
            if not second.is_alive():
                pytest.fail(f"the second delivery ended without waiting: {outcome!r}")
            time.sleep(0.05)
    pytest.fail("the second delivery never waited for the first one")


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_an_event_delivered_twice_at_once_is_booked_once_and_the_second_is_a_duplicate(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = migrated_database(backend, "openkasse_webhook_twice", tmp_path, request)
    engine = make_engine(url)
    provider = OneEventProvider()
    try:
        with Session(engine, expire_on_commit=False) as setup:
            m = factories.municipality(setup)
            person = factories.person(setup, m)
            claim = factories.claim(setup, m, person, amount=4842)
            checkout.start(
                setup,
                provider,  # type: ignore[arg-type]
                municipality=m,
                person_id=person.id,
                claim_ids=[claim.id],
                origin="account",
                actor="citizen",
            )
            setup.commit()
        as_of = claim.due_date
        first = Session(engine)
        # the first delivery is being processed: booked, not yet committed
        assert settlement.handle_event(first, provider, b"{}", "sig", as_of=as_of) == "booked"  # type: ignore[arg-type]
        second_outcome: list[object] = []

        def deliver_again() -> None:
            with Session(engine) as session:
                try:
                    second_outcome.append(
                        settlement.handle_event(session, provider, b"{}", "sig", as_of=as_of)  # type: ignore[arg-type]
                    )
                    session.commit()
                except Exception as exc:  # the webhook would answer with a 500
                    session.rollback()
                    second_outcome.append(exc)

        second = threading.Thread(target=deliver_again)
        second.start()
        try:
            _wait_until_blocked(engine, backend, second, second_outcome)
            first.commit()
        finally:  # never leave the second delivery running into the next test
            first.close()
            second.join(timeout=60)
        assert second_outcome == ["duplicate"]
        with Session(engine) as check:
            assert check.scalar(select(func.count(ProviderEvent.id))) == 1
            assert check.scalar(select(func.count(Payment.id))) == 1
            attempt = check.scalars(select(PaymentAttempt)).one()
            assert attempt.payment_id is not None
            assert open_amounts(check, [check.get_one(type(claim), claim.id)]) == {claim.id: 0}
            assert sum(trial_balance(check, m.id).values()) == 0
    finally:
        engine.dispose()


def test_a_delivery_after_a_rolled_back_first_one_acts(db: Session, make: Any) -> None:
    """The row is only kept with the first delivery's work: if that is undone (provider not
    reachable), the provider's retry is processed, not taken for a duplicate."""
    m = make.municipality()
    person = make.person(m)
    claim = make.claim(m, person, amount=1200)
    provider = OneEventProvider()
    checkout.start(
        db,
        provider,  # type: ignore[arg-type]
        municipality=m,
        person_id=person.id,
        claim_ids=[claim.id],
        origin="account",
        actor="citizen",
    )
    outer = db.begin_nested()
    assert settlement.handle_event(db, provider, b"{}", "sig", as_of=claim.due_date) == "booked"  # type: ignore[arg-type]
    outer.rollback()
    assert settlement.handle_event(db, provider, b"{}", "sig", as_of=claim.due_date) == "booked"  # type: ignore[arg-type]
    assert settlement.handle_event(db, provider, b"{}", "sig", as_of=claim.due_date) == "duplicate"  # type: ignore[arg-type]
