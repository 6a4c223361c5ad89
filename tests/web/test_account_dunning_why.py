"""Why, in the account (templates/portal/ledger/_dunning.html, core.dunning.account): a dunned
claim's card says the surcharges' rate, the overdue amount they are charged on and since when
(§ 240 AO), and the fee's legal basis; a claim a block holds says the block and its reason (an
ended block no more; a person's block on each open claim). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.dunning import blocks
from core.dunning.models import BlockReason
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.persons.models import Person
from tests.conftest import login
from tests.web.test_dunning_letter_pages import _book, _dunned


def _card(page: str, description: str) -> str:
    """The account's card of the claim with ``description``."""
    before, after = page.split(description, 1)
    return before.rsplit("<li", 1)[1] + after.split("</li>", 1)[0]


def test_the_card_says_why_surcharges_and_fee(client: FlaskClient, db: Session, make: Any) -> None:
    s = _dunned(db, make)
    login(client, s["m"].slug, s["anna"].email)

    card = _card(client.get(f"/{s['m'].slug}/konto").get_data(as_text=True), "Hundesteuer 2026")

    assert "Mahngebühr 17,00 €, Säumniszuschläge 24,00 € (§ 240 AO)" in card
    # due Sunday 15.02.2026, so Monday 16.02. (§ 108 (3) AO): Säumnis from the 17th;
    # 1,234.56 € rounded down to 1,200 €
    assert (
        "Säumniszuschlag 1 % je angefangenen Monat auf 1.200,00 € (§ 240 AO), seit 17.02.2026"
        in card
    )
    assert "Mahngebühr nach § 9 Abs. 2 VO VwVG NRW" in card


def test_the_base_follows_a_part_payment(client: FlaskClient, db: Session, make: Any) -> None:
    m = make.municipality()
    make.dunning_statute(m)
    user = make.user()
    person = make.person(m, user=user)
    tax = make.claim(m, person, amount=30000, due=date(2026, 1, 15), description="Grundsteuer")
    record_payment(  # 50 € paid late: later months are charged on 250 €
        db,
        person=person,
        amount_cents=5000,
        received_on=date(2026, 1, 30),
        channel=PaymentChannel.BANK_TRANSFER,
        as_of=date(2026, 1, 30),
        actor="test",
        claim_ids=[tax.id],
    )
    _book(db, m, date(2026, 3, 16))
    db.commit()
    login(client, m.slug, user.email)

    card = _card(client.get(f"/{m.slug}/konto").get_data(as_text=True), "Grundsteuer")

    # 1st month on 300 €, 2nd and 3rd on 250 € (§ 240 AO): 3 + 2.50 + 2.50
    assert "Säumniszuschläge 8,00 € (§ 240 AO)" in card
    assert "auf 250,00 € (§ 240 AO), seit 16.01.2026" in card


def test_a_blocked_claim_shows_the_block_and_its_reason(
    client: FlaskClient, db: Session, make: Any
) -> None:
    m = make.municipality()
    make.dunning_statute(m)
    user = make.user()
    person = make.person(m, user=user)
    blocked = make.claim(m, person, amount=10000, due=date(2026, 2, 15), description="Hund A")
    ended = make.claim(m, person, amount=10000, due=date(2026, 2, 15), description="Hund B")
    make.claim(m, person, amount=10000, due=date(2026, 2, 15), description="Hund C")
    blocks.add_block(
        db,
        person=person,
        claim=blocked,
        reason=BlockReason.SUSPENSION,
        starts_on=date(2026, 3, 1),
        actor="user:1",
        note="Widerspruch vom 20.02.",
    )
    old = blocks.add_block(
        db, person=person, claim=ended, reason=BlockReason.CLERK, starts_on=date(2026, 3, 1),
        actor="user:1",
    )  # fmt: skip
    blocks.end_block(db, old, last_day=date(2026, 3, 31), actor="user:1")
    db.commit()
    login(client, m.slug, user.email)
    page = client.get(f"/{m.slug}/konto").get_data(as_text=True)

    card = _card(page, "Hund A")
    assert "Mahnsperre" in card and "nicht gemahnt" in card
    assert "Aussetzung der Vollziehung vom 01.03.2026 (unbefristet)" in card
    assert "Mahnsperre" not in _card(page, "Hund B")  # ended: history, not shown as in force
    assert "Mahnsperre" not in _card(page, "Hund C")

    blocks.add_block(  # insolvency: the whole person
        db, person=db.get_one(Person, person.id), reason=BlockReason.INSOLVENCY,
        starts_on=date(2026, 4, 1), actor="user:1",
    )  # fmt: skip
    db.commit()
    page = client.get(f"/{m.slug}/konto").get_data(as_text=True)
    for description in ("Hund A", "Hund B", "Hund C"):
        assert "Insolvenz vom 01.04.2026 (unbefristet)" in _card(page, description)
