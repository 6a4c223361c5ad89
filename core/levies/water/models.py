"""Water meters and their readings (Online-Zählerstandserfassung).

A reading is taken once per meter and period (a year): from the portal (QR code on the reading
card, no log-in), from a returned paper card typed in by a clerk, or estimated by the billing
run. The database keeps at most one *current* reading per meter and period (``current`` is
True, or NULL once a clerk re-opens it), so a second submission is refused even if two arrive
at the same moment.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import audit, clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.kernel.errors import NotFound, ValidationError
from core.kernel.mail import queue_email
from core.kernel.tokens import make_token, read_token
from core.levies.water.rules import Plausibility, check_reading


class ReadingSource(enum.StrEnum):
    PORTAL = "portal"
    CARD = "card"  # paper card typed in by a clerk
    ESTIMATE = "estimate"


class ReadingStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    NEEDS_REVIEW = "needs_review"  # implausible, confirmed by the citizen: a clerk looks at it
    SUPERSEDED = "superseded"  # re-opened by a clerk


class Meter(Base):
    __tablename__ = "water_meter"
    __table_args__ = (
        CheckConstraint("removed_on IS NULL OR removed_on >= installed_on", name="removed_after"),
        CheckConstraint("initial_reading >= 0", name="initial_not_negative"),
        Index("ix_water_meter_person", "person_id"),
        Index("ix_water_meter_number", "municipality_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    number: Mapped[str] = mapped_column(String(30))  # as printed on the meter
    size: Mapped[str] = mapped_column(String(20))  # e.g. "Q3 4" (statute's base-fee table)
    location: Mapped[str] = mapped_column(String(200))  # address of the connection
    installed_on: Mapped[date]
    removed_on: Mapped[date | None]
    initial_reading: Mapped[int] = mapped_column(default=0)  # m³ when installed
    replaces_meter_id: Mapped[int | None] = mapped_column(
        ForeignKey("water_meter.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class MeterReading(Base):
    __tablename__ = "meter_reading"
    __table_args__ = (
        CheckConstraint("value >= 0", name="value_not_negative"),
        CheckConstraint("current IS NULL OR current", name="current_true_or_null"),
        UniqueConstraint("meter_id", "period", "current"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    meter_id: Mapped[int] = mapped_column(ForeignKey("water_meter.id", ondelete="RESTRICT"))
    period: Mapped[int]  # billing year
    value: Mapped[int]  # m³
    read_on: Mapped[date]
    source: Mapped[ReadingSource] = mapped_column(enum_column(ReadingSource, "reading_source", 10))
    status: Mapped[ReadingStatus] = mapped_column(enum_column(ReadingStatus, "reading_status", 15))
    current: Mapped[bool | None] = mapped_column(default=True)
    issues: Mapped[list[str]] = mapped_column(JSON, default=list)
    photo_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("document.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    created_by: Mapped[str] = mapped_column(String(60))


# --------------------------------------------------------------------------- reading links

LINK_MAX_AGE = timedelta(days=400)


def link_purpose(period: int) -> str:
    return f"meter-reading-{period}"  # a card's link is bound to its meter and its period


def reading_token(secret: str, meter: Meter, period: int, *, issued_at: datetime) -> str:
    return make_token(secret, link_purpose(period), meter.id, issued_at=issued_at)


def meter_from_token(
    session: Session, secret: str, municipality_id: int, period: int, token: str, *, now: datetime
) -> Meter:
    meter_id = read_token(secret, link_purpose(period), token, now=now, max_age=LINK_MAX_AGE)
    return get_meter(session, municipality_id, meter_id)


def get_meter(session: Session, municipality_id: int, meter_id: int) -> Meter:
    meter = session.scalars(
        select(Meter).where(Meter.id == meter_id, Meter.municipality_id == municipality_id)
    ).first()
    if meter is None:
        raise NotFound("Dieser Zähler wurde nicht gefunden.")
    return meter


# --------------------------------------------------------------------------- readings


def current_reading(session: Session, meter_id: int, period: int) -> MeterReading | None:
    return session.scalars(
        select(MeterReading).where(
            MeterReading.meter_id == meter_id,
            MeterReading.period == period,
            MeterReading.current.is_(True),
        )
    ).first()


def previous_reading(session: Session, meter: Meter, period: int) -> int:
    """The reading the period starts from: last period's, or the meter's initial reading."""
    last = current_reading(session, meter.id, period - 1)
    return last.value if last is not None else meter.initial_reading


def last_consumption(session: Session, meter: Meter, period: int) -> int | None:
    last = current_reading(session, meter.id, period - 1)
    before = current_reading(session, meter.id, period - 2)
    if last is None:
        return None
    start = before.value if before is not None else meter.initial_reading
    return last.value - start if last.value >= start else None


class NeedsConfirmation(ValidationError):
    """An implausible reading: the citizen must confirm it (it then goes to a clerk)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__(" ".join(messages))
        self.messages = messages


