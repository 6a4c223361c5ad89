"""One claim, one card charge: an attempt reserves what it covers, a second attempt for the
same items is refused (with the link for its own payer), the reservation ends when the attempt
ends, and a surplus the provider still reports goes back to the card, never to other items."""

import re
import subprocess
from datetime import date, timedelta
from typing import Any

import pytest
import stripe
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.kernel import clock
from core.ledger.balances import credit_balance, open_amounts, person_balance, trial_balance
from core.ledger.models import Payment, PaymentChannel
from core.ledger.receipts import record_payment
from core.notices.records import NoticeSettings, link_token
from core.payments.card import checkout, surplus
from core.payments.card.attempts import AttemptStatus, PaymentAttempt
from core.payments.card.refunds import Refund, RefundStatus
from core.payments.reservations import ClaimReservation
from tests.conftest import STRIPE_TEST_CONFIG, csrf_token, login, post_form
from tests.localstripe import card_token
from tests.web.test_payments import (
    app_client_without_login,
    pay_by_card,
    signed,
    start_from_account,
    succeeded_event,
)

pytestmark = pytest.mark.usefixtures("localstripe")

DUE = 4842  # 48,42 €


@pytest.fixture
def payer(client: FlaskClient, make: Any) -> Any:
    m = make.municipality()
    user = make.user()
    person = make.person(m, user=user, family_name="Doppelmann")
    login(client, m.slug, user.email)
    return m, person


def attempts_of(db: Session, person: Any) -> list[PaymentAttempt]:
    return list(
        db.scalars(
            select(PaymentAttempt)
            .where(PaymentAttempt.person_id == person.id)
            .order_by(PaymentAttempt.id)
        )
    )


def active_reservations(db: Session, claim_id: int) -> int:
    return int(
        db.scalar(
            select(func.count(ClaimReservation.id)).where(
                ClaimReservation.claim_id == claim_id, ClaimReservation.released_at.is_(None)
            )
        )
        or 0
    )


def stripe_client(localstripe: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        STRIPE_TEST_CONFIG["STRIPE_SECRET_KEY"], base_addresses={"api": localstripe}
    )


def intent_status(localstripe: str, ref: str | None) -> str:
    return str(stripe_client(localstripe).v1.payment_intents.retrieve(ref or "").status)


def refunded_at_provider(localstripe: str, ref: str | None) -> int:
    api = stripe_client(localstripe).v1
    charge = api.payment_intents.retrieve(ref or "").latest_charge
    charge_id = charge if isinstance(charge, str) else charge.id
    return int(api.charges.retrieve(charge_id).amount_refunded)


def notice_link(db: Session, make: Any, m: Any, owner: Any) -> str:
    """A dog-tax notice of ``owner`` and the public payment link on it (no log-in)."""
    from core.levies.dog_tax import assessment as dog_tax_run
    from core.levies.dog_tax.models import Dog

    make.dog_tax_statute(m)
    db.add(
        Dog(
            municipality_id=m.id,
            person_id=owner.id,
            name="Bello",
            breed="Mischling",
            acquired_on=date(2024, 1, 1),
            tag_number=1,
            status="active",
        )
    )
    db.flush()
    today = clock.today()
    notice = dog_tax_run.assess_person(
        db, person=owner, municipality=m, year=today.year, as_of=date(today.year, 1, 10), actor="t"
    )
    db.commit()
    token = link_token(NoticeSettings(secret="test-secret", public_base_url="x"), notice)
    return f"/{m.slug}/zahlung/{token}"


def pay_from_link(browser: FlaskClient, link: str) -> Any:
    return browser.post(f"{link}/bezahlen", data={"csrf_token": csrf_token(browser, link)})


