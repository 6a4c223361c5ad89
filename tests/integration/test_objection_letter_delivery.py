"""The letter of an objection decision (Abhilfe-/Widerspruchsbescheid) is delivered the notices'
way (core.delivery, LETTER_KINDS), on SQLite and PostgreSQL: with consent a notification through
a real SMTP server on loopback and the deemed date on the 4th day moved past the weekend (§ 122a
(4), § 108 (3) AO), the one-month suit period from it (§ 74 (1) VwGO); without consent, or not
fetched by the deadline, the postal fallback batch (§ 122 (2) AO) with the address in the
window; a fetched letter is not posted."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from typing import Any

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.delivery import consent
from core.delivery.adapters import EmailDispatcher, PostboxDispatcher
from core.delivery.fallback import due_for_post, post_batch
from core.delivery.models import Channel, Delivery, DeliveryStatus, Dispatch, Route
from core.delivery.service import make_available, send_due
from core.kernel import archive
from core.kernel.mail import SmtpSettings
from core.notices.records import NoticeSettings
from core.objections import decisions, letters, service
from core.objections.models import DecisionKind, ObjectionDecision
from tests.delivery_helpers import Inbox, issue_notice, smtp_server
from tests.pdf_layout import assert_in_address_window

SETTINGS = NoticeSettings(secret="s" * 32, public_base_url="https://portal.example")
PORTAL = "https://portal.example"
DAY = date(2026, 4, 20)  # Monday: the decision
TUESDAY = datetime(2026, 4, 21, 8, 0, tzinfo=UTC)  # 10:00 in Berlin


def _decided(
    db: Session,
    make: Any,
    kind: DecisionKind,
    *,
    email: str | None = None,
    postbox: bool = False,
    **person: Any,
) -> tuple[Any, ObjectionDecision]:
    m = make.municipality(state="BY")
    make.dog_tax_statute(m, objection=True)
    citizen = make.person(m, **person)
    if email is not None:
        consent.give(db, citizen, channel=Channel.EMAIL, address=email, how="Bürgerportal",
                     actor="t")  # fmt: skip
    if postbox:
        consent.give(db, citizen, channel=Channel.POSTBOX, address=None, how="Bürgerportal",
                     actor="t")  # fmt: skip
    notice = issue_notice(db, m, citizen)
    objection = service.lodge(
        db, municipality=m, person=citizen, notice=notice, reasons="Zu hoch.", suspension=False,
        actor="citizen", now=datetime(2026, 4, 1, 10, tzinfo=UTC),
    )  # fmt: skip
    decision = decisions.decide(
        db, objection, kind=kind, reasons="Die Satzung ist anzuwenden.", day=DAY, actor="user:1"
    )
    return m, decision


def _letter_delivery(db: Session, decision: ObjectionDecision) -> Delivery:
    return db.scalars(select(Delivery).where(Delivery.document_id == decision.document_id)).one()


def test_with_consent_the_widerspruchsbescheid_is_notified_and_deemed_after_the_weekend(
    db: Session, make: Any
) -> None:
    m, decision = _decided(db, make, DecisionKind.REJECTED, email="erika@test.example")
    assert letters.delivery_of(db, decision).delivery is None  # until made available
    # the notice and the letter: both electronic, one pipeline
    assert make_available(db, m, now=TUESDAY, portal_url=PORTAL, actor="t") == {
        "electronic": 2,
        "postal": 0,
    }
    assert make_available(db, m, now=TUESDAY, portal_url=PORTAL, actor="t")["electronic"] == 0
    delivery = _letter_delivery(db, decision)
    assert (delivery.route, delivery.status) == (Route.ELECTRONIC, DeliveryStatus.AVAILABLE)
    assert delivery.notice_id is None and delivery.person_id == decision_person(db, decision)
    assert db.scalars(select(Dispatch).where(Dispatch.delivery_id == delivery.id)).one()

    inbox = Inbox()
    with smtp_server(inbox) as port:
        dispatchers = {
            Channel.EMAIL: EmailDispatcher(
                SmtpSettings(host="127.0.0.1", port=port, sender="kasse@test.example")
            )
        }
        assert send_due(db, dispatchers, now=TUESDAY, actor="t")["sent"] == 2
    texts = [
        message_from_bytes(envelope.content, policy=default).get_content()  # type: ignore[attr-defined]
        for envelope in inbox.messages
    ]
    [text] = [t for t in texts if "Widerspruch" in t]
    assert "Entscheidung über Ihren Widerspruch" in text
    assert f"Widerspruchsbescheid-Widerspruch-{decision.objection_id}.pdf" in text
    assert f"{PORTAL}/{m.slug}/bescheide" in text
    assert delivery.status is DeliveryStatus.NOTIFIED
    # sent Tuesday 21.4.2026: + 4 = Saturday 25.4. → Monday 27.4.
    assert delivery.deemed_on == date(2026, 4, 27)
    shown = letters.delivery_of(db, decision)
    assert shown.deemed_on == date(2026, 4, 27)
    assert shown.suit_until == date(2026, 5, 27)  # one month after the Bekanntgabe
    assert shown.status_label == "elektronisch bekanntgegeben"


def decision_person(db: Session, decision: ObjectionDecision) -> int | None:
    return db.get_one(archive.Document, decision.document_id).person_id


def test_a_suit_period_ending_on_a_holiday_moves_to_the_next_working_day(
    db: Session, make: Any
) -> None:
    m, decision = _decided(db, make, DecisionKind.REJECTED, postbox=True)
    sent = datetime(2026, 4, 30, 8, 0, tzinfo=UTC)  # Thursday: + 4 = Monday 4.5.2026
    make_available(db, m, now=sent, portal_url=PORTAL, actor="t")
    send_due(db, {Channel.POSTBOX: PostboxDispatcher()}, now=sent, actor="t")
    assert _letter_delivery(db, decision).deemed_on == date(2026, 5, 4)
    # 4.6.2026 is Corpus Christi (Fronleichnam), a holiday in Bavaria → Friday 5.6.
    assert letters.delivery_of(db, decision).suit_until == date(2026, 6, 5)


def test_an_abhilfe_in_full_has_a_deemed_date_but_no_suit_period(db: Session, make: Any) -> None:
    m = make.municipality(state="BY")
    make.dog_tax_statute(m, objection=True)
    citizen = make.person(m)
    consent.give(db, citizen, channel=Channel.POSTBOX, address=None, how="x", actor="t")
    notice = issue_notice(db, m, citizen)  # no suspension, nothing paid: decided at once
    objection = service.lodge(
        db, municipality=m, person=citizen, notice=notice, reasons="Zu hoch.", suspension=False,
        actor="citizen", now=datetime(2026, 4, 1, 10, tzinfo=UTC),
    )  # fmt: skip
    decision = decisions.decide(
        db, objection, kind=DecisionKind.GRANTED_FULL, after_cents=0, reasons="Abgemeldet.",
        day=DAY, actor="user:1",
    )  # fmt: skip
    make_available(db, m, now=TUESDAY, portal_url=PORTAL, actor="t")
    send_due(db, {Channel.POSTBOX: PostboxDispatcher()}, now=TUESDAY, actor="t")
    shown = letters.delivery_of(db, decision)
    assert shown.deemed_on == date(2026, 4, 27) and shown.suit_until is None


def test_without_consent_the_letter_goes_into_the_postal_fallback_batch(
    db: Session, make: Any
) -> None:
    m, decision = _decided(db, make, DecisionKind.REJECTED, family_name="Papierfreund")
    assert make_available(db, m, now=TUESDAY, portal_url=PORTAL, actor="t") == {
        "electronic": 0,
        "postal": 2,
    }
    delivery = _letter_delivery(db, decision)
    assert delivery.status is DeliveryStatus.AWAITING_POST
    assert db.scalars(select(Dispatch).where(Dispatch.delivery_id == delivery.id)).all() == []
    assert letters.delivery_of(db, decision).deemed_on is None

    as_of = date(2026, 4, 22)  # Wednesday: + 4 = Sunday 26.4. → Monday 27.4.
    due = due_for_post(db, m, as_of)
    assert delivery.id in due and len(due) == 2
    result = post_batch(db, m, due, as_of=as_of, settings=SETTINGS, actor="t")
    assert result.batch is not None and len(result.letters) == 2
    assert post_batch(db, m, due, as_of=as_of, settings=SETTINGS, actor="t").letters == []
    assert (delivery.status, delivery.posted_on) == (DeliveryStatus.POSTED, as_of)
    assert delivery.deemed_on == date(2026, 4, 27)
    assert letters.delivery_of(db, decision).suit_until == date(2026, 5, 27)

    manifest = json.loads(db.get_one(archive.Document, result.batch.manifest_document_id).content)
    [row] = [r for r in manifest["letters"] if r["letter_id"] == f"L{delivery.id:08d}"]
    assert row["notice_number"] is None and "Papierfreund" in row["recipient"]
    # the letter's own PDF, its first page with the address in the DIN 5008 window
    letter = db.get_one(archive.Document, decision.document_id).content
    batch_pdf = db.get_one(archive.Document, result.batch.pdf_document_id).content
    index = [r["letter_id"] for r in manifest["letters"]].index(row["letter_id"])
    start = sum(r["pages"] for r in manifest["letters"][:index])
    assert_in_address_window(_page(batch_pdf, start), row["recipient"].split(" / ")[0])
    assert row["pages"] == len(pdfium.PdfDocument(letter))


def _page(pdf: bytes, index: int) -> bytes:
    source, single = pdfium.PdfDocument(pdf), pdfium.PdfDocument.new()
    single.import_pages(source, [index])
    buffer = io.BytesIO()
    single.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("fetched", [True, False])
def test_a_notified_letter_not_fetched_by_the_deadline_is_posted(
    db: Session, make: Any, fetched: bool
) -> None:
    m, decision = _decided(db, make, DecisionKind.REJECTED, postbox=True)
    make_available(db, m, now=TUESDAY, portal_url=PORTAL, actor="t")
    send_due(db, {Channel.POSTBOX: PostboxDispatcher()}, now=TUESDAY, actor="t")
    delivery = _letter_delivery(db, decision)
    if fetched:
        document = archive.get_document(db, m.id, decision.document_id or 0)
        archive.record_download(db, document, user_id=None, actor="citizen")
    late = (TUESDAY + timedelta(days=30)).date()  # well past the default 10-day deadline
    assert (delivery.id in due_for_post(db, m, late)) is not fetched
