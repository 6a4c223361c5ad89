"""Months, pro-rata runs and instalments: what every yearly levy shares (pure, no database).

A levy computes, per object and month of a year, an annual rate and a note (or nothing when
the object is not liable that month). :func:`runs` turns that into the rows of a notice — runs
of months with the same rate, each ``pro_rata(annual, months, 12)`` rounded half-up to the cent
(no source fixes the rounding of twelfths; DOMAIN.md). :func:`instalments` splits the year on
the statute's due dates: each instalment is the tax of the months it covers, computed
cumulatively so that the instalments add up exactly to the year's amount.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from core.kernel.money import pro_rata
from core.kernel.months import add_months, month_end


@dataclass(frozen=True)
class Line:
    """One run of months of one object at one annual rate (a row of the notice)."""

    object_id: int
    description: str
    period_start: date
    period_end: date
    months: int
    annual_cents: int
    amount_cents: int
    first_month: int  # 1..12
    last_month: int


@dataclass(frozen=True)
class Instalment:
    index: int  # 1-based
    scheduled_on: date
    first_month: int
    last_month: int
    amount_cents: int


@dataclass(frozen=True)
class YearAssessment:
    year: int
    lines: tuple[Line, ...]
    instalments: tuple[Instalment, ...]

    @property
    def total_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines)


def runs(object_id: int, label: str, months: dict[int, tuple[int, str]], year: int) -> list[Line]:
    """Rows for one object from its (annual cents, note) per month (1..12)."""
    lines: list[Line] = []
    month = 1
    while month <= 12:
        if month not in months:
            month += 1
            continue
        start, value = month, months[month]
        while month + 1 <= 12 and months.get(month + 1) == value:
            month += 1
        count = month - start + 1
        annual, note = value
        lines.append(
            Line(
                object_id=object_id,
                description=f"{label} ({note})" if note else label,
                period_start=date(year, start, 1),
                period_end=month_end(year, month),
                months=count,
                annual_cents=annual,
                amount_cents=pro_rata(annual, count, 12),
                first_month=start,
                last_month=month,
            )
        )
        month += 1
    return lines


def instalments(
    lines: Sequence[Line], schedule: Sequence[tuple[int, int]], year: int
) -> list[Instalment]:
    span = 12 // len(schedule)
    result = []
    for i, (month, day) in enumerate(schedule):
        first, last = i * span + 1, (i + 1) * span
        amount = sum(_share(line, first, last) for line in lines)
        result.append(Instalment(i + 1, date(year, month, day), first, last, amount))
    return result


def _share(line: Line, first: int, last: int) -> int:
    """The part of a line's amount on months first..last (cumulative: parts add up exactly)."""

    def upto(month: int) -> int:
        covered = max(0, min(month, line.last_month) - line.first_month + 1)
        return (
            pro_rata(line.annual_cents, covered, 12) if covered < line.months else line.amount_cents
        )

    return upto(last) - upto(first - 1)


def due_date(instalment: Instalment, issued_on: date, late_due_months: int) -> date:
    """An instalment whose date has passed when the notice is issued is due ``late_due_months``
    after the notice (DOMAIN.md "Dog tax – Due dates"; the same practice for fees)."""
    if instalment.scheduled_on >= issued_on:
        return instalment.scheduled_on
    return add_months(issued_on, late_due_months)