class AlreadySubmitted(ValidationError):
    pass


def submit_reading(
    session: Session,
    *,
    meter: Meter,
    period: int,
    value: int,
    read_on: date,
    as_of: date,
    source: ReadingSource,
    band_percent: int,
    confirmed: bool,
    actor: str,
    photo_document_id: int | None = None,
) -> MeterReading:
    """Record a reading. Implausible → ``NeedsConfirmation`` unless confirmed; confirmed
    implausible readings wait for a clerk. A second reading for the period is refused."""
    if value < 0:
        raise ValidationError("Der Zählerstand kann nicht negativ sein.")
    if read_on > as_of:
        raise ValidationError("Das Ablesedatum darf nicht in der Zukunft liegen.")
    if read_on < meter.installed_on:
        raise ValidationError("Das Ablesedatum liegt vor dem Einbau dieses Zählers.")
    if current_reading(session, meter.id, period) is not None:
        raise AlreadySubmitted(
            "Für diesen Zähler liegt für dieses Jahr schon ein Zählerstand "
            "vor. Bitte wenden Sie sich an die Verwaltung, wenn er falsch ist."
        )
    check: Plausibility = check_reading(
        previous_reading(session, meter, period),
        value,
        last_consumption(session, meter, period),
        band_percent,
    )
    issues = check.messages(band_percent)
    if issues and not confirmed:
        raise NeedsConfirmation(issues)
    reading = MeterReading(
        municipality_id=meter.municipality_id,
        meter_id=meter.id,
        period=period,
        value=value,
        read_on=read_on,
        source=source,
        issues=issues,
        created_by=actor,
        status=ReadingStatus.NEEDS_REVIEW if issues else ReadingStatus.ACCEPTED,
        photo_document_id=photo_document_id,
    )
    session.add(reading)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise AlreadySubmitted(
            "Für diesen Zähler liegt für dieses Jahr schon ein Zählerstand vor."
        ) from None
    audit.record(
        session,
        actor=actor,
        action="meter_reading.submitted",
        obj=reading,
        municipality_id=meter.municipality_id,
        after={"value": value, "period": period, "issues": issues, "source": source.value},
    )
    return reading


def reopen(session: Session, reading: MeterReading, *, actor: str) -> None:
    """A clerk re-opens a period: the reading stays in the record but no longer counts."""
    reading.current, reading.status = None, ReadingStatus.SUPERSEDED
    audit.record(
        session,
        actor=actor,
        action="meter_reading.reopened",
        obj=reading,
        municipality_id=reading.municipality_id,
    )
    session.flush()


def accept(session: Session, reading: MeterReading, *, actor: str) -> None:
    if reading.status is not ReadingStatus.NEEDS_REVIEW:
        raise ValidationError("Nur zu prüfende Zählerstände können übernommen werden.")
    reading.status = ReadingStatus.ACCEPTED
    audit.record(
        session,
        actor=actor,
        action="meter_reading.accepted",
        obj=reading,
        municipality_id=reading.municipality_id,
    )
    session.flush()


def review_queue(session: Session, municipality_id: int) -> list[MeterReading]:
    return list(
        session.scalars(
            select(MeterReading)
            .where(
                MeterReading.municipality_id == municipality_id,
                MeterReading.status == ReadingStatus.NEEDS_REVIEW,
            )
            .order_by(MeterReading.id)
        )
    )


def meters_for_cards(session: Session, municipality_id: int, period: int) -> list[Meter]:
    """Meters installed by the end of the period and not removed before it started."""
    start, end = date(period, 1, 1), date(period, 12, 31)
    return list(
        session.scalars(
            select(Meter)
            .where(
                Meter.municipality_id == municipality_id,
                Meter.installed_on <= end,
                (Meter.removed_on.is_(None)) | (Meter.removed_on >= start),
            )
            .order_by(Meter.id)
        )
    )


# --------------------------------------------------------------------------- reading cards


def reading_deadline(session: Session, municipality_id: int, period: int) -> date:
    """The last day to report the reading of ``period``: the water statute's Ablesefrist."""
    from core.levies.water.rules import LEVY, WaterRules
    from core.tenancy.statutes import statute_on

    statute = statute_on(session, municipality_id, LEVY, date(period, 12, 31))
    return WaterRules.from_data(statute.data, statute.source).reading_deadline(period)


def reading_url(public_base_url: str, municipality_slug: str, period: int, token: str) -> str:
    return f"{public_base_url.rstrip('/')}/{municipality_slug}/zaehlerstand/{period}/{token}"


