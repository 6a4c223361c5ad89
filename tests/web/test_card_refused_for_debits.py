"""A card payment is never started for what a mandate collects: a crafted POST on the pay page
is refused with a German message, and the notice link page offers (and charges) only the items
no direct debit collects."""

from __future__ import annotations

import html
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.notices.records import NoticeSettings, link_token
from core.payments.card.attempts import PaymentAttempt
from tests.conftest import csrf_token, post_form
from tests.web.test_debit_status_pages import debtor

__all__ = ["debtor"]  # the fixture, shared with the status pages' tests


def attempts(db: Session) -> int:
    return int(db.scalar(select(func.count(PaymentAttempt.id))) or 0)


def test_a_crafted_card_payment_for_an_announced_item_is_refused(
    client: FlaskClient, db: Session, debtor: Any
) -> None:
    m, _person, _mandate, _notice, first = debtor
    response = post_form(client, f"/{m.slug}/bezahlen", {"claim": [str(first.claim_id)]})
    assert response.status_code == 409
    text = html.unescape(response.get_data(as_text=True))
    assert f"wird am {first.collection_date:%d.%m.%Y} per Lastschrift eingezogen" in text
    assert attempts(db) == 0


def test_the_notice_link_offers_no_card_payment_for_announced_items(
    client: FlaskClient, db: Session, debtor: Any
) -> None:
    m, _person, _mandate, notice, _first = debtor
    anyone = client.application.test_client()
    settings = NoticeSettings(secret="test-secret", public_base_url="x")
    url = f"/{m.slug}/zahlung/{link_token(settings, notice)}"
    page = anyone.get(url).get_data(as_text=True)
    assert "jetzt online bezahlen" not in page
    token = csrf_token(anyone, f"/{m.slug}/anmelden")  # the page has no form left to take it from
    response = anyone.post(f"{url}/bezahlen", data={"csrf_token": token})
    assert response.status_code == 409
    assert "per Lastschrift eingezogen" in html.unescape(response.get_data(as_text=True))
    assert attempts(db) == 0
