"""The Hebesatz simulator's core: "what if the Hebesatz were X % from year Y" over every object,
without booking anything (issue #14, "Statute simulator").

One code path with the assessment: every tax is :func:`core.levies.property_tax.rules.annual_tax`
of the object's Messbetrag and kind under the year's rules; the hypothetical rules are the
year's statute with other Hebesätze (:meth:`PropertyTaxRules.with_rates`, which refuses separate
residential / non-residential rates where neither the statute nor a named Land law allows them).
Other levies with a Messbetrag × Hebesatz (trade tax) use the same engine, :func:`simulate_with`,
with their own real computation (:class:`Computation`).
Speed without numpy: an object's tax depends only on (kind, Messbetrag), so each distinct pair is
computed once and counted (a town's 250,000 objects have far fewer distinct Messbeträge; even
all distinct it stays one function call per object and year).

Per object the change is the first simulated year's tax under the hypothetical rates minus under
the statute in force that year, in cents, counted into buckets (``edges``, in cents: a change
≤ 0 has its own buckets "Entlastung" and "unverändert") and the ``top`` largest increases.
"""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from core.kernel.errors import ValidationError
from core.kernel.money import format_euro
from core.levies.property_tax.rules import PropertyTaxRules, annual_tax

DEFAULT_EDGES = (5_000, 10_000, 25_000, 50_000, 100_000)  # 50, 100, 250, 500, 1,000 €
MAX_YEARS = 30


@dataclass(frozen=True)
class YearRevenue:
    year: int
    current_cents: int  # under the statute in force (or last enacted)
    simulated_cents: int

    @property
    def change_cents(self) -> int:
        return self.simulated_cents - self.current_cents


@dataclass(frozen=True)
class Bucket:
    label: str
    low_cents: int | None  # exclusive lower bound of the change (None: open)
    high_cents: int | None  # inclusive upper bound (None: open)
    count: int


@dataclass(frozen=True)
class ObjectChange:
    key: str
    kind: str
    messbetrag_cents: int
    current_cents: int
    simulated_cents: int

    @property
    def change_cents(self) -> int:
        return self.simulated_cents - self.current_cents


@dataclass(frozen=True)
class Simulation:
    objects: int
    from_year: int
    years: tuple[YearRevenue, ...]
    buckets: tuple[Bucket, ...]
    largest_increases: tuple[ObjectChange, ...]


Obj = tuple[str, str, int]  # (object key, kind, Messbetrag in cents)
R = TypeVar("R")


@dataclass(frozen=True)
class Computation(Generic[R]):
    """The real run's tax of one object under a levy's rules, and what of the rules it
    depends on (rules of equal signature give equal taxes): the one code path per levy."""

    tax: Callable[[int, str, R], int]  # (Messbetrag in cents, kind, rules) → tax in cents
    signature: Callable[[R], Hashable]


class _Taxes(Generic[R]):
    """The tax of each (kind, Messbetrag) once per distinct set of rates: the years
    of a simulation mostly share their statute, so a year costs a sum, not a computation."""

    def __init__(self, pairs: Mapping[tuple[str, int], int], computation: Computation[R]) -> None:
        self.pairs = pairs
        self.computation = computation
        self._by_rates: dict[Hashable, dict[tuple[str, int], int]] = {}
        self._revenue: dict[Hashable, int] = {}

    def of(self, rules: R) -> dict[tuple[str, int], int]:
        signature = self.computation.signature(rules)
        found = self._by_rates.get(signature)
        if found is None:
            tax = self.computation.tax
            found = {pair: tax(pair[1], pair[0], rules) for pair in self.pairs}
            self._by_rates[signature] = found
        return found

    def revenue(self, rules: R) -> int:
        """The sum of the taxes over the objects (counted per kind and Messbetrag)."""
        signature = self.computation.signature(rules)
        if signature not in self._revenue:
            taxes = self.of(rules)  # built in the order of self.pairs
            self._revenue[signature] = sum(map(operator.mul, taxes.values(), self.pairs.values()))
        return self._revenue[signature]


def _signature(rules: PropertyTaxRules) -> Hashable:
    return (*sorted(rules.hebesatz.items()), rules.rounding)


def _property_tax(messbetrag_cents: int, kind: str, rules: PropertyTaxRules) -> int:
    return annual_tax(messbetrag_cents, kind, rules)


PROPERTY_TAX: Computation[PropertyTaxRules] = Computation(_property_tax, _signature)


