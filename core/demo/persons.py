"""The demo's persons: the log-ins' own (showcase) persons and random citizens and businesses.

Names and streets are drawn from the lists below with the demo's seeded random generator, so
the same seed gives the same persons.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy.orm import Session

from core.demo.identity import ACTOR, DemoLogin
from core.identity.models import UserAccount
from core.persons import models as persons
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Municipality

GIVEN = [
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elif",
    "Felix",
    "Greta",
    "Hannes",
    "Ida",
    "Jonas",
    "Karin",
    "Lukas",
    "Mia",
    "Noah",
    "Olga",
    "Paul",
    "Rosa",
    "Stefan",
    "Tanja",
    "Uwe",
    "Vera",
    "Wolfgang",
    "Yusuf",
    "Zoe",
    "Jürgen",
    "Sören",
    "Maike",
    "Ömer",
]
FAMILY = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Braun",
    "Zimmermann",
    "Krüger",
    "Hartmann",
    "Lange",
    "Yılmaz",
    "Nowak",
]
COMPANIES = [
    "Bäckerei Krume GmbH",
    "Autohaus Rad & Sohn KG",
    "Gasthof Linde",
    "Elektro Funke e.K.",
    "Gärtnerei Grün GbR",
    "Malerbetrieb Pinsel GmbH",
    "Apotheke am Markt",
]
STREETS = [
    "Hauptstraße",
    "Schulstraße",
    "Gartenweg",
    "Lindenallee",
    "Bahnhofstraße",
    "Kirchplatz",
    "Am Mühlbach",
    "Birkenweg",
    "Friedhofstraße",
    "Rosenweg",
]


def address(rng: random.Random, municipality: Municipality) -> dict[str, str]:
    return {
        "street": rng.choice(STREETS),
        "house_number": str(rng.randint(1, 120)),
        "postal_code": municipality.postal_code,
        "city": municipality.city,
    }


def showcase_person(
    session: Session,
    municipality: Municipality,
    login: DemoLogin,
    user: UserAccount,
    as_of: date,
    rng: random.Random,
) -> Person:
    """The person of a citizen's log-in, known to the municipality for 900 days."""
    given, family = (None, None) if login.business else login.names
    return persons.create_person(
        session,
        municipality_id=municipality.id,
        kind=PersonKind.BUSINESS if login.business else PersonKind.NATURAL,
        as_of=as_of - timedelta(days=900),
        actor=ACTOR,
        given_name=given,
        family_name=family,
        company_name=login.display_name if login.business else None,
        email=login.email,
        user_id=user.id,
        address=address(rng, municipality),
    )


def random_person(
    session: Session, municipality: Municipality, as_of: date, rng: random.Random
) -> Person:
    if rng.randrange(100) < 8:
        return persons.create_person(
            session,
            municipality_id=municipality.id,
            kind=PersonKind.BUSINESS,
            as_of=as_of - timedelta(days=rng.randint(30, 3000)),
            actor=ACTOR,
            company_name=rng.choice(COMPANIES),
            address=address(rng, municipality),
        )
    return persons.create_person(
        session,
        municipality_id=municipality.id,
        kind=PersonKind.NATURAL,
        as_of=as_of - timedelta(days=rng.randint(30, 3000)),
        actor=ACTOR,
        given_name=rng.choice(GIVEN),
        family_name=rng.choice(FAMILY),
        address=address(rng, municipality),
    )
