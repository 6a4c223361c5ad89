"""Notices (Bescheide): the record of an assessment as issued, and its PDF in the archive.

``data`` is a snapshot of everything printed (computation lines, instalments, recipient), so a
notice can be reprinted exactly as issued even after the statute or the address changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.instrumentation import manager_of_class

from core.kernel import archive, audit, clock
from core.kernel.db import Base, UTCDateTime, get_scoped
from core.kernel.girocode import epc_payload
from core.kernel.references import make_rf
from core.kernel.tokens import make_token, read_token
from core.ledger.bulk import executemany
from core.notices.machine_readable import embedded_xml
from core.notices.rendering import RenderJob, pdf_of
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, next_number, reserve_ids


class Notice(Base):
    __tablename__ = "notice"
    __table_args__ = (
        UniqueConstraint("municipality_id", "number"),
        Index("ix_notice_person", "person_id", "issued_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    levy: Mapped[str] = mapped_column(String(30))
    year: Mapped[int]
    number: Mapped[int]  # Bescheidnummer, per municipality
    issued_on: Mapped[date]
    title: Mapped[str] = mapped_column(String(200))
    kassenzeichen: Mapped[str] = mapped_column(String(20))
    total_cents: Mapped[int]  # the year's tax as assessed by this notice
    previous_cents: Mapped[int]  # as assessed before (0 for a first notice)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)

    @property
    def difference_cents(self) -> int:
        return self.total_cents - self.previous_cents


def get_notice(session: Session, municipality_id: int, notice_id: int) -> Notice:
    return get_scoped(
        session,
        Notice,
        municipality_id,
        notice_id,
        not_found="Dieser Bescheid wurde nicht gefunden.",
    )


def notices_of(session: Session, person_id: int, municipality_id: int) -> list[Notice]:
    return list(
        session.scalars(
            select(Notice)
            .where(Notice.person_id == person_id, Notice.municipality_id == municipality_id)
            .order_by(Notice.issued_on.desc(), Notice.id.desc())
        )
    )


# --------------------------------------------------------------------------- issue and render


@dataclass(frozen=True)
class NoticeSettings:
    """What the edge passes in for notices: the secret for signed links and the public URL."""

    secret: str
    public_base_url: str
    link_max_age: timedelta = timedelta(days=3 * 366)


LINK_PURPOSE = "notice"


def new_notice(
    session: Session,
    *,
    municipality: Municipality,
    person: Person,
    levy: str,
    year: int,
    issued_on: date,
    title: str,
    kassenzeichen: str,
    total_cents: int,
    previous_cents: int,
    data: dict[str, Any],
    actor: str,
    number: int | None = None,
) -> Notice:
    """Record a notice as issued; ``data`` is its complete snapshot (a notice that pre-notifies
    a direct debit carries the mandate facts and collection days the levy put in). ``number``:
    one a run reserved in its block (:func:`core.tenancy.municipalities.reserve_numbers`)."""
    notice = Notice(
        municipality_id=municipality.id,
        person_id=person.id,
        levy=levy,
        year=year,
        number=number if number is not None else next_number(session, municipality.id, "notice"),
        issued_on=issued_on,
        title=title,
        kassenzeichen=kassenzeichen,
        total_cents=total_cents,
        previous_cents=previous_cents,
        data=data,
    )
    session.add(notice)
    session.flush()
    audit.record(session, **_issued(notice, actor))
    return notice


def _issued(notice: Notice, actor: str) -> dict[str, Any]:
    """The audit row of an issued notice."""
    return {
        "actor": actor,
        "action": "notice.issued",
        "obj": notice,
        "municipality_id": notice.municipality_id,
        "after": {
            "number": notice.number,
            "total_cents": notice.total_cents,
            "previous_cents": notice.previous_cents,
        },
    }


def issue_notices(session: Session, rows: list[dict[str, Any]], *, actor: str) -> list[Notice]:
    """Record notices as issued, given as plain rows of the notice table (every column but
    ``id``, ``created_at`` and ``document_id``; numbered from a reserved block): one executemany
    for the notices, one for their audit rows ``notice.issued`` (as new_notice writes them).
    Returns them as Notice objects outside the session."""
    now = clock.now()  # one instant for the chunk (one transaction)
    ids = reserve_ids(session, Notice, len(rows))
    for row, notice_id in zip(rows, ids, strict=True):
        row.update(id=notice_id, created_at=now, document_id=None)
    connection = session.connection()
    executemany(connection, Notice.metadata.tables[Notice.__tablename__], rows)
    audit.record_all(
        session,
        [
            audit.Row(
                actor,
                "notice.issued",
                Notice.__tablename__,
                row["id"],
                row["municipality_id"],
                after={
                    "number": row["number"],
                    "total_cents": row["total_cents"],
                    "previous_cents": row["previous_cents"],
                },
            )
            for row in rows
        ],
        occurred_at=now,
    )
    return [_detached(row) for row in rows]


def _detached(row: dict[str, Any]) -> Notice:
    """A Notice outside any session from its row, its values set as the ORM sets those of a
    loaded row (no attribute events: a tenth of the cost of the constructor, per notice)."""
    notice: Notice = manager_of_class(Notice).new_instance()
    notice.__dict__.update(row)
    return notice


SCHEDULES = ("instalments", "advances")  # the payment tables of a notice's snapshot
# Header of the rate column for snapshots that do not name it (notices issued before it did)
RATE_LABELS = {"dog_tax": "Jahressteuer", "waste_fee": "Jahresgebühr", "water_fee": "Bemessung"}


def replace_payment_rows(notice: Notice, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Put the payment tables as they stand after the notice's booking into its snapshot
    (before its PDF is made)."""
    notice.data = {**notice.data, **tables}


