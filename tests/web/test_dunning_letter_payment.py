"""Paying a dunning letter from the page behind its signed link, without log-in (portal.dunning):
by card through the same attempt, reservation and booking as a notice's link, exactly once — a
double click, a second tab or another browser is refused and never charged; once paid, or
partly paid in between, the page says so and offers to pay only what is still open. On SQLite
and PostgreSQL, against localstripe."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.dunning import account as dunning_account
from core.dunning import booking, letters, runs
from core.dunning.models import DunningLetter, DunningRun
from core.kernel import clock
from core.ledger.models import Payment, PaymentChannel
from core.ledger.receipts import record_payment
from core.notices.records import NoticeSettings
from core.payments.card.attempts import AttemptStatus, PaymentAttempt
from core.payments.sepa import mandates, prenotifications
from core.persons.models import Person
from tests.conftest import csrf_token
from tests.web.test_payments import pay_by_card

pytestmark = pytest.mark.usefixtures("localstripe")

DUE = date(2026, 2, 15)
FORM = re.compile(r'<form method="post" action="([^"]+/mahnschreiben/[^"]+/bezahlen)"')


def _book(db: Session, m: Any, day: date) -> DunningRun:
    run = runs.preview(db, m, day, "user:1")
    runs.approve(db, run, "user:2")
    booking.book(db, run, "user:2")
    return run


def _mahnung(app: Flask, db: Session, make: Any) -> tuple[Any, Person, DunningLetter, str]:
    """Anna's Mahnung (tax 1,234.56 € + fee 17 € + surcharge 12 € = 1,263.56 €) and its link."""
    m = make.municipality()
    make.dunning_statute(m)
    anna = make.person(m, family_name="Mahnsiek")
    make.claim(m, anna, amount=123456, due=DUE, description="Hundesteuer 2026")
    _book(db, m, date(2026, 3, 16))
    (letter,) = runs.letters_of(db, _book(db, m, date(2026, 3, 30)))
    db.commit()
    settings = NoticeSettings(app.config["SECRET_KEY"], app.config["PUBLIC_BASE_URL"])
    return m, anna, letter, f"/{m.slug}/mahnschreiben/{letters.link_token(settings, letter)}"


def _attempts(db: Session, person: Person) -> list[PaymentAttempt]:
    db.expire_all()
    return list(
        db.scalars(
            select(PaymentAttempt)
            .where(PaymentAttempt.person_id == person.id)
            .order_by(PaymentAttempt.id)
        )
    )


def _card_payments(db: Session, person: Person) -> int:
    return int(
        db.scalar(
            select(func.count(Payment.id)).where(
                Payment.person_id == person.id, Payment.channel == PaymentChannel.CARD
            )
        )
        or 0
    )


def _open(db: Session, letter: DunningLetter) -> int:
    db.expire_all()
    return sum(o for _, o in dunning_account.still_open(db, letter))


def test_pay_the_letter_by_card_without_login_exactly_once(
    app: Flask, db: Session, make: Any, localstripe: str
) -> None:
    _m, anna, letter, url = _mahnung(app, db, make)
    payer = app.test_client()
    page = payer.get(url).get_data(as_text=True)
    assert "1.263,56 € jetzt mit Karte bezahlen" in page and "Mahnsiek" not in page
    action = FORM.search(page)
    assert action is not None and action.group(1) == f"{url}/bezahlen"

    token = csrf_token(payer, url)
    started = payer.post(action.group(1), data={"csrf_token": token})

    assert started.status_code == 302
    attempt_url = started.headers["Location"]
    card_page = payer.get(attempt_url).get_data(as_text=True)
    assert "1.263,56 €" in card_page and "Mahnsiek" not in card_page
    assert pay_by_card(payer, attempt_url, localstripe).get_json() == {"next": "result"}
    assert "Ihre Zahlung ist eingegangen" in payer.get(f"{attempt_url}/ergebnis").get_data(
        as_text=True
    )
    (attempt,) = _attempts(db, anna)
    assert attempt.origin == "dunning_letter" and attempt.amount_cents == 126356
    assert attempt.status is AttemptStatus.SUCCEEDED and _card_payments(db, anna) == 1
    assert _open(db, letter) == 0  # the tax, the fee and the surcharge of the letter
    after = payer.get(url).get_data(as_text=True)
    assert "Alles bezahlt" in after and "Seitdem bezahlt" in after and "1.263,56 €" in after
    assert FORM.search(after) is None and "GiroCode" not in after
    # a stale page's button (or the back button): nothing more is charged
    again = payer.post(f"{url}/bezahlen", data={"csrf_token": token})
    assert again.status_code == 409 and "bereits alles bezahlt" in again.get_data(as_text=True)
    assert len(_attempts(db, anna)) == 1 and _card_payments(db, anna) == 1


