"""Making notices available and notifying (§ 122a AO): one delivery record per notice, a
notification in the outbox for a consenting person, the deemed date once it was sent.

This is the one place delivery hooks into notice issuing: :func:`make_available` takes every
notice of the municipality that has no delivery record yet (however it was issued: one by one,
an annual run's bulk insert, a fee notice), so core.notices needs to know nothing of delivery.
It runs before each sending of the outbox (``openkasse delivery send``, the delivery jobs).

Letters that are no notices of a levy but are delivered as notices are (an objection decision:
Abhilfe- or Widerspruchsbescheid, core.objections.letters) take the same path: every archived
document of a person of a kind in :data:`LETTER_KINDS` without a delivery record gets one, with
the same consent lookup, notification, deemed date, fallback and return.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.delivery.adapters import Bounced, Dispatcher, DispatchError
from core.delivery.consent import in_force, in_force_for
from core.delivery.dates import deemed_electronic
from core.delivery.models import (
    LETTER_KINDS,
    Channel,
    Delivery,
    DeliveryConsent,
    DeliveryStatus,
    Dispatch,
    DispatchStatus,
    PrintBatch,
    Route,
)
from core.delivery.rules import DeliveryRules, rules_on
from core.kernel import archive, audit
from core.notices.records import Notice
from core.tenancy.municipalities import Municipality

BERLIN = ZoneInfo("Europe/Berlin")
CHUNK = 500  # notices made available per query (and per consent lookup)


def local_day(moment: datetime) -> date:
    """The German calendar day of an instant (dates of the procedure are local dates)."""
    return moment.astimezone(BERLIN).date()


def make_available(
    session: Session, municipality: Municipality, *, now: datetime, portal_url: str, actor: str
) -> dict[str, int]:
    """Give every new notice of ``municipality`` its delivery record: in the postbox with a
    notification queued where the person consented, else waiting for the post."""
    counts = {"electronic": 0, "postal": 0}
    stmt = (
        select(Notice)
        .where(
            Notice.municipality_id == municipality.id,
            ~exists().where(Delivery.notice_id == Notice.id),
        )
        .order_by(Notice.id)
        .limit(CHUNK)
    )
    applies_from = rules_on(session, municipality.id, local_day(now)).applies_from
    if applies_from is not None:
        stmt = stmt.where(Notice.issued_on >= applies_from)
    while True:
        new = list(session.scalars(stmt))
        if not new:
            break
        consents = in_force_for(session, municipality.id, [n.person_id for n in new])
        for notice in new:
            consent = consents.get(notice.person_id)
            _deliver(
                session, municipality, notice.person_id, consent, now=now, actor=actor,
                notice=notice, subject=f"Neuer Bescheid der {municipality.cash_office_name}",
                body=notification_text(municipality, notice, portal_url),
            )  # fmt: skip
            counts["electronic" if consent else "postal"] += 1
        session.flush()
    _letters_available(session, municipality, applies_from, now, portal_url, actor, counts)
    return counts


def _letters_available(
    session: Session,
    municipality: Municipality,
    applies_from: date | None,
    now: datetime,
    portal_url: str,
    actor: str,
    counts: dict[str, int],
) -> None:
    """The letters of :data:`LETTER_KINDS` without a delivery record, as the notices above."""
    Document = archive.Document
    stmt = (
        select(Document)
        .where(
            Document.municipality_id == municipality.id,
            Document.kind.in_(list(LETTER_KINDS)),
            Document.person_id.is_not(None),
            ~exists().where(Delivery.document_id == Document.id),
        )
        .order_by(Document.id)
        .limit(CHUNK)
    )
    if applies_from is not None:
        stmt = stmt.where(Document.created_at >= datetime.combine(applies_from, time.min, BERLIN))
    while new := list(session.scalars(stmt)):
        person_ids = [cast(int, d.person_id) for d in new]  # selected with a person
        consents = in_force_for(session, municipality.id, person_ids)
        for document, person_id in zip(new, person_ids, strict=True):
            consent = consents.get(person_id)
            _deliver(
                session, municipality, person_id, consent, now=now, actor=actor,
                document=document, subject=f"Neues Schreiben der {municipality.cash_office_name}",
                body=letter_notification_text(municipality, document, portal_url),
            )  # fmt: skip
            counts["electronic" if consent else "postal"] += 1
        session.flush()


def _deliver(
    session: Session,
    municipality: Municipality,
    person_id: int,
    consent: DeliveryConsent | None,
    *,
    now: datetime,
    actor: str,
    subject: str,
    body: str,
    notice: Notice | None = None,
    document: archive.Document | None = None,
) -> None:
    """One delivery record, of a notice or of a letter, and its notification where consented."""
    delivery = Delivery(
        municipality_id=municipality.id,
        notice_id=notice.id if notice else None,
        document_id=document.id if document else None,
        person_id=person_id,
        route=Route.ELECTRONIC if consent else Route.POSTAL,
        status=DeliveryStatus.AVAILABLE if consent else DeliveryStatus.AWAITING_POST,
        consent_id=consent.id if consent else None,
        made_available_at=now if consent else None,
    )
    session.add(delivery)
    session.flush()
    if consent is not None and consent.channel is not None:
        session.add(
            Dispatch(
                municipality_id=municipality.id,
                delivery_id=delivery.id,
                channel=consent.channel,
                recipient=consent.address or f"Bürgerkonto (Person {person_id})",
                subject=subject[:200],
                body=body,
                status=DispatchStatus.PENDING,
                next_attempt_at=now,
            )
        )
    audit.record(
        session,
        actor=actor,
        action="delivery.made_available" if consent else "delivery.awaiting_post",
        obj=delivery,
        municipality_id=municipality.id,
        after={"notice_id": delivery.notice_id, "document_id": delivery.document_id,
               "route": delivery.route.value},
    )  # fmt: skip


def notification_text(municipality: Municipality, notice: Notice, portal_url: str) -> str:
    link = f"{portal_url.rstrip('/')}/{municipality.slug}/bescheide"
    return (
        "Guten Tag,\n\n"
        f"in Ihrem Bürgerkonto liegt ein neuer Bescheid der {municipality.cash_office_name} "
        f"für Sie bereit:\n\n{notice.title} (Bescheid-Nr. {notice.number})\n\n"
        f"Sie können ihn hier abrufen: {link}\n\n"
        "Der Bescheid gilt am vierten Tag nach dem Absenden dieser Nachricht als bekannt "
        "gegeben; fällt dieser Tag auf einen Samstag, Sonntag oder Feiertag, am nächsten "
        "Werktag (§ 122a Abs. 4, § 108 Abs. 3 Abgabenordnung). Der Bescheid selbst ist dieser "
        "E-Mail nicht beigefügt.\n\n"
        "Sie können die elektronische Bekanntgabe in Ihrem Konto jederzeit widerrufen.\n\n"
        f"Mit freundlichen Grüßen\n{municipality.cash_office_name}\n"
    )


def letter_notification_text(
    municipality: Municipality, document: archive.Document, portal_url: str
) -> str:
    link = f"{portal_url.rstrip('/')}/{municipality.slug}/bescheide"
    return (
        "Guten Tag,\n\n"
        f"in Ihrem Bürgerkonto liegt ein neues Schreiben der {municipality.cash_office_name} "
        f"für Sie bereit:\n\n{LETTER_KINDS[document.kind]} ({document.filename})\n\n"
        f"Sie finden es bei dem Bescheid, den es betrifft: {link}\n\n"
        "Das Schreiben gilt am vierten Tag nach dem Absenden dieser Nachricht als bekannt "
        "gegeben; fällt dieser Tag auf einen Samstag, Sonntag oder Feiertag, am nächsten "
        "Werktag (§ 122a Abs. 4, § 108 Abs. 3 Abgabenordnung). Es ist dieser E-Mail nicht "
        "beigefügt.\n\n"
        f"Mit freundlichen Grüßen\n{municipality.cash_office_name}\n"
    )


def send_due(
    session: Session,
    dispatchers: Mapping[Channel, Dispatcher],
    *,
    now: datetime,
    actor: str,
    municipality_id: int | None = None,
    limit: int = 500,
) -> dict[str, int]:
    """Hand every due outbox message to its channel's adapter; a channel without an adapter
    (e.g. no SMTP server configured) keeps its messages waiting. Counts by outcome."""
    stmt = (
        select(Dispatch)
        .where(
            Dispatch.status == DispatchStatus.PENDING,
            Dispatch.next_attempt_at <= now,
            Dispatch.channel.in_(list(dispatchers)),
        )
        .order_by(Dispatch.next_attempt_at, Dispatch.id)
        .limit(limit)
    )
    if municipality_id is not None:
        stmt = stmt.where(Dispatch.municipality_id == municipality_id)
    counts = {"sent": 0, "retry": 0, "bounced": 0, "failed": 0}
    rules: dict[int, DeliveryRules] = {}  # per municipality, read once
    for dispatch in session.scalars(stmt).all():
        if dispatch.municipality_id not in rules:
            rules[dispatch.municipality_id] = rules_on(
                session, dispatch.municipality_id, local_day(now)
            )
        outcome = _attempt(
            session,
            dispatch,
            dispatchers[dispatch.channel],
            rules[dispatch.municipality_id],
            now=now,
            actor=actor,
        )
        counts[outcome] += 1
    session.flush()
    return counts


def _files(session: Session, dispatch: Dispatch) -> list[tuple[str, bytes]]:
    if dispatch.batch_id is None:
        return []
    batch = session.get_one(PrintBatch, dispatch.batch_id)
    documents = [
        session.get_one(archive.Document, document_id)
        for document_id in (
            batch.pdf_document_id,
            batch.manifest_document_id,
            batch.csv_document_id,
        )
    ]
    return [(d.filename, d.content) for d in documents]


def _attempt(
    session: Session,
    dispatch: Dispatch,
    adapter: Dispatcher,
    rules: DeliveryRules,
    *,
    now: datetime,
    actor: str,
) -> str:
    if _withdrawn_meanwhile(session, dispatch):
        dispatch.status = DispatchStatus.FAILED
        dispatch.last_error = "Einwilligung widerrufen: der Bescheid geht per Post."
        _by_post_instead(session, dispatch, actor)
        return "failed"
    dispatch.attempts += 1
    try:
        adapter.send(dispatch, _files(session, dispatch))
    except DispatchError as exc:
        dispatch.last_error = str(exc)[:500]
        if isinstance(exc, Bounced) or dispatch.attempts >= rules.max_attempts:
            dispatch.status = (
                DispatchStatus.BOUNCED if isinstance(exc, Bounced) else DispatchStatus.FAILED
            )
            _by_post_instead(session, dispatch, actor)
            return dispatch.status.value
        dispatch.next_attempt_at = now + rules.pause_after(dispatch.attempts)
        return "retry"
    dispatch.status, dispatch.sent_at, dispatch.last_error = DispatchStatus.SENT, now, None
    if dispatch.delivery_id is not None:
        _notified(session, session.get_one(Delivery, dispatch.delivery_id), dispatch, now, actor)
    return "sent"


def _withdrawn_meanwhile(session: Session, dispatch: Dispatch) -> bool:
    """A notification whose person withdrew consent after the notice was made available is not
    sent: without consent there is no electronic notification (§ 122a (1) AO)."""
    if dispatch.delivery_id is None:
        return False
    delivery = session.get_one(Delivery, dispatch.delivery_id)
    return (
        delivery.status is DeliveryStatus.AVAILABLE
        and in_force(session, delivery.person_id, delivery.municipality_id) is None
    )


def _notified(
    session: Session, delivery: Delivery, dispatch: Dispatch, now: datetime, actor: str
) -> None:
    if delivery.status is not DeliveryStatus.AVAILABLE or delivery.made_available_at is None:
        return  # withdrawn to the post meanwhile: the postal rules apply
    municipality = session.get_one(Municipality, delivery.municipality_id)
    delivery.status = DeliveryStatus.NOTIFIED
    delivery.notified_at, delivery.notified_to = now, dispatch.recipient
    delivery.deemed_on = deemed_electronic(
        local_day(delivery.made_available_at), local_day(now), municipality.state
    )
    audit.record(
        session,
        actor=actor,
        action="delivery.notified",
        obj=delivery,
        municipality_id=delivery.municipality_id,
        after={"to": dispatch.recipient, "deemed_on": delivery.deemed_on.isoformat()},
    )


def _by_post_instead(session: Session, dispatch: Dispatch, actor: str) -> None:
    if dispatch.delivery_id is None:
        return
    delivery = session.get_one(Delivery, dispatch.delivery_id)
    if delivery.status is not DeliveryStatus.AVAILABLE:
        return
    delivery.route, delivery.status = Route.POSTAL, DeliveryStatus.AWAITING_POST
    audit.record(
        session,
        actor=actor,
        action="delivery.notification_failed",
        obj=delivery,
        municipality_id=delivery.municipality_id,
        after={"error": dispatch.last_error, "status": dispatch.status.value},
    )


# --------------------------------------------------------------------------- what the pages show


def deliveries_by_notice(session: Session, notice_ids: list[int]) -> dict[int, Delivery]:
    if not notice_ids:
        return {}
    rows = session.scalars(select(Delivery).where(Delivery.notice_id.in_(notice_ids)))
    return {d.notice_id: d for d in rows if d.notice_id is not None}


def delivery_of_letter(session: Session, document_id: int | None) -> Delivery | None:
    """The delivery record of an archived letter (:data:`LETTER_KINDS`), None before it has one."""
    if document_id is None:
        return None
    return session.scalar(select(Delivery).where(Delivery.document_id == document_id))


def first_downloads(session: Session, notices: list[Notice]) -> dict[int, Any]:
    """Notice id → its first recorded download (evidence of arrival, § 122a AO)."""
    by_document = {n.document_id: n.id for n in notices if n.document_id is not None}
    first: dict[int, Any] = {}
    for download in archive.downloads_of(session, list(by_document)):
        first.setdefault(by_document[download.document_id], download)
    return first
