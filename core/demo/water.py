"""Demo water: a meter for 55 in 100 persons (every showcase person) with two accepted yearly
readings and last year's bill, which sets this year's advance payments."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy.orm import Session

from core.demo.identity import ACTOR
from core.levies.water.assessment import bill_meter
from core.levies.water.models import Meter, ReadingSource
from core.levies.water.readings import submit_reading
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Municipality


def meters_and_notices(
    session: Session,
    municipality: Municipality,
    person: Person,
    as_of: date,
    rng: random.Random,
    showcase: bool,
) -> None:
    """A meter with two accepted yearly readings, last year's bill (with this year's advance
    payments) issued in January; the showcase citizens have not yet sent this year's reading."""
    if not showcase and rng.randrange(100) >= 55:
        return
    year = as_of.year
    address = person.address_on(as_of)
    meter = Meter(
        municipality_id=municipality.id,
        person_id=person.id,
        number=f"{municipality.kassenzeichen_prefix}-{person.number:06d}",
        size="Q3 10" if person.kind is PersonKind.BUSINESS else "Q3 4",
        location=address.one_line() if address else municipality.city,
        installed_on=date(year - 6, 3, 1),
        initial_reading=rng.randint(0, 400),
    )
    session.add(meter)
    session.flush()
    value = meter.initial_reading
    yearly = rng.randint(35, 180)
    for period in (year - 2, year - 1):
        value += max(1, yearly + rng.randint(-12, 12))
        submit_reading(
            session,
            meter=meter,
            period=period,
            value=value,
            read_on=date(period, 12, 15),
            as_of=date(period, 12, 31),
            source=ReadingSource.CARD,
            band_percent=100,
            confirmed=True,
            actor=ACTOR,
        )
    bill_meter(
        session,
        meter=meter,
        municipality=municipality,
        period=year - 1,
        as_of=date(year, 1, 20),
        actor=ACTOR,
    )
