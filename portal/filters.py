"""Jinja filters and globals: money, dates and references in German notation."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask

from core.kernel import clock
from core.kernel.money import format_euro
from core.kernel.references import format_kassenzeichen, format_rf, make_rf
from core.ledger.kinds import KINDS, ClaimKind

BERLIN = ZoneInfo("Europe/Berlin")


def german_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
    return value.strftime("%d.%m.%Y")


def pretty_value(value: object, key: str = "") -> str:
    """Application data for clerks: ISO dates as German dates, codes as words."""
    from core.levies.dog_tax.models import END_REASON_LABELS, EndReason

    text = str(value)
    if isinstance(value, str) and len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:
            return german_date(date.fromisoformat(text))
        except ValueError:
            return text
    if key == "rhythm":
        from core.levies.waste.rules import RHYTHMS

        return RHYTHMS.get(text, text)
    if key == "reason" and text in EndReason.__members__.values():
        return END_REASON_LABELS[EndReason(text)]
    return text


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        euro=format_euro,
        iban=lambda iban: " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)),
        date_de=german_date,
        kassenzeichen=format_kassenzeichen,
        rf=lambda kz: format_rf(make_rf(kz)),
        kind_label=lambda kind: KINDS[ClaimKind(kind)].label,
        pretty_value=pretty_value,
    )
    app.jinja_env.globals.update(today=clock.today)
