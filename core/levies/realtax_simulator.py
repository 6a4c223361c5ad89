"""The Hebesatz simulator for the council (issue #14, "Statute simulator"): "what if the Hebesatz
were X % from year Y" over every tax object of a municipality, for property tax (one rate, or
separate rates for residential and non-residential land where the Land allows it) and trade
tax — **nothing is booked**, nothing is written.

One code path with the real run: the objects and their Messbeträge are the basis notices in
force in the first simulated year (:func:`core.levies.basis_notices.in_force.in_force`), each
tax is the levy's own computation (:func:`property_tax.rules.annual_tax`,
:func:`trade_tax.rules.trade_tax`) under the statute of each year
(``rules_for_year``) and under the same statute with the assumed rates
(:meth:`PropertyTaxRules.with_rates`; for trade tax the statute with another Hebesatz, at least
200 %, § 16 (4) S. 2 GewStG), through one engine (:func:`property_tax.simulate.simulate_with`).

Rules and their sources:
* Separate B rates for residential and non-residential land (not in DOMAIN.md): allowed where
  the year's statute already has them, or where the Land's law allows them —
  :data:`SPLIT_LAWS`, today NRW (Gesetz über die Zulassung örtlich differenzierter Hebesätze bei
  der Grundsteuer B, 2024, the law the demo statute names). Other Länder (e.g. Saarland, Sachsen
  have similar laws) are added there with their source once checked.
* A plot of class B whose use the tax office did not name counts as non-residential
  (assumption: only land shown to be a Wohngrundstück gets the residential rate; no source).
* The years simulated carry the objects of the first one (the council asks about the rate,
  not about future basis notices); a year without a statute of its own uses the last enacted
  one (``statute_on``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.levies.basis_notices.in_force import InForce, in_force, without_gc
from core.levies.basis_notices.models import LandUse, PropertyClass, TaxKind
from core.levies.property_tax import rules as property_tax
from core.levies.property_tax.rules import NON_RESIDENTIAL, RESIDENTIAL, PropertyTaxRules
from core.levies.property_tax.simulate import (
    PROPERTY_TAX,
    Computation,
    ObjectChange,
    Simulation,
    simulate_with,
)
from core.levies.realtax import format_percent
from core.levies.trade_tax import rules as trade_tax
from core.levies.trade_tax.rules import TradeTaxRules
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

LEVIES = {"property_tax": "Grundsteuer", "trade_tax": "Gewerbesteuer"}
MAX_YEARS = 10
BUSINESS = "business"  # the one kind of a trade-tax object
KIND_LABELS = {**property_tax.KIND_LABELS, BUSINESS: "Gewerbebetrieb"}
SPLIT_LAWS = {
    "NW": "Gesetz über die Zulassung örtlich differenzierter Hebesätze bei der Grundsteuer B "
    "in Nordrhein-Westfalen (2024)",
}
LAND_NAMES = {
    "BW": "Baden-Württemberg",
    "BY": "Bayern",
    "BE": "Berlin",
    "BB": "Brandenburg",
    "HB": "Bremen",
    "HH": "Hamburg",
    "HE": "Hessen",
    "MV": "Mecklenburg-Vorpommern",
    "NI": "Niedersachsen",
    "NW": "Nordrhein-Westfalen",
    "RP": "Rheinland-Pfalz",
    "SL": "Saarland",
    "SN": "Sachsen",
    "ST": "Sachsen-Anhalt",
    "SH": "Schleswig-Holstein",
    "TH": "Thüringen",
}


@dataclass(frozen=True)
class Scenario:
    """What the council asks: the levy, the assumed Hebesätze (hundredths of a percent; property
    tax per kind "A", RESIDENTIAL, NON_RESIDENTIAL — kinds left out keep the statute's rate;
    trade tax under the key ``"hebesatz"``), from which year, for how many years."""

    levy: str
    rates: Mapping[str, int]
    from_year: int
    years: int

    @property
    def year_list(self) -> list[int]:
        return list(range(self.from_year, self.from_year + self.years))


@dataclass(frozen=True)
class Increase:
    """One of the largest increases; of the owner only the Personenkonto number (data
    minimisation: enough for the clerk to look the case up, no name on the council's table)."""

    change: ObjectChange
    person_number: int | None


@dataclass(frozen=True)
class Result:
    scenario: Scenario
    simulation: Simulation
    statute: tuple[tuple[str, str], ...]  # (kind label, rate) in force in the first year
    assumed: tuple[tuple[str, str], ...]  # (kind label, rate) assumed
    increases: tuple[Increase, ...]


def _trade_signature(rules: TradeTaxRules) -> tuple[int, str]:
    return (rules.hebesatz, rules.rounding)


def _trade_tax(messbetrag_cents: int, _kind: str, rules: TradeTaxRules) -> int:
    return trade_tax.trade_tax(messbetrag_cents, rules)


TRADE_TAX: Computation[TradeTaxRules] = Computation(_trade_tax, _trade_signature)


def property_kind(property_class: PropertyClass | None, land_use: LandUse | None) -> str:
    """The kind of the Hebesatz statute a plot pays (see the module docstring)."""
    if property_class is PropertyClass.A:
        return "A"
    return RESIDENTIAL if land_use is LandUse.RESIDENTIAL else NON_RESIDENTIAL


_KIND_OF = {(c, u): property_kind(c, u) for c in (*PropertyClass, None) for u in (*LandUse, None)}


def simulate_municipality(
    session: Session, municipality: Municipality, scenario: Scenario, *, top: int = 20
) -> Result:
    """The simulation of ``scenario`` over every object of the municipality; reads only."""
    if scenario.levy not in LEVIES:
        raise ValidationError("Bitte wählen Sie Grundsteuer oder Gewerbesteuer.")
    if not 1 <= scenario.years <= MAX_YEARS:
        raise ValidationError(f"Bitte 1 bis {MAX_YEARS} Jahre für die Simulation wählen.")
    with without_gc():  # 250,000 tuples: no cyclic collection while they are made
        if scenario.levy == "trade_tax":
            return _trade(session, municipality, scenario, top)
        return _property(session, municipality, scenario, top)


def _property(session: Session, m: Municipality, scenario: Scenario, top: int) -> Result:
    cache: dict[int, PropertyTaxRules] = {}

    def current(year: int) -> PropertyTaxRules:
        if year not in cache:
            cache[year] = property_tax.rules_for_year(session, m.id, year)
        return cache[year]

    rates = dict(scenario.rates)
    unknown = set(rates) - {"A", RESIDENTIAL, NON_RESIDENTIAL}
    if unknown or not rates:
        raise ValidationError("Bitte geben Sie mindestens einen Hebesatz (A oder B) an.")
    base = current(scenario.from_year)
    split = {**base.hebesatz, **rates}
    basis = ""
    if split[RESIDENTIAL] != split[NON_RESIDENTIAL]:
        basis = SPLIT_LAWS.get(m.state, "")
        if not basis and not base.differentiated:
            land = LAND_NAMES.get(m.state, m.state)
            raise ValidationError(
                "Getrennte Hebesätze für Wohn- und Nichtwohngrundstücke lässt das Landesrecht "
                f"in {land} nicht zu; bitte einen Hebesatz B für alle Grundstücke angeben."
            )
    objects = in_force(
        session, m.id, TaxKind.PROPERTY_TAX, scenario.from_year, advance_fallback=False
    )
    items = [
        (reference, _KIND_OF[property_class, land_use], cents)
        for reference, _person, property_class, land_use, cents in objects
    ]
    simulation = simulate_with(
        items,
        current,
        lambda rules: rules.with_rates(rates, basis),
        PROPERTY_TAX,
        scenario.from_year,
        scenario.year_list,
        top=top,
    )
    assumed = base.with_rates(rates, basis)
    return Result(
        scenario,
        simulation,
        _property_rates(base),
        _property_rates(assumed),
        _increases(session, m, TaxKind.PROPERTY_TAX, objects, simulation),
    )


def _property_rates(rules: PropertyTaxRules) -> tuple[tuple[str, str], ...]:
    shown = ("A", RESIDENTIAL, NON_RESIDENTIAL)
    return tuple((KIND_LABELS[k], format_percent(rules.rate(k))) for k in shown)


def _trade(session: Session, m: Municipality, scenario: Scenario, top: int) -> Result:
    if set(scenario.rates) != {"hebesatz"}:
        raise ValidationError("Bitte geben Sie den Hebesatz der Gewerbesteuer an.")
    hebesatz = scenario.rates["hebesatz"]
    trade_tax.check_hebesatz(hebesatz)
    cache: dict[int, TradeTaxRules] = {}

    def current(year: int) -> TradeTaxRules:
        if year not in cache:
            cache[year] = trade_tax.rules_for_year(session, m.id, year)
        return cache[year]

    base = current(scenario.from_year)
    objects = in_force(session, m.id, TaxKind.TRADE_TAX, scenario.from_year, advance_fallback=True)
    simulation = simulate_with(
        [(reference, BUSINESS, cents) for reference, _person, _class, _use, cents in objects],
        current,
        lambda rules: replace(rules, hebesatz=hebesatz),
        TRADE_TAX,
        scenario.from_year,
        scenario.year_list,
        top=top,
    )
    label = KIND_LABELS[BUSINESS]
    return Result(
        scenario,
        simulation,
        ((label, format_percent(base.hebesatz)),),
        ((label, format_percent(hebesatz)),),
        _increases(session, m, TaxKind.TRADE_TAX, objects, simulation),
    )


def _increases(
    session: Session,
    m: Municipality,
    tax: TaxKind,
    objects: Sequence[InForce],
    simulation: Simulation,
) -> tuple[Increase, ...]:
    """The largest increases with the owner's Personenkonto number (one query for the few)."""
    wanted = {c.key for c in simulation.largest_increases}
    person_of = {o[0]: o[1] for o in objects if o[0] in wanted}  # reference → person id
    numbers: dict[int, int] = {}
    if person_of:
        rows = session.execute(
            select(Person.id, Person.number).where(
                Person.municipality_id == m.id, Person.id.in_(set(person_of.values()))
            )
        )
        numbers = {person_id: number for person_id, number in rows}
    return tuple(
        Increase(c, numbers.get(person_of.get(c.key, 0))) for c in simulation.largest_increases
    )
