"""What a water bill (Abrechnung) prints: the snapshot stored with its notice.

It says what is assessed (base fee, consumption, VAT, each with what it is computed from), what
had been assessed before as advance payments and what of it was paid, what remains (the final
payment, or a credit where the advances paid exceed the bill), and the advance payments of the
next period. As pre-notification of a direct debit a notice announces only what is still open
(:mod:`core.levies.prenotification` adds collection days to open rows only).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

from core.kernel.money import format_euro
from core.levies.cases import Addressee
from core.levies.schedule import Schedule
from core.levies.water.models import MeterRow
from core.levies.water.rules import Bill, WaterRules
from core.notices.records import recipient_block


class Consumption(Protocol):
    @property
    def m3(self) -> int: ...
    @property
    def estimated(self) -> bool: ...
    @property
    def start_reading(self) -> int: ...
    @property
    def end_reading(self) -> int | None: ...


def snapshot(
    person: Addressee,
    meter: MeterRow,
    period: int,
    as_of: date,
    used: Consumption,
    result: Bill,
    rules: WaterRules,
    rows: tuple[Schedule, Schedule],
    *,
    months: int,
    payable_cents: int,
    rebill: bool = False,
) -> dict[str, Any]:
    """``rebill``: the period was billed before (a correction), so what stands assessed is
    more than the advances."""
    this_year, next_year = rows
    return {
        "meter_id": meter.id,
        "recipient": recipient_block(person, as_of),
        "person_number": person.number,
        "intro": _intro(meter, period, used, bool(next_year.rows)),
        "legal_basis": rules.legal_basis or rules.source,
        "remedy": rules.remedy,
        "statute_source": rules.source,
        "rate_label": "Bemessung",
        "lines": _lines(meter, period, used, result, rules, months),
        "previous_label": (
            "Bisher festgesetzt" if rebill else f"Abschläge {period}, bisher festgesetzt"
        ),
        "instalments_title": f"Zahlungen {period}",
        "instalments": this_year.as_data(),
        "advances_title": f"Abschläge {period + 1}",
        "advances": next_year.as_data(),
        "overpaid_cents": this_year.overpaid_cents + next_year.overpaid_cents,
        "payable_cents": payable_cents,
        "estimated": used.estimated,
    }


def _intro(meter: MeterRow, period: int, used: Consumption, advances: bool) -> str:
    return (
        f"Für den Wasserzähler {meter.number} ({meter.location}) rechnen wir das Jahr {period} ab"
        + (
            ". Es lag kein Zählerstand vor; der Verbrauch wurde nach § 21 AVBWasserV aus den "
            "Vorjahren geschätzt."
            if used.estimated
            else "."
        )
        + f" Die für {period} festgesetzten Abschläge werden angerechnet"
        + (f"; die Abschläge für {period + 1} stehen unten." if advances else ".")
    )


def _lines(
    meter: MeterRow,
    period: int,
    used: Consumption,
    result: Bill,
    rules: WaterRules,
    months: int,
) -> list[dict[str, Any]]:
    """The assessment's rows; ``basis`` says what each amount is computed from (``annual_cents``
    stays for older readers of the snapshot)."""
    start, end = date(period, 1, 1).isoformat(), date(period, 12, 31).isoformat()
    annual_base = rules.base_fee_year_cents[meter.size]
    reading = (
        " (geschätzt)"
        if used.estimated
        else f" (Zählerstand {used.start_reading} → {used.end_reading})"
    )
    rows = [
        (
            f"Grundgebühr Zähler {meter.number} ({meter.size})",
            f"{format_euro(annual_base)} je Jahr",
            annual_base,
            result.base_cents,
        ),
        (
            f"Verbrauch {used.m3} m³ × {format_euro(rules.price_per_m3_cents)}{reading}",
            f"{used.m3} m³ × {format_euro(rules.price_per_m3_cents)}",
            result.consumption_cents,
            result.consumption_cents,
        ),
    ]
    if result.vat_cents:
        rows.append(
            (
                f"Umsatzsteuer {_percent(rules.vat_basis_points)} %",
                f"{_percent(rules.vat_basis_points)} % von {format_euro(result.net_cents)}",
                result.net_cents,
                result.vat_cents,
            )
        )
    return [
        {
            "description": description,
            "basis": basis,
            "period_start": start,
            "period_end": end,
            "months": months,
            "annual_cents": annual,
            "amount_cents": amount,
        }
        for description, basis, annual, amount in rows
    ]


def _percent(basis_points: int) -> str:
    whole, rest = divmod(basis_points, 100)
    return f"{whole},{rest:02d}".rstrip("0").rstrip(",")
