"""Making notices available and notifying (§ 122a AO): one delivery record per notice, a
notification in the outbox for a consenting person, the deemed date once it was sent.

This is the one place delivery hooks into notice issuing: :func:`make_available` takes every
notice of the municipality that has no delivery record yet (however it was issued: one by one,
an annual run's bulk insert, a fee notice), so core.notices needs to know nothing of delivery.
It runs before each sending of the outbox (``openkasse delivery send``, the delivery jobs).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.delivery.adapters import Bounced, Dispatcher, DispatchError
from core.delivery.consent import in_force, in_force_for
from core.delivery.dates import deemed_electronic
from core.delivery.models import (
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
            return counts
        consents = in_force_for(session, municipality.id, [n.person_id for n in new])
        for notice in new:
            consent = consents.get(notice.person_id)
            _deliver(session, municipality, notice, consent, now, portal_url, actor)
            counts["electronic" if consent else "postal"] += 1
        session.flush()


def _deliver(
    session: Session,
    municipality: Municipality,
    notice: Notice,
    consent: DeliveryConsent | None,
    now: datetime,
    portal_url: str,
    actor: str,
) -> None:
    delivery = Delivery(
        municipality_id=municipality.id,
        notice_id=notice.id,
        person_id=notice.person_id,
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
                recipient=consent.address or f"Bürgerkonto (Person {notice.person_id})",
                subject=f"Neuer Bescheid der {municipality.cash_office_name}"[:200],
                body=notification_text(municipality, notice, portal_url),
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
        after={"notice_id": notice.id, "route": delivery.route.value},
    )


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
    return {d.notice_id: d for d in rows}


def first_downloads(session: Session, notices: list[Notice]) -> dict[int, Any]:
    """Notice id → its first recorded download (evidence of arrival, § 122a AO)."""
    by_document = {n.document_id: n.id for n in notices if n.document_id is not None}
    first: dict[int, Any] = {}
    for download in archive.downloads_of(session, list(by_document)):
        first.setdefault(by_document[download.document_id], download)
    return first