def test_double_click_second_tab_and_other_browsers_never_charge_twice(
    app: Flask, db: Session, make: Any, localstripe: str
) -> None:
    m, anna, letter, url = _mahnung(app, db, make)
    payer = app.test_client()
    token = csrf_token(payer, url)

    first = payer.post(f"{url}/bezahlen", data={"csrf_token": token})
    double = payer.post(f"{url}/bezahlen", data={"csrf_token": token})

    assert first.status_code == 302
    assert double.status_code == 409
    text = double.get_data(as_text=True)
    assert "läuft bereits eine Kartenzahlung" in text and "Laufende Zahlung fortsetzen" in text
    resume = re.search(r'href="([^"]+)"[^>]*><span class="kern-label">Laufende Zahlung', text)
    assert resume is not None and resume.group(1) == first.headers["Location"]
    # the page itself now offers no second payment, only the running one (to its own browser)
    page = payer.get(url).get_data(as_text=True)
    assert "Eine Kartenzahlung läuft bereits" in page and FORM.search(page) is None
    assert "Laufende Zahlung fortsetzen" in page
    stranger = app.test_client()
    seen = stranger.get(url).get_data(as_text=True)
    assert "Eine Kartenzahlung läuft bereits" in seen and "Laufende Zahlung fortsetzen" not in seen
    other = stranger.post(
        f"{url}/bezahlen", data={"csrf_token": csrf_token(stranger, f"/{m.slug}/anmelden")}
    )
    assert other.status_code == 409 and "Laufende Zahlung fortsetzen" not in other.get_data(
        as_text=True
    )
    assert len(_attempts(db, anna)) == 1

    assert pay_by_card(payer, first.headers["Location"], localstripe).get_json() == {
        "next": "result"
    }
    payer.get(f"{first.headers['Location']}/ergebnis")
    assert _card_payments(db, anna) == 1 and _open(db, letter) == 0
    assert len(_attempts(db, anna)) == 1


def test_partly_paid_in_between_the_page_offers_only_the_rest(
    app: Flask, db: Session, make: Any, localstripe: str
) -> None:
    _m, anna, letter, url = _mahnung(app, db, make)
    payer = app.test_client()
    assert "1.263,56 € jetzt mit Karte bezahlen" in payer.get(url).get_data(as_text=True)
    token = csrf_token(payer, url)
    claim_ids = [c.id for c in dunning_account.letter_claims(db, letter)]
    record_payment(  # a transfer of 500 € for the letter (its reference) arrives meanwhile
        db,
        person=anna,
        amount_cents=50000,
        received_on=clock.today(),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=clock.today(),
        actor="test",
        claim_ids=claim_ids,
        external_ref="bank-1",
    )
    db.commit()

    page = payer.get(url).get_data(as_text=True)
    assert "Teilweise bezahlt" in page and "Seitdem bezahlt" in page and "500,00 €" in page
    assert "763,56 € jetzt mit Karte bezahlen" in page and "1.263,56 € jetzt" not in page
    # the button of the page loaded before the transfer charges only what is open now
    started = payer.post(f"{url}/bezahlen", data={"csrf_token": token})
    assert started.status_code == 302
    (attempt,) = _attempts(db, anna)
    assert attempt.amount_cents == 76356
    assert pay_by_card(payer, started.headers["Location"], localstripe).get_json() == {
        "next": "result"
    }
    payer.get(f"{started.headers['Location']}/ergebnis")
    assert _open(db, letter) == 0 and _card_payments(db, anna) == 1
    assert "Alles bezahlt" in payer.get(url).get_data(as_text=True)


def test_a_bad_link_or_a_missing_form_token_pays_nothing(
    app: Flask, db: Session, make: Any
) -> None:
    m, anna, _letter, url = _mahnung(app, db, make)
    payer = app.test_client()
    token = csrf_token(payer, url)
    assert payer.post(f"{url}/bezahlen", data={}).status_code == 400
    forged = f"{url[:-3]}xyz/bezahlen"
    assert payer.post(forged, data={"csrf_token": token}).status_code == 404
    elsewhere = make.municipality()
    db.commit()
    moved = url.replace(f"/{m.slug}/", f"/{elsewhere.slug}/", 1)
    assert payer.post(f"{moved}/bezahlen", data={"csrf_token": token}).status_code == 404
    assert _attempts(db, anna) == []


def test_what_a_mandate_collects_is_not_offered_by_card(app: Flask, db: Session, make: Any) -> None:
    m, anna, _letter, url = _mahnung(app, db, make)
    make.sepa_statute(m)
    today = clock.today()
    mandates.grant_mandate(
        db, person=anna, municipality=m, account_holder=anna.display_name,
        iban="DE89370400440532013000", tax_account_id=None, signed_on=today, as_of=today,
        actor="test",
    )  # fmt: skip
    day = prenotifications.earliest_collection(db, m.id, today)
    announced = prenotifications.prenotify(db, m, collection_date=day, as_of=today, actor="t")
    assert announced.items >= 3  # the tax, the fee, the surcharges (and the first letter's)
    db.commit()
    payer = app.test_client()

    page = payer.get(url).get_data(as_text=True)

    assert page.count("wird per Lastschrift eingezogen") == 3
    assert FORM.search(page) is None and "GiroCode" not in page
    refused = payer.post(
        f"{url}/bezahlen", data={"csrf_token": csrf_token(payer, f"/{m.slug}/anmelden")}
    )
    assert refused.status_code == 409
    assert "per Lastschrift eingezogen" in refused.get_data(as_text=True)
    assert _attempts(db, anna) == []
