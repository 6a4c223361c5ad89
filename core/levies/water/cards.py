"""Reading cards (one page per meter with the QR code of its reading link) and the reading
links by e-mail, each saying the statute's reading deadline of the period."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.kernel.girocode import png_data_uri, qr_png
from core.kernel.mail import queue_email
from core.kernel.pdf import render_pdf
from core.levies.water.guard import water_rules
from core.levies.water.links import reading_token, reading_url
from core.levies.water.models import Meter
from core.levies.water.readings import previous_reading
from core.notices.records import recipient_block
from core.persons.models import Person
from core.tenancy.municipalities import Municipality


def reading_deadline(session: Session, municipality_id: int, period: int) -> date:
    """The last day to report the reading of ``period``: the water statute's Ablesefrist."""
    return water_rules(session, municipality_id, period).reading_deadline(period)


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
