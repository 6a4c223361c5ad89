"""Deferral and instalment plans as effective-dated statute data (levy ``instalments``) and the
pure arithmetic of a schedule: the instalments' amounts, a suggested monthly schedule, the
interest (§ 234 AO) and the check of a request against the statute.

Statute data (a ``Statute`` row, core/tenancy/statutes.py), amounts in cents::

    {"auto_max_cents": 100000, "auto_max_months": 6,     # straight through up to these
     "max_months": 24, "max_instalments": 24, "min_instalment_cents": 2500,
     "interest_per_mille_per_month": 5,                  # § 238 (1) AO: 0.5 % per full month
     "interest_base_step_cents": 5000,                   # § 238 (2) AO: base down to 50 €
     "interest_waived_below_cents": 1000,                # § 239 (2) AO: under 10 € not charged
     "late_days": 14,                                    # an instalment more than N days late
     "legal_basis": "…"}                                 # ends the plan

Rounding rule of the schedule: the total is split into ``n`` instalments of ``total // n``
cents; the first ``total % n`` instalments are one cent higher. The amounts therefore sum to
the total exactly and differ by at most one cent.

Interest (§ 234 AO, §§ 238, 239 AO): each instalment's share of the deferred amount (split by
the same rule) is charged interest for the full months from the plan's first day to its due
date, its base rounded down to the statute's step; the sum is rounded down to whole euros and
not charged when below the statute's threshold. The instalments then split deferred amount
plus interest by the rounding rule above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from typing import Any

from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.kernel.money import format_euro
from core.kernel.months import add_months
from core.tenancy.statutes import statute_on

LEVY = "instalments"


@dataclass(frozen=True)
class InstalmentRules:
    source: str
    auto_max_cents: int
    auto_max_months: int
    max_months: int
    max_instalments: int
    min_instalment_cents: int
    interest_per_mille_per_month: int
    interest_base_step_cents: int
    interest_waived_below_cents: int
    late_days: int
    legal_basis: str = ""

    @classmethod
    def from_data(cls, data: Mapping[str, Any], source: str) -> InstalmentRules:
        names = (
            "auto_max_cents",
            "auto_max_months",
            "max_months",
            "max_instalments",
            "min_instalment_cents",
            "interest_per_mille_per_month",
            "interest_base_step_cents",
            "interest_waived_below_cents",
            "late_days",
        )
        try:
            values = {name: _whole(data[name], name) for name in names}
        except KeyError as exc:
            raise ValidationError(f"Ratenzahlungsregeln unvollständig: {exc}") from exc
        if values["max_instalments"] < 1 or values["interest_base_step_cents"] < 1:
            raise ValidationError("Ratenzahlungsregeln: mindestens eine Rate, Schritt ab 1 Cent.")
        return cls(source=source, legal_basis=str(data.get("legal_basis", "")), **values)


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"„{what}“ muss eine ganze Zahl ab 0 sein, nicht „{value}“.")
    return value


def rules_on(session: Session, municipality_id: int, day: date) -> InstalmentRules:
    """The municipality's rules for deferrals and instalments in force on ``day``."""
    statute = statute_on(session, municipality_id, LEVY, day)
    return InstalmentRules.from_data(statute.data, statute.source)


def split_cents(total: int, count: int) -> list[int]:
    """``total`` in ``count`` parts summing exactly to it; the first ``total % count`` parts
    are one cent higher than the others."""
    if count < 1:
        raise ValidationError("Mindestens eine Rate.")
    base, extra = divmod(total, count)
    return [base + 1 if i < extra else base for i in range(count)]


def suggested_dates(first: date, count: int) -> list[date]:
    """A monthly schedule from ``first`` (same day each month, clamped to the month's end)."""
    return [add_months(first, i) for i in range(count)]


def full_months(start: date, end: date) -> int:
    """Full months from ``start`` to ``end`` (§ 238 (1) S. 2 AO: started months do not count)."""
    if end <= start:
        return 0
    months = (end.year - start.year) * 12 + end.month - start.month
    while months > 0 and add_months(start, months) > end:
        months -= 1
    return months


def interest(
    rules: InstalmentRules, deferred_cents: int, dates: Sequence[date], start: date
) -> int:
    """Interest on the deferral (§ 234 AO) of ``deferred_cents`` paid on ``dates`` (module
    docstring): whole euros in cents, 0 when below the threshold."""
    step = rules.interest_base_step_cents
    total = 0
    for share, due in zip(split_cents(deferred_cents, len(dates)), dates, strict=True):
        base = share // step * step
        total += base * rules.interest_per_mille_per_month * full_months(start, due) // 1000
    total = total // 100 * 100  # § 239 (2) S. 1 AO: whole euros, rounded down
    return 0 if total < rules.interest_waived_below_cents else total


@dataclass(frozen=True)
class Schedule:
    deferred_cents: int
    interest_cents: int
    dates: tuple[date, ...]
    amounts: tuple[int, ...]

    @property
    def total_cents(self) -> int:
        return self.deferred_cents + self.interest_cents


def schedule(
    rules: InstalmentRules, deferred_cents: int, dates: Sequence[date], start: date
) -> Schedule:
    """The instalments of a plan beginning on ``start`` (checked first: :func:`check`)."""
    check(rules, deferred_cents, dates, start)
    owed = interest(rules, deferred_cents, dates, start)
    amounts = split_cents(deferred_cents + owed, len(dates))
    return Schedule(deferred_cents, owed, tuple(dates), tuple(amounts))


def check(rules: InstalmentRules, deferred_cents: int, dates: Sequence[date], start: date) -> None:
    """Refuse (German ``ValidationError``) what the statute never allows, clerk or not."""
    count = len(dates)
    if deferred_cents <= 0:
        raise ValidationError("Bitte wählen Sie mindestens einen offenen Betrag aus.")
    if not 1 <= count <= rules.max_instalments:
        raise ValidationError(f"Bitte wählen Sie zwischen 1 und {rules.max_instalments} Raten.")
    if dates[0] < start:
        raise ValidationError(f"Die erste Rate darf nicht vor dem {start:%d.%m.%Y} liegen.")
    if any(later <= earlier for earlier, later in pairwise(dates)):
        raise ValidationError("Jede Rate muss nach der vorigen fällig sein.")
    latest = add_months(start, rules.max_months)
    if dates[-1] > latest:
        raise ValidationError(
            f"Die letzte Rate darf höchstens {rules.max_months} Monate nach heute fällig sein "
            f"(spätestens am {latest:%d.%m.%Y})."
        )
    if count > 1 and deferred_cents // count < rules.min_instalment_cents:
        most = max(1, deferred_cents // rules.min_instalment_cents)
        raise ValidationError(
            f"Eine Rate muss mindestens {format_euro(rules.min_instalment_cents)} betragen; "
            f"bei {format_euro(deferred_cents)} sind höchstens {most} Raten möglich."
        )


def over_limit(rules: InstalmentRules, deferred_cents: int, last_due: date, start: date) -> str:
    """Why a clerk decides (German), or "" when the request may go straight through."""
    reasons = []
    if deferred_cents > rules.auto_max_cents:
        reasons.append(f"mehr als {format_euro(rules.auto_max_cents)}")
    if last_due > add_months(start, rules.auto_max_months):
        reasons.append(f"länger als {rules.auto_max_months} Monate")
    return ", ".join(reasons)