def reading_cards_pdf(
    session: Session,
    meters: list[Meter],
    *,
    period: int,
    secret: str,
    public_base_url: str,
    issued_at: datetime,
    reply_by: date | None = None,
) -> bytes:
    """Reading cards of ``meters`` (one municipality), one per page, each with a QR code that
    opens the reading form for that meter and period without log-in. "Bitte melden bis" is the
    statute's reading deadline of the period (``reply_by`` only overrides it for a re-issue)."""
    from core.kernel.girocode import png_data_uri, qr_png
    from core.kernel.pdf import render_pdf
    from core.notices.records import recipient_block
    from core.persons.models import Person
    from core.tenancy.municipalities import Municipality

    if not meters:
        raise ValidationError("Keine Zähler für Ablesekarten.")
    municipality = session.get_one(Municipality, meters[0].municipality_id)
    if reply_by is None:
        reply_by = reading_deadline(session, municipality.id, period)
    cards = []
    for meter in meters:
        if meter.municipality_id != municipality.id:
            raise ValidationError("Ablesekarten werden je Kommune erstellt.")
        url = reading_url(
            public_base_url,
            municipality.slug,
            period,
            reading_token(secret, meter, period, issued_at=issued_at),
        )
        person = session.get_one(Person, meter.person_id)
        cards.append(
            {
                "number": meter.number,
                "size": meter.size,
                "location": meter.location,
                "last_reading": previous_reading(session, meter, period),
                "recipient": recipient_block(person, issued_at.date()),
                "url": url,
                "qr": png_data_uri(qr_png(url)),
            }
        )
    return render_pdf(
        "reading_card.html",
        {"municipality": municipality, "period": period, "cards": cards, "reply_by": reply_by},
    )


def email_reading_links(
    session: Session,
    meters: list[Meter],
    *,
    period: int,
    secret: str,
    public_base_url: str,
    issued_at: datetime,
) -> int:
    """Queue the reading link of each meter whose owner gave an e-mail address."""
    from core.persons.models import Person
    from core.tenancy.municipalities import Municipality

    queued = 0
    deadlines: dict[int, date] = {}
    for meter in meters:
        person = session.get_one(Person, meter.person_id)
        if not person.email:
            continue
        if meter.municipality_id not in deadlines:
            deadlines[meter.municipality_id] = reading_deadline(
                session, meter.municipality_id, period
            )
        municipality = session.get_one(Municipality, meter.municipality_id)
        url = reading_url(
            public_base_url,
            municipality.slug,
            period,
            reading_token(secret, meter, period, issued_at=issued_at),
        )
        queue_email(
            session,
            municipality_id=municipality.id,
            recipient=person.email,
            subject=f"Zählerstand {period} für Ihren Wasserzähler {meter.number}",
            body=(
                f"Guten Tag,\n\nbitte melden Sie den Stand Ihres Wasserzählers "
                f"{meter.number} ({meter.location}) für {period} bis zum "
                f"{deadlines[meter.municipality_id]:%d.%m.%Y} hier:\n\n{url}\n\n"
                "Der Link gilt nur für diesen Zähler und dieses Jahr.\n\n"
                f"{municipality.cash_office_name}\n"
            ),
        )
        queued += 1
    return queued


def change_meter(
    session: Session,
    old: Meter,
    *,
    new_number: str,
    size: str,
    final_reading: int,
    start_reading: int,
    changed_on: date,
    as_of: date,
    actor: str,
) -> Meter:
    """Meter change (Zählerwechsel): the old meter's final reading counts for the period, the
    new one starts from its start reading; the billing run bills both for their months."""
    if old.removed_on is not None:
        raise ValidationError("Dieser Zähler ist bereits ausgebaut.")
    if not new_number.strip():
        raise ValidationError("Bitte geben Sie die Nummer des neuen Zählers an.")
    if changed_on < old.installed_on or changed_on > as_of:
        raise ValidationError("Das Datum des Wechsels passt nicht.")
    if start_reading < 0:
        raise ValidationError("Der Anfangsstand kann nicht negativ sein.")
    period = changed_on.year
    if current_reading(session, old.id, period) is None:
        submit_reading(
            session,
            meter=old,
            period=period,
            value=final_reading,
            read_on=changed_on,
            as_of=as_of,
            source=ReadingSource.CARD,
            band_percent=10_000,
            confirmed=True,
            actor=actor,
        )
    old.removed_on = changed_on
    new = Meter(
        municipality_id=old.municipality_id,
        person_id=old.person_id,
        number=new_number.strip(),
        size=size,
        location=old.location,
        installed_on=changed_on,
        initial_reading=start_reading,
        replaces_meter_id=old.id,
    )
    session.add(new)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="water_meter.changed",
        obj=new,
        municipality_id=old.municipality_id,
        before={"meter_id": old.id, "final_reading": final_reading},
        after={"number": new.number, "start_reading": start_reading},
    )
    return new
