"""Many payers start a card payment for the same claim at the same moment (threads, each with
its own connection and transaction): at most one attempt reserves the claim, on PostgreSQL (row
lock + partial unique index) and on SQLite (one writer + the same index)."""

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.kernel.db import make_engine
from core.ledger.balances import open_amounts, trial_balance
from core.payments.card import checkout
from core.payments.card.attempts import PaymentAttempt
from core.payments.card.provider import Intent
from core.payments.card.stripe import StripeProvider
from core.payments.reservations import AttemptInProgress, ClaimReservation
from tests import factories
from tests.conftest import STRIPE_TEST_CONFIG, migrated_database

PAYERS = 8


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_simultaneous_attempts_on_one_claim_reserve_it_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, localstripe: str
) -> None:
    url = migrated_database(backend, "openkasse_card_race", tmp_path, request)
    engine = make_engine(url)
    provider = StripeProvider(
        secret_key=STRIPE_TEST_CONFIG["STRIPE_SECRET_KEY"],
        publishable_key=STRIPE_TEST_CONFIG["STRIPE_PUBLISHABLE_KEY"],
        webhook_secret=STRIPE_TEST_CONFIG["STRIPE_WEBHOOK_SECRET"],
        api_base=localstripe,
        max_network_retries=0,
    )
    try:
        with Session(engine, expire_on_commit=False) as setup:
            m = factories.municipality(setup)
            person = factories.person(setup, m)
            claim = factories.claim(setup, m, person, amount=4842)
            other = factories.claim(setup, m, person, amount=1000)
            setup.commit()
        start_line = threading.Barrier(PAYERS)
        outcomes: list[str] = []

        def pay() -> None:
            with Session(engine) as session:
                start_line.wait()
                try:
                    checkout.start(
                        session,
                        provider,
                        municipality=session.get_one(type(m), m.id),
                        person_id=None,
                        kassenzeichen=claim.kassenzeichen,
                        claim_ids=[claim.id],
                        origin="notice_link",
                        actor="anonymous:notice-link",
                    )
                    session.commit()
                    outcomes.append("reserved")
                except AttemptInProgress:
                    session.rollback()
                    outcomes.append("refused")
                except OperationalError:  # SQLite: a second writer gives up; nothing is kept
                    session.rollback()
                    outcomes.append("busy")

        threads = [threading.Thread(target=pay) for _ in range(PAYERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert len(outcomes) == PAYERS
        assert outcomes.count("reserved") == 1, outcomes
        if backend == "postgresql":  # the row lock makes everyone else wait, then refuses
            assert outcomes.count("refused") == PAYERS - 1, outcomes
        with Session(engine) as check:
            attempts = list(check.scalars(select(PaymentAttempt)))
            assert len(attempts) == 1 and attempts[0].amount_cents == 4842
            assert check.scalar(select(func.count(ClaimReservation.id))) == 1
            claims = [check.get_one(type(claim), claim.id), check.get_one(type(other), other.id)]
            assert open_amounts(check, claims) == {claim.id: 4842, other.id: 1000}
            assert sum(trial_balance(check, m.id).values()) == 0
    finally:
        engine.dispose()


class RecordingProvider:
    """Only what ``checkout.start`` asks of a provider; records each payment it creates."""

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


def test_a_second_attempt_for_a_reserved_claim_is_refused_before_the_provider_is_asked(
    db: Session, make: Any
) -> None:
    m = make.municipality()
    person = make.person(m)
    claim = make.claim(m, person, amount=4842)
    free = make.claim(m, person, amount=1000)
    provider = RecordingProvider()
    kwargs: dict[str, Any] = {"municipality": m, "person_id": person.id, "origin": "account"}
    first = checkout.start(db, provider, claim_ids=[claim.id], actor="a", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(AttemptInProgress, match="läuft bereits eine Kartenzahlung") as refused:
        checkout.start(db, provider, claim_ids=[free.id, claim.id], actor="b", **kwargs)  # type: ignore[arg-type]
    assert refused.value.attempt_id == first.id
    assert provider.created == [4842]
    checkout.start(db, provider, claim_ids=[free.id], actor="c", **kwargs)  # type: ignore[arg-type]
    assert provider.created == [4842, 1000]
