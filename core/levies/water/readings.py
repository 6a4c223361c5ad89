"""Meter readings: submitting one (with the plausibility check of the statute), a clerk's
review (accept, re-open), and the meter change (Zählerwechsel) with the old meter's final
reading.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import ValidationError
from core.levies.water.models import (
    Meter,
    MeterReading,
    ReadingSource,
    ReadingStatus,
    current_reading,
)
from core.levies.water.rules import Plausibility, check_reading


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


def _check_submission(
    session: Session, meter: Meter, period: int, value: int, read_on: date, as_of: date
) -> None:
    """Refuse a reading that cannot be right whatever its value, or a second one."""
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
    _check_submission(session, meter, period, value, read_on, as_of)
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
