"""Demo data: two municipalities with persons, claims of several kinds, payments and log-ins.

Deterministic (seeded) so that screenshots and the README's demo log-ins stay the same. The
amounts are realistic examples (DOMAIN.md), not statute data: the assessment issues replace
these hand-made claims with assessed ones.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import identity, persons
from core.identity import Role
from core.ledger import service as ledger
from core.ledger.kinds import ClaimKind
from core.ledger.models import PaymentChannel
from core.persons import Person, PersonKind
from core.references import is_valid_creditor_id
from core.tenancy import Municipality

DEMO_PASSWORD = "Demo-Passwort-2026"  # noqa: S105 - documented demo log-in, README
ACTOR = "demo"

MUNICIPALITIES = [
    dict(
        slug="musterstadt",
        name="Stadt Musterstadt",
        official_key="05999001",
        state="NW",
        creditor_id="DE98ZZZ09999999999",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        bank_name="Commerzbank",
        cash_office_name="Stadtkasse Musterstadt",
        street="Rathausplatz 1",
        postal_code="59999",
        city="Musterstadt",
        email="stadtkasse@musterstadt.example",
        phone="+49 2999 1234-0",
        kassenzeichen_prefix="100",
        primary_color="#0b4f8a",
    ),
    dict(
        slug="beispielhausen",
        name="Gemeinde Beispielhausen",
        official_key="09999002",
        state="BY",
        creditor_id="DE79ZZZ01234567890",
        iban="DE02120300000000202051",
        bic="BYLADEM1001",
        bank_name="Deutsche Kreditbank",
        cash_office_name="Gemeindekasse Beispielhausen",
        street="Am Dorfplatz 3",
        postal_code="89999",
        city="Beispielhausen",
        email="kasse@beispielhausen.example",
        phone="+49 8999 567-0",
        kassenzeichen_prefix="200",
        primary_color="#6a1b4d",
    ),
]

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

QUARTER_DAYS = [(2, 15), (5, 15), (8, 15), (11, 15)]  # § 28 GrStG / typical dog-tax schedule


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: Role
    municipality: str
    who: str


LOGINS = [
    DemoLogin("erika.mustermann@musterstadt.example", Role.CITIZEN, "musterstadt", "Bürgerin"),
    DemoLogin("max.beispiel@beispielhausen.example", Role.CITIZEN, "beispielhausen", "Bürger"),
    DemoLogin("buchhaltung@baeckerei-krume.example", Role.CITIZEN, "musterstadt", "Unternehmen"),
    DemoLogin("sachbearbeitung@musterstadt.example", Role.CLERK, "musterstadt", "Sachbearbeitung"),
    DemoLogin(
        "freigabe@musterstadt.example", Role.APPROVER, "musterstadt", "Freigabe (Vier Augen)"
    ),
    DemoLogin(
        "sachbearbeitung@beispielhausen.example", Role.CLERK, "beispielhausen", "Sachbearbeitung"
    ),
]


def has_data(session: Session) -> bool:
    return (session.scalar(select(func.count(Municipality.id))) or 0) > 0


def load(
    session: Session,
    *,
    as_of: date,
    persons_per_municipality: int = 180,
    seed: int = 2026,
    progress: Callable[[str], None] = lambda _msg: None,
) -> str:
    rng = random.Random(seed)
    counts = {"persons": 0, "claims": 0, "payments": 0}
    for spec in MUNICIPALITIES:
        if not is_valid_creditor_id(spec["creditor_id"]):
            raise ValueError(f"invalid demo creditor id {spec['creditor_id']}")
        municipality = Municipality(**spec)
        session.add(municipality)
        session.flush()
        progress(f"{municipality.name}: Personen und Forderungen …")
        _logins(session, municipality, as_of, rng, counts)
        for i in range(persons_per_municipality):
            person = _random_person(session, municipality, as_of, rng)
            _claims_and_payments(session, municipality, person, as_of, rng, counts)
            counts["persons"] += 1
            if (i + 1) % 50 == 0:
                progress(f"  {i + 1}/{persons_per_municipality}")
    return (
        f"Demodaten geladen: {len(MUNICIPALITIES)} Kommunen, {counts['persons']} Personen, "
        f"{counts['claims']} Forderungen, {counts['payments']} Zahlungen."
    )


def _address(rng: random.Random, municipality: Municipality) -> dict[str, str]:
    return {
        "street": rng.choice(STREETS),
        "house_number": str(rng.randint(1, 120)),
        "postal_code": municipality.postal_code,
        "city": municipality.city,
    }


def _logins(
    session: Session,
    municipality: Municipality,
    as_of: date,
    rng: random.Random,
    counts: dict[str, int],
) -> None:
    for login in (entry for entry in LOGINS if entry.municipality == municipality.slug):
        if login.role is not Role.CITIZEN:
            identity.create_user(
                session,
                email=login.email,
                password=DEMO_PASSWORD,
                display_name=login.who,
                role=login.role,
                municipality_id=municipality.id,
            )
            continue
        business = login.who == "Unternehmen"
        given, family = login.email.split("@")[0].split(".") if not business else ("", "")
        name = "Bäckerei Krume GmbH" if business else f"{given.title()} {family.title()}"
        user = identity.create_user(
            session, email=login.email, password=DEMO_PASSWORD, display_name=name
        )
        person = persons.create_person(
            session,
            municipality_id=municipality.id,
            kind=PersonKind.BUSINESS if business else PersonKind.NATURAL,
            as_of=as_of - timedelta(days=900),
            actor=ACTOR,
            given_name=None if business else given.title(),
            family_name=None if business else family.title(),
            company_name=name if business else None,
            email=login.email,
            user_id=user.id,
            address=_address(rng, municipality),
        )
        _claims_and_payments(session, municipality, person, as_of, rng, counts, showcase=True)
        counts["persons"] += 1


def _random_person(
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
            address=_address(rng, municipality),
        )
    return persons.create_person(
        session,
        municipality_id=municipality.id,
        kind=PersonKind.NATURAL,
        as_of=as_of - timedelta(days=rng.randint(30, 3000)),
        actor=ACTOR,
        given_name=rng.choice(GIVEN),
        family_name=rng.choice(FAMILY),
        address=_address(rng, municipality),
    )


def _quarter_dates(year: int) -> list[date]:
    return [date(year, m, d) for m, d in QUARTER_DAYS]


def _claims_and_payments(
    session: Session,
    municipality: Municipality,
    person: Person,
    as_of: date,
    rng: random.Random,
    counts: dict[str, int],
    showcase: bool = False,
) -> None:
    year = as_of.year
    plan: list[tuple[ClaimKind, int, str, list[date]]] = []
    if person.kind is PersonKind.BUSINESS:
        plan.append(
            (
                ClaimKind.TRADE_TAX,
                rng.randint(150, 2500) * 100,
                f"Gewerbesteuer-Vorauszahlung {year}",
                _quarter_dates(year),
            )
        )
    plan.append(
        (
            ClaimKind.PROPERTY_TAX,
            rng.randint(30, 220) * 100 + rng.choice([0, 50]),
            f"Grundsteuer {year}",
            _quarter_dates(year),
        )
    )
    plan.append((ClaimKind.WASTE_FEE, 3918, f"Abfallgebühren {year}", _quarter_dates(year)))
    if showcase or rng.randrange(100) < 35:
        plan.append((ClaimKind.DOG_TAX, 2500, f"Hundesteuer {year}", _quarter_dates(year)))
        plan.append((ClaimKind.DOG_TAX, 2500, f"Hundesteuer {year + 1}", [date(year + 1, 2, 15)]))
    if showcase or rng.randrange(100) < 60:
        plan.append(
            (
                ClaimKind.WATER_FEE,
                29018,
                f"Wasser Endabrechnung {year - 1}/{year}",
                [as_of + timedelta(days=21)],
            )
        )

    overdue: list[int] = []
    for kind, amount, text, due_dates in plan:
        for n, due in enumerate(due_dates, start=1):
            label = f"{text}, Rate {n}" if len(due_dates) > 1 else text
            claim = ledger.post_claim(
                session,
                person=person,
                municipality=municipality,
                kind=kind,
                amount_cents=amount,
                due_date=due,
                description=label,
                as_of=min(as_of, due - timedelta(days=30)),
                actor=ACTOR,
                period_start=date(due.year, 1, 1),
                period_end=date(due.year, 12, 31),
            )
            counts["claims"] += 1
            if due > as_of:
                continue
            fate = rng.randrange(100)  # percent
            if showcase and due.month == 11 and kind is ClaimKind.PROPERTY_TAX:
                fate = 95  # the demo citizen has one overdue instalment to show
            if fate < 82:
                paid_on = due - timedelta(days=rng.randint(0, 10))
                ledger.record_payment(
                    session,
                    person=person,
                    amount_cents=amount,
                    received_on=paid_on,
                    channel=rng.choice([PaymentChannel.BANK_TRANSFER, PaymentChannel.DIRECT_DEBIT]),
                    as_of=paid_on,
                    actor=ACTOR,
                    reference_text=f"KZ {claim.kassenzeichen}",
                    kassenzeichen=claim.kassenzeichen,
                )
                counts["payments"] += 1
            elif fate < 90:
                part = amount // 2
                paid_on = due + timedelta(days=rng.randint(0, 20))
                ledger.record_payment(
                    session,
                    person=person,
                    amount_cents=part,
                    received_on=paid_on,
                    channel=PaymentChannel.BANK_TRANSFER,
                    as_of=paid_on,
                    actor=ACTOR,
                    reference_text=f"KZ {claim.kassenzeichen} Teilzahlung",
                    kassenzeichen=claim.kassenzeichen,
                )
                counts["payments"] += 1
            else:
                overdue.append(claim.id)
    if overdue:
        reminder_day = as_of - timedelta(days=5)
        ledger.post_claim(
            session,
            person=person,
            municipality=municipality,
            kind=ClaimKind.DUNNING_FEE,
            amount_cents=600,
            due_date=reminder_day + timedelta(days=14),
            description="Mahngebühr (Demo)",
            as_of=reminder_day,
            actor=ACTOR,
        )
        counts["claims"] += 1
