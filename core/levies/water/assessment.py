"""Consumption billing run (Verbrauchsabrechnung) for water meters.

Per meter and period: consumption from the period's reading and the one before (or an estimate
from earlier periods, marked as such), the bill by the statute, the final payment (bill minus
the advance payments assessed for the period; if they were more, they are lowered and what was
paid too much becomes credit), and the advance payments for the next period. Booked through
``booking.plan``/``book``: a second run books nothing and issues no notice.

What is on file for the meters of a chunk (readings, booked claims, notices, tax accounts,
owners with their addresses) is read up front in a few queries (:func:`_on_file`); a single
meter (:func:`bill_meter`) takes the same path as a chunk of one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from core.kernel.errors import NotFound
from core.kernel.months import add_months, month_end
from core.ledger.accounts import open_tax_account
from core.ledger.kinds import ClaimKind
from core.ledger.models import TaxAccount
from core.levies import run_guards
from core.levies.water import notice as water_notice
from core.levies.water.models import Meter, MeterReading, ReadingStatus, meters_for_cards
from core.levies.water.rules import LEVY, Bill, WaterRules, advance_payments, bill, estimate
from core.notices import booking, schedule
from core.notices.records import Notice, new_notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

ESTIMATE_YEARS = 3  # § 21 AVBWasserV: the consumption of up to three earlier periods


rules_for = run_guards.water_rules


@dataclass(frozen=True)
class Consumption:
    m3: int
    estimated: bool
    start_reading: int
    end_reading: int | None


def consumption_of(session: Session, meter: Meter, period: int) -> Consumption:
    return _consumption(meter, period, _readings_of(session, [meter.id], period)[meter.id])


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


def _consumption(meter: Meter, period: int, readings: Mapping[int, MeterReading]) -> Consumption:
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


def _months_in(meter: Meter, period: int) -> int:
    """Months of the period the meter's base fee is due for; a meter that replaced another
    starts the month after the change (the old one is charged for the month of the change)."""
    installed = meter.installed_on
    if meter.replaces_meter_id is not None:
        installed = add_months(installed, 1).replace(day=1)
    first = max(installed, date(period, 1, 1))
    last = min(meter.removed_on or date(period, 12, 31), date(period, 12, 31))
    return max(0, (last.year - first.year) * 12 + last.month - first.month + 1)


@dataclass
class _OnFile:
    """What the database holds for one meter before it is billed."""

    person: Person
    readings: dict[int, MeterReading]  # current reading per period (see _readings_of)
    booked: booking.Booked  # the meter's claims of the period, per key
    next_booked: booking.Booked  # and of the next period (advance payments)
    has_notice: bool


@dataclass
class _Chunk:
    """What is on file for a chunk of meters; billing one meter never changes what another
    meter's bill depends on, except its owner's tax account, which the first bill may open."""

    meters: dict[int, _OnFile] = field(default_factory=dict)
    tax_accounts: dict[int, TaxAccount] = field(default_factory=dict)  # per person


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


def _on_file(session: Session, period: int, meters: Sequence[Meter]) -> _Chunk:
    """Owners with their addresses, readings, booked claims of the period and the next, which
    meters have a notice for the period, and the owners' water tax accounts: a handful of
    queries for a chunk of meters instead of a dozen or more per meter."""
    meter_ids = [m.id for m in meters]
    person_ids = sorted({m.person_id for m in meters})
    persons = {
        p.id: p
        for p in session.scalars(
            select(Person)
            .where(Person.id.in_(person_ids))
            .options(selectinload(Person.addresses))  # printed on the notice
        )
    }
    readings = _readings_of(session, meter_ids, period)
    booked = booking.booked_per_key_of(session, person_ids, ClaimKind.WATER_FEE, period)
    next_booked = booking.booked_per_key_of(session, person_ids, ClaimKind.WATER_FEE, period + 1)
    notice_meter = Notice.data["meter_id"].as_integer()
    with_notice = {
        (person_id, meter_id)
        for person_id, meter_id in session.execute(
            select(Notice.person_id, notice_meter)
            .where(
                Notice.person_id.in_(person_ids),
                Notice.levy == LEVY,
                Notice.year == period,
                notice_meter.in_(meter_ids),
            )
            .distinct()
        )
    }
    this_year = {pid: _by_meter(booked[pid], period) for pid in person_ids}
    next_year = {pid: _by_meter(next_booked[pid], period + 1) for pid in person_ids}
    chunk = _Chunk()
    for m in meters:
        chunk.meters[m.id] = _OnFile(
            persons[m.person_id],
            readings[m.id],
            this_year[m.person_id].get(str(m.id), ({}, {})),
            next_year[m.person_id].get(str(m.id), ({}, {})),
            (m.person_id, m.id) in with_notice,
        )
    for account in session.scalars(
        select(TaxAccount).where(
            TaxAccount.person_id.in_(person_ids), TaxAccount.levy == ClaimKind.WATER_FEE
        )
    ):
        chunk.tax_accounts[account.person_id] = account
    return chunk


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
    return _bill(
        session,
        meter=meter,
        municipality=municipality,
        period=period,
        as_of=as_of,
        actor=actor,
        rules=rules or rules_for(session, municipality.id, period),
        chunk=_on_file(session, period, [meter]),
    )


def _bill(
    session: Session,
    *,
    meter: Meter,
    municipality: Municipality,
    period: int,
    as_of: date,
    actor: str,
    rules: WaterRules,
    chunk: _Chunk,
) -> Notice | None:
    on_file = chunk.meters[meter.id]
    person = on_file.person
    used = _consumption(meter, period, on_file.readings)
    result: Bill = bill(
        used.m3, meter.size, rules, months=_months_in(meter, period), estimated=used.estimated
    )
    due = add_months(as_of, 1)
    # this period: keep the advances (lowered from the last if the bill is smaller), add the rest
    booked, claims = on_file.booked
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
                label=f"Abschlag {key.rsplit(':', 1)[1]}",
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
            label="Abschlusszahlung",
        )
    )
    targets = [t for t in targets if t.amount_cents]
    changes = booking.plan(targets, booked)
    # next period: advance payments from this bill
    next_booked, next_claims = on_file.next_booked
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
                    label=f"Abschlag {i + 1}",
                )
            )
        next_targets = [t for t in next_targets if t.amount_cents]
    next_changes = booking.plan(next_targets, next_booked)
    if not changes and not next_changes and on_file.has_notice:
        return None
    account = chunk.tax_accounts.get(person.id)
    if account is None:  # the owner's first water bill (a second meter of theirs finds it)
        account = open_tax_account(session, person, municipality, ClaimKind.WATER_FEE)
        chunk.tax_accounts[person.id] = account
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
        data=water_notice.snapshot(
            person,
            meter,
            period,
            as_of,
            used,
            result,
            rules,
            water_notice.schedules(session, (targets, claims), (next_targets, next_claims)),
            months=_months_in(meter, period),
            payable_cents=sum(max(0, t.amount_cents - booked.get(t.key, 0)) for t in targets),
            rebill=any(key.endswith(":bill") for key in booked),
        ),
        actor=actor,
    )
    tables = {}
    for table, year, year_targets, year_changes, year_claims in (
        ("instalments", period, targets, changes, claims),
        ("advances", period + 1, next_targets, next_changes, next_claims),
    ):
        tables[table] = (
            year_targets,
            year_claims,
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
            ),
        )
    schedule.settle(session, notice, tables)
    return notice


@dataclass
class RunStats:
    meters: int = 0
    notices: int = 0
    estimated: int = 0
    waiting: int = 0  # readings of the period still waiting for a clerk (billed as estimated)


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
    """Bill every meter of the period; ``chunk_done(done, total)`` is called after each chunk so
    that the caller can commit and report progress. What is on file for a chunk's meters is read
    up front (:func:`_on_file`). Before the period's reading deadline the run is refused
    (:class:`run_guards.EarlyBilling`) unless ``confirm_early``."""
    run_guards.check_year(period, as_of)
    rules = rules_for(session, municipality.id, period)
    meters = meters_for_cards(session, municipality.id, period)
    check = run_guards.water_billing_check(
        session, municipality.id, period, as_of, rules=rules, meters=meters
    )
    run_guards.require_confirmation(check, confirm_early=confirm_early)
    stats = RunStats(waiting=len(check.waiting))
    for start in range(0, len(meters), chunk_size):
        chunk_meters = meters[start : start + chunk_size]
        chunk = _on_file(session, period, chunk_meters)
        for meter in chunk_meters:
            stats.meters += 1
            notice = _bill(
                session,
                meter=meter,
                municipality=municipality,
                period=period,
                as_of=as_of,
                actor=actor,
                rules=rules,
                chunk=chunk,
            )
            if notice is not None:
                stats.notices += 1
                stats.estimated += bool(notice.data.get("estimated"))
        chunk_done(min(start + chunk_size, len(meters)), len(meters))
    return stats