class PostalAddress(Protocol):
    """What a notice prints of an address (an Address row, or a run's plain copy of one)."""

    @property
    def street(self) -> str: ...
    @property
    def house_number(self) -> str: ...
    @property
    def postal_code(self) -> str: ...
    @property
    def city(self) -> str: ...


class Recipient(Protocol):
    """What a notice prints of its recipient (a Person, or a run's plain copy of one)."""

    @property
    def display_name(self) -> str: ...
    def address_on(self, day: date) -> PostalAddress | None: ...


def recipient_block(person: Recipient, on: date) -> dict[str, Any]:
    address = person.address_on(on)
    lines = (
        [f"{address.street} {address.house_number}", f"{address.postal_code} {address.city}"]
        if address
        else []
    )
    return {"name": person.display_name, "lines": lines}


def link_token(settings: NoticeSettings, notice: Notice) -> str:
    """The signed link's token, dated when the notice was created (a real instant: the notice
    date at midnight would lie in the future for the first hours of a German day)."""
    return make_token(settings.secret, LINK_PURPOSE, notice.id, issued_at=notice.created_at)


def notice_from_token(
    session: Session, settings: NoticeSettings, municipality_id: int, token: str, *, now: datetime
) -> Notice:
    """The notice a signed link points to; a token of another municipality is not found."""
    notice_id = read_token(
        settings.secret, LINK_PURPOSE, token, now=now, max_age=settings.link_max_age
    )
    return get_notice(session, municipality_id, notice_id)


def public_url(settings: NoticeSettings, municipality: Municipality, notice: Notice) -> str:
    return (
        f"{settings.public_base_url.rstrip('/')}/{municipality.slug}/zahlung/"
        f"{link_token(settings, notice)}"
    )


