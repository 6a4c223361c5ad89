"""The dunning procedure of a municipality as effective-dated statute data (levy ``dunning``)
and the pure step rule of a run.

Statute data (a ``Statute`` row, core/tenancy/statutes.py), amounts in cents::

    {"levels": [{"name": "Zahlungserinnerung", "days_after_due": 7, "payment_days": 7,
                 "fee": {"model": "none"}},
                {"name": "Mahnung", "days_after_due": 21, "payment_days": 7,
                 "fee": {"model": "nrw"}}, ...],
     "surcharges": true, "tolerance_cents": 500, "delivery_days": 4, "legal_basis": "…",
     "suspension_stops_surcharges": false}

``suspension_stops_surcharges``: whether no Säumniszuschläge arise while enforcement is
suspended (AdV, block reason SUSPENSION) as they do not during a Stundung (core/dunning/
surcharges.py); it is the municipality's statute data because whether the suspension also
ends the Säumnis depends on the law the levy is collected under (AO via the KAG, or § 80 (4)
VwGO). Default false: a suspension blocks dunning only.

Rules (shared DOMAIN.md "Late payment and dunning"): the first letter at the earliest one week
after the due date, every letter with at least one week to pay (§ 259 AO, § 4 VwVG LSA; in NRW
the Mahnung of § 19 VwVG NRW); levels in order, one step per claim and run at most, the next
only after the previous letter's deadline has passed; nothing is dunned below the tolerance
(an open amount of at least ``tolerance_cents`` is dunned). The deadline is
counted from the day the letter is deemed delivered (§ 122 (2) Nr. 1 AO: the fourth day after
posting since 2025, ``delivery_days``) and, like that day, moved off weekends and holidays of the
Land (§ 108 (3) AO). The due date itself moves the same way (core/dunning/surcharges.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy.orm import Session

from core.dunning.fees import FeeModel
from core.dunning.surcharges import due_date
from core.kernel.errors import ValidationError
from core.tenancy.holidays import next_working_day
from core.tenancy.statutes import statute_on

LEVY = "dunning"
MIN_DAYS_AFTER_DUE = 7  # § 259 AO: not before one week after the due date
MIN_PAYMENT_DAYS = 7  # at least one week to pay
DEFAULT_DELIVERY_DAYS = 4  # § 122 (2) Nr. 1 AO since 1 January 2025


@dataclass(frozen=True)
class Level:
    number: int  # 1: the first letter
    name: str
    days_after_due: int
    payment_days: int
    fee: FeeModel


@dataclass(frozen=True)
class DunningRules:
    source: str
    levels: tuple[Level, ...]
    surcharges: bool  # whether Säumniszuschläge are charged (§ 240 AO)
    tolerance_cents: int  # open amounts below it are not dunned
    delivery_days: int = DEFAULT_DELIVERY_DAYS
    legal_basis: str = ""
    suspension_stops_surcharges: bool = False

    @classmethod
    def from_data(cls, data: Mapping[str, Any], source: str) -> DunningRules:
        try:
            levels = tuple(
                _level(number, raw) for number, raw in enumerate(data["levels"], start=1)
            )
            rules = cls(
                source=source,
                levels=levels,
                surcharges=_flag(data.get("surcharges", True), "surcharges"),
                tolerance_cents=_whole(data.get("tolerance_cents", 0), "Die Bagatellgrenze"),
                delivery_days=_whole(data.get("delivery_days", DEFAULT_DELIVERY_DAYS), "Postlauf"),
                legal_basis=str(data.get("legal_basis", "")),
                suspension_stops_surcharges=_flag(
                    data.get("suspension_stops_surcharges", False), "suspension_stops_surcharges"
                ),
            )
        except (KeyError, TypeError) as exc:
            raise ValidationError(f"Mahnverfahren unvollständig oder fehlerhaft: {exc}") from exc
        _check_levels(rules.levels)
        return rules

    def level(self, number: int) -> Level:
        return self.levels[number - 1]

    @property
    def last_level(self) -> int:
        return len(self.levels)

    def fee(self, level: Level, dunned_cents: int, *, already_charged: bool = False) -> int:
        """The fee of a letter of ``level`` for ``dunned_cents`` (the main claims' open amount);
        the NRW cap of 52 € applies because, and where, this procedure charges surcharges."""
        return level.fee.fee(
            dunned_cents, surcharges_charged=self.surcharges, already_charged=already_charged
        )


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{what} muss eine ganze Zahl ab 0 sein, nicht „{value}“.")
    return value


def _flag(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"„{key}“ muss ja oder nein sein (true/false), nicht „{value}“.")
    return value


def _level(number: int, raw: Mapping[str, Any]) -> Level:
    name = str(raw["name"]).strip()
    if not name:
        raise ValidationError(f"Mahnstufe {number} hat keinen Namen.")
    return Level(
        number=number,
        name=name,
        days_after_due=_whole(raw["days_after_due"], f"Mahnstufe {number}: Tage nach Fälligkeit"),
        payment_days=_whole(raw["payment_days"], f"Mahnstufe {number}: Zahlungsfrist"),
        fee=FeeModel.from_data(raw.get("fee")),
    )


def _check_levels(levels: tuple[Level, ...]) -> None:
    if not levels:
        raise ValidationError("Das Mahnverfahren braucht mindestens eine Mahnstufe.")
    if levels[0].days_after_due < MIN_DAYS_AFTER_DUE:
        raise ValidationError(
            f"Die erste Mahnstufe („{levels[0].name}“) darf frühestens eine Woche nach "
            f"Fälligkeit ergehen (§ 259 AO), nicht nach {levels[0].days_after_due} Tagen."
        )
    for earlier, later in pairwise(levels):
        if later.days_after_due <= earlier.days_after_due:
            raise ValidationError(
                f"Mahnstufe {later.number} („{later.name}“) muss später als Stufe "
                f"{earlier.number} („{earlier.name}“) liegen."
            )
    names = [level.name for level in levels]
    if len(set(names)) != len(names):
        raise ValidationError("Jede Mahnstufe braucht einen eigenen Namen.")
    for level in levels:
        if level.payment_days < MIN_PAYMENT_DAYS:
            raise ValidationError(
                f"Mahnstufe {level.number} („{level.name}“): die Zahlungsfrist muss mindestens "
                f"eine Woche betragen, nicht {level.payment_days} Tage."
            )


def procedure_on(session: Session, municipality_id: int, day: date) -> DunningRules:
    """The dunning procedure of the municipality in force on ``day``."""
    statute = statute_on(session, municipality_id, LEVY, day)
    return DunningRules.from_data(statute.data, statute.source)


@dataclass(frozen=True)
class ClaimDunning:
    """Where one claim stands: what a run needs to decide its next step."""

    due: date
    open_cents: int
    level: int = 0  # the last level sent; 0: not dunned yet
    last_dunned_on: date | None = None


@dataclass(frozen=True)
class Step:
    level: Level
    delivered_on: date  # deemed delivered (§ 122 (2) AO), moved to a working day
    deadline: date  # the last day to pay, a working day


def deadline(rules: DunningRules, level: Level, sent_on: date, land: str) -> tuple[date, date]:
    """(deemed delivery, payment deadline) of a letter of ``level`` posted on ``sent_on``."""
    delivered = next_working_day(sent_on + timedelta(days=rules.delivery_days), land)
    return delivered, next_working_day(delivered + timedelta(days=level.payment_days), land)


def next_step(rules: DunningRules, claim: ClaimDunning, run_date: date, land: str) -> Step | None:
    """The level a run on ``run_date`` sends for the claim, or None (nothing due yet, below
    the tolerance, or past the last level: then it is for enforcement). One step at most."""
    if claim.open_cents <= 0 or claim.open_cents < rules.tolerance_cents:
        return None
    if not 0 <= claim.level <= rules.last_level:
        raise ValidationError(f"Mahnstufe {claim.level} gibt es in diesem Mahnverfahren nicht.")
    if claim.level and claim.last_dunned_on is None:
        raise ValidationError("Für eine gemahnte Forderung fehlt das Datum der letzten Mahnung.")
    if claim.last_dunned_on is not None and run_date < claim.last_dunned_on:
        raise ValidationError(
            f"Der Mahnlauf zum {run_date:%d.%m.%Y} liegt vor der letzten Mahnung "
            f"({claim.last_dunned_on:%d.%m.%Y})."
        )
    if claim.level == rules.last_level:
        return None
    if claim.level and claim.last_dunned_on is not None:
        _, previous_deadline = deadline(rules, rules.level(claim.level), claim.last_dunned_on, land)
        if run_date <= previous_deadline:
            return None  # the previous letter's deadline still runs
    level = rules.level(claim.level + 1)
    if run_date < due_date(claim.due, land) + timedelta(days=level.days_after_due):
        return None
    delivered, pay_by = deadline(rules, level, run_date, land)
    return Step(level, delivered, pay_by)


def ready_for_enforcement(
    rules: DunningRules, claim: ClaimDunning, run_date: date, land: str
) -> bool:
    """The last level was sent, its deadline has passed, and the claim is still open."""
    if claim.level != rules.last_level or claim.last_dunned_on is None:
        return False
    if claim.open_cents <= 0 or claim.open_cents < rules.tolerance_cents:
        return False
    _, pay_by = deadline(rules, rules.level(claim.level), claim.last_dunned_on, land)
    return run_date > pay_by
