"""Demo dog tax: registered dogs with their annual and change notices, and one registration
of a listed breed waiting in Musterstadt's review queue."""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.demo.identity import ACTOR
from core.demo.statutes import dog_tax_statute
from core.levies.dog_tax.assessment import RulesCache, assess_person
from core.levies.dog_tax.models import Dog, DogStatus
from core.levies.dog_tax.rules import DogTaxRules
from core.levies.dog_tax.services import Registration, submit_registration
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Municipality, next_number

BREEDS = [
    "Mischling",
    "Labrador Retriever",
    "Dackel",
    "Golden Retriever",
    "Deutscher Schäferhund",
    "Jack Russell Terrier",
    "Border Collie",
    "Beagle",
    "Pudel",
    "Französische Bulldogge",
]
DOG_NAMES = ["Bello", "Luna", "Balu", "Emma", "Rocky", "Kira", "Max", "Lotte", "Sammy", "Nala"]


# Name, breed, the day the dog was taken in, an exemption code.
DogSpec = tuple[str, str, date, str | None]


def dogs_and_notices(
    session: Session,
    municipality: Municipality,
    person: Person,
    as_of: date,
    rng: random.Random,
    showcase: bool,
) -> None:
    """Dogs as registered tax objects, the January annual notice of this year and, for a dog
    taken in during the year, the change notice."""
    specs = _dog_specs(municipality, person, as_of, rng, showcase)
    if not specs:
        return
    year = as_of.year
    rules = DogTaxRules.from_data(dog_tax_statute(municipality), "demo")
    cache = RulesCache(session, municipality.id)
    annual_run = date(year, 1, 10)
    # The January annual run sees the dogs there were; each dog taken in later brings a change
    # assessment a few days after it was registered.
    runs: list[tuple[date, list[DogSpec]]] = [
        (annual_run, [s for s in specs if s[2] <= annual_run])
    ]
    runs += [
        (s[2] + timedelta(days=5), [s])
        for s in sorted(specs, key=lambda s: s[2])
        if s[2] > annual_run
    ]
    for run_day, batch in runs:
        for name, breed, acquired, exemption in batch:
            session.add(
                Dog(
                    municipality_id=municipality.id,
                    person_id=person.id,
                    name=name,
                    breed=breed,
                    born_on=acquired - timedelta(days=rng.randint(120, 900)),
                    acquired_on=acquired,
                    chip_number=f"276098{rng.randrange(10**9):09d}",
                    dangerous=rules.is_listed(breed),
                    exemption_code=exemption,
                    tag_number=next_number(session, municipality.id, "dog_tag"),
                    status=DogStatus.ACTIVE,
                )
            )
        session.flush()
        if run_day <= as_of:
            assess_person(
                session,
                person=person,
                municipality=municipality,
                year=year,
                as_of=run_day,
                actor=ACTOR,
                rules=cache,
            )


def _dog_specs(
    municipality: Municipality, person: Person, as_of: date, rng: random.Random, showcase: bool
) -> list[DogSpec]:
    """A showcase citizen's two dogs (one taken in this March); three in ten others keep one
    or (one in five of them) two; none for a showcase business."""
    year = as_of.year
    if showcase and person.kind is PersonKind.NATURAL:
        return [
            ("Bello", "Labrador Retriever", date(year - 4, 5, 1), None),
            ("Luna", "Mischling", date(year, 3, 17), None),
        ]
    if showcase or rng.randrange(100) >= 30:
        return []
    count = 1 + (rng.randrange(100) < 20)
    specs: list[DogSpec] = []
    for _ in range(count):
        breed = rng.choice(BREEDS)
        exemption = None
        roll = rng.randrange(100)
        if roll < 4 and municipality.slug == "musterstadt":
            breed = "Rottweiler"
        elif roll < 8:
            exemption = "assistance"
        acquired = as_of - timedelta(days=rng.randint(40, 3000))
        specs.append((rng.choice(DOG_NAMES), breed, acquired, exemption))
    return specs


def pending_review(session: Session, as_of: date) -> None:
    """An application waiting in Musterstadt's review queue: a listed breed."""
    municipality = session.scalars(
        select(Municipality).where(Municipality.slug == "musterstadt")
    ).one()
    person = session.scalars(
        select(Person)
        .where(
            Person.municipality_id == municipality.id,
            Person.kind == PersonKind.NATURAL,
            Person.user_id.is_(None),
        )
        .order_by(Person.number)
    ).first()
    if person is None:
        return
    submit_registration(
        session,
        person=person,
        municipality=municipality,
        as_of=as_of,
        actor=ACTOR,
        registration=Registration(
            name="Tyson",
            breed="American Staffordshire Terrier",
            born_on=as_of - timedelta(days=400),
            acquired_on=as_of - timedelta(days=20),
            chip_number="276098100000042",
        ),
    )
