"""For any claim, any amount paid otherwise while the card was being charged, and any number of
repeated notifications: the claim is paid once, exactly the surplus goes back to the card (once),
the person's other items are untouched and the ledger balances. SQLite and PostgreSQL."""

from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.kernel import clock
from core.ledger.balances import credit_balance, open_amounts, trial_balance
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.card import checkout, settlement
from core.payments.card.provider import Intent
from tests import factories


@dataclass
class FakeCardProvider:
    """A provider that charges whatever it is asked to, and records refunds by key."""

    name: str = "stripe"
    refunds: dict[str, int] = field(default_factory=dict)

    def create_intent(self, *, amount_cents: int, idempotency_key: str, **_: Any) -> Intent:
        return Intent(f"pi_{idempotency_key}", "requires_payment_method", amount_cents, "EUR")

    def refund(self, *, ref: str, amount_cents: int, idempotency_key: str) -> str:
        self.refunds.setdefault(idempotency_key, amount_cents)  # a provider's idempotency
        return f"re_{len(self.refunds)}"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    due=st.integers(1, 500_000),
    other=st.integers(1, 50_000),
    paid_meanwhile_share=st.floats(0, 1),
    notifications=st.integers(1, 3),
)
def test_card_surplus_is_refunded_exactly_once(
    engine: Engine, due: int, other: int, paid_meanwhile_share: float, notifications: int
) -> None:
    paid_meanwhile = int(due * paid_meanwhile_share)
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            _run(session, due, other, paid_meanwhile, notifications)
        finally:
            session.close()
            outer.rollback()


def _run(session: Session, due: int, other: int, paid_meanwhile: int, notifications: int) -> None:
    m = factories.municipality(session)
    person = factories.person(session, m)
    claim = factories.claim(session, m, person, amount=due)
    untouched = factories.claim(session, m, person, amount=other)
    provider = FakeCardProvider()
    attempt = checkout.start(
        session,
        provider,  # type: ignore[arg-type]
        municipality=m,
        person_id=person.id,
        claim_ids=[claim.id],
        origin="account",
        actor="test",
    )
    today = clock.today()
    if paid_meanwhile:
        record_payment(
            session,
            person=person,
            amount_cents=paid_meanwhile,
            received_on=today,
            channel=PaymentChannel.BANK_TRANSFER,
            as_of=today,
            actor="test",
            claim_ids=[claim.id],
        )
    succeeded = Intent(attempt.provider_ref or "", "succeeded", due, "EUR")
    for _ in range(notifications):
        settlement.settle(
            session,
            attempt,
            succeeded,
            actor="provider:stripe",
            as_of=today,
            provider=provider,  # type: ignore[arg-type]
        )
    assert open_amounts(session, [claim, untouched]) == {claim.id: 0, untouched.id: other}
    assert list(provider.refunds.values()) == ([paid_meanwhile] if paid_meanwhile else [])
    assert credit_balance(session, person) == 0
    assert sum(trial_balance(session, m.id).values()) == 0