def simulate(
    objects: Iterable[Obj],
    current: Callable[[int], PropertyTaxRules],
    hebesatz: Mapping[str, int],
    from_year: int,
    years: Sequence[int],
    *,
    differentiation_basis: str = "",
    top: int = 20,
    edges: Sequence[int] = DEFAULT_EDGES,
) -> Simulation:
    """Revenue per year (``years``) under ``current(year)`` and, from ``from_year``, under the
    same rules with ``hebesatz`` (hundredths of a percent per kind); per object the change in
    ``from_year``. ``current`` gives the statute's rules of a year (for future years the
    caller passes the last enacted ones)."""
    return simulate_with(
        objects,
        current,
        lambda rules: rules.with_rates(hebesatz, differentiation_basis),
        PROPERTY_TAX,
        from_year,
        years,
        top=top,
        edges=edges,
    )


def simulate_with(
    objects: Iterable[Obj],
    current: Callable[[int], R],
    hypothesis: Callable[[R], R],
    computation: Computation[R],
    from_year: int,
    years: Sequence[int],
    *,
    top: int = 20,
    edges: Sequence[int] = DEFAULT_EDGES,
) -> Simulation:
    """:func:`simulate` for any levy: ``hypothesis`` turns a year's rules into the assumed
    ones (it refuses what the law does not allow), ``computation`` is the levy's real tax."""
    if not years or len(years) > MAX_YEARS:
        raise ValidationError(f"Bitte 1 bis {MAX_YEARS} Jahre für die Simulation wählen.")
    if list(edges) != sorted(set(edges)) or (edges and edges[0] <= 0):
        raise ValidationError("Die Klassengrenzen müssen positiv und aufsteigend sein.")
    items = list(objects)
    computed = _Taxes(Counter((kind, m) for _key, kind, m in items), computation)
    rows = []
    for year in years:
        rules = current(year)
        now = computed.revenue(rules)
        then = computed.revenue(hypothesis(rules)) if year >= from_year else now
        rows.append(YearRevenue(year, now, then))
    base = current(from_year)
    before = computed.of(base)
    after = computed.of(hypothesis(base))
    taxes = {pair: (before[pair], after[pair]) for pair in computed.pairs}
    return Simulation(
        objects=len(items),
        from_year=from_year,
        years=tuple(rows),
        buckets=_buckets(computed.pairs, taxes, edges),
        largest_increases=_largest(items, computed.pairs, taxes, top),
    )


Taxes = Mapping[tuple[str, int], tuple[int, int]]
Pairs = Mapping[tuple[str, int], int]  # (kind, Messbetrag) → number of objects


def _buckets(
    pairs: Mapping[tuple[str, int], int], taxes: Taxes, edges: Sequence[int]
) -> tuple[Bucket, ...]:
    bounds: list[tuple[str, int | None, int | None]] = [
        ("Entlastung", None, -1),
        ("unverändert", -1, 0),
    ]
    low = 0
    for high in edges:
        bounds.append((f"mehr bis {format_euro(high)}", low, high))
        low = high
    bounds.append((f"mehr über {format_euro(low)}", low, None))
    counts = [0] * len(bounds)
    for pair, n in pairs.items():
        now, then = taxes[pair]
        change = then - now
        counts[0 if change < 0 else 1 if change == 0 else 2 + bisect_left(edges, change)] += n
    rows = zip(bounds, counts, strict=True)
    return tuple(Bucket(label, lo, hi, c) for (label, lo, hi), c in rows)


def _largest(
    items: Sequence[Obj], pairs: Pairs, taxes: Taxes, top: int
) -> tuple[ObjectChange, ...]:
    """The ``top`` objects with the largest increase (ties: by key), found through the
    (kind, Messbetrag) pairs with the largest increases first."""
    increases = sorted(
        ((then - now, pair) for pair, (now, then) in taxes.items() if then > now), reverse=True
    )
    chosen: set[tuple[str, int]] = set()
    covered = 0
    for _change, pair in increases:
        if covered >= top:
            break
        chosen.add(pair)
        covered += pairs[pair]
    candidates = [obj for obj in items if (obj[1], obj[2]) in chosen]
    candidates.sort(key=lambda o: (-(taxes[(o[1], o[2])][1] - taxes[(o[1], o[2])][0]), o[0]))
    return tuple(ObjectChange(key, kind, m, *taxes[(kind, m)]) for key, kind, m in candidates[:top])
