"""The account page asks the database a fixed number of statements, however many items the
citizen has (issue 12: no query per item, e.g. a lazy load or a lookup in the item's card)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.sepa import mandates
from tests.conftest import login


def citizen(db: Session, make: Any, m: Any, email: str, items: int) -> None:
    """A citizen with ``items`` claims, every other one paid, and a direct-debit mandate."""
    person = make.person(m, user=make.user(email=email))
    mandates.grant_mandate(
        db,
        person=person,
        municipality=m,
        account_holder=person.display_name,
        iban="DE89370400440532013000",
        tax_account_id=None,
        signed_on=date(2026, 1, 5),
        as_of=date(2026, 1, 5),
        actor="test",
    )
    for n in range(items):
        claim = make.claim(m, person, amount=1000 + n, due=date(2026, 2, 15) + timedelta(n))
        if n % 2:
            record_payment(
                db,
                person=person,
                amount_cents=claim.amount_cents,
                received_on=date(2026, 2, 1),
                channel=PaymentChannel.BANK_TRANSFER,
                as_of=date(2026, 2, 1),
                actor="test",
                kassenzeichen=claim.kassenzeichen,
            )


def statements_of_account_page(app: Flask, connection: Any, slug: str, email: str) -> int:
    client = app.test_client()
    login(client, slug, email)
    client.get(f"/{slug}/konto")  # warm: what a first request loads once is not per item
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        page = client.get(f"/{slug}/konto")
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert page.status_code == 200 and "Offene Posten" in page.get_data(as_text=True)
    return len(statements)


def test_account_page_statements_do_not_grow_with_items(
    app: Flask, connection: Any, db: Session, make: Any
) -> None:
    m = make.municipality()
    make.sepa_statute(m)
    citizen(db, make, m, "fuenf@example.org", 5)
    citizen(db, make, m, "vierzig@example.org", 40)
    db.commit()
    few = statements_of_account_page(app, connection, m.slug, "fuenf@example.org")
    many = statements_of_account_page(app, connection, m.slug, "vierzig@example.org")
    assert few == many


# The tables of the account's optional parts and of "acting for" (a statement that starts with
# one of them reads it; the person statement only asks whether there is a row, in EXISTS).
OPTIONAL = {
    "dunning_letter",
    "dunning_item",
    "dunning_block",
    "payout_item",
    "instalment_plan",
    "tax_object",
    "trade_tax_refund_interest",
    "representative",
    "power_of_attorney",
}


def leading_tables(app: Flask, connection: Any, slug: str, email: str) -> list[str]:
    """The table each SELECT of the account page starts with, in order."""
    client = app.test_client()
    login(client, slug, email)
    client.get(f"/{slug}/konto")
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", count)
    try:
        page = client.get(f"/{slug}/konto")
    finally:
        event.remove(connection, "before_cursor_execute", count)
    assert page.status_code == 200 and "Offene Posten" in page.get_data(as_text=True)
    found = (re.match(r"\s*SELECT\s+\(?(\w+)\.", s) for s in statements)
    return [m[1] for m in found if m]


def test_account_page_does_not_read_parts_the_citizen_has_nothing_of(
    app: Flask, connection: Any, db: Session, make: Any
) -> None:
    """No dunning, payouts, plans, plots, refund interest, representation: none of their rows
    are read (one statement said there are none); the claims are read once."""
    m = make.municipality()
    make.sepa_statute(m)
    citizen(db, make, m, "schlicht@example.org", 6)
    db.commit()
    tables = leading_tables(app, connection, m.slug, "schlicht@example.org")
    assert not OPTIONAL & set(tables), tables
    assert tables.count("claim") == 1


def test_account_page_asks_three_statements_when_the_citizen_has_no_optional_part(
    app: Flask, connection: Any, db: Session, make: Any
) -> None:
    """The municipality (with the account, its own person and whether there are identity
    providers), the person (with the credit, the flags of the optional parts and whether
    instalments are offered) and the claims: nothing else, e.g. no statute, no identity
    provider, no credit balance, no own person asked for again."""
    m = make.municipality()
    make.sepa_statute(m)
    citizen(db, make, m, "drei@example.org", 6)
    db.commit()
    tables = leading_tables(app, connection, m.slug, "drei@example.org")
    assert tables == ["municipality", "person", "claim"], tables


def test_the_credit_shown_is_the_citizens_own(app: Flask, db: Session, make: Any) -> None:
    """The credit read within the person statement is that person's, not another's (the
    account subquery is correlated to the person two levels up)."""
    m = make.municipality()
    first = make.person(m)  # an earlier person of the town, with credit of their own
    email = "guthaben@test.example"
    own = make.person(m, user=make.user(email=email))
    for person, cents in ((first, 5000), (own, 900)):
        record_payment(
            db, person=person, amount_cents=cents, channel=PaymentChannel.BANK_TRANSFER,
            received_on=date(2026, 11, 2), as_of=date(2026, 11, 2), actor="test",
        )  # fmt: skip
    db.commit()
    client = app.test_client()
    login(client, m.slug, email)
    page = client.get(f"/{m.slug}/konto").get_data(as_text=True)
    assert re.search(r"Guthaben: <span[^>]*>9,00\s€</span>", page), page
    assert "50,00" not in page and "Bankverbindung für Auszahlungen angeben" in page
