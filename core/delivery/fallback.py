"""Postal fallback: the notices of persons without consent, and those not downloaded by the
municipality's deadline (statute data, core.delivery.rules), into one print batch for the print
service — the notices' PDFs concatenated (their address already sits in the DIN 5008 window)
and a manifest (letter id, pages, recipient, postage class) as CSV and JSON. Each letter is then
posted: the postal deemed-delivery date runs (§ 122 (2) Nr. 1 AO). A rerun posts nothing twice:
a posted delivery leaves the selection in the same transaction that writes the batch.
Letters delivered as notices are (LETTER_KINDS: an objection decision) go into the same batch
with their archived PDF, which has the address in the same window.

The batch is dated the day it is handed to the print service (``as_of``): that is the posting
day the deemed-delivery date counts from.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import pypdfium2 as pdfium
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from core.delivery.dates import deemed_postal
from core.delivery.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Dispatch,
    DispatchStatus,
    PrintBatch,
    Route,
)
from core.delivery.rules import rules_on
from core.delivery.service import BERLIN
from core.kernel import archive, audit
from core.kernel.errors import IllegalTransition, NotFound, ValidationError
from core.notices.records import Notice, NoticeSettings, ensure_document, recipient_block
from core.persons.models import Person
from core.tenancy.municipalities import Municipality


def due_for_post(
    session: Session,
    municipality: Municipality,
    as_of: date,
    only: Sequence[int] | None = None,
) -> list[int]:
    """Ids of the deliveries to post on ``as_of`` (of ``only``, when given): waiting for the
    post (no consent, failed notification), or notified before the deadline began and never
    downloaded."""
    rules = rules_on(session, municipality.id, as_of)
    # notified on a German day d is overdue when d + deadline < as_of: before this instant
    cutoff_day = as_of - timedelta(days=rules.download_deadline_days)
    cutoff = datetime.combine(cutoff_day, time.min, tzinfo=BERLIN)
    # the notice's document, or the letter's (a notice not yet rendered: never downloaded)
    downloaded = exists().where(
        archive.DocumentDownload.document_id
        == func.coalesce(Notice.document_id, Delivery.document_id),
    )
    stmt = (
        select(Delivery.id)
        .outerjoin(Notice, Notice.id == Delivery.notice_id)
        .where(
            Delivery.municipality_id == municipality.id,
            or_(
                Delivery.status == DeliveryStatus.AWAITING_POST,
                and_(
                    Delivery.status == DeliveryStatus.NOTIFIED,
                    Delivery.notified_at < cutoff,
                    ~downloaded,
                ),
            ),
        )
        .order_by(Delivery.id)
    )
    if only is not None:
        stmt = stmt.where(Delivery.id.in_(list(only)))
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Letter:
    letter_id: str
    notice_number: int | None  # None: a letter that is no notice (LETTER_KINDS)
    pages: int
    recipient: str
    postage_class: str


@dataclass(frozen=True)
class BatchResult:
    letters: list[Letter]
    batch: PrintBatch | None
    without_address: list[int] = field(default_factory=list)  # deliveries left waiting


def post_batch(
    session: Session,
    municipality: Municipality,
    delivery_ids: Sequence[int],
    *,
    as_of: date,
    settings: NoticeSettings,
    actor: str,
) -> BatchResult:
    """Print and post ``delivery_ids`` (those still due; others are skipped) as one batch."""
    due = set(due_for_post(session, municipality, as_of, delivery_ids))
    deliveries = [
        d
        for d in session.scalars(
            select(Delivery)
            .where(Delivery.id.in_(list(delivery_ids)), Delivery.municipality_id == municipality.id)
            .order_by(Delivery.id)
            .with_for_update()  # PostgreSQL: a second run at the same time waits, then skips
        )
        if d.id in due
    ]
    loaded = _load_rows(session, deliveries)  # kept: the per-letter gets below hit the session
    # A notice issued without a postal address cannot be posted: it waits for the clerk.
    without_address = [d.id for d in deliveries if not recipient_of(session, d)["lines"]]
    deliveries = [d for d in deliveries if d.id not in without_address]
    if not deliveries:
        return BatchResult([], None, without_address)
    rules = rules_on(session, municipality.id, as_of)
    pdf, letters = _concatenated(session, deliveries, rules.postage_class, settings, actor)
    batch = _archive_batch(session, municipality, as_of, pdf, letters, actor)
    deemed = deemed_postal(as_of, municipality.state)
    session.flush()  # the batch's id, and its own audit rows first: the letters' follow theirs
    rows = []
    for delivery in deliveries:
        before = {"status": delivery.status.value, "deemed_on": _iso(delivery.deemed_on)}
        delivery.route, delivery.status = Route.POSTAL, DeliveryStatus.POSTED
        delivery.posted_on, delivery.batch_id, delivery.deemed_on = as_of, batch.id, deemed
        rows.append(
            audit.Row(
                actor, "delivery.posted", Delivery.__tablename__, delivery.id, municipality.id,
                before=before, after={"batch_id": batch.id, "deemed_on": deemed.isoformat()},
            )
        )  # fmt: skip
    audit.record_all(session, rows)  # one INSERT; it flushes the letters' changes first
    del loaded
    return BatchResult(letters, batch, without_address)


def _load_rows(session: Session, deliveries: list[Delivery]) -> list[Any]:
    """The batch's notices, their archived documents (PDF bytes) and the letters' documents
    and persons, each kind in one query instead of one per letter."""
    notice_ids = [d.notice_id for d in deliveries if d.notice_id is not None]
    notices = list(session.scalars(select(Notice).where(Notice.id.in_(notice_ids))))
    document_ids = [n.document_id for n in notices if n.document_id is not None]
    document_ids += [d.document_id for d in deliveries if d.notice_id is None and d.document_id]
    person_ids = [d.person_id for d in deliveries if d.notice_id is None]
    documents = list(
        session.scalars(select(archive.Document).where(archive.Document.id.in_(document_ids)))
    )
    persons = list(session.scalars(select(Person).where(Person.id.in_(person_ids))))
    return [*notices, *documents, *persons]


def _concatenated(
    session: Session,
    deliveries: list[Delivery],
    postage_class: str,
    settings: NoticeSettings,
    actor: str,
) -> tuple[bytes, list[Letter]]:
    """The notices' PDFs (rendered and archived where missing) as one PDF, and the letters."""
    merged, letters = pdfium.PdfDocument.new(), []
    for delivery in deliveries:
        notice = session.get(Notice, delivery.notice_id) if delivery.notice_id else None
        document = (
            ensure_document(session, notice, settings, actor)
            if notice is not None
            else session.get_one(archive.Document, delivery.document_id)
        )
        source = pdfium.PdfDocument(document.content)
        merged.import_pages(source)
        recipient = recipient_of(session, delivery)
        letters.append(
            Letter(
                letter_id=f"L{delivery.id:08d}",
                notice_number=notice.number if notice is not None else None,
                pages=len(source),
                recipient=" / ".join([recipient["name"], *recipient["lines"]]),
                postage_class=postage_class,
            )
        )
        source.close()
    buffer = io.BytesIO()
    merged.save(buffer)
    merged.close()
    return buffer.getvalue(), letters


