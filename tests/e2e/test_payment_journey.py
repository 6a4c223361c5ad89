"""Paying online in the browser, against the live server's own localstripe (tests/e2e/conftest.py).

1. From the paper notice: the payment link is decoded from the QR code of a downloaded notice and
   opened on a phone without logging in; the payer pays by card with 3-D Secure, downloads the
   receipt; the claims are settled with exactly one payment, localstripe's webhook arrives, and
   replaying it books nothing more.
2. From the account: a declined card shows a German error and books nothing; another card on
   the same page succeeds.
3. A tampered link of the card page gives the error page.

Every page visited must pass axe-core (tests/e2e/a11y.py) and fit a 390 px phone. The card
inputs are localstripe's stand-in for Stripe's widget (in production Stripe's own iframe); they
pass axe as they are (their placeholders name them), so nothing is excluded.

The live server is shared by the session: each test uses its own demo citizen (Erika
Mustermann, Max Beispiel, Bäckerei Krume) and reads amounts from the pages instead of assuming
them, so the order of the tests does not matter.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from core.kernel import clock, tokens
from core.kernel.money import format_euro
from core.kernel.references import make_rf
from core.ledger.balances import claim_balances
from core.ledger.models import Claim, Payment
from core.payments.card.attempts import AttemptStatus, PaymentAttempt, ProviderEvent
from portal.payments.card import ATTEMPT_LINK_AGE, ATTEMPT_PURPOSE
from tests.e2e.a11y import check_phone_page
from tests.e2e.helpers import (
    EPC_HEADER,
    EURO,
    cards,
    cents,
    flat_text,
    log_in,
    pdf_text,
    qr_codes,
    qr_image_text,
    recipient_street,
    tamper,
)
from tests.e2e.server import (
    CITIZEN_EMAIL,
    SECRET_KEY,
    STRIPE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET,
    WEBHOOK_PATH,
    LiveServer,
)

pytestmark = pytest.mark.e2e

CASH_OFFICE = "Stadtkasse Musterstadt"
BEISPIELHAUSEN_CITIZEN = "max.beispiel@beispielhausen.example"
BUSINESS_CITIZEN = "buchhaltung@baeckerei-krume.example"  # Musterstadt, no other test pays

# localstripe's test cards (as Stripe's)
CARD_3DS = "4000002500003155"  # asks for 3-D Secure
CARD_DECLINED = "4000000000000341"  # can be stored, but every charge is declined
CARD_OK = "4242424242424242"

PAID = "Vielen Dank – Ihre Zahlung ist eingegangen"
DECLINED = "Die Karte wurde abgelehnt. Es wurde nichts abgebucht."
WEBHOOK_WAIT = 10.0  # seconds; localstripe sends its events about a second after they happen


# --------------------------------------------------------------------------- the database


@pytest.fixture(scope="module")
def live_db(live_app: LiveServer) -> Iterator[Engine]:
    """Read access to the live server's SQLite file. A plain engine on purpose: the app's own
    engines begin every transaction IMMEDIATE (a write lock), which would make the server wait
    while a test reads."""
    engine = create_engine(live_app.database_url)
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class Booking:
    """What the ledger says about a payment attempt, read in one go."""

    status: AttemptStatus
    provider_ref: str
    amount_cents: int
    payment_id: int | None
    open_cents: dict[int, int]  # per claim of the attempt
    payments: list[tuple[int, int]]  # (id, amount) of the payments with the attempt's reference
    person_payments: int  # all payments of the payer


def booking(engine: Engine, attempt_id: int) -> Booking:
    with Session(engine) as session:
        attempt = session.get_one(PaymentAttempt, attempt_id)
        claims = session.scalars(select(Claim).where(Claim.id.in_(attempt.claim_ids))).all()
        balances = claim_balances(session, claims)
        payments = session.execute(
            select(Payment.id, Payment.amount_cents)
            .where(Payment.external_ref == attempt.provider_ref)
            .order_by(Payment.id)
        ).all()
        return Booking(
            status=attempt.status,
            provider_ref=attempt.provider_ref or "",
            amount_cents=attempt.amount_cents,
            payment_id=attempt.payment_id,
            open_cents={claim_id: b.open_cents for claim_id, b in balances.items()},
            payments=[(p.id, p.amount_cents) for p in payments],
            person_payments=session.scalar(
                select(func.count(Payment.id)).where(Payment.person_id == attempt.person_id)
            )
            or 0,
        )


def attempt_id_of(card_page_url: str) -> int:
    """The attempt behind a card page's link (``/<muni>/zahlvorgang/<token>``)."""
    token = urlparse(card_page_url).path.rsplit("/", 1)[1]
    return tokens.read_token(
        SECRET_KEY, ATTEMPT_PURPOSE, token, now=clock.now(), max_age=ATTEMPT_LINK_AGE
    )


