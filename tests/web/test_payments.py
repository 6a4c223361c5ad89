"""Paying online against localstripe: from the account and from the notice's link, booked
exactly once (redirect, webhook, replay), amounts checked, no personal data on public pages."""

import hashlib
import hmac
import json
import re
import time
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.kernel import clock
from core.ledger.balances import open_amounts, person_balance
from core.ledger.models import Payment
from core.ledger.queries import claims_of
from core.notices.records import NoticeSettings, link_token
from core.payments.card import settlement
from core.payments.card.attempts import AttemptStatus, PaymentAttempt, ProviderEvent
from tests.conftest import STRIPE_TEST_CONFIG, csrf_token, login, post_form, readable
from tests.localstripe import authenticate, card_token

pytestmark = pytest.mark.usefixtures("localstripe")


@pytest.fixture
def payer(client: FlaskClient, make: Any) -> Any:
    m = make.municipality()
    user = make.user()
    person = make.person(m, user=user, family_name="Zahlemann")
    login(client, m.slug, user.email)
    return m, person


def start_from_account(client: FlaskClient, m: Any, claim_ids: list[int]) -> str:
    response = post_form(client, f"/{m.slug}/bezahlen", {"claim": [str(i) for i in claim_ids]})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def pay_by_card(
    client: FlaskClient, attempt_url: str, localstripe: str, number: str = "4242424242424242"
) -> Any:
    page = client.get(attempt_url).get_data(as_text=True)
    csrf = re.search(r'data-csrf-token="([^"]+)"', page).group(1)
    return client.post(
        f"{attempt_url}/karte",
        data={"card_token": card_token(localstripe, number)},
        headers={"X-CSRFToken": csrf},
    )


def signed(
    payload: dict[str, Any], secret: str = STRIPE_TEST_CONFIG["STRIPE_WEBHOOK_SECRET"]
) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    stamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={stamp},v1={digest}"


def succeeded_event(
    event_id: str, attempt: PaymentAttempt, amount: int | None = None, currency: str = "eur"
) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": attempt.provider_ref,
                "object": "payment_intent",
                "amount": amount or attempt.amount_cents,
                "currency": currency,
                "status": "succeeded",
                "client_secret": "x",
                "metadata": {"attempt": str(attempt.id)},
            }
        },
    }


def app_client_without_login(client: FlaskClient) -> FlaskClient:
    return client.application.test_client()


