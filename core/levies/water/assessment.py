"""Consumption billing run (Verbrauchsabrechnung) for water meters.

The water billing as a levy of the pipeline (:mod:`core.levies.pipeline`), one notice per meter
and period. Per meter and period: consumption from the period's reading and the one before (or
an estimate from earlier periods, marked as such), the bill by the statute, the final payment
(bill minus the advance payments assessed for the period; if they were more, they are lowered
and what was paid too much becomes credit), and the advance payments for the next period. The
pipeline books only differences: a second run books nothing and issues no notice.

What is on file for the meters of a chunk (readings, booked claims, notices, owners with their
addresses) is read up front in a few queries (:meth:`Water.read`); a single meter
(:func:`bill_meter`) takes the same path as a chunk of one. The run guard is the reading
deadline (:mod:`core.levies.water.guard`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.errors import NotFound
from core.kernel.months import add_months, month_end
from core.ledger.kinds import ClaimKind
from core.levies import booking, cases, pipeline
from core.levies.assessing import INSTALMENTS, Assessment, Table
from core.levies.cases import Case
from core.levies.schedule import Schedule
from core.levies.water import guard
from core.levies.water import notice as water_notice
from core.levies.water.models import (
    Meter,
    MeterReading,
    MeterRow,
    ReadingStatus,
    meter_rows,
    meter_rows_of,
)
from core.levies.water.rules import LEVY, WaterRules, advance_payments, bill, estimate
from core.notices.records import Notice
from core.tenancy.municipalities import Municipality

ESTIMATE_YEARS = 3  # § 21 AVBWasserV: the consumption of up to three earlier periods
ADVANCES = "advances"  # the payment table of the next period's advance payments


@dataclass(frozen=True)
class Consumption:
    m3: int
    estimated: bool
    start_reading: int
    end_reading: int | None


def _readings_of(
    session: Session, meter_ids: Sequence[int], period: int
) -> dict[int, dict[int, MeterReading]]:
    """The current reading per meter and period, for the period and the ones an estimate looks
    back to (one query for a chunk of meters; at most one reading per meter and period is
    current)."""
    found: dict[int, dict[int, MeterReading]] = {mid: {} for mid in meter_ids}
    for reading in session.scalars(
        select(MeterReading).where(
            MeterReading.meter_id.in_(meter_ids),
            MeterReading.period.between(period - ESTIMATE_YEARS - 1, period),
            MeterReading.current.is_(True),
        )
    ):
        found[reading.meter_id][reading.period] = reading
    return found


def _consumption(meter: MeterRow, period: int, readings: Mapping[int, MeterReading]) -> Consumption:
    """Consumption of the period from the meter's current readings per period (pure)."""
    previous = readings.get(period - 1)
    start = previous.value if previous is not None else meter.initial_reading
    reading = readings.get(period)
    if reading is not None and reading.status is ReadingStatus.ACCEPTED:
        return Consumption(reading.value - start, False, start, reading.value)
    history = []
    for earlier in range(period - 1, period - 1 - ESTIMATE_YEARS, -1):
        end = readings.get(earlier)
        before = readings.get(earlier - 1)
        if end is None:
            break
        history.append(end.value - (before.value if before else meter.initial_reading))
    if not history:
        raise NotFound(f"Zähler {meter.number}: kein Zählerstand und keine Vorjahre zum Schätzen.")
    return Consumption(estimate(history), True, start, None)


def _months_in(meter: MeterRow, period: int) -> int:
    """Months of the period the meter's base fee is due for; a meter that replaced another
    starts the month after the change (the old one is charged for the month of the change)."""
    installed = meter.installed_on
    if meter.replaces_meter_id is not None:
        installed = add_months(installed, 1).replace(day=1)
    first = max(installed, date(period, 1, 1))
    last = min(meter.removed_on or date(period, 12, 31), date(period, 12, 31))
    return max(0, (last.year - first.year) * 12 + last.month - first.month + 1)


