"""The decision on an objection through the Flask test client, on SQLite and PostgreSQL: a
clerk of another municipality gets "not found", a form without CSRF token is refused, German
messages for a missing decision, amount or reason; the Zurückweisung reaches the citizen's
objection page with the letter, whose download is recorded; an Abhilfe above the statute's
limit waits for an approver who is not the clerk who prepared it."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.delivery import consent
from core.delivery.adapters import PostboxDispatcher
from core.delivery.models import Channel
from core.delivery.service import make_available, send_due
from core.identity.models import Role
from core.kernel.archive import DocumentDownload
from core.objections import decisions
from core.objections.models import DecisionStatus, Objection, ObjectionDecision
from core.persons.models import Person
from tests.conftest import csrf_token, login, post_form, staff_login
from tests.delivery_helpers import issue_notice


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _post(client: FlaskClient, detail: str, action: str, data: dict[str, str]) -> Any:
    """Submit a form of the detail page (its token fetched from the page)."""
    return client.post(
        f"{detail}/{action}", data={"csrf_token": csrf_token(client, detail), **data}
    )


def _lodged(db: Session, make: Any, client: FlaskClient, **statute: Any) -> Any:
    m = make.municipality(state="BY")
    make.dog_tax_statute(m, objection=True, **statute)
    user = make.user()
    person = make.person(m, user=user)
    notice = issue_notice(db, m, person)
    db.commit()
    login(client, m.slug, user.email)
    post_form(
        client, f"/{m.slug}/bescheide/{notice.id}/widerspruch",
        {"reasons": "Zu hoch.", "suspension": "y"},
    )  # fmt: skip
    objection = db.scalars(select(Objection)).one()
    return m, user, notice, objection


def test_clerk_rejects_and_the_citizen_gets_the_letter(
    db: Session, make: Any, client: FlaskClient
) -> None:
    m, citizen, notice, objection = _lodged(db, make, client)
    clerk = make.user(role=Role.CLERK, municipality=m)
    foreign = make.user(role=Role.CLERK, municipality=make.municipality())
    db.commit()
    detail = f"/backoffice/widersprueche/{objection.id}"

    staff_login(client, foreign.email)
    assert client.get(detail).status_code == 404
    token = csrf_token(client, "/backoffice/widersprueche")
    refused = client.post(
        f"{detail}/entscheidung",
        data={"kind": "rejected", "reasons": "Nein.", "csrf_token": token},
    )
    assert refused.status_code == 404

    staff_login(client, clerk.email)
    page = _text(client.get(detail))
    assert "Entscheidung über den Widerspruch" in page and "Festgesetzt sind zurzeit" in page
    assert client.post(f"{detail}/entscheidung", data={"kind": "rejected"}).status_code == 400
    for data, message in [
        ({}, "Bitte wählen Sie eine Entscheidung."),
        ({"kind": "granted_partial", "reasons": "x"}, "Bitte geben Sie den neuen Betrag an."),
        ({"kind": "granted_partial", "amount": "zwölf", "reasons": "x"}, "Betrag wie 60,00"),
        ({"kind": "granted_full", "amount": "999.999,00", "reasons": "x"}, "kleiner sein"),
        ({"kind": "rejected", "reasons": "  "}, "Bitte begründen Sie die Entscheidung."),
    ]:
        answer = _post(client, detail, "entscheidung", data)
        assert answer.status_code == 422 and message in _text(answer), message
    assert db.scalars(select(ObjectionDecision)).all() == []

    done = _post(client, detail, "entscheidung",
        {"kind": "rejected", "reasons": "Die Satzung sieht keine Ermäßigung vor."},
    )  # fmt: skip
    assert done.status_code == 302
    assert "zurückgewiesen am" in _text(client.get(detail))
    assert "zurückgewiesen" in _text(client.get("/backoffice/widersprueche"))
    letter = client.get(
        f"/backoffice/dokumente/{db.scalars(select(ObjectionDecision)).one().document_id}"
    )
    assert letter.status_code == 200 and letter.data.startswith(b"%PDF")
    assert "Über den Widerspruch entscheiden" not in _text(client.get(detail))

    login(client, m.slug, citizen.email)
    received = _text(client.get(f"/{m.slug}/bescheide/{notice.id}/widerspruch/eingang"))
    assert "zurückgewiesen am" in received
    letter_url = f"/{m.slug}/bescheide/{notice.id}/widerspruch/{objection.id}/bescheid.pdf"
    assert f"{letter_url}" in received and "Widerspruchsbescheid herunterladen" in received
    pdf = client.get(letter_url)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    downloads = db.scalars(select(DocumentDownload).order_by(DocumentDownload.id)).all()
    assert [d.user_id for d in downloads] == [clerk.id, citizen.id]
    other = make.user()
    make.person(m, user=other)
    db.commit()
    login(client, m.slug, other.email)
    assert client.get(letter_url).status_code == 404


def test_both_pages_show_the_letters_deemed_delivery_and_the_suit_period(
    db: Session, make: Any, client: FlaskClient
) -> None:
    m, citizen, notice, objection = _lodged(db, make, client)
    person = db.get_one(Person, objection.person_id)
    consent.give(db, person, channel=Channel.POSTBOX, address=None, how="Bürgerportal", actor="t")
    clerk = make.user(role=Role.CLERK, municipality=m)
    db.commit()
    staff_login(client, clerk.email)
    detail = f"/backoffice/widersprueche/{objection.id}"
    _post(client, detail, "entscheidung", {"kind": "rejected", "reasons": "Satzungsgemäß."})
    page = _text(client.get(detail))
    assert "wird zugestellt" in page and "ein Monat ab der Bekanntgabe" in page

    sent = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)  # Tuesday: + 4 = Saturday → Monday 14.12.
    make_available(db, m, now=sent, portal_url="https://portal.example", actor="t")
    send_due(db, {Channel.POSTBOX: PostboxDispatcher()}, now=sent, actor="t")
    db.commit()
    page = _text(client.get(detail))
    assert "elektronisch bekanntgegeben, bekannt gegeben am 14.12.2026" in page
    assert "bis 14.01.2027" in page
    login(client, m.slug, citizen.email)
    received = _text(client.get(f"/{m.slug}/bescheide/{notice.id}/widerspruch/eingang"))
    assert "am 14.12.2026 (elektronisch bekanntgegeben)" in received
    assert "bis 14.01.2027 (ein Monat nach der Bekanntgabe, § 74 Abs. 1 VwGO)" in received


def test_abhilfe_above_the_limit_needs_another_approver(
    db: Session, make: Any, client: FlaskClient
) -> None:
    m, _, notice, objection = _lodged(db, make, client, objection_approval_above_euro=1)
    clerk = make.user(role=Role.CLERK, municipality=m)
    approver = make.user(role=Role.APPROVER, municipality=m)
    db.commit()
    detail = f"/backoffice/widersprueche/{objection.id}"
    staff_login(client, clerk.email)
    before = decisions.standing_cents(db, notice)
    prepared = _post(client, detail, "entscheidung",
        {"kind": "granted_partial", "amount": "10,00", "reasons": "Ermäßigung."},
    )  # fmt: skip
    assert prepared.status_code == 302
    page = _text(client.get(detail))
    assert "wartet auf Freigabe" in _text(client.get("/backoffice/widersprueche"))
    assert "Wartet auf Freigabe" in page and "freigeben muss eine andere Person" in page
    own = _post(client, detail, "freigabe", {"verdict": "approve"})
    assert own.status_code == 422 and "Rolle „Freigabe“" in _text(own)

    staff_login(client, approver.email)
    assert _post(client, detail, "freigabe", {}).status_code == 422
    approved = _post(client, detail, "freigabe", {"verdict": "approve"})
    assert approved.status_code == 302
    db.expire_all()
    decision = db.scalars(select(ObjectionDecision)).one()
    assert decision.status is DecisionStatus.FINAL
    assert (decision.before_cents, decision.after_cents) == (before, 1000)
    assert decisions.standing_cents(db, notice) == 1000
    assert "freigegeben von" in _text(client.get(detail))
