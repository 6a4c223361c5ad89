"""Dog tax (Hundesteuer): the statute's rules and the yearly computation (pure, no database).

Rules and their sources (shared DOMAIN.md "Dog tax"):
* Rates per year for the first, second and each further dog; own rates for listed (dangerous)
  dogs — per municipality's Hundesteuersatzung, e.g. München, Hamburg, Uelzen, Bitburg.
* Start of liability: the 1st of the month *after* the dog is taken in (München Satzung § 3 (1))
  or of the month *in which* it is taken in (Hannover) — ``liability_start``. A dog is taxable
  only from the age of ``min_age_months`` (3: puppies of one's own dog).
* End: the end of the month in which the dog is given away, dies, is lost or the owner moves.
* Pro rata by months: twelfths of the annual rate; no source fixes the rounding, so the amount of
  each period (run of months with the same rate) is rounded half-up to the cent.
* Position (first/second/further) is decided month by month among the owner's taxable dogs,
  oldest acquisition first; whether exempt dogs count is a statute setting (``exempt_dogs_count``).
* Instalments on the statute's due dates (quarterly 15.2./15.5./15.8./15.11., Hamburg half-yearly);
  each instalment is the tax of the months it covers (12 / number of due dates each), computed
  cumulatively so that the instalments add up exactly to the year's tax. A due date that has
  passed when the notice is issued moves to ``late_due_months`` after the notice (DOMAIN.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from core.kernel.errors import ValidationError
from core.kernel.months import add_months, month_index
from core.notices import periods
from core.notices.periods import Instalment, Line, YearAssessment

LEVY = "dog_tax"


@dataclass(frozen=True)
class Exemption:
    code: str
    label: str
    kind: Literal["exempt", "reduced"]
    rate_cents: int | None = None  # annual rate while reduced
    months: int | None = None  # limited duration from the start of liability (None: unlimited)


@dataclass(frozen=True)
class DogTaxRules:
    source: str
    rates: tuple[int, ...]  # annual cents: first, second, further (the last one repeats)
    dangerous_rates: tuple[int, ...]
    listed_breeds: tuple[str, ...]  # as the statute (or Land law) names them
    liability_start: Literal["month_after", "same_month"]
    due_dates: tuple[tuple[int, int], ...]  # (month, day); 12 must divide into them evenly
    late_due_months: int
    min_age_months: int
    exempt_dogs_count: bool
    exemptions: Mapping[str, Exemption] = field(default_factory=dict)
    replacement_tag_fee_cents: int = 0
    legal_basis: str = ""
    remedy: str = ""  # Rechtsbehelfsbelehrung (depends on the Land: Widerspruch or Klage)

    @classmethod
    def from_data(cls, data: Mapping[str, Any], source: str) -> DogTaxRules:
        try:
            rules = cls(
                source=source,
                rates=tuple(int(r) for r in data["rates_cents"]),
                dangerous_rates=tuple(int(r) for r in data["dangerous_rates_cents"]),
                listed_breeds=tuple(b.strip() for b in data.get("listed_breeds", [])),
                liability_start=data["liability_start"],
                due_dates=tuple((int(m), int(d)) for m, d in data["due_dates"]),
                late_due_months=int(data.get("late_due_months", 1)),
                min_age_months=int(data.get("min_age_months", 3)),
                exempt_dogs_count=bool(data.get("exempt_dogs_count", False)),
                exemptions={
                    code: Exemption(
                        code=code,
                        label=e["label"],
                        kind=e["kind"],
                        rate_cents=e.get("rate_cents"),
                        months=e.get("months"),
                    )
                    for code, e in data.get("exemptions", {}).items()
                },
                replacement_tag_fee_cents=int(data.get("replacement_tag_fee_cents", 0)),
                legal_basis=str(data.get("legal_basis", "")),
                remedy=str(data.get("remedy", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                f"Hundesteuersatzung unvollständig oder fehlerhaft: {exc}"
            ) from exc
        if (
            not rules.rates
            or not rules.dangerous_rates
            or min(rules.rates + rules.dangerous_rates) < 0
        ):
            raise ValidationError("Die Steuersätze müssen angegeben und nicht negativ sein.")
        if rules.liability_start not in ("month_after", "same_month"):
            raise ValidationError("Beginn der Steuerpflicht: 'month_after' oder 'same_month'.")
        if not rules.due_dates or 12 % len(rules.due_dates):
            raise ValidationError("Die Fälligkeiten müssen das Jahr in gleiche Teile teilen.")
        return rules

    def is_listed(self, breed: str) -> bool:
        return breed.strip().lower() in {b.lower() for b in self.listed_breeds}

    def annual_rate(self, position: int, dangerous: bool) -> int:
        """Annual rate in cents for the dog at ``position`` (1 = first dog)."""
        table = self.dangerous_rates if dangerous else self.rates
        return table[min(position, len(table)) - 1]


@dataclass(frozen=True)
class DogFacts:
    """What the computation needs to know of one dog."""

    dog_id: int
    name: str
    born_on: date | None
    acquired_on: date
    ended_on: date | None  # day of death, sale, loss or moving away
    dangerous: bool
    exemption_code: str | None = None


def first_liable_month(dog: DogFacts, rules: DogTaxRules) -> int:
    """Month index (year*12+month-1) of the first month of liability."""
    event = dog.acquired_on
    if dog.born_on is not None:
        event = max(event, add_months(dog.born_on, rules.min_age_months))
    start = month_index(event)
    return start + 1 if rules.liability_start == "month_after" else start


def last_liable_month(dog: DogFacts) -> int | None:
    return month_index(dog.ended_on) if dog.ended_on else None


RulesFor = Callable[[int], DogTaxRules]  # month index → rules in force that month


def compute_year(dogs: Sequence[DogFacts], rules_for: RulesFor, year: int) -> YearAssessment:
    """The dog tax of one owner for one calendar year."""
    # per dog, per month (1..12): (annual cents, note) or absent when not liable
    monthly: dict[int, dict[int, tuple[int, str]]] = {d.dog_id: {} for d in dogs}
    ordered = sorted(dogs, key=lambda d: (d.acquired_on, d.dog_id))
    lasts = [last_liable_month(dog) for dog in ordered]
    firsts: list[int] = []
    granted: list[Exemption | None] = []
    rules_of_firsts: DogTaxRules | None = None
    for month in range(1, 13):
        m_index = year * 12 + month - 1
        rules = rules_for(m_index)
        if rules is not rules_of_firsts:  # the rules mostly stay the same all year
            firsts = [first_liable_month(dog, rules) for dog in ordered]
            granted = [rules.exemptions.get(dog.exemption_code or "") for dog in ordered]
            rules_of_firsts = rules
        position = 0
        for dog, first, last, exemption in zip(ordered, firsts, lasts, granted, strict=True):
            if m_index < first or (last is not None and m_index > last):
                continue
            if exemption and exemption.months is not None and m_index >= first + exemption.months:
                exemption = None  # a time-limited exemption has run out
            if exemption and exemption.kind == "exempt":
                if rules.exempt_dogs_count:
                    position += 1
                monthly[dog.dog_id][month] = (0, f"steuerfrei ({exemption.label})")
                continue
            position += 1
            if exemption:
                monthly[dog.dog_id][month] = (
                    exemption.rate_cents or 0,
                    f"ermäßigt ({exemption.label})",
                )
            else:
                note = _position_note(position, dog.dangerous)
                monthly[dog.dog_id][month] = (rules.annual_rate(position, dog.dangerous), note)
    lines: list[Line] = []
    for dog in ordered:
        lines.extend(periods.runs(dog.dog_id, dog.name, monthly[dog.dog_id], year))
    schedule = rules_for(year * 12).due_dates
    return YearAssessment(year, tuple(lines), tuple(periods.instalments(lines, schedule, year)))


class YearMemo:
    """:func:`compute_year` once per distinct shape of an owner's dogs in a run: what the
    computation reads of a dog (its months of liability within the year, whether it is listed,
    its exemption) under the rules of each month; dog ids and names only label the lines. An
    annual run meets a few hundred shapes among a million owners."""

    def __init__(self) -> None:
        self._shapes: dict[tuple[Any, ...], YearAssessment] = {}

    def compute(
        self, dogs: Sequence[DogFacts], months: Sequence[DogTaxRules], year: int
    ) -> YearAssessment:
        """:func:`compute_year` of ``dogs`` with ``months[i]`` the rules of month i + 1."""
        ordered = sorted(dogs, key=lambda d: (d.acquired_on, d.dog_id))
        distinct = tuple({id(r): r for r in months}.values())
        key = (year, *map(id, months), *(_shape(d, distinct, year) for d in ordered))
        found = self._shapes.get(key)
        if found is None:
            # the first owner of this shape, with dog i of the order as id i and no name
            unnamed = [
                DogFacts(i, "", d.born_on, d.acquired_on, d.ended_on, d.dangerous, d.exemption_code)
                for i, d in enumerate(ordered)
            ]
            found = compute_year(unnamed, lambda m: months[m - year * 12], year)
            self._shapes[key] = found
        return YearAssessment(
            year,
            tuple(_named(line, ordered[line.object_id]) for line in found.lines),
            found.instalments,
        )


def _shape(dog: DogFacts, rules: Sequence[DogTaxRules], year: int) -> tuple[Any, ...]:
    """What compute_year reads of one dog under the year's distinct ``rules``, as the months
    of ``year`` see it: a first or last month of liability outside the year only counts as
    before or after it (unless a time-limited exemption counts from the first)."""
    low, high = year * 12 - 1, year * 12 + 12
    firsts = [first_liable_month(dog, r) for r in rules]
    if dog.exemption_code is None:
        firsts = [min(max(first, low), high) for first in firsts]
    last = last_liable_month(dog)
    if last is not None:
        last = None if last >= high - 1 else max(last, low)
    return (*firsts, last, dog.dangerous, dog.exemption_code)


def _named(line: Line, dog: DogFacts) -> Line:
    """A line of an unnamed dog (description "" or " (note)": periods.runs with label "")
    for ``dog``."""
    return Line(
        dog.dog_id,
        dog.name + line.description,
        line.period_start,
        line.period_end,
        line.months,
        line.annual_cents,
        line.amount_cents,
        line.first_month,
        line.last_month,
    )


_POSITION_NAMES = {1: "Ersthund", 2: "Zweithund"}


def _position_note(position: int, dangerous: bool) -> str:
    note = _POSITION_NAMES.get(position, "weiterer Hund")
    return f"{note}, gefährlicher Hund" if dangerous else note


def due_date(instalment: Instalment, issued_on: date, rules: DogTaxRules) -> date:
    return periods.due_date(instalment, issued_on, rules.late_due_months)


__all__ = [  # the period helpers are re-exported for the dog-tax callers
    "LEVY",
    "DogFacts",
    "DogTaxRules",
    "Exemption",
    "Instalment",
    "Line",
    "RulesFor",
    "YearAssessment",
    "YearMemo",
    "compute_year",
    "due_date",
    "first_liable_month",
    "last_liable_month",
]
