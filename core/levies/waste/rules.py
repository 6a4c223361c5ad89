"""Waste fees (Abfallgebühren): the statute's fee table and the yearly computation (pure).

Fee model of DOMAIN.md "Waste fees" (example: Eichenzell): a monthly base fee per resident of
the property plus a monthly fee per bin by size (litres) and collection rhythm; pro rata by
months. Liability for a bin starts with the month it is delivered ("same_month") or the next
("month_after") and ends with the month it is taken away. Other fee models (per pickup, per
weight) would be further computation modules with the same result type.

A statute may set a minimum volume per resident and week (``min_litres_per_resident_week``):
a property whose bins hold less is sent to a clerk (criteria), not silently charged more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from core.kernel.errors import ValidationError
from core.kernel.months import month_index
from core.notices import periods
from core.notices.periods import Instalment, YearAssessment

LEVY = "waste_fee"

RHYTHMS = {"weekly": "wöchentlich", "fortnightly": "14-täglich", "four_weekly": "4-wöchentlich"}
COLLECTIONS_PER_FOUR_WEEKS = {"weekly": 4, "fortnightly": 2, "four_weekly": 1}


@dataclass(frozen=True)
class WasteFeeRules:
    source: str
    base_fee_resident_month_cents: int
    bin_fees_month_cents: Mapping[tuple[int, str], int]  # (litres, rhythm) → monthly fee
    liability_start: Literal["month_after", "same_month"]
    due_dates: tuple[tuple[int, int], ...]
    late_due_months: int = 1
    min_litres_per_resident_week: int | None = None
    legal_basis: str = ""
    remedy: str = ""

    @classmethod
    def from_data(cls, data: Mapping[str, Any], source: str) -> WasteFeeRules:
        try:
            rules = cls(
                source=source,
                base_fee_resident_month_cents=int(data["base_fee_per_resident_month_cents"]),
                bin_fees_month_cents={
                    (int(size), rhythm): int(fee)
                    for size, by_rhythm in data["bin_fees_month_cents"].items()
                    for rhythm, fee in by_rhythm.items()
                },
                liability_start=data["liability_start"],
                due_dates=tuple((int(m), int(d)) for m, d in data["due_dates"]),
                late_due_months=int(data.get("late_due_months", 1)),
                min_litres_per_resident_week=data.get("min_litres_per_resident_week"),
                legal_basis=str(data.get("legal_basis", "")),
                remedy=str(data.get("remedy", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                f"Abfallgebührensatzung unvollständig oder fehlerhaft: {exc}"
            ) from exc
        if any(r not in RHYTHMS for _, r in rules.bin_fees_month_cents):
            raise ValidationError("Unbekannter Abfuhrrhythmus in der Gebührentabelle.")
        if not rules.due_dates or 12 % len(rules.due_dates):
            raise ValidationError("Die Fälligkeiten müssen das Jahr in gleiche Teile teilen.")
        return rules

    def sizes(self) -> list[int]:
        return sorted({size for size, _ in self.bin_fees_month_cents})

    def bin_fee(self, litres: int, rhythm: str) -> int:
        try:
            return self.bin_fees_month_cents[(litres, rhythm)]
        except KeyError:
            raise ValidationError(
                f"Für {litres} Liter, {RHYTHMS.get(rhythm, rhythm)}, sieht die Satzung keine "
                "Gebühr vor."
            ) from None

    def litres_per_week(self, litres: int, rhythm: str) -> int:
        """Weekly volume, rounded down (four-weekly 120 L = 30 L a week)."""
        return litres * COLLECTIONS_PER_FOUR_WEEKS[rhythm] // 4

    def below_minimum(self, residents: int, bins: Sequence[tuple[int, str]]) -> bool:
        if not self.min_litres_per_resident_week or residents <= 0:
            return False
        volume = sum(self.litres_per_week(size, rhythm) for size, rhythm in bins)
        return volume < residents * self.min_litres_per_resident_week


@dataclass(frozen=True)
class BinFacts:
    bin_id: int
    number: int
    litres: int
    rhythm: str
    start: date  # delivered / in use from
    end: date | None  # taken away on
    replaces: bool = False  # replaces a bin of the property that ended the day before


@dataclass(frozen=True)
class PropertyFacts:
    property_id: int
    label: str  # the address, for the notice
    residents: int
    liable_from: date
    bins: tuple[BinFacts, ...]


RulesFor = Callable[[int], WasteFeeRules]


def _first_month(day: date, rules: WasteFeeRules) -> int:
    start = month_index(day)
    return start + 1 if rules.liability_start == "month_after" else start


def _first_bin_month(b: BinFacts, rules: WasteFeeRules) -> int:
    """A replacing bin (a change of size or rhythm) is charged from the month after the
    replaced one's last month: no month without a bin fee, none with two."""
    if b.replaces:
        return month_index(b.start - timedelta(days=1)) + 1
    return _first_month(b.start, rules)


def compute_year(prop: PropertyFacts, rules_for: RulesFor, year: int) -> YearAssessment:
    """The waste fees of one property for one calendar year."""
    base: dict[int, tuple[int, str]] = {}
    per_bin: dict[int, dict[int, tuple[int, str]]] = {b.bin_id: {} for b in prop.bins}
    for month in range(1, 13):
        m_index = year * 12 + month - 1
        rules = rules_for(m_index)
        if m_index >= _first_month(prop.liable_from, rules) and prop.residents > 0:
            base[month] = (
                rules.base_fee_resident_month_cents * prop.residents * 12,
                f"{prop.residents} Personen",
            )
        for b in prop.bins:
            if m_index < _first_bin_month(b, rules) or (b.end and m_index > month_index(b.end)):
                continue
            per_bin[b.bin_id][month] = (
                rules.bin_fee(b.litres, b.rhythm) * 12,
                f"{b.litres} l, {RHYTHMS[b.rhythm]}",
            )
    lines = periods.runs(prop.property_id, f"Grundgebühr {prop.label}", base, year)
    for b in sorted(prop.bins, key=lambda b: (b.start, b.bin_id)):
        lines.extend(periods.runs(b.bin_id, f"Behälter Nr. {b.number}", per_bin[b.bin_id], year))
    schedule = rules_for(year * 12).due_dates
    return YearAssessment(year, tuple(lines), tuple(periods.instalments(lines, schedule, year)))


def due_date(instalment: Instalment, issued_on: date, rules: WasteFeeRules) -> date:
    return periods.due_date(instalment, issued_on, rules.late_due_months)