def recipient_of(session: Session, delivery: Delivery) -> dict[str, Any]:
    """Name and address lines as the letter prints them in its window: a notice's as issued, a
    letter's (LETTER_KINDS) as the person's address stood on the day it was written."""
    if delivery.notice_id is not None:
        recipient: dict[str, Any] = session.get_one(Notice, delivery.notice_id).data["recipient"]
        return recipient
    document = session.get_one(archive.Document, delivery.document_id)
    person = session.get_one(Person, delivery.person_id)
    return recipient_block(person, document.created_at.astimezone(BERLIN).date())


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _archive_batch(
    session: Session,
    municipality: Municipality,
    as_of: date,
    pdf: bytes,
    letters: list[Letter],
    actor: str,
) -> PrintBatch:
    stem = f"Druck-{municipality.slug}-{as_of:%Y%m%d}-{letters[0].letter_id}"
    manifest_json, manifest_csv = _manifests(municipality, as_of, letters)

    def stored(name: str, content: bytes, media_type: str) -> archive.Document:
        return archive.store(
            session,
            municipality_id=municipality.id,
            person_id=None,
            kind="print_batch",
            filename=name,
            content=content,
            actor=actor,
            media_type=media_type,
        )

    batch = PrintBatch(
        municipality_id=municipality.id,
        posted_on=as_of,
        letters=len(letters),
        pages=sum(letter.pages for letter in letters),
        pdf_document_id=stored(f"{stem}.pdf", pdf, "application/pdf").id,
        manifest_document_id=stored(f"{stem}.json", manifest_json, "application/json").id,
        csv_document_id=stored(f"{stem}.csv", manifest_csv, "text/csv").id,
        actor=actor,
    )
    session.add(batch)
    session.flush()
    session.add(
        Dispatch(
            municipality_id=municipality.id,
            batch_id=batch.id,
            channel=Channel.PRINT,
            recipient="Druckdienstleister",
            subject=f"Druckauftrag {stem}",
            body=f"{len(letters)} Briefe, {batch.pages} Seiten",
            status=DispatchStatus.PENDING,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="delivery.print_batch",
        obj=batch,
        municipality_id=municipality.id,
        after={"letters": batch.letters, "pages": batch.pages},
    )
    return batch


def _manifests(
    municipality: Municipality, as_of: date, letters: list[Letter]
) -> tuple[bytes, bytes]:
    """The batch's manifest as JSON and as CSV (semicolons, as German print services read it)."""
    rows = [letter.__dict__ for letter in letters]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), delimiter=";")
    writer.writeheader()
    writer.writerows(rows)
    manifest = {"municipality": municipality.slug, "posted_on": as_of.isoformat(), "letters": rows}
    return json.dumps(manifest, ensure_ascii=False, indent=1).encode(), text.getvalue().encode()


def record_return(
    session: Session,
    municipality: Municipality,
    delivery_id: int,
    *,
    returned_on: date,
    note: str,
    actor: str,
) -> Delivery:
    """A posted letter came back undeliverable: it was not delivered, the clocks stop (no
    deemed date) until it is sent again."""
    delivery = session.scalars(
        select(Delivery)
        .where(Delivery.id == delivery_id, Delivery.municipality_id == municipality.id)
        .with_for_update()
    ).first()
    if delivery is None:
        raise NotFound("Diese Zustellung wurde nicht gefunden.")
    if delivery.status is not DeliveryStatus.POSTED or delivery.posted_on is None:
        raise IllegalTransition("Nur ein per Post versandter Brief kann zurückkommen.")
    if returned_on < delivery.posted_on:
        raise ValidationError("Der Brief kann nicht vor dem Versand zurückgekommen sein.")
    before = {"deemed_on": _iso(delivery.deemed_on)}
    delivery.status, delivery.deemed_on = DeliveryStatus.RETURNED, None
    delivery.returned_on, delivery.returned_note = returned_on, (note.strip() or None)
    audit.record(
        session,
        actor=actor,
        action="delivery.returned",
        obj=delivery,
        municipality_id=municipality.id,
        before=before,
        after={"returned_on": returned_on.isoformat(), "note": delivery.returned_note},
    )
    session.flush()
    return delivery