def succeeded_event(engine: Engine, provider_ref: str) -> tuple[str, str]:
    """(event id, outcome) of the payment_intent.succeeded notification for ``provider_ref``,
    once localstripe's webhook has arrived (polled)."""
    deadline = time.monotonic() + WEBHOOK_WAIT
    while True:
        with Session(engine) as session:
            found = session.execute(
                select(ProviderEvent.event_id, ProviderEvent.outcome).where(
                    ProviderEvent.provider_ref == provider_ref,
                    ProviderEvent.type == "payment_intent.succeeded",
                )
            ).all()
        if found:
            assert len(found) == 1, f"the webhook was recorded more than once: {found}"
            return found[0].event_id, found[0].outcome
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no payment_intent.succeeded webhook for {provider_ref} within {WEBHOOK_WAIT} s"
            )
        time.sleep(0.2)


def events_with_id(engine: Engine, event_id: str) -> int:
    with Session(engine) as session:
        return (
            session.scalar(
                select(func.count(ProviderEvent.id)).where(ProviderEvent.event_id == event_id)
            )
            or 0
        )


def replay_webhook(localstripe: str, live_server: str, event_id: str) -> tuple[int, Any]:
    """Fetch the event from localstripe and send it to the portal's webhook again, signed with
    the webhook secret like Stripe does (``t=<time>,v1=<HMAC-SHA256 of "<time>.<body>">``)."""
    request = urllib.request.Request(
        f"{localstripe}/v1/events/{event_id}",
        headers={"Authorization": f"Bearer {STRIPE_SECRET_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    event = json.loads(body)
    assert (event["id"], event["type"]) == (event_id, "payment_intent.succeeded")
    stamp = int(time.time())
    digest = hmac.new(
        STRIPE_WEBHOOK_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    request = urllib.request.Request(
        live_server + WEBHOOK_PATH,
        data=body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": f"t={stamp},v1={digest}",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


# --------------------------------------------------------------------------- the pages


def amount_pattern(amount_cents: int) -> str:
    return re.escape(format_euro(amount_cents))


def described(main: Locator, term: str) -> str:
    """The value beside ``term`` in a description list of the main content."""
    return main.locator("dt", has_text=term).locator("xpath=../dd").inner_text().strip()


def euro_cents(text: str) -> int:
    match = re.fullmatch(EURO, text.strip())
    assert match, f"not an amount in euros: {text!r}"
    return cents(match.group(1))


def fill_card(page: Page, number: str) -> None:
    """Type a card into localstripe's stand-in for Stripe's card widget: five inputs known only
    by their placeholders (in production Stripe's own iframe, which the portal cannot label)."""
    widget = page.locator("#card-element")
    for placeholder, value in (
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "30"),
        ("cvc", "123"),
        ("postal_code", "12345"),
    ):
        widget.get_by_placeholder(placeholder, exact=True).fill(value)


def card_page(
    page: Page, amount_cents: int, payee: str, kassenzeichen: str | None = None
) -> Locator:
    """Checks the card page (heading, amount, payee, widget, axe, width); returns the pay button."""
    expect(page).to_have_url(re.compile(r"/zahlvorgang/[\w.-]+$"))
    amount = format_euro(amount_cents)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Kartenzahlung: {amount}")
    main = page.get_by_role("main")
    assert described(main, "Empfänger") == payee
    assert euro_cents(described(main, "Betrag")) == amount_cents
    if kassenzeichen is not None:
        assert described(main, "Kassenzeichen") == kassenzeichen
    expect(main.get_by_role("group", name="Kartendaten")).to_be_visible()
    # localstripe's widget has mounted its inputs (pay.js ran under the page's CSP).
    expect(page.locator("#card-element input")).to_have_count(5)
    check_phone_page(page)
    return main.get_by_role("button", name=f"{amount} bezahlen", exact=True)


# --------------------------------------------------------------------------- 1. paper notice


def test_pay_a_paper_notice_on_the_phone_with_3d_secure(
    phone: Page,
    new_page: Callable[..., Page],
    live_server: str,
    e2e_localstripe: str,
    live_db: Engine,
    tmp_path: Path,
) -> None:
    # The notice on paper: Erika downloads her newest one (in her own browser) ...
    erika = new_page()
    log_in(erika, "/musterstadt/anmelden", CITIZEN_EMAIL, phone=True)
    expect(erika.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    check_phone_page(erika)
    erika.get_by_role("navigation", name="Dienste").get_by_role(
        "link", name="Meine Bescheide"
    ).click()
    expect(erika.get_by_role("heading", level=1)).to_have_text("Meine Bescheide")
    check_phone_page(erika)
    # Her newest dog-tax notice: the demo leaves part of her dog tax unpaid (her water
    # advances, on a later notice, are paid).
    downloads = (
        cards(erika)
        .filter(has_text="Hundesteuer")
        .get_by_role("link", name=re.compile(r"^Bescheid \d+ herunterladen \(PDF\)$"))
    )
    numbers = [int(re.findall(r"\d+", name)[0]) for name in downloads.all_inner_texts()]
    assert numbers, "Erika has no notices (the demo gives her dog-tax notices)"
    number = max(numbers)
    card = cards(erika).filter(
        has=erika.get_by_role("link", name=f"Bescheid {number} herunterladen (PDF)")
    )
    kassenzeichen = card.locator(".ok-ref").inner_text().strip()
    with erika.expect_download() as download_info:
        card.get_by_role("link", name=f"Bescheid {number} herunterladen (PDF)").click()
    notice = tmp_path / "Bescheid.pdf"
    download_info.value.save_as(notice)
    notice_text = pdf_text(notice)
    personal = ["Mustermann", "Erika", *recipient_street(notice_text, "Erika Mustermann")]

    # ... and its QR code is scanned with a phone (decoded from the rendered PDF).
    codes = qr_codes(notice, tmp_path)
    links = [c for c in codes[1] + codes[2] if "/musterstadt/zahlung/" in c]
    assert len(links) == 1, f"one payment link expected on pages 1–2, decoded: {codes}"
    link = links[0]
    assert re.fullmatch(re.escape(live_server) + r"/musterstadt/zahlung/[\w.-]+", link), link

    # The page behind the link: amounts and transfer details, no personal data, no log-in.
    phone.goto(link)
    expect(phone.get_by_role("heading", level=1)).to_have_text(f"Zahlung an {CASH_OFFICE}")
    main = phone.get_by_role("main")
    assert described(main, "Kassenzeichen") == kassenzeichen
    due_now = euro_cents(described(main, "Jetzt fällig"))
    total_open = euro_cents(described(main, "Insgesamt offen"))
    to_pay = due_now or total_open
    assert to_pay > 0, f"nothing open under {kassenzeichen}: the demo leaves dog tax unpaid"
    body_text = phone.locator("body").inner_text()
    for word in personal:
        assert word not in body_text, f"{word!r} shown on the public payment page"
    expect(phone.get_by_role("button", name="Abmelden")).to_have_count(0)
    pay_button = main.get_by_role(
        "button", name=re.compile(rf"^{amount_pattern(to_pay)} jetzt online bezahlen$")
    )
    expect(pay_button).to_be_visible()
    girocode = main.get_by_role("img", name=re.compile(r"^GiroCode"))
    expect(girocode).to_have_count(1)
    (epc,) = [c for c in qr_image_text(girocode) if c.startswith(EPC_HEADER)]
    assert epc.split("\n")[7] == f"EUR{to_pay // 100}.{to_pay % 100:02d}"
    assert epc.split("\n")[9] == make_rf(kassenzeichen.replace(" ", ""))
    check_phone_page(phone)

    form = pay_button.locator("xpath=ancestor::form")
    assert form.get_attribute("action") == urlparse(link).path + "/bezahlen"
    pay_button.click()

    # The card page: amount and Kassenzeichen, nobody's name; 3-D Secure card.
    pay = card_page(phone, to_pay, CASH_OFFICE, kassenzeichen)
    body_text = phone.locator("body").inner_text()
    for word in personal:
        assert word not in body_text, f"{word!r} shown on the card page"
    transfer_code = phone.get_by_role("main").get_by_role("img", name=re.compile(r"^GiroCode"))
    (epc,) = [c for c in qr_image_text(transfer_code) if c.startswith(EPC_HEADER)]
    assert epc.split("\n")[7] == f"EUR{to_pay // 100}.{to_pay % 100:02d}"
    attempt_id = attempt_id_of(phone.url)
    before = booking(live_db, attempt_id)
    assert before.status is AttemptStatus.OPEN and before.amount_cents == to_pay
    assert before.payments == []

    fill_card(phone, CARD_3DS)
    pay.click()
    # localstripe's stand-in for the bank's 3-D Secure dialog (not part of the portal).
    phone.get_by_role("button", name="Complete authentication").click()

    expect(phone).to_have_url(re.compile(r"/zahlvorgang/[\w.-]+/ergebnis$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(PAID)
    expect(phone.get_by_role("status")).to_contain_text(f"{format_euro(to_pay)} bezahlt")
    expect(phone.get_by_role("main")).to_contain_text(kassenzeichen)
    check_phone_page(phone)

    with phone.expect_download() as download_info:
        phone.get_by_role("link", name="Quittung herunterladen (PDF)").click()
    receipt = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(receipt)
    assert receipt.read_bytes().startswith(b"%PDF-")
    receipt_text = flat_text(receipt)
    assert "Zahlungsbestätigung" in receipt_text
    assert f"Betrag {format_euro(to_pay)}" in receipt_text
    assert kassenzeichen in receipt_text
    assert CASH_OFFICE in receipt_text

    # Booked: the claims are settled by exactly one payment of the provider's reference.
    paid = booking(live_db, attempt_id)
    assert paid.status is AttemptStatus.SUCCEEDED
    assert paid.provider_ref.startswith("pi_") and paid.provider_ref in receipt_text
    assert paid.payments == [(paid.payment_id, to_pay)]
    assert set(paid.open_cents.values()) == {0}
    assert paid.person_payments == before.person_payments + 1

    # localstripe's webhook arrives (about a second later) and books nothing more ...
    event_id, outcome = succeeded_event(live_db, paid.provider_ref)
    assert outcome == "booked"  # the payment was booked by the browser's return: settled once
    assert booking(live_db, attempt_id) == paid

    # ... and neither does the same event sent again (an attacker, or the provider's retry).
    status, answer = replay_webhook(e2e_localstripe, live_server, event_id)
    assert (status, answer) == (200, {"status": "duplicate"})
    assert booking(live_db, attempt_id) == paid
    assert events_with_id(live_db, event_id) == 1

    # The page behind the notice's link now shows nothing due.
    phone.goto(link)
    main = phone.get_by_role("main")
    expect(phone.get_by_role("heading", level=1)).to_have_text(f"Zahlung an {CASH_OFFICE}")
    assert euro_cents(described(main, "Jetzt fällig")) == 0
    check_phone_page(phone)


# --------------------------------------------------------------------------- 2. account


def test_declined_card_then_another_card_from_the_account(
    phone: Page, live_db: Engine, console_errors: list[str]
) -> None:
    log_in(phone, "/beispielhausen/anmelden", BEISPIELHAUSEN_CITIZEN, phone=True)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    check_phone_page(phone)

    phone.get_by_role("main").get_by_role("link", name="Online bezahlen").click()
    expect(phone).to_have_url(re.compile(r"/beispielhausen/bezahlen$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text("Online bezahlen")
    choices = phone.get_by_role("group", name="Welche Beträge möchten Sie bezahlen?")
    boxes = choices.get_by_role("checkbox")
    expect(boxes.first).to_be_visible()
    check_phone_page(phone)
    # Pay the first open item only (whatever the preselection).
    for i in range(boxes.count()):
        boxes.nth(i).set_checked(i == 0)
    first = choices.locator("label").first.inner_text()
    amount = euro_cents(first.split(" – ")[0])
    phone.get_by_role("button", name="Weiter zur Kartenzahlung").click()

    pay = card_page(phone, amount, "Gemeindekasse Beispielhausen")
    attempt_id = attempt_id_of(phone.url)
    before = booking(live_db, attempt_id)
    assert before.status is AttemptStatus.OPEN and before.amount_cents == amount
    assert set(before.open_cents.values()) == {amount}

    # A card the bank declines: a German message in the alert region, nothing booked.
    fill_card(phone, CARD_DECLINED)
    pay.click()
    alert = phone.locator("#card-errors")
    expect(alert).to_have_role("alert")
    expect(alert).to_have_text(DECLINED)
    expect(phone.get_by_role("alert")).to_have_text(DECLINED)
    expect(pay).to_be_enabled()
    expect(phone).to_have_url(re.compile(r"/zahlvorgang/[\w.-]+$"))
    check_phone_page(phone)
    declined = booking(live_db, attempt_id)
    assert declined.status is AttemptStatus.OPEN
    assert declined.open_cents == before.open_cents
    assert declined.payments == [] and declined.person_payments == before.person_payments
    # A fresh provider payment for the next try (the declined one was cancelled).
    assert declined.provider_ref != before.provider_ref
    # pay.js's request was answered 402; Chromium logs that as a console error.
    console_errors[:] = [e for e in console_errors if "status of 402" not in e]

    # Another card on the same page.
    phone.locator("#card-element").get_by_placeholder("number", exact=True).fill(CARD_OK)
    pay.click()
    expect(phone).to_have_url(re.compile(r"/zahlvorgang/[\w.-]+/ergebnis$"))
    expect(phone.get_by_role("heading", level=1)).to_have_text(PAID)
    expect(phone.get_by_role("status")).to_contain_text(f"{format_euro(amount)} bezahlt")
    expect(phone.get_by_role("link", name="Zu meinem Konto")).to_be_visible()
    check_phone_page(phone)
    paid = booking(live_db, attempt_id)
    assert paid.status is AttemptStatus.SUCCEEDED
    assert paid.payments == [(paid.payment_id, amount)]
    assert set(paid.open_cents.values()) == {0}
    assert paid.person_payments == before.person_payments + 1

    # The account lists the online payment with its receipt.
    phone.get_by_role("link", name="Zu meinem Konto").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    online = phone.get_by_role("region", name="Online-Zahlungen")
    expect(
        online.get_by_role("link", name=f"Quittung {paid.payment_id} (PDF)", exact=True)
    ).to_be_visible()
    check_phone_page(phone)


# --------------------------------------------------------------------------- 3. tampered link


def test_tampered_card_page_link_gives_the_error_page(
    phone: Page, console_errors: list[str]
) -> None:
    log_in(phone, "/musterstadt/anmelden", CITIZEN_EMAIL, phone=True)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mein Konto")
    check_phone_page(phone)
    phone.get_by_role("main").get_by_role("link", name="Online bezahlen").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Online bezahlen")
    check_phone_page(phone)
    # Items a mandate will collect cannot be ticked (disabled); tick one that can be paid.
    phone.locator("input[name=claim]:not([disabled])").first.check()
    phone.get_by_role("button", name="Weiter zur Kartenzahlung").click()
    expect(phone).to_have_url(re.compile(r"/musterstadt/zahlvorgang/[\w.-]+$"))
    check_phone_page(phone)
    csrf = phone.locator("#card-form").get_attribute("data-csrf-token") or ""

    genuine = phone.url
    base, token = genuine.rsplit("/", 1)
    forged = f"{base}/{tamper(token)}"
    response = phone.goto(forged)
    assert response is not None and response.status == 404
    expect(phone.get_by_role("heading", level=1)).to_have_text("Seite nicht gefunden")
    assert "€" not in phone.locator("body").inner_text()
    expect(phone.locator("#card-element")).to_have_count(0)
    check_phone_page(phone)
    # The result, card and receipt addresses of the forged link are refused as well.
    for path in ("/ergebnis", "/quittung.pdf"):
        assert phone.request.get(forged + path).status == 404, path
    refused = phone.request.post(
        forged + "/karte", form={"card_token": "tok_x"}, headers={"X-CSRFToken": csrf}
    )
    assert refused.status == 404
    # Chromium logs the page's own 404 as a console error; that one is expected.
    console_errors[:] = [e for e in console_errors if "status of 404" not in e]
    # The genuine attempt is cancelled again: it releases what it reserved.
    phone.goto(genuine)
    phone.get_by_role("button", name="Kartenzahlung abbrechen").click()
    expect(phone.get_by_role("heading", level=1)).not_to_have_text("Seite nicht gefunden")