def _schedules(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The notice's tables of due dates (instalments, collections), dates parsed back."""
    return [
        {
            "title": data.get(f"{table}_title") or "Fälligkeiten",
            "rows": [
                _dated(row, *(f for f in ("due_date", "collection_date") if f in row))
                for row in data[table]
            ],
        }
        for table in SCHEDULES
        if data.get(table)
    ]


def render_job(session: Session, notice: Notice, settings: NoticeSettings) -> RenderJob:
    """What the notice's PDF is made of, from its snapshot (so a reprint shows what was issued),
    as plain values a worker process can take: the template's context and the XML embedded in
    the PDF/A, written from that same context."""
    municipality = session.get_one(Municipality, notice.municipality_id)
    data = notice.data
    payable = int(data.get("payable_cents", 0))
    debit = data.get("direct_debit")
    epc = None
    if payable > 0 and debit is None:  # under a mandate nobody should transfer as well
        epc = epc_payload(
            name=municipality.cash_office_name,
            iban=municipality.iban,
            bic=municipality.bic,
            amount_cents=payable,
            rf_reference=make_rf(notice.kassenzeichen),
        )
    context = {
        "municipality": {c.key: getattr(municipality, c.key) for c in Municipality.__table__.c},
        "recipient": data["recipient"],
        "notice": {
            "title": notice.title,
            "number": notice.number,
            "issued_on": notice.issued_on,
            "person_number": data["person_number"],
            "kassenzeichen": notice.kassenzeichen,
            "rf": make_rf(notice.kassenzeichen),
            "legal_basis": data["legal_basis"],
            "remedy": data["remedy"],
            "intro": data["intro"],
        },
        "lines": [_dated(line, "period_start", "period_end") for line in data["lines"]],
        "rate_label": data.get("rate_label") or RATE_LABELS.get(notice.levy, "Jahresbetrag"),
        "previous_label": data.get("previous_label") or "Bisher festgesetzt",
        "schedules": _schedules(data),
        "overpaid_cents": int(data.get("overpaid_cents", 0)),
        "direct_debit": debit,
        "total_cents": notice.total_cents,
        "previous_cents": notice.previous_cents,
        "payable_cents": payable,
    }
    return RenderJob(
        notice_id=notice.id,
        # A fee notice (core.levies.fee_notices) names its own template; levies use notice.html.
        template=data.get("template", "notice.html"),
        context=context,
        epc_payload=epc,
        link_url=public_url(settings, municipality, notice),
        files=(
            embedded_xml(
                context,
                kind="bescheid",
                levy=notice.levy,
                year=notice.year,
                issued_on=notice.issued_on,
            ),
        ),
    )


def render(session: Session, notice: Notice, settings: NoticeSettings) -> bytes:
    """The notice as PDF, made in this process."""
    return pdf_of(render_job(session, notice, settings))


def _dated(row: dict[str, Any], *fields: str) -> dict[str, Any]:
    return {**row, **{f: date.fromisoformat(row[f]) for f in fields}}


def ensure_document(
    session: Session, notice: Notice, settings: NoticeSettings, actor: str
) -> archive.Document:
    """The archived PDF of a notice, rendered and stored (with its SHA-256) on first need."""
    if notice.document_id is not None:
        return session.get_one(archive.Document, notice.document_id)
    return archive_pdf(session, notice, render(session, notice, settings), actor)


def archive_pdf(session: Session, notice: Notice, content: bytes, actor: str) -> archive.Document:
    """Store a notice's PDF in the archive and point the notice at it (once: a notice that
    has its document keeps it)."""
    if notice.document_id is not None:
        raise ValueError(f"notice {notice.id} is archived already")
    document = archive.store(
        session,
        municipality_id=notice.municipality_id,
        person_id=notice.person_id,
        kind="notice",
        filename=f"Bescheid-{notice.number}.pdf",
        content=content,
        actor=actor,
    )
    notice.document_id = document.id
    session.flush()
    return document


def pending_documents(session: Session, municipality_id: int | None = None) -> list[int]:
    stmt = select(Notice.id).where(Notice.document_id.is_(None)).order_by(Notice.id)
    if municipality_id is not None:
        stmt = stmt.where(Notice.municipality_id == municipality_id)
    return list(session.scalars(stmt))