@dataclass(frozen=True)
class OnFile:
    """What the database holds for one meter before it is billed."""

    meter: MeterRow
    readings: dict[int, MeterReading]  # current reading per period (see _readings_of)


def _by_meter(found: booking.Booked, year: int) -> dict[str, booking.Booked]:
    """A person's booked water claims of ``year`` per meter id (keys ``water_fee:year:id:…``)."""
    amounts, claims = found
    prefix = f"{LEVY}:{year}:"
    per_meter: dict[str, booking.Booked] = {}
    for key, cents in amounts.items():
        meter_id, colon, _rest = key.removeprefix(prefix).partition(":")
        if key.startswith(prefix) and colon:
            mine = per_meter.setdefault(meter_id, ({}, {}))
            mine[0][key], mine[1][key] = cents, claims[key]
    return per_meter


@dataclass
class RunStats:
    meters: int = 0
    notices: int = 0
    estimated: int = 0
    waiting: int = 0  # readings of the period still waiting for a clerk (billed as estimated)


class Water(pipeline.Levy[MeterRow, OnFile, WaterRules, RunStats]):
    """Subjects: the meters of the period as plain rows (:func:`meter_rows`); facts: their
    readings."""

    kind = ClaimKind.WATER_FEE

    def rules(self, session: Session, municipality_id: int, year: int) -> WaterRules:
        return guard.water_rules(session, municipality_id, year)

    def liable(self, session: Session, municipality_id: int, year: int) -> list[MeterRow]:
        return meter_rows(session, municipality_id, year)

    def key(self, subject: MeterRow) -> int:
        return subject.id

    def subjects_of(
        self, session: Session, municipality_id: int, keys: Sequence[int]
    ) -> list[MeterRow]:
        return meter_rows_of(session, municipality_id, keys)

    def read(
        self, session: Session, municipality: Municipality, year: int, subjects: Sequence[MeterRow]
    ) -> list[Case[OnFile]]:
        """Owners, readings, booked claims of the period and the next (per meter), and which
        meters have a notice for the period: a handful of queries for a chunk of meters."""
        meter_ids = [m.id for m in subjects]
        person_ids = sorted({m.person_id for m in subjects})
        persons = cases.persons_of(session, person_ids)
        readings = _readings_of(session, meter_ids, year)
        booked = {
            y: {
                pid: _by_meter(found, y)
                for pid, found in booking.booked_per_key_of(
                    session, person_ids, self.kind, y
                ).items()
            }
            for y in (year, year + 1)
        }
        notice_meter = Notice.data["meter_id"].as_integer()
        with_notice = {
            (person_id, meter_id)
            for person_id, meter_id in session.execute(
                select(Notice.person_id, notice_meter)
                .where(
                    Notice.person_id.in_(person_ids),
                    Notice.levy == LEVY,
                    Notice.year == year,
                    notice_meter.in_(meter_ids),
                )
                .distinct()
            )
        }
        return [
            Case(
                persons[m.person_id],
                OnFile(m, readings[m.id]),
                {y: booked[y][m.person_id].get(str(m.id), ({}, {})) for y in (year, year + 1)},
                (m.person_id, m.id) in with_notice,
            )
            for m in subjects
        ]

    def start(
        self,
        session: Session,
        municipality_id: int,
        year: int,
        as_of: date,
        *,
        rules: WaterRules,
        subjects: list[MeterRow],
        confirm_early: bool,
    ) -> RunStats:
        """Before the period's reading deadline the run is refused
        (:class:`guard.EarlyBilling`) unless ``confirm_early``."""
        check = guard.water_billing_check(
            session, municipality_id, year, as_of, rules=rules, meters=subjects
        )
        guard.require_confirmation(check, confirm_early=confirm_early)
        return RunStats(waiting=len(check.waiting))

    def count(self, stats: RunStats, case: Case[OnFile], notice: Notice | None) -> None:
        stats.meters += 1
        if notice is not None:
            stats.notices += 1
            stats.estimated += bool(notice.data.get("estimated"))

    def assess(
        self, case: Case[OnFile], year: int, as_of: date, rules: WaterRules
    ) -> Assessment | None:
        meter, period = case.facts.meter, year
        used = _consumption(meter, period, case.facts.readings)
        months = _months_in(meter, period)
        result = bill(used.m3, meter.size, rules, months=months, estimated=used.estimated)
        booked = case.booked[period][0]

        def snapshot(rows: dict[str, Schedule], _first: bool, payable: int) -> dict[str, Any]:
            return water_notice.snapshot(
                case.person,
                meter,
                period,
                as_of,
                used,
                result,
                rules,
                (rows[INSTALMENTS], rows[ADVANCES]),
                months=months,
                payable_cents=payable,
                rebill=any(key.endswith(":bill") for key in booked),
            )

        return Assessment(
            tables={
                INSTALMENTS: Table(
                    period,
                    _this_period(meter, period, as_of, result.gross_cents, case.booked[period]),
                ),
                ADVANCES: Table(period + 1, _advances(meter, period, result.gross_cents, rules)),
            },
            total_cents=result.gross_cents,
            printable=True,
            title=lambda _first: f"Abrechnung Wasser {period}, Zähler {meter.number}",
            snapshot=snapshot,
        )


