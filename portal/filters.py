"""Jinja filters and globals: money, dates and references in German notation."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask

from core import clock
from core.ledger.kinds import KINDS, ClaimKind
from core.money import format_euro
from core.references import format_kassenzeichen, format_rf, make_rf

BERLIN = ZoneInfo("Europe/Berlin")


def german_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
    return value.strftime("%d.%m.%Y")


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        euro=format_euro,
        iban=lambda iban: " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)),
        date_de=german_date,
        kassenzeichen=format_kassenzeichen,
        rf=lambda kz: format_rf(make_rf(kz)),
        kind_label=lambda kind: KINDS[ClaimKind(kind)].label,
    )
    app.jinja_env.globals.update(today=clock.today)
