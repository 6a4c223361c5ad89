"""What the two Realsteuern share (§ 3 (2) AO: Grundsteuer and Gewerbesteuer), pure, no database.

* Both are a Messbetrag of the tax office times the municipality's Hebesatz (DOMAIN.md "Property
  tax and trade tax": Tax = Messbetrag × Hebesatz / 100; § 25 GrStG, § 16 GewStG).
  Hebesätze are kept in **hundredths of a percent** (480 % → 48_000; 412,5 % → 41_250), so the
  product is exact in integers: ``messbetrag_cents × hebesatz / 10_000``.
* Rounding of that product to the cent: no source was found (DOMAIN.md names none, GrStG and
  GewStG say nothing); the default is **down to the full cent** (in the taxpayer's favour, as
  § 239 (2) AO does for interest), and a statute may choose ``"half_up"`` (statute data
  ``rounding``). With whole-percent Hebesätze and Messbeträge in cents the rule only matters for
  the last fraction of a cent.
* A change of a year's payments after a new notice (:func:`change_payments`): per due date the
  difference of new and old; for due dates already passed at notification the differences are
  added up — a surplus is due one month after the notice (§ 30 (1), (3) GrStG; § 19 (3) S. 3 and
  § 20 (2) GewStG: "innerhalb eines Monats nach Bekanntgabe"), a shortfall is a credit at once
  (§ 30 (2) GrStG, § 20 (3) GewStG: set off or refunded). A due date on the day of notification
  counts as passed (it could not have been paid in the new amount). Due dates still to come
  simply carry the new amount.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from core.kernel.errors import ValidationError
from core.kernel.months import add_months

Rounding = Literal["down", "half_up"]
ROUNDINGS: tuple[Rounding, ...] = ("down", "half_up")
PERCENT = 100  # hundredths of a percent per percent
_HEBESATZ_RE = re.compile(r"^\s*(\d{1,5})(?:[.,](\d{1,2}))?\s*%?\s*$")


def parse_percent(value: Any, what: str) -> int:
    """A percentage of statute data (``480``, ``"412,5"``, ``"0.15"``) → hundredths of a percent.
    Floats are refused (no float touches the law: 0.15 is not exact in binary)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError(f"{what}: „{value}“ ist kein Prozentsatz (ganze Zahl oder Text).")
    if isinstance(value, int):
        if value < 0:
            raise ValidationError(f"{what} darf nicht negativ sein, nicht {value} %.")
        return value * PERCENT
    match = _HEBESATZ_RE.match(value)
    if not match:
        raise ValidationError(f"{what}: „{value}“ ist kein Prozentsatz (z. B. 480 oder 412,5).")
    whole, frac = match.groups()
    return int(whole) * PERCENT + int((frac or "0").ljust(2, "0"))


def format_percent(hundredths: int) -> str:
    """48_000 → ``480 %``, 41_250 → ``412,5 %``, 15 → ``0,15 %`` (German notation)."""
    whole, frac = divmod(hundredths, PERCENT)
    return f"{whole} %" if not frac else f"{whole},{frac:02d}".rstrip("0") + " %"


def parse_rounding(value: Any) -> Rounding:
    if value not in ROUNDINGS:
        raise ValidationError(
            f"Rundung „{value}“ unbekannt: „down“ (abrunden) oder „half_up“ (kaufmännisch)."
        )
    rounding: Rounding = value
    return rounding


def tax_cents(messbetrag_cents: int, hebesatz: int, rounding: Rounding = "down") -> int:
    """Messbetrag × Hebesatz / 100 in cents (``hebesatz`` in hundredths of a percent)."""
    if isinstance(messbetrag_cents, bool) or not isinstance(messbetrag_cents, int):
        raise ValidationError("Der Messbetrag muss in ganzen Cent angegeben sein.")
    if messbetrag_cents < 0:
        raise ValidationError("Der Messbetrag darf nicht negativ sein.")
    whole, rest = divmod(messbetrag_cents * hebesatz, 100 * PERCENT)
    if rounding == "half_up" and 2 * rest >= 100 * PERCENT:
        whole += 1
    return whole


@dataclass(frozen=True)
class Payment:
    """One amount of a year's tax on one due date (negative: a credit, e.g. after a reduction)."""

    due_date: date
    amount_cents: int
    label: str


def split_evenly(total_cents: int, parts: int) -> list[int]:
    """``parts`` amounts adding up exactly to ``total_cents``; the odd cents (at most
    parts − 1) go to the **first** part (no source fixes it; the first instalment carries the
    rounding difference, so later ones are the round equal amounts)."""
    share, odd = divmod(total_cents, parts)
    return [share + odd] + [share] * (parts - 1)


def change_payments(
    old: Iterable[Payment],
    new: Iterable[Payment],
    notified_on: date,
    late_due_months: int = 1,
) -> tuple[Payment, ...]:
    """What a changed notice books for a year: the differences between the ``new`` and the
    ``old`` payments (see the module docstring). The result adds up to new − old exactly."""
    by_date: dict[date, int] = {}
    labels: dict[date, str] = {}
    for sign, payments in ((-1, old), (1, new)):
        for p in payments:
            by_date[p.due_date] = by_date.get(p.due_date, 0) + sign * p.amount_cents
            if sign == 1 or p.due_date not in labels:
                labels[p.due_date] = p.label
    passed = sum(amount for day, amount in by_date.items() if day <= notified_on)
    result: list[Payment] = []
    if passed > 0:
        due = add_months(notified_on, late_due_months)
        result.append(Payment(due, passed, "Nachzahlung für bereits fällige Beträge"))
    elif passed < 0:
        result.append(Payment(notified_on, passed, "Erstattung für bereits fällige Beträge"))
    for day in sorted(d for d in by_date if d > notified_on):
        if by_date[day]:
            result.append(Payment(day, by_date[day], labels[day]))
    return tuple(sorted(result, key=lambda p: p.due_date))


def total(payments: Sequence[Payment]) -> int:
    return sum(p.amount_cents for p in payments)
