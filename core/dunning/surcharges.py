"""Säumniszuschläge (late-payment surcharges, § 240 AO; for municipal levies through the KAG of
the Länder, e.g. § 12 (1) Nr. 5 b KAG NRW): pure and exact, integer cents.

The rules implemented (shared DOMAIN.md "Late payment and dunning"):
* § 240 (1) 1 AO: for every *started* month of Säumnis 1 % of the overdue amount, rounded down
  to the next multiple of 50 € (so every month's surcharge is a multiple of 50 cents).
* Säumnis begins when the due date has passed. A due date on a Saturday, Sunday or public
  holiday of the Land moves to the next working day (§ 108 (3) AO). Month *n* of Säumnis runs
  from the day after ``add_months(due, n - 1)`` to ``add_months(due, n)``, counted from the due
  date and clamped to shorter months (§ 108 (1) AO with §§ 187 (1), 188 (2), (3) BGB): due 31.01.
  → months end 28./29.02., 31.03., 30.04. The month ends themselves do not move.
* § 240 (3) AO (Schonfrist): no surcharge for a Säumnis of up to three days; where the third day
  is a Saturday, Sunday or public holiday, the grace ends on the next working day. Not for
  payments under § 224 (2) Nr. 1 AO (cash handed over, cheques), see ``Channel``. The grace is
  no extension: a payment after it owes the first month from the due date on.
* When a payment counts (§ 224 (2) AO): a transfer on the day it is credited (Nr. 2), cash on the
  day it is received, a cheque three days after (Nr. 1), a direct debit under a mandate held at
  the due date on the due date (Nr. 3).
* Partial payments: the surcharge of a month arises at its start in full, so month *n* is charged
  on the amount still unpaid at its start, i.e. after the payments that count on or before the
  last day of month *n - 1* (AEAO zu § 240, Teilzahlungen). For month 1 the payments on time
  (by the due date, or within the grace where it applies) are deducted.
* § 240 (2) AO: none on ancillary claims (steuerliche Nebenleistungen, § 3 (4) AO: fees and
  costs, surcharges, interest, coercive fines) — ``bears_surcharge`` decides by the claim kind's
  group of allocation (core/ledger/kinds.py); fines (Geldbußen) are no levies and bear none either.
* No surcharge while the claim is deferred (Stundung, § 222 AO): a deferred claim is not due,
  and § 240 (1) S. 1 AO charges surcharges only for a claim not paid "bis zum Ablauf des
  Fälligkeitstages"; a Stundung moves the due date, so none arise for the time it is granted
  (AEAO zu § 240, on Stundung and on Säumniszuschläge arisen before it). Surcharges of
  months of Säumnis started before the deferral began remain. When the deferral ends before
  the claim is paid (an instalment plan ended by a missed instalment, see
  core.dunning.instalments.check_plans), the rest is due on the last day of the block (moved
  off a weekend or holiday, § 108 (3) AO) and a new Säumnis begins the day after, with its
  own months and its own Schonfrist (§ 240 (3) AO). ``free`` passes these periods (first
  and last day of each block, None: still running). A suspension of enforcement (AdV) is
  passed the same way only where the procedure's statute data says so
  (``suspension_stops_surcharges``, core.dunning.procedure); insolvency and the clerk's
  blocks stop dunning only, never surcharges.
Not modelled here: a later reduction of the claim (§ 240 (1) 4 AO: surcharges that have arisen
remain) and set-off (§ 240 (1) 5 AO); the caller passes the amount as it stood.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from core.kernel.months import add_months
from core.ledger.kinds import KINDS, AllocationGroup, ClaimKind
from core.tenancy.holidays import next_working_day

RATE_PER_MONTH_PERCENT = 1
BASE_STEP_CENTS = 5000  # the overdue amount is rounded down to a multiple of 50 €
GRACE_DAYS = 3

# Main claims (Steuern, Gebühren, Beiträge): all other groups are ancillary or fines.
_SURCHARGED_GROUPS = frozenset({AllocationGroup.LEVY, AllocationGroup.TAX_DEDUCTION})


def bears_surcharge(kind: ClaimKind) -> bool:
    """Whether a claim of ``kind`` bears Säumniszuschläge (§ 240 (2) AO: no surcharge on
    ancillary claims such as dunning fees, costs, interest, surcharges themselves)."""
    return KINDS[kind].group in _SURCHARGED_GROUPS


class Channel(enum.StrEnum):
    """How a payment was made; decides the day it counts and whether the grace applies."""

    TRANSFER = "transfer"  # credited to the cash office's account (§ 224 (2) Nr. 2 AO)
    DIRECT_DEBIT = "direct_debit"  # mandate held at the due date (§ 224 (2) Nr. 3 AO)
    CASH = "cash"  # handed over at the counter (§ 224 (2) Nr. 1 AO): no grace
    CHEQUE = "cheque"  # counts three days after receipt (§ 224 (2) Nr. 1 AO): no grace

    @property
    def has_grace(self) -> bool:
        return self not in (Channel.CASH, Channel.CHEQUE)


@dataclass(frozen=True)
class Payment:
    day: date  # credited (transfer, debit) or received (cash, cheque)
    amount_cents: int
    channel: Channel = Channel.TRANSFER

    def counts_on(self, due: date) -> date:
        if self.channel is Channel.CHEQUE:
            return self.day + timedelta(days=3)
        if self.channel is Channel.DIRECT_DEBIT:
            return min(self.day, due)
        return self.day


@dataclass(frozen=True)
class SurchargeMonth:
    number: int  # 1: the first month of Säumnis
    starts: date
    ends: date
    overdue_cents: int  # unpaid at the start of the month
    base_cents: int  # rounded down to a multiple of 50 €
    surcharge_cents: int


@dataclass(frozen=True)
class Surcharges:
    due: date  # after § 108 (3) AO
    grace_ends: date
    months: tuple[SurchargeMonth, ...]

    @property
    def total_cents(self) -> int:
        return sum(m.surcharge_cents for m in self.months)


FreePeriod = tuple[date, date | None]  # first and last day of a block; None: still running


@lru_cache(maxsize=8192)
def due_date(due: date, land: str) -> date:
    """The due date, moved off a Saturday, Sunday or holiday of the Land (§ 108 (3) AO).
    Cached (pure; a run asks it for the same few due dates a million times), as are
    :func:`grace_end` and the month bounds."""
    return next_working_day(due, land)


@lru_cache(maxsize=8192)
def grace_end(due: date, land: str) -> date:
    """Last day of the Schonfrist: the third day after the due date, moved to a working day."""
    return next_working_day(due_date(due, land) + timedelta(days=GRACE_DAYS), land)


@lru_cache(maxsize=8192)
def month_bounds(due: date, last: date) -> tuple[tuple[date, date], ...]:
    """(first day, last day) of each month of Säumnis counted from ``due`` that has started
    by ``last``: month *n* runs from the day after ``add_months(due, n - 1)`` to
    ``add_months(due, n)`` (see the module)."""
    bounds: list[tuple[date, date]] = []
    number = 1
    while (previous := add_months(due, number - 1)) < last:
        bounds.append((previous + timedelta(days=1), add_months(due, number)))
        number += 1
    return tuple(bounds)


def month_surcharge(overdue_cents: int) -> tuple[int, int]:
    """(base, surcharge) of one month: the base rounded down to 50 €, 1 % of it (exact)."""
    base = max(overdue_cents, 0) // BASE_STEP_CENTS * BASE_STEP_CENTS
    return base, base * RATE_PER_MONTH_PERCENT // 100


def surcharges(
    amount_cents: int,
    due: date,
    payments: Iterable[Payment],
    as_of: date,
    land: str,
    kind: ClaimKind | None = None,
    free: Sequence[FreePeriod] = (),
) -> Surcharges:
    """The surcharges of one claim of ``amount_cents`` due on ``due`` up to ``as_of`` (the run
    date, or the day a late payment counts), month by month. ``kind`` None: a main claim.
    ``free``: the periods in which the claim was deferred (no Säumnis, see the module)."""
    due = due_date(due, land)
    grace = grace_end(due, land)
    if kind is not None and not bears_surcharge(kind):
        return Surcharges(due, grace, ())
    counted = _counted(amount_cents, due, payments, as_of)
    months: list[SurchargeMonth] = []
    for start, last in saumnis_segments(due, free, as_of, land):
        months += _months(amount_cents, start, last, counted, land, len(months))
    return Surcharges(due, grace, tuple(months))


def total_cents(
    amount_cents: int,
    due: date,
    payments: Sequence[Payment],
    as_of: date,
    land: str,
    kind: ClaimKind | None = None,
    free: Sequence[FreePeriod] = (),
) -> int:
    """``surcharges(…).total_cents``, the same figure. For a claim without payments and
    without deferrals (most of a run's) it is counted directly: every month started by
    ``as_of`` is charged on the whole amount, the first only once the grace is over."""
    if payments or free:
        return surcharges(amount_cents, due, payments, as_of, land, kind, free).total_cents
    if kind is not None and not bears_surcharge(kind):
        return 0
    due = due_date(due, land)
    started = len(month_bounds(due, as_of))
    if started and as_of <= grace_end(due, land):
        started -= 1  # month 1 is not late yet while the grace runs
    return started * month_surcharge(amount_cents)[1]


def saumnis_segments(
    due: date, free: Sequence[FreePeriod], as_of: date, land: str
) -> list[tuple[date, date]]:
    """(due date, last day counted) of each stretch of Säumnis up to ``as_of``: from the due
    date to the day before a deferral begins, then from the deferral's last day (the new due
    date) on, and so on; a deferral still running at ``as_of`` ends the last stretch."""
    segments: list[tuple[date, date]] = []
    current = due
    for starts, ends in sorted(free, key=lambda p: p[0]):
        if starts > as_of:
            break
        if ends is not None and ends < current:
            continue  # over before this Säumnis began
        if starts > current:
            segments.append((current, starts - timedelta(days=1)))
        if ends is None or ends >= as_of:
            return segments
        current = max(current, due_date(ends, land))
    segments.append((current, as_of))
    return segments


def _months(
    amount_cents: int,
    due: date,
    last: date,
    counted: list[tuple[date, int, bool]],
    land: str,
    numbered: int,
) -> list[SurchargeMonth]:
    """The months of one stretch of Säumnis from ``due``, started by ``last``."""
    grace = grace_end(due, land)
    counted = [c for c in counted if c[0] <= last]
    months: list[SurchargeMonth] = []
    for number, (starts, ends) in enumerate(month_bounds(due, last), start=1):
        if number == 1:
            overdue = _overdue_in_first_month(amount_cents, due, grace, counted, last)
        else:
            overdue = amount_cents - sum(a for day, a, _ in counted if day < starts)
        if overdue <= 0 and number > 1:
            break  # paid: no later month can be charged
        base, surcharge = month_surcharge(overdue)
        if surcharge:
            months.append(
                SurchargeMonth(numbered + number, starts, ends, max(overdue, 0), base, surcharge)
            )
    return months


def _counted(
    amount: int, due: date, payments: Iterable[Payment], as_of: date
) -> list[tuple[date, int, bool]]:
    """(day it counts, amount settled, grace applies) of the payments by ``as_of``, in order;
    a payment settles at most what is still open (a surplus is no payment of this claim)."""
    counted: list[tuple[date, int, bool]] = []
    open_cents = amount
    for day, paid, has_grace in sorted(
        (p.counts_on(due), p.amount_cents, p.channel.has_grace) for p in payments
    ):
        settled = min(paid, max(open_cents, 0))
        if day <= as_of and settled > 0:
            counted.append((day, settled, has_grace))
            open_cents -= settled
    return counted


def _overdue_in_first_month(
    amount: int, due: date, grace: date, counted: list[tuple[date, int, bool]], as_of: date
) -> int:
    """What is late in month 1: all but the payments on time (by the due date, or within the
    grace where it applies); the part still open is not late yet while the grace runs."""
    on_time = sum(a for day, a, has_grace in counted if day <= due or (has_grace and day <= grace))
    if as_of <= grace:
        open_now = amount - sum(a for _, a, _ in counted)
        return amount - on_time - open_now
    return amount - on_time


def surcharge_on_payment(
    amount_cents: int,
    due: date,
    paid_on: date,
    land: str,
    channel: Channel = Channel.TRANSFER,
) -> int:
    """Total surcharge of a main claim paid in full by one payment (DOMAIN.md's examples)."""
    payment = Payment(paid_on, amount_cents, channel)
    as_of = max(payment.counts_on(due_date(due, land)), due)
    return surcharges(amount_cents, due, [payment], as_of, land).total_cents
