"""Putting a run's letters together, pure: which claims step up (one step at most), one
letter per person and level, the letter's fee from the procedure's fee model and each main
claim's new surcharges (§ 240 AO) up to the run date.

The fee is computed from the main claims' open amount only (fees, surcharges and other
ancillary claims dunned alongside do not count, § 17 (1) VO VwVG NRW); where the model charges
once per claim (NRW), claims that carried a fee before do not count again. The fee is shared
among the letter's main claims in proportion to their open amounts (the remainder to the
first), so every item shows its part. Surcharges: what has arisen up to the run date minus
what earlier runs booked; none for the time a deferral covered the claim (core/dunning/
surcharges.py, § 240 (1) S. 1 AO).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

from core.dunning.procedure import DunningRules, Level, Step, next_step
from core.dunning.selection import AnyClaim, Candidate
from core.dunning.surcharges import (
    BASE_STEP_CENTS,
    FreePeriod,
    Payment,
    bears_surcharge,
    total_cents,
)


@dataclass(frozen=True)
class PlannedItem:
    candidate: Candidate[AnyClaim]
    fee_cents: int
    surcharge_cents: int


@dataclass(frozen=True)
class PlannedLetter:
    person_id: int
    step: Step
    items: tuple[PlannedItem, ...]

    @property
    def level(self) -> Level:
        return self.step.level

    @property
    def open_cents(self) -> int:
        return sum(i.candidate.open_cents for i in self.items)

    @property
    def fee_cents(self) -> int:
        return sum(i.fee_cents for i in self.items)

    @property
    def surcharge_cents(self) -> int:
        return sum(i.surcharge_cents for i in self.items)

    @property
    def total_cents(self) -> int:
        return self.open_cents + self.fee_cents + self.surcharge_cents


@dataclass(frozen=True)
class Context:
    """What the run read besides the candidates."""

    history: Mapping[int, Sequence[Payment]]  # payments per claim
    booked_surcharges: Mapping[int, int]  # surcharges booked so far per claim
    fee_charged: frozenset[int]  # claims that carried a fee before
    # per claim, the blocks in which no surcharge arises (core.dunning.blocks.
    # surcharge_free_periods: deferrals, and suspensions where the statute says so)
    free: Mapping[int, Sequence[FreePeriod]] = field(default_factory=dict)


def stepping(
    rules: DunningRules, candidates: Sequence[Candidate[AnyClaim]], run_date: date, land: str
) -> list[tuple[Candidate[AnyClaim], Step]]:
    """The candidates that step up in this run, with their step. The step of a claim above
    the tolerance depends only on its due date, level and last letter, so it is computed once
    per such triple (a run has a few due dates and levels, and a million claims)."""
    found = []
    known: dict[tuple[date, int, date | None], Step | None] = {}
    for candidate in candidates:
        dunning = candidate.dunning
        if dunning.open_cents <= 0 or dunning.open_cents < rules.tolerance_cents:
            continue  # next_step's first rule: nothing below the tolerance
        key = (dunning.due, dunning.level, dunning.last_dunned_on)
        try:
            step = known[key]
        except KeyError:
            step = known[key] = next_step(rules, dunning, run_date, land)
        if step is not None:
            found.append((candidate, step))
    return found


def letters(
    rules: DunningRules,
    steps: Sequence[tuple[Candidate[AnyClaim], Step]],
    run_date: date,
    land: str,
    context: Context,
) -> list[PlannedLetter]:
    """One letter per person and level, in the order of persons and levels."""
    groups: dict[tuple[int, int], list[Candidate[AnyClaim]]] = defaultdict(list)
    step_of: dict[tuple[int, int], Step] = {}
    for candidate, step in steps:
        key = (candidate.claim.person_id, step.level.number)
        groups[key].append(candidate)
        step_of[key] = step
    return [
        _letter(rules, key[0], step_of[key], groups[key], run_date, land, context)
        for key in sorted(groups)
    ]


def _letter(
    rules: DunningRules,
    person_id: int,
    step: Step,
    group: list[Candidate[AnyClaim]],
    run_date: date,
    land: str,
    context: Context,
) -> PlannedLetter:
    shares = fee_shares(rules, step.level, group, context.fee_charged)
    items = tuple(
        PlannedItem(c, shares.get(c.claim.id, 0), new_surcharge(rules, c, run_date, land, context))
        for c in group
    )
    return PlannedLetter(person_id, step, items)


def fee_shares(
    rules: DunningRules, level: Level, group: Sequence[Candidate[AnyClaim]], charged: frozenset[int]
) -> dict[int, int]:
    """The letter's fee split over its main claims (claim id → cents)."""
    base = [
        c
        for c in group
        if bears_surcharge(c.claim.kind)
        and not (level.fee.once_per_claim and c.claim.id in charged)
    ]
    dunned = sum(c.open_cents for c in base)
    fee = rules.fee(level, dunned)
    if not fee or not dunned:
        return {}
    shares = {c.claim.id: fee * c.open_cents // dunned for c in base}
    shares[base[0].claim.id] += fee - sum(shares.values())
    return shares


def new_surcharge(
    rules: DunningRules, candidate: Candidate[AnyClaim], run_date: date, land: str, context: Context
) -> int:
    """Surcharges of a main claim arisen up to the run date and not yet booked. A claim
    without payments and without deferrals bears the same surcharges as every other of its
    due date whose amount rounds down to the same 50 € (§ 240 (1) AO): computed once per such
    pair (:func:`_plain`)."""
    claim = candidate.claim
    if not rules.surcharges or not bears_surcharge(claim.kind):
        return 0
    history = context.history.get(claim.id, ())
    free = context.free.get(claim.id, ())
    if history or free:
        arisen = total_cents(
            candidate.assessed_cents, claim.due_date, history, run_date, land, claim.kind, free
        )
    else:
        steps = candidate.assessed_cents // BASE_STEP_CENTS
        arisen = _plain(steps, claim.due_date, run_date, land)
    return max(arisen - context.booked_surcharges.get(claim.id, 0), 0)


@lru_cache(maxsize=65536)
def _plain(steps: int, due: date, run_date: date, land: str) -> int:
    """Surcharges arisen on ``steps`` × 50 € due on ``due``, nothing paid, no deferral."""
    return total_cents(steps * BASE_STEP_CENTS, due, (), run_date, land)
