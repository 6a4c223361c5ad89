"""Widerspruch online through the Flask test client, on SQLite and PostgreSQL: CSRF, German
validation, the objection and its suspension block recorded, NRW's "Klage" instead of the form,
another person's notice "not found", and the clerk's list, detail and decision."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.delivery import consent
from core.delivery.adapters import PostboxDispatcher
from core.delivery.models import Channel
from core.delivery.service import make_available, send_due
from core.dunning.models import DunningBlock
from core.identity.models import Role
from core.objections.models import Objection, SuspensionDecision
from tests.conftest import csrf_token, login, post_form, staff_login
from tests.delivery_helpers import issue_notice

SENT = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)


def _citizen(db: Session, make: Any, client: FlaskClient, *, objection: bool = True) -> Any:
    m = make.municipality(state="NW")
    make.dog_tax_statute(m, objection=objection)
    user = make.user()
    person = make.person(m, user=user)
    consent.give(db, person, channel=Channel.POSTBOX, address=None, how="t", actor="t")
    notice = issue_notice(db, m, person)
    make_available(db, m, now=SENT, portal_url="http://localhost", actor="t")
    send_due(db, {Channel.POSTBOX: PostboxDispatcher()}, now=SENT, actor="t")
    db.commit()
    login(client, m.slug, user.email)
    return m, person, notice


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_objection_is_lodged_with_suspension(db: Session, make: Any, client: FlaskClient) -> None:
    m, _, notice = _citizen(db, make, client)
    listing = _text(client.get(f"/{m.slug}/bescheide"))
    url = f"/{m.slug}/bescheide/{notice.id}/widerspruch"
    assert url in listing
    page = _text(client.get(url))
    assert "Bekannt gegeben am 28.12.2026" in page
    assert "endet am <strong>28.01.2027</strong>" in page

    forged = client.post(url, data={"reasons": "Zu hoch."})
    assert forged.status_code == 400
    empty = post_form(client, url, {"reasons": "  "})
    assert empty.status_code == 200 and "Bitte begründen Sie Ihren Widerspruch." in _text(empty)
    fake = post_form(
        client, url,
        {"reasons": "Zu hoch.", "attachment": (BytesIO(b"MZ kein Bild"), "beleg.pdf")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert fake.status_code == 200 and "keine gültige PDF-" in _text(fake)
    assert db.scalars(select(Objection)).all() == []

    done = post_form(
        client, url,
        {"reasons": "Der Hund lebt nicht mehr.", "suspension": "y",
         "attachment": (BytesIO(b"%PDF-1.4 Beleg"), "beleg.pdf")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert done.status_code == 302
    objection = db.scalars(select(Objection)).one()
    assert objection.document_id is not None and objection.block_ids
    assert objection.suspension is SuspensionDecision.OPEN
    received = _text(client.get(done.headers["Location"]))
    assert "bis 28.01.2027" in received and "beantragt, noch nicht entschieden" in received


def test_nrw_levy_offers_the_suit_not_the_form(db: Session, make: Any, client: FlaskClient) -> None:
    m, _, notice = _citizen(db, make, client, objection=False)
    url = f"/{m.slug}/bescheide/{notice.id}/widerspruch"
    page = _text(client.get(url))
    assert "Klage beim Verwaltungsgericht" in page and "<textarea" not in page
    token = csrf_token(client, f"/{m.slug}/bescheide")
    client.post(url, data={"reasons": "Zu hoch.", "csrf_token": token})
    assert db.scalars(select(Objection)).all() == []


def test_another_persons_notice_is_not_found(db: Session, make: Any, client: FlaskClient) -> None:
    m, _, _ = _citizen(db, make, client)
    stranger = make.person(m)
    foreign = issue_notice(db, m, stranger)
    db.commit()
    assert client.get(f"/{m.slug}/bescheide/{foreign.id}/widerspruch").status_code == 404
    assert client.get(f"/{m.slug}/bescheide/999999/widerspruch").status_code == 404


@pytest.mark.parametrize("grant", [True, False])
def test_clerk_sees_and_decides_only_own_municipality(
    db: Session, make: Any, client: FlaskClient, grant: bool
) -> None:
    m, _, notice = _citizen(db, make, client)
    url = f"/{m.slug}/bescheide/{notice.id}/widerspruch"
    post_form(client, url, {"reasons": "Zu hoch.", "suspension": "y"})
    objection = db.scalars(select(Objection)).one()
    other = make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=m)
    foreign_clerk = make.user(role=Role.CLERK, municipality=other)
    db.commit()

    staff_login(client, foreign_clerk.email)
    assert "Zu hoch." not in _text(client.get("/backoffice/widersprueche"))
    assert client.get(f"/backoffice/widersprueche/{objection.id}").status_code == 404

    staff_login(client, clerk.email)
    detail = f"/backoffice/widersprueche/{objection.id}"
    assert detail in _text(client.get("/backoffice/widersprueche"))
    assert "Zu hoch." in _text(client.get(detail))
    forged = client.post(f"{detail}/aussetzung", data={"decision": "grant"})
    assert forged.status_code == 400
    token = csrf_token(client, detail)
    decided = client.post(
        f"{detail}/aussetzung",
        data={"decision": "grant" if grant else "refuse", "csrf_token": token},
    )
    assert decided.status_code == 302
    db.expire_all()
    objection = db.get(Objection, objection.id)
    assert objection is not None
    blocks = [db.get(DunningBlock, i) for i in objection.block_ids]
    if grant:
        assert objection.suspension is SuspensionDecision.GRANTED
        assert all(b is not None and b.ends_on is None for b in blocks)
    else:
        assert objection.suspension is SuspensionDecision.REFUSED
        assert all(b is not None and b.ends_on is not None for b in blocks)