def _this_period(
    meter: MeterRow, period: int, as_of: date, gross_cents: int, booked: booking.Booked
) -> list[booking.Target]:
    """The period's advances kept (lowered from the last if the bill is smaller) and the final
    payment of the rest."""
    amounts, claims = booked
    targets, left = [], gross_cents
    for key in sorted(k for k in amounts if ":advance:" in k):
        keep = min(amounts[key], left)
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
                label=f"Abschlag {key.rsplit(':', 1)[1]}",
            )
        )
    targets.append(
        booking.Target(
            f"{LEVY}:{period}:{meter.id}:bill",
            left,
            add_months(as_of, 1),
            f"Wasser {period}, Zähler {meter.number}, Abrechnung",
            date(period, 1, 1),
            date(period, 12, 31),
            label="Abschlusszahlung",
        )
    )
    return [t for t in targets if t.amount_cents]


def _advances(
    meter: MeterRow, period: int, gross_cents: int, rules: WaterRules
) -> list[booking.Target]:
    """The next period's advance payments from this bill (none for a removed meter)."""
    if meter.removed_on is not None:
        return []
    span = 12 // len(rules.advance_dates)
    targets = [
        booking.Target(
            f"{LEVY}:{period + 1}:{meter.id}:advance:{i + 1}",
            amount,
            day,
            f"Wasser {period + 1}, Zähler {meter.number}, Abschlag {i + 1}",
            date(period + 1, i * span + 1, 1),
            month_end(period + 1, (i + 1) * span),
            label=f"Abschlag {i + 1}",
        )
        for i, (day, amount) in enumerate(advance_payments(gross_cents, rules, period + 1))
    ]
    return [t for t in targets if t.amount_cents]


WATER = Water()


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
    """Bill one meter (a chunk of one: see :func:`bill_all`)."""
    return pipeline.assess_one(
        session,
        WATER,
        MeterRow.of(meter),
        municipality=municipality,
        year=period,
        as_of=as_of,
        actor=actor,
        rules=rules,
    )


def bill_all(
    session: Session,
    *,
    municipality: Municipality,
    period: int,
    as_of: date,
    actor: str,
    chunk_size: int = 500,
    chunk_done: Callable[[int, int], None] = lambda _d, _t: None,
    confirm_early: bool = False,
) -> RunStats:
    """Bill every meter of the period, in chunks (:func:`pipeline.run`); before the period's
    reading deadline only if ``confirm_early``."""
    return pipeline.run(
        session,
        WATER,
        municipality=municipality,
        year=period,
        as_of=as_of,
        actor=actor,
        chunk_size=chunk_size,
        chunk_done=chunk_done,
        confirm_early=confirm_early,
    )