def test_second_attempt_on_a_claim_is_refused_with_a_link_to_the_running_one(
    client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    claim = make.claim(m, person, amount=DUE)
    first = start_from_account(client, m, [claim.id])
    # the same account in a second tab
    second = post_form(client, f"/{m.slug}/bezahlen", {"claim": [str(claim.id)]})
    assert second.status_code == 409
    page = second.get_data(as_text=True)
    assert "Für diesen Betrag läuft bereits eine Kartenzahlung" in page
    assert "nichts doppelt abgebucht" in page
    resume = re.search(r'href="([^"]+)"[^>]*><span class="kern-label">Laufende Zahlung', page)
    assert resume and resume.group(1) == first
    assert len(attempts_of(db, person)) == 1 and active_reservations(db, claim.id) == 1
    # the running attempt can be resumed and paid; then everything is paid exactly once
    assert pay_by_card(client, first, localstripe).get_json() == {"next": "result"}
    assert "eingegangen" in client.get(f"{first}/ergebnis").get_data(as_text=True)
    assert open_amounts(db, [claim]) == {claim.id: 0}
    assert active_reservations(db, claim.id) == 0


def test_fifty_tabs_on_the_notice_link_charge_the_claim_once(
    app: Flask, db: Session, make: Any, localstripe: str
) -> None:
    m = make.municipality()
    owner = make.person(m, family_name="Zettelmann")
    link = notice_link(db, make, m, owner)
    payer = app.test_client()
    assert pay_from_link(payer, link).status_code == 302
    own_tab = pay_from_link(payer, link)  # the same browser again: refused, with its link
    assert own_tab.status_code == 409 and "Laufende Zahlung fortsetzen" in own_tab.get_data(
        as_text=True
    )
    for _ in range(3):  # other people holding the same letter
        stranger = pay_from_link(app.test_client(), link)
        text = stranger.get_data(as_text=True)
        assert stranger.status_code == 409 and "läuft bereits eine Kartenzahlung" in text
        assert "Laufende Zahlung fortsetzen" not in text and "Zettelmann" not in text
    assert len(attempts_of(db, owner)) == 1


def test_cancelling_ends_the_reservation_and_the_provider_payment(
    client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    claim = make.claim(m, person, amount=DUE)
    first = start_from_account(client, m, [claim.id])
    attempt = attempts_of(db, person)[0]
    page = client.get(first).get_data(as_text=True)
    assert "reserviert" in page
    cancel = client.post(f"{first}/abbrechen", data={"csrf_token": csrf_token(client, first)})
    assert cancel.status_code == 302
    db.refresh(attempt)
    assert attempt.status is AttemptStatus.ABANDONED
    assert intent_status(localstripe, attempt.provider_ref) == "canceled"
    assert active_reservations(db, claim.id) == 0
    assert "beendet" in client.get(f"{first}/ergebnis").get_data(as_text=True)
    assert client.get(first).status_code == 302  # the card page is gone: to the result
    assert open_amounts(db, [claim]) == {claim.id: DUE}  # nothing charged
    start_from_account(client, m, [claim.id])  # now a new attempt may start
    assert app_client_without_login(client).post(f"{first}/abbrechen").status_code == 400


def test_an_expired_hold_gives_way_and_is_never_charged(
    app: Flask, client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    claim = make.claim(m, person, amount=DUE)
    first = start_from_account(client, m, [claim.id])
    csrf = re.search(r'data-csrf-token="([^"]+)"', client.get(first).get_data(as_text=True))
    old = attempts_of(db, person)[0]
    expire = (
        update(ClaimReservation)
        .where(ClaimReservation.attempt_id == old.id)
        .values(expires_at=clock.now() - timedelta(minutes=1))
    )
    db.execute(expire)
    db.commit()
    # a card confirmed on the page still open in the browser charges nothing and ends it
    answer = client.post(
        f"{first}/karte",
        data={"card_token": card_token(localstripe)},
        headers={"X-CSRFToken": csrf.group(1)},
    )
    assert answer.status_code == 409 and answer.get_json() == {"next": "result"}
    db.refresh(old)
    assert old.status is AttemptStatus.ABANDONED
    assert intent_status(localstripe, old.provider_ref) == "canceled"
    assert db.scalar(select(func.count(Payment.id)).where(Payment.person_id == person.id)) == 0
    assert "beendet" in client.get(f"{first}/ergebnis").get_data(as_text=True)
    # opening an expired card page ends the attempt too
    second = start_from_account(client, m, [claim.id])
    db.execute(update(ClaimReservation).values(expires_at=clock.now() - timedelta(seconds=1)))
    db.commit()
    assert client.get(second).status_code == 302
    assert attempts_of(db, person)[1].status is AttemptStatus.ABANDONED
    assert active_reservations(db, claim.id) == 0


def test_a_new_attempt_cancels_an_expired_one_at_the_provider(
    app: Flask, db: Session, make: Any, localstripe: str
) -> None:
    from portal.payments.provider import payment_provider

    m = make.municipality()
    person = make.person(m)
    claim = make.claim(m, person, amount=DUE)
    with app.app_context():
        kwargs: dict[str, Any] = {
            "municipality": m,
            "person_id": person.id,
            "claim_ids": [claim.id],
            "origin": "account",
            "actor": "test",
        }
        old = checkout.start(db, payment_provider(), hold=timedelta(0), **kwargs)
        new = checkout.start(db, payment_provider(), **kwargs)
    assert old.status is AttemptStatus.ABANDONED
    assert intent_status(localstripe, old.provider_ref) == "canceled"
    assert new.status is AttemptStatus.OPEN and active_reservations(db, claim.id) == 1


def test_amount_paid_meanwhile_is_rechecked_before_the_card_is_charged(
    client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    claim = make.claim(m, person, amount=DUE)
    first = start_from_account(client, m, [claim.id])
    record_payment(
        db,
        person=person,
        amount_cents=2000,
        received_on=clock.today(),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=clock.today(),
        actor="test",
        claim_ids=[claim.id],
    )
    db.commit()
    assert pay_by_card(client, first, localstripe).status_code == 409
    attempt = attempts_of(db, person)[0]
    assert intent_status(localstripe, attempt.provider_ref) == "canceled"
    assert open_amounts(db, [claim]) == {claim.id: DUE - 2000}
    second = start_from_account(client, m, [claim.id])
    assert "28,42 €" in client.get(second).get_data(as_text=True)


def test_two_succeeded_card_payments_for_one_claim_book_once_and_refund_the_second(
    app: Flask, client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    claim = make.claim(m, person, amount=DUE)
    other = make.claim(m, person, amount=1000, due=date(2026, 1, 15), description="Müll 2026")
    first = start_from_account(client, m, [claim.id])
    assert pay_by_card(client, first, localstripe).status_code == 200  # charged, not yet booked
    # The race reservations cannot see: an attempt from before they existed (no hold).
    db.execute(update(ClaimReservation).values(released_at=clock.now()))
    db.commit()
    second = start_from_account(client, m, [claim.id])
    assert pay_by_card(client, second, localstripe).status_code == 200
    a, b = attempts_of(db, person)
    hook = app.test_client()
    for event_id, attempt in [("evt_a", a), ("evt_b", b), ("evt_b", b), ("evt_b2", b)]:
        body, signature = signed(succeeded_event(event_id, attempt))
        hook.post("/zahlungsdienst/stripe", data=body, headers={"Stripe-Signature": signature})
    result = client.get(f"{second}/ergebnis").get_data(as_text=True)  # books nothing more
    assert "48,42 € gehen auf Ihre Karte zurück" in result
    db.expire_all()
    assert open_amounts(db, [claim, other]) == {claim.id: 0, other.id: 1000}
    payments = list(db.scalars(select(Payment).where(Payment.person_id == person.id)))
    assert sorted(p.amount_cents for p in payments) == [DUE, DUE]  # both charges are on record
    refund = db.scalars(select(Refund).where(Refund.municipality_id == m.id)).one()
    second_payment = db.get(Payment, b.payment_id)
    assert refund.payment_id == second_payment.id and refund.amount_cents == DUE
    assert refund.status is RefundStatus.EXECUTED and refund.provider_ref.startswith("re_")
    assert "Überzahlung" in refund.reason and refund.requested_by == surplus.AUTOMATIC
    assert refunded_at_provider(localstripe, b.provider_ref) == DUE
    assert refunded_at_provider(localstripe, a.provider_ref) == 0
    assert credit_balance(db, person) == 0 and person_balance(db, person) == 1000
    assert sum(trial_balance(db, m.id).values()) == 0
    receipt = client.get(f"{second}/quittung.pdf")
    text = " ".join(
        subprocess.run(["pdftotext", "-", "-"], input=receipt.data, capture_output=True, check=True)
        .stdout.decode()
        .split()
    )
    assert "Überzahlung, zurück auf die Karte 48,42 €" in text and "Guthaben" not in text
    actions = [t.action for t in _trail(db, m.id)]
    assert "refund.surplus_returned" in actions
    assert [r.id for r in surplus.surplus_refunds(db, m.id)] == [refund.id]


def _trail(db: Session, municipality_id: int) -> list[Any]:
    from core.kernel.audit import AuditEvent

    return list(db.scalars(select(AuditEvent).where(AuditEvent.municipality_id == municipality_id)))


def test_a_transfer_booked_while_the_card_is_charged_is_refunded_in_part(
    client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    claim = make.claim(m, person, amount=DUE)
    other = make.claim(m, person, amount=700, due=date(2026, 1, 1))
    url = start_from_account(client, m, [claim.id])
    assert pay_by_card(client, url, localstripe).status_code == 200
    # the bank statement is imported between the charge and its booking
    record_payment(
        db,
        person=person,
        amount_cents=1500,
        received_on=clock.today(),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=clock.today(),
        actor="test",
        claim_ids=[claim.id],
    )
    db.commit()
    assert "eingegangen" in client.get(f"{url}/ergebnis").get_data(as_text=True)
    attempt = attempts_of(db, person)[0]
    assert open_amounts(db, [claim, other]) == {claim.id: 0, other.id: 700}
    assert refunded_at_provider(localstripe, attempt.provider_ref) == 1500
    assert credit_balance(db, person) == 0
    assert sum(trial_balance(db, m.id).values()) == 0


def test_clerks_see_the_automatic_refund_with_its_reason(
    app: Flask, client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    from core.identity.models import Role
    from tests.conftest import staff_login

    m, person = payer
    claim = make.claim(m, person, amount=DUE)
    url = start_from_account(client, m, [claim.id])
    pay_by_card(client, url, localstripe)
    record_payment(
        db,
        person=person,
        amount_cents=DUE,
        received_on=clock.today(),
        channel=PaymentChannel.CASH,
        as_of=clock.today(),
        actor="test",
        claim_ids=[claim.id],
    )
    db.commit()
    client.get(f"{url}/ergebnis")
    desk = app.test_client()
    staff_login(desk, make.user(role=Role.CLERK, municipality=m).email)
    page = desk.get(f"/backoffice/personen/{person.id}").get_data(as_text=True)
    assert "Automatisch erstattet" in page and "Überzahlung" in page
    assert "48,42 €" in desk.get("/backoffice/erstattungen").get_data(as_text=True)


def test_the_hold_lasts_as_configured(
    app: Flask, client: FlaskClient, db: Session, make: Any, payer: Any
) -> None:
    app.config["PAYMENT_RESERVATION_MINUTES"] = 12
    m, person = payer
    claim = make.claim(m, person, amount=DUE)
    start_from_account(client, m, [claim.id])
    held = db.scalars(select(ClaimReservation).where(ClaimReservation.claim_id == claim.id)).one()
    assert held.expires_at - held.created_at == timedelta(minutes=12)
