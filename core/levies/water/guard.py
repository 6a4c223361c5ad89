"""The water billing's run guard: the reading deadline.

The water billing of a period before its reading deadline (Ablesefrist, statute datum
``reading_deadline_days``, see :class:`core.levies.water.rules.WaterRules`) bills meters without a
reading as estimated; it runs only when a clerk confirms it, after seeing how many meters would be
estimated and which readings still wait for a clerk (:func:`water_billing_check`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.levies.run_guards import check_year
from core.levies.water.models import (
    Meter,
    MeterReading,
    MeterRow,
    ReadingStatus,
    meters_for_cards,
)
from core.levies.water.rules import LEVY, WaterRules
from core.tenancy.statutes import statute_on


@dataclass(frozen=True)
class WaitingReading:
    """A reading of the period that a clerk has not yet accepted (it would be estimated)."""

    reading_id: int
    meter_number: str
    value: int
    read_on: date
    issues: tuple[str, ...]


@dataclass(frozen=True)
class BillingCheck:
    """What a water billing run of ``period`` started on ``as_of`` would do."""

    period: int
    as_of: date
    deadline: date  # last day to report readings (statute)
    meters: int
    estimated: int  # meters without an accepted reading of the period
    waiting: tuple[WaitingReading, ...]

    @property
    def early(self) -> bool:
        """Started on or before the reading deadline (readings may still arrive that day)."""
        return self.as_of <= self.deadline

    def lines(self) -> list[str]:
        """The check in German, for the CLI and the back office."""
        result = [
            f"Ablesefrist Wasser {self.period}: bis {self.deadline:%d.%m.%Y}"
            + (" (noch nicht abgelaufen)." if self.early else " (abgelaufen)."),
            f"Geschätzt würden {self.estimated} von {self.meters} Zählern (ohne übernommenen "
            "Zählerstand).",
        ]
        if self.waiting:
            result.append(f"{len(self.waiting)} Zählerstände warten auf Prüfung:")
            result.extend(
                f"  Zähler {w.meter_number}: {w.value} m³ vom {w.read_on:%d.%m.%Y}"
                + (f" – {' '.join(w.issues)}" if w.issues else "")
                for w in self.waiting
            )
        else:
            result.append("Keine Zählerstände warten auf Prüfung.")
        return result


class EarlyBilling(ValidationError):
    """A billing run before the reading deadline that nobody confirmed."""

    def __init__(self, check: BillingCheck) -> None:
        super().__init__(
            f"Die Ablesefrist für {check.period} endet erst am {check.deadline:%d.%m.%Y}: "
            f"jetzt würden {check.estimated} von {check.meters} Zählern geschätzt, "
            f"{len(check.waiting)} Zählerstände warten auf Prüfung. Eine Abrechnung vor "
            "Fristende muss ausdrücklich bestätigt werden."
        )
        self.check = check


def water_rules(session: Session, municipality_id: int, period: int) -> WaterRules:
    statute = statute_on(session, municipality_id, LEVY, date(period, 12, 31))
    return WaterRules.from_data(statute.data, statute.source)


def water_billing_check(
    session: Session,
    municipality_id: int,
    period: int,
    as_of: date,
    *,
    rules: WaterRules | None = None,
    meters: Sequence[Meter | MeterRow] | None = None,
) -> BillingCheck:
    """The reading deadline of ``period``, how many meters would be estimated and the readings
    still waiting for a clerk (two queries)."""
    check_year(period, as_of)
    rules = rules or water_rules(session, municipality_id, period)
    if meters is None:
        meters = meters_for_cards(session, municipality_id, period)
    numbers = {m.id: m.number for m in meters}
    current = list(
        session.scalars(
            select(MeterReading)
            .where(
                MeterReading.municipality_id == municipality_id,
                MeterReading.period == period,
                MeterReading.current.is_(True),
            )
            .order_by(MeterReading.id)
        )
    )
    accepted = {
        r.meter_id for r in current if r.status is ReadingStatus.ACCEPTED and r.meter_id in numbers
    }
    waiting = tuple(
        WaitingReading(r.id, numbers[r.meter_id], r.value, r.read_on, tuple(r.issues or ()))
        for r in current
        if r.status is ReadingStatus.NEEDS_REVIEW and r.meter_id in numbers
    )
    return BillingCheck(
        period=period,
        as_of=as_of,
        deadline=rules.reading_deadline(period),
        meters=len(numbers),
        estimated=len(numbers) - len(accepted),
        waiting=waiting,
    )


def require_confirmation(check: BillingCheck, *, confirm_early: bool) -> None:
    """Refuse a billing run before the reading deadline unless a clerk confirmed it."""
    if check.early and not confirm_early:
        raise EarlyBilling(check)
