"""Demo waste fees: a property with a bin for seven in ten persons (every showcase person),
assessed by the January annual run; the showcase citizens order a bigger bin in spring."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy.orm import Session

from core.demo.identity import ACTOR
from core.demo.statutes import waste_statute
from core.levies.waste import services as waste_services
from core.levies.waste.assessment import RulesCache, assess_person
from core.levies.waste.models import WasteBin, WasteProperty, bins_of
from core.levies.waste.rules import WasteFeeRules
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Municipality, next_number


def bins_and_notices(
    session: Session,
    municipality: Municipality,
    person: Person,
    as_of: date,
    rng: random.Random,
    showcase: bool,
) -> None:
    """A property at the person's address with a bin, assessed by the January annual run; the
    showcase citizens change their bin in spring (change notice)."""
    if not showcase and rng.randrange(100) >= 70:
        return
    year = as_of.year
    business = person.kind is PersonKind.BUSINESS
    rules = WasteFeeRules.from_data(waste_statute(municipality), "demo")
    prop = _property(session, municipality, person, as_of, rng, showcase)
    sizes = sorted(rules.bin_fees_month_cents)
    fitting = [k for k in sizes if not rules.below_minimum(prop.residents, [k])]
    litres, rhythm = (
        sizes[-1] if business else (fitting[0] if showcase else rng.choice(fitting[:4]))
    )
    session.add(
        WasteBin(
            municipality_id=municipality.id,
            property_id=prop.id,
            number=next_number(session, municipality.id, "waste_bin"),
            litres=litres,
            rhythm=rhythm,
            start=prop.liable_from,
        )
    )
    session.flush()
    cache = RulesCache(session, municipality.id)
    annual_run = date(year, 1, 10)
    if annual_run <= as_of:
        assess_person(
            session,
            person=person,
            municipality=municipality,
            year=year,
            as_of=annual_run,
            actor=ACTOR,
            rules=cache,
        )
    change_day = date(year, 4, 2)
    if showcase and not business and change_day <= as_of:
        bigger = next(k for k in sizes if k[0] > litres and k[1] == rhythm)
        _order_bin_from_may(session, municipality, person, prop, bigger, change_day)


def _property(
    session: Session,
    municipality: Municipality,
    person: Person,
    as_of: date,
    rng: random.Random,
    showcase: bool,
) -> WasteProperty:
    """The property at the person's address; a business's has no residents."""
    year = as_of.year
    address = person.address_on(as_of) or person.addresses[0]
    business = person.kind is PersonKind.BUSINESS
    residents = 0 if business else (2 if showcase else rng.randint(1, 5))
    since = (
        date(year - 3, 4, 1) if showcase else date(year - rng.randint(1, 8), rng.randint(1, 12), 1)
    )
    prop = WasteProperty(
        municipality_id=municipality.id,
        person_id=person.id,
        street=address.street,
        house_number=address.house_number,
        postal_code=address.postal_code,
        city=address.city,
        residents=residents,
        liable_from=since,
    )
    session.add(prop)
    session.flush()
    return prop


def _order_bin_from_may(
    session: Session,
    municipality: Municipality,
    person: Person,
    prop: WasteProperty,
    size: tuple[int, str],
    day: date,
) -> None:
    """The online change of the property's bin to ``size`` (litres, rhythm) from May, asked
    for on ``day`` (a change notice)."""
    [waste_bin] = bins_of(session, [prop.id])
    waste_services.submit_change(
        session,
        person=person,
        municipality=municipality,
        bin_id=waste_bin.id,
        litres=size[0],
        rhythm=size[1],
        change_from=date(day.year, 5, 1),
        as_of=day,
        actor=ACTOR,
    )
