"""Consumption billing run (Verbrauchsabrechnung) for water meters.

Per meter and period: consumption from the period's reading and the one before (or an estimate
from earlier periods, marked as such), the bill by the statute, the final payment (bill minus
the advance payments assessed for the period; if they were more, they are lowered and what was
paid too much becomes credit), and the advance payments for the next period. Booked through
``booking.plan``/``book``: a second run books nothing and issues no notice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.assessment import booking
from core.assessment.periods import add_months, month_end
from core.assessment.water import LEVY, Bill, WaterRules, advance_payments, bill, estimate
from core.errors import NotFound
from core.ledger import service as ledger
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.money import format_euro
from core.notices import Notice, new_notice, recipient_block
from core.persons import Person
from core.statutes import statute_on
from core.tenancy import Municipality
from core.water import Meter, ReadingStatus, current_reading, meters_for_cards


def rules_for(session: Session, municipality_id: int, period: int) -> WaterRules:
    statute = statute_on(session, municipality_id, LEVY, date(period, 12, 31))
    return WaterRules.from_data(statute.data, statute.source)


@dataclass(frozen=True)
class Consumption:
    m3: int
    estimated: bool
    start_reading: int
    end_reading: int | None


def consumption_of(session: Session, meter: Meter, period: int) -> Consumption:
    previous = current_reading(session, meter.id, period - 1)
    start = previous.value if previous is not None else meter.initial_reading
    reading = current_reading(session, meter.id, period)
    if reading is not None and reading.status is ReadingStatus.ACCEPTED:
        return Consumption(reading.value - start, False, start, reading.value)
    history = []
    for earlier in range(period - 1, period - 4, -1):
        end = current_reading(session, meter.id, earlier)
        before = current_reading(session, meter.id, earlier - 1)
        if end is None:
            break
        history.append(end.value - (before.value if before else meter.initial_reading))
    if not history:
        raise NotFound(f"Zähler {meter.number}: kein Zählerstand und keine Vorjahre zum Schätzen.")
    return Consumption(estimate(history), True, start, None)


def _months_in(meter: Meter, period: int) -> int:
    """Months of the period the meter's base fee is due for; a meter that replaced another
    starts the month after the change (the old one is charged for the month of the change)."""
    installed = meter.installed_on
    if meter.replaces_meter_id is not None:
        installed = add_months(installed, 1).replace(day=1)
    first = max(installed, date(period, 1, 1))
    last = min(meter.removed_on or date(period, 12, 31), date(period, 12, 31))
    return max(0, (last.year - first.year) * 12 + last.month - first.month + 1)


def _meter_booked(
    session: Session, person: Person, year: int, meter: Meter
) -> tuple[dict[str, int], dict[str, list[Claim]]]:
    amounts, claims = booking.booked_per_key(session, person, ClaimKind.WATER_FEE, year)
    prefix = f"{LEVY}:{year}:{meter.id}:"
    return (
        {k: v for k, v in amounts.items() if k.startswith(prefix)},
        {k: v for k, v in claims.items() if k.startswith(prefix)},
    )


def bill_meter(
    session: Session,
    *,
    meter: Meter,
    municipality: Municipality,
    period: int,
    as_of: date,
    actor: str,
    rules: WaterRules | None = None,
) -> Notice | None:
    rules = rules or rules_for(session, municipality.id, period)
    person = session.get_one(Person, meter.person_id)
    used = consumption_of(session, meter, period)
    result: Bill = bill(
        used.m3, meter.size, rules, months=_months_in(meter, period), estimated=used.estimated
    )
    due = add_months(as_of, 1)
    # this period: keep the advances (lowered from the last if the bill is smaller), add the rest
    booked, claims = _meter_booked(session, person, period, meter)
    targets, left = [], result.gross_cents
    for key in sorted(k for k in booked if ":advance:" in k):
        keep = min(booked[key], left)
        left -= keep
        first = claims[key][0]
        targets.append(
            booking.Target(
                key,
                keep,
                first.due_date,
                first.description,
                first.period_start or date(period, 1, 1),
                first.period_end or date(period, 12, 31),
            )
        )
    targets.append(
        booking.Target(
            f"{LEVY}:{period}:{meter.id}:bill",
            left,
            due,
            f"Wasser {period}, Zähler {meter.number}, Abrechnung",
            date(period, 1, 1),
            date(period, 12, 31),
        )
    )
    targets = [t for t in targets if t.amount_cents]
    changes = booking.plan(targets, booked)
    # next period: advance payments from this bill
    next_booked, next_claims = _meter_booked(session, person, period + 1, meter)
    next_targets = []
    if meter.removed_on is None:
        span = 12 // len(rules.advance_dates)
        for i, (day, amount) in enumerate(advance_payments(result.gross_cents, rules, period + 1)):
            next_targets.append(
                booking.Target(
                    f"{LEVY}:{period + 1}:{meter.id}:advance:{i + 1}",
                    amount,
                    day,
                    f"Wasser {period + 1}, Zähler {meter.number}, Abschlag {i + 1}",
                    date(period + 1, i * span + 1, 1),
                    month_end(period + 1, (i + 1) * span),
                )
            )
        next_targets = [t for t in next_targets if t.amount_cents]
    next_changes = booking.plan(next_targets, next_booked)
    has_notice = session.scalar(
        select(Notice.id)
        .where(
            Notice.person_id == person.id,
            Notice.levy == LEVY,
            Notice.year == period,
            Notice.data["meter_id"].as_integer() == meter.id,
        )
        .limit(1)
    )
    if not changes and not next_changes and has_notice:
        return None
    account = ledger.tax_account(session, person, municipality, ClaimKind.WATER_FEE)
    notice = new_notice(
        session,
        municipality=municipality,
        person=person,
        levy=LEVY,
        year=period,
        issued_on=as_of,
        title=f"Abrechnung Wasser {period}, Zähler {meter.number}",
        kassenzeichen=account.kassenzeichen,
        total_cents=result.gross_cents,
        previous_cents=sum(booked.values()),
        data=_snapshot(person, meter, period, as_of, used, result, rules, targets, next_targets),
        actor=actor,
    )
    for year, year_targets, year_changes, year_claims in (
        (period, targets, changes, claims),
        (period + 1, next_targets, next_changes, next_claims),
    ):
        booking.book(
            session,
            person=person,
            municipality=municipality,
            levy=ClaimKind.WATER_FEE,
            year=year,
            targets=year_targets,
            kassenzeichen=account.kassenzeichen,
            notice_id=notice.id,
            as_of=as_of,
            actor=actor,
            changes=year_changes,
            claims_by_key=year_claims,
        )
    return notice


def _snapshot(
    person: Person,
    meter: Meter,
    period: int,
    as_of: date,
    used: Consumption,
    result: Bill,
    rules: WaterRules,
    targets: list[booking.Target],
    next_targets: list[booking.Target],
) -> dict[str, Any]:
    consumption_text = f"Verbrauch {used.m3} m³ × {format_euro(rules.price_per_m3_cents)}" + (
        " (geschätzt)"
        if used.estimated
        else f" (Zählerstand {used.start_reading} → {used.end_reading})"
    )
    months = _months_in(meter, period)
    start, end = date(period, 1, 1).isoformat(), date(period, 12, 31).isoformat()
    lines = [
        {
            "description": f"Grundgebühr Zähler {meter.number} ({meter.size})",
            "period_start": start,
            "period_end": end,
            "months": months,
            "annual_cents": rules.base_fee_year_cents[meter.size],
            "amount_cents": result.base_cents,
        },
        {
            "description": consumption_text,
            "period_start": start,
            "period_end": end,
            "months": months,
            "annual_cents": result.consumption_cents,
            "amount_cents": result.consumption_cents,
        },
    ]
    if result.vat_cents:
        lines.append(
            {
                "description": f"Umsatzsteuer {rules.vat_basis_points // 100} %",
                "period_start": start,
                "period_end": end,
                "months": months,
                "annual_cents": result.net_cents,
                "amount_cents": result.vat_cents,
            }
        )
    rows = [
        {"due_date": t.due_date.isoformat(), "amount_cents": t.amount_cents}
        for t in targets + next_targets
    ]
    return {
        "meter_id": meter.id,
        "recipient": recipient_block(person, as_of),
        "person_number": person.number,
        "intro": (
            f"Für den Wasserzähler {meter.number} ({meter.location}) rechnen wir das Jahr "
            f"{period} ab"
            + (
                ". Es lag kein Zählerstand vor; der Verbrauch wurde nach "
                "§ 21 AVBWasserV aus den Vorjahren geschätzt."
                if used.estimated
                else "."
            )
            + " Die Abschläge für das Folgejahr sind unten aufgeführt."
        ),
        "legal_basis": rules.legal_basis or rules.source,
        "remedy": rules.remedy,
        "statute_source": rules.source,
        "rate_label": "Satz",
        "lines": lines,
        "instalments": rows,
        "payable_cents": sum(t.amount_cents for t in targets if t.key.endswith(":bill")),
        "estimated": used.estimated,
    }


@dataclass
class RunStats:
    meters: int = 0
    notices: int = 0
    estimated: int = 0


def bill_all(
    session: Session,
    *,
    municipality: Municipality,
    period: int,
    as_of: date,
    actor: str,
    chunk_size: int = 500,
    chunk_done: Callable[[int, int], None] = lambda _d, _t: None,
) -> RunStats:
    rules = rules_for(session, municipality.id, period)
    meters = meters_for_cards(session, municipality.id, period)
    stats = RunStats()
    for start in range(0, len(meters), chunk_size):
        for meter in meters[start : start + chunk_size]:
            stats.meters += 1
            notice = bill_meter(
                session,
                meter=meter,
                municipality=municipality,
                period=period,
                as_of=as_of,
                actor=actor,
                rules=rules,
            )
            if notice is not None:
                stats.notices += 1
                stats.estimated += bool(notice.data.get("estimated"))
        chunk_done(min(start + chunk_size, len(meters)), len(meters))
    return stats