def test_pay_two_items_from_the_account(
    client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    a = make.claim(m, person, amount=2500, due=date(2026, 2, 15))
    b = make.claim(m, person, amount=3918, due=date(2026, 5, 15))
    attempt_url = start_from_account(client, m, [a.id, b.id])
    card_page = client.get(attempt_url).get_data(as_text=True)
    assert "64,18 €" in card_page and STRIPE_TEST_CONFIG["STRIPE_PUBLISHABLE_KEY"] in card_page
    assert localstripe in client.get(attempt_url).headers["Content-Security-Policy"]
    answer = pay_by_card(client, attempt_url, localstripe)
    assert answer.get_json() == {"next": "result"}
    result = client.get(f"{attempt_url}/ergebnis").get_data(as_text=True)
    assert "Ihre Zahlung ist eingegangen" in result
    assert open_amounts(db, [a, b]) == {a.id: 0, b.id: 0}
    receipt = client.get(f"{attempt_url}/quittung.pdf")
    assert receipt.data.startswith(b"%PDF")
    account = client.get(f"/{m.slug}/konto").get_data(as_text=True)
    assert "Online-Zahlungen" in account
    receipt_url = re.search(r'href="([^"]*/quittungen/\d+\.pdf)"', account).group(1)
    assert client.get(receipt_url).data.startswith(b"%PDF")
    assert app_client_without_login(client).get(receipt_url).status_code == 302
    # coming back again books nothing more
    client.get(f"{attempt_url}/ergebnis")
    assert db.scalar(select(func.count(Payment.id)).where(Payment.person_id == person.id)) == 1


def test_declined_card_and_3d_secure(
    client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    c = make.claim(m, person, amount=5000)
    attempt_url = start_from_account(client, m, [c.id])
    declined = pay_by_card(client, attempt_url, localstripe, "4000000000000341")
    assert declined.status_code == 402
    assert declined.get_json()["message"] == "Die Karte wurde abgelehnt."
    assert open_amounts(db, [c])[c.id] == 5000
    answer = pay_by_card(client, attempt_url, localstripe, "4000002500003155").get_json()
    assert answer["next"] == "authenticate"
    attempt = db.scalars(select(PaymentAttempt).where(PaymentAttempt.person_id == person.id)).one()
    assert "Noch nichts bezahlt" in client.get(f"{attempt_url}/ergebnis").get_data(as_text=True)
    assert authenticate(localstripe, attempt.provider_ref, answer["client_secret"]) == "succeeded"
    assert "eingegangen" in client.get(f"{attempt_url}/ergebnis").get_data(as_text=True)
    assert open_amounts(db, [c])[c.id] == 0


def test_webhook_books_once_and_replays_book_nothing(
    app: Any, client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    m, person = payer
    c = make.claim(m, person, amount=7200)
    attempt_url = start_from_account(client, m, [c.id])
    attempt = db.scalars(select(PaymentAttempt).where(PaymentAttempt.person_id == person.id)).one()
    pay_by_card(client, attempt_url, localstripe)  # succeeded at the provider, not yet booked
    hook = app.test_client()
    body, signature = signed(succeeded_event("evt_1", attempt))
    first = hook.post("/zahlungsdienst/stripe", data=body, headers={"Stripe-Signature": signature})
    assert first.get_json() == {"status": "booked"}
    again = hook.post("/zahlungsdienst/stripe", data=body, headers={"Stripe-Signature": signature})
    assert again.get_json() == {"status": "duplicate"}
    body2, signature2 = signed(succeeded_event("evt_2", attempt))  # same payment, new event
    assert hook.post(
        "/zahlungsdienst/stripe", data=body2, headers={"Stripe-Signature": signature2}
    ).get_json() == {"status": "booked"}
    client.get(f"{attempt_url}/ergebnis")  # the browser returning after the webhook
    assert db.scalar(select(func.count(Payment.id)).where(Payment.person_id == person.id)) == 1
    assert open_amounts(db, [c])[c.id] == 0


def test_webhooks_with_bad_signature_or_wrong_amount_book_nothing(
    app: Any, client: FlaskClient, db: Session, make: Any, payer: Any
) -> None:
    m, person = payer
    c = make.claim(m, person, amount=7200)
    start_from_account(client, m, [c.id])
    attempt = db.scalars(select(PaymentAttempt).where(PaymentAttempt.person_id == person.id)).one()
    hook = app.test_client()
    body, _ = signed(succeeded_event("evt_forged", attempt))
    _, wrong = signed(succeeded_event("evt_forged", attempt), secret="whsec_guess")
    assert (
        hook.post(
            "/zahlungsdienst/stripe", data=body, headers={"Stripe-Signature": wrong}
        ).status_code
        == 400
    )
    assert hook.post("/zahlungsdienst/stripe", data=body).status_code == 400
    body, signature = signed(succeeded_event("evt_cheap", attempt, amount=100))
    assert hook.post(
        "/zahlungsdienst/stripe", data=body, headers={"Stripe-Signature": signature}
    ).get_json() == {"status": "mismatch"}
    body, signature = signed(succeeded_event("evt_usd", attempt, currency="usd"))
    hook.post("/zahlungsdienst/stripe", data=body, headers={"Stripe-Signature": signature})
    assert open_amounts(db, [c])[c.id] == 7200
    assert {e.event_id for e in settlement.events_for_clerk(db, m.id)} == {"evt_cheap", "evt_usd"}
    assert (
        db.scalar(
            select(func.count(ProviderEvent.id)).where(ProviderEvent.event_id == "evt_forged")
        )
        == 0
    )


def test_pay_from_the_notice_link_without_login(
    app: Any, db: Session, make: Any, localstripe: str
) -> None:
    from core.levies.dog_tax import assessment as dog_tax_run
    from core.levies.dog_tax.models import Dog

    m = make.municipality()
    make.dog_tax_statute(m)
    owner = make.person(m, family_name="Zettelmann")
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
        db,
        person=owner,
        municipality=m,
        year=today.year,
        as_of=date(today.year, 1, 10),
        actor="test",
    )
    db.commit()
    token = link_token(NoticeSettings(secret="test-secret", public_base_url="x"), notice)
    anonymous = app.test_client()
    page = anonymous.get(f"/{m.slug}/zahlung/{token}").get_data(as_text=True)
    assert "jetzt online bezahlen" in page and "Zettelmann" not in page
    # follow the form on the page, as a browser does
    action = re.search(r'<form method="post" action="([^"]+)"', page).group(1)
    assert action == f"/{m.slug}/zahlung/{token}/bezahlen"
    assert 'alt="GiroCode' in page
    response = anonymous.post(
        action, data={"csrf_token": csrf_token(anonymous, f"/{m.slug}/zahlung/{token}")}
    )
    assert response.status_code == 302
    attempt_url = response.headers["Location"]
    card_page = anonymous.get(attempt_url).get_data(as_text=True)
    visible = readable(card_page, attempt_url.rsplit("/", 1)[-1])  # without the token
    assert "Zettelmann" not in visible and "Weg" not in visible
    assert pay_by_card(anonymous, attempt_url, localstripe).get_json() == {"next": "result"}
    assert "eingegangen" in anonymous.get(f"{attempt_url}/ergebnis").get_data(as_text=True)
    due = [v for v in claims_of(db, owner) if v.claim.due_date <= today]
    assert due and all(v.open_cents == 0 for v in due)
    after = anonymous.get(f"/{m.slug}/zahlung/{token}").get_data(as_text=True)
    assert "0,00 €" in after  # nothing due any more


def test_attempt_links_are_bound_to_their_attempt(
    app: Any, client: FlaskClient, db: Session, make: Any, payer: Any
) -> None:
    m, person = payer
    c = make.claim(m, person, amount=1000)
    attempt_url = start_from_account(client, m, [c.id])
    assert app.test_client().get(attempt_url[:-3] + "abc").status_code == 404
    other = make.municipality()
    assert (
        app.test_client().get(attempt_url.replace(f"/{m.slug}/", f"/{other.slug}/")).status_code
        == 404
    )


def test_someone_elses_claims_cannot_be_paid_into(
    client: FlaskClient, make: Any, payer: Any
) -> None:
    m, _person = payer
    stranger = make.person(m)
    foreign = make.claim(m, stranger, amount=1000)
    url = f"/{m.slug}/bezahlen"
    response = client.post(
        url, data={"csrf_token": csrf_token(client, url), "claim": [str(foreign.id)]}
    )
    assert response.status_code == 409
    assert "nicht mehr offen" in response.get_data(as_text=True)


def test_cleanup_job_cancels_abandoned_attempts(
    app: Any, client: FlaskClient, db: Session, make: Any, payer: Any
) -> None:
    from portal.payments.provider import payment_provider

    m, person = payer
    c = make.claim(m, person, amount=1000)
    start_from_account(client, m, [c.id])
    with app.app_context():
        counts = settlement.abandon_stale(
            db,
            payment_provider(),
            now=clock.now() + timedelta(hours=3),
            older_than=timedelta(hours=2),
            as_of=clock.today(),
        )
    assert counts == {"booked": 0, "abandoned": 1, "errors": 0}
    attempt = db.scalars(select(PaymentAttempt).where(PaymentAttempt.person_id == person.id)).one()
    assert attempt.status is AttemptStatus.ABANDONED


def paid_card_payment(
    client: FlaskClient, db: Session, make: Any, m: Any, person: Any, localstripe: str, amount: int
) -> Payment:
    claim = make.claim(m, person, amount=amount)
    attempt_url = start_from_account(client, m, [claim.id])
    pay_by_card(client, attempt_url, localstripe)
    client.get(f"{attempt_url}/ergebnis")
    return db.scalars(
        select(Payment).where(Payment.person_id == person.id).order_by(Payment.id.desc())
    ).first()


def test_small_refund_is_executed_at_once_and_reopens_the_claim(
    app: Any, client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    from core.identity.models import Role
    from tests.conftest import staff_login

    m, person = payer
    payment = paid_card_payment(client, db, make, m, person, localstripe, 5000)
    clerk = make.user(role=Role.CLERK, municipality=m)
    desk = app.test_client()
    staff_login(desk, clerk.email)
    url = f"/backoffice/zahlungen/{payment.id}/erstattung"
    too_much = post_form(desk, url, {"amount": "60,00", "reason": "doppelt"})
    assert "höher als der noch erstattbare Betrag" in too_much.get_data(as_text=True)
    done = post_form(desk, url, {"amount": "20,00", "reason": "Hund verstorben"})
    assert done.status_code == 302
    assert person_balance(db, person) == 2000  # 20 € of the claim open again


def test_large_refund_needs_a_second_person(
    app: Any, client: FlaskClient, db: Session, make: Any, payer: Any, localstripe: str
) -> None:
    from core.identity.models import Role
    from core.payments.card.refunds import Refund, RefundStatus
    from tests.conftest import staff_login

    m, person = payer
    payment = paid_card_payment(client, db, make, m, person, localstripe, 50000)
    clerk = make.user(role=Role.CLERK, municipality=m)
    approver = make.user(role=Role.APPROVER, municipality=m)
    desk = app.test_client()
    staff_login(desk, clerk.email)
    post_form(
        desk,
        f"/backoffice/zahlungen/{payment.id}/erstattung",
        {"amount": "300,00", "reason": "Bescheid aufgehoben"},
    )
    refund = db.scalars(select(Refund).where(Refund.payment_id == payment.id)).one()
    assert refund.status is RefundStatus.AWAITING_APPROVAL
    assert person_balance(db, person) == 0  # nothing booked yet
    own = post_form(
        desk, "/backoffice/erstattungen", {"refund_id": str(refund.id), "decision": "approve"}
    )
    assert "Nur die Freigabe" in own.get_data(as_text=True)
    second = app.test_client()
    staff_login(second, approver.email)
    assert (
        post_form(
            second, "/backoffice/erstattungen", {"refund_id": str(refund.id), "decision": "approve"}
        ).status_code
        == 302
    )
    db.refresh(refund)
    assert refund.status is RefundStatus.EXECUTED and refund.provider_ref
    assert person_balance(db, person) == 30000
