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
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.identity import models as identity
from core.identity.models import Role
from core.kernel.references import is_valid_creditor_id
from core.ledger.balances import open_amounts
from core.ledger.claims import post_claim
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.levies.dog_tax.assessment import RulesCache, assess_person
from core.levies.dog_tax.models import Dog, DogStatus
from core.levies.dog_tax.rules import DogTaxRules
from core.levies.dog_tax.services import DEFAULT_CRITERIA, Registration, submit_registration
from core.levies.waste import services as waste_services
from core.levies.waste.assessment import RulesCache as WasteRulesCache
from core.levies.waste.assessment import assess_person as assess_waste
from core.levies.waste.models import WasteBin, WasteProperty, bins_of
from core.levies.waste.rules import WasteFeeRules
from core.levies.water.assessment import bill_meter
from core.levies.water.models import Meter, ReadingSource
from core.levies.water.readings import submit_reading
from core.persons import models as persons
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Municipality, next_number
from core.tenancy.statutes import Statute
from core.workflow.criteria import ensure_criteria

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
        _statutes_and_criteria(session, municipality)
        progress(f"{municipality.name}: Personen und Forderungen …")
        _logins(session, municipality, as_of, rng, counts)
        for i in range(persons_per_municipality):
            person = _random_person(session, municipality, as_of, rng)
            _claims_and_payments(session, municipality, person, as_of, rng, counts)
            counts["persons"] += 1
            if (i + 1) % 50 == 0:
                progress(f"  {i + 1}/{persons_per_municipality}")
        progress(f"{municipality.name}: Lastschriftmandate …")
        counts["mandates"] = counts.get("mandates", 0) + _mandates(
            session, municipality, as_of, rng, max(3, persons_per_municipality // 12)
        )
    _pending_review(session, as_of)
    return (
        f"Demodaten geladen: {len(MUNICIPALITIES)} Kommunen, {counts['persons']} Personen, "
        f"{counts['claims']} Forderungen, {counts['payments']} Zahlungen, "
        f"{counts.get('mandates', 0)} Lastschriftmandate."
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

    overdue: list[int] = []
    for kind, amount, text, due_dates in plan:
        for n, due in enumerate(due_dates, start=1):
            label = f"{text}, Rate {n}" if len(due_dates) > 1 else text
            claim = post_claim(
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
            forced = 95 if showcase and due.month == 11 and kind is ClaimKind.PROPERTY_TAX else None
            if not _settle(session, person, claim, as_of, rng, counts, forced_fate=forced):
                overdue.append(claim.id)
    assessed = [
        *_dogs_and_notices(session, municipality, person, as_of, rng, showcase),
        *_waste_and_notices(session, municipality, person, as_of, rng, showcase),
        *_water_and_notices(session, municipality, person, as_of, rng, showcase),
    ]
    for claim in assessed:
        counts["claims"] += 1
        if not _settle(session, person, claim, as_of, rng, counts):
            overdue.append(claim.id)
    if overdue:
        reminder_day = as_of - timedelta(days=5)
        post_claim(
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


def _settle(
    session: Session,
    person: Person,
    claim: Claim,
    as_of: date,
    rng: random.Random,
    counts: dict[str, int],
    forced_fate: int | None = None,
) -> bool:
    """Pay a due claim like most citizens do (on time, partly or not at all); False if unpaid."""
    if claim.due_date > as_of:
        return True
    amount = open_amounts(session, [claim])[claim.id]
    if not amount:
        return True
    fate = rng.randrange(100) if forced_fate is None else forced_fate  # percent
    if fate >= 90:
        return False
    partial = fate >= 82
    paid_on = claim.due_date + timedelta(
        days=rng.randint(0, 20) if partial else -rng.randint(0, 10)
    )
    record_payment(
        session,
        person=person,
        amount_cents=amount // 2 if partial else amount,
        received_on=paid_on,
        channel=PaymentChannel.BANK_TRANSFER
        if partial
        else rng.choice([PaymentChannel.BANK_TRANSFER, PaymentChannel.DIRECT_DEBIT]),
        as_of=paid_on,
        actor=ACTOR,
        reference_text=f"KZ {claim.kassenzeichen}" + (" Teilzahlung" if partial else ""),
        kassenzeichen=claim.kassenzeichen,
    )
    counts["payments"] += 1
    return not partial


# --------------------------------------------------------------------------- dog tax

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


def dog_tax_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo statutes, modelled on real ones (DOMAIN.md "Dog tax"): Musterstadt like a town in
    NRW with graded rates, Beispielhausen like a Bavarian municipality with one rate."""
    remedy_nw = (
        "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Klage beim "
        "Verwaltungsgericht erhoben werden (§ 110 JustG NRW: kein Widerspruchsverfahren). "
        "Die Klage hat keine aufschiebende Wirkung (§ 80 Abs. 2 Satz 1 Nr. 1 VwGO)."
    )
    remedy_by = (
        "Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe Widerspruch "
        "bei der Gemeinde Beispielhausen oder unmittelbar Klage beim Bayerischen "
        "Verwaltungsgericht erhoben werden (Art. 12 AGVwGO). Widerspruch und Klage haben keine "
        "aufschiebende Wirkung (§ 80 Abs. 2 Satz 1 Nr. 1 VwGO)."
    )
    if municipality.slug == "musterstadt":
        return {
            "rates_cents": [9600, 13200, 15600],
            "dangerous_rates_cents": [60000, 72000, 72000],
            "listed_breeds": [
                "Pittbull-Terrier",
                "American Staffordshire Terrier",
                "Staffordshire Bullterrier",
                "Bullterrier",
                "Rottweiler",
                "Mastiff",
                "Tosa Inu",
                "Dogo Argentino",
                "Fila Brasileiro",
            ],
            "liability_start": "month_after",
            "due_dates": [[2, 15], [5, 15], [8, 15], [11, 15]],
            "late_due_months": 1,
            "min_age_months": 3,
            "exempt_dogs_count": False,
            "exemptions": {
                "assistance": {"label": "Assistenz-/Blindenführhund", "kind": "exempt"},
                "shelter": {"label": "Hund aus dem Tierheim", "kind": "exempt", "months": 12},
                "benefits": {
                    "label": "Bezug von Leistungen nach SGB II/XII",
                    "kind": "reduced",
                    "rate_cents": 4800,
                },
            },
            "replacement_tag_fee_cents": 500,
            "legal_basis": (
                "§§ 1 bis 9 der Hundesteuersatzung der Stadt Musterstadt vom 12.12.2019 in der "
                "Fassung vom 10.12.2024 in Verbindung mit §§ 2, 3 und 20 des "
                "Kommunalabgabengesetzes für das Land Nordrhein-Westfalen (KAG NRW)."
            ),
            "remedy": remedy_nw,
        }
    return {
        "rates_cents": [8400, 12000],
        "dangerous_rates_cents": [84000],
        "listed_breeds": [
            "Pit-Bull",
            "Bandog",
            "American Staffordshire Terrier",
            "Staffordshire Bullterrier",
            "Tosa Inu",
        ],
        "liability_start": "same_month",
        "due_dates": [[7, 1]],
        "late_due_months": 1,
        "min_age_months": 4,
        "exempt_dogs_count": True,
        "exemptions": {
            "assistance": {"label": "Assistenz-/Blindenführhund", "kind": "exempt"},
        },
        "replacement_tag_fee_cents": 400,
        "legal_basis": (
            "§§ 1 bis 8 der Satzung über die Erhebung der Hundesteuer der Gemeinde "
            "Beispielhausen vom 01.10.2021 in Verbindung mit Art. 3 des Kommunalabgabengesetzes "
            "(KAG) für Bayern."
        ),
        "remedy": remedy_by,
    }


def waste_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo waste-fee statutes (DOMAIN.md "Waste fees"): Musterstadt with the Eichenzell table
    (monthly cents), Beispielhausen with a smaller table of its own."""
    if municipality.slug == "musterstadt":
        return {
            "base_fee_per_resident_month_cents": 230,
            "bin_fees_month_cents": {
                "120": {"fortnightly": 616, "four_weekly": 308},
                "240": {"fortnightly": 1232, "four_weekly": 616},
                "360": {"fortnightly": 1848, "four_weekly": 924},
                "660": {"fortnightly": 3389, "four_weekly": 1694},
                "1100": {"fortnightly": 5648, "four_weekly": 2824},
            },
            "liability_start": "month_after",
            "due_dates": [[2, 15], [5, 15], [8, 15], [11, 15]],
            "late_due_months": 1,
            "min_litres_per_resident_week": 10,
            "legal_basis": (
                "§§ 1 bis 12 der Abfallgebührensatzung der Stadt Musterstadt vom 04.12.2023 in "
                "Verbindung mit §§ 4 und 6 des Kommunalabgabengesetzes für das Land "
                "Nordrhein-Westfalen (KAG NRW)."
            ),
            "remedy": (
                "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Klage beim "
                "Verwaltungsgericht erhoben werden (§ 110 JustG NRW)."
            ),
        }
    return {
        "base_fee_per_resident_month_cents": 180,
        "bin_fees_month_cents": {
            "80": {"weekly": 890, "fortnightly": 445},
            "120": {"weekly": 1290, "fortnightly": 645},
            "240": {"weekly": 2480, "fortnightly": 1240},
        },
        "liability_start": "same_month",
        "due_dates": [[3, 1], [9, 1]],
        "late_due_months": 1,
        "min_litres_per_resident_week": 15,
        "legal_basis": (
            "§§ 1 bis 9 der Satzung über die Gebühren für die Abfallentsorgung der Gemeinde "
            "Beispielhausen vom 20.11.2022 in Verbindung mit Art. 8 des Kommunalabgabengesetzes "
            "(KAG) für Bayern."
        ),
        "remedy": (
            "Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe "
            "Widerspruch bei der Gemeinde Beispielhausen oder unmittelbar Klage beim Bayerischen "
            "Verwaltungsgericht erhoben werden (Art. 12 AGVwGO)."
        ),
    }


def _statutes_and_criteria(session: Session, municipality: Municipality) -> None:
    data = dog_tax_statute(municipality)
    source = data["legal_basis"].split(" in Verbindung")[0]
    session.add(
        Statute(
            municipality_id=municipality.id,
            levy="dog_tax",
            valid_from=date(2020, 1, 1),
            source=source,
            data=data,
        )
    )
    ensure_criteria(session, municipality.id, DEFAULT_CRITERIA)
    waste = waste_statute(municipality)
    session.add(
        Statute(
            municipality_id=municipality.id,
            levy="waste_fee",
            valid_from=date(2020, 1, 1),
            source=waste["legal_basis"].split(" in Verbindung")[0],
            data=waste,
        )
    )
    ensure_criteria(session, municipality.id, waste_services.DEFAULT_CRITERIA)
    sepa = sepa_statute(municipality)
    session.add(
        Statute(
            municipality_id=municipality.id,
            levy="sepa",
            valid_from=date(2020, 1, 1),
            source=sepa["legal_basis"],
            data=sepa,
        )
    )
    refunds = refund_statute(municipality)
    session.add(
        Statute(
            municipality_id=municipality.id,
            levy="refunds",
            valid_from=date(2020, 1, 1),
            source=refunds["legal_basis"],
            data=refunds,
        )
    )
    water = water_statute(municipality)
    session.add(
        Statute(
            municipality_id=municipality.id,
            levy="water_fee",
            valid_from=date(2020, 1, 1),
            source=water["legal_basis"].split(" in Verbindung")[0],
            data=water,
        )
    )


def _dogs_and_notices(
    session: Session,
    municipality: Municipality,
    person: Person,
    as_of: date,
    rng: random.Random,
    showcase: bool,
) -> list[Claim]:
    """Dogs as registered tax objects, the January annual notice of this year and, for a dog
    taken in during the year, the change notice; returns the dog-tax claims to settle."""
    year = as_of.year
    specs: list[tuple[str, str, date, str | None]]
    if showcase and person.kind is PersonKind.NATURAL:
        specs = [
            ("Bello", "Labrador Retriever", date(year - 4, 5, 1), None),
            ("Luna", "Mischling", date(year, 3, 17), None),
        ]
    elif showcase or rng.randrange(100) >= 30:
        return []
    else:
        count = 1 + (rng.randrange(100) < 20)
        specs = []
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
    rules = DogTaxRules.from_data(dog_tax_statute(municipality), "demo")
    cache = RulesCache(session, municipality.id)
    annual_run = date(year, 1, 10)
    # The January annual run sees the dogs there were; each dog taken in later brings a change
    # assessment a few days after it was registered.
    runs: list[tuple[date, list[Any]]] = [(annual_run, [s for s in specs if s[2] <= annual_run])]
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
    return list(
        session.scalars(
            select(Claim)
            .where(Claim.person_id == person.id, Claim.kind == ClaimKind.DOG_TAX)
            .order_by(Claim.due_date, Claim.id)
        )
    )


def _waste_and_notices(
    session: Session,
    municipality: Municipality,
    person: Person,
    as_of: date,
    rng: random.Random,
    showcase: bool,
) -> list[Claim]:
    """A property at the person's address with a bin, assessed by the January annual run; the
    showcase citizens change their bin in spring (change notice). Returns the claims to settle."""
    if not showcase and rng.randrange(100) >= 70:
        return []
    year = as_of.year
    business = person.kind is PersonKind.BUSINESS
    address = person.address_on(as_of) or person.addresses[0]
    rules = WasteFeeRules.from_data(waste_statute(municipality), "demo")
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
    sizes = sorted(rules.bin_fees_month_cents)
    fitting = [k for k in sizes if not rules.below_minimum(residents, [k])]
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
            start=since,
        )
    )
    session.flush()
    cache = WasteRulesCache(session, municipality.id)
    annual_run = date(year, 1, 10)
    if annual_run <= as_of:
        assess_waste(
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
        [waste_bin] = bins_of(session, [prop.id])
        waste_services.submit_change(
            session,
            person=person,
            municipality=municipality,
            bin_id=waste_bin.id,
            litres=bigger[0],
            rhythm=rhythm,
            change_from=date(year, 5, 1),
            as_of=change_day,
            actor=ACTOR,
        )
    return list(
        session.scalars(
            select(Claim)
            .where(Claim.person_id == person.id, Claim.kind == ClaimKind.WASTE_FEE)
            .order_by(Claim.due_date, Claim.id)
        )
    )


def _pending_review(session: Session, as_of: date) -> None:
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


# --------------------------------------------------------------------------- water


def _mandates(
    session: Session, municipality: Municipality, as_of: date, rng: random.Random, count: int
) -> int:
    """SEPA mandates for the business log-in and ``count`` random persons, each with a water
    advance falling due on the first possible collection day, announced today — so a fresh demo
    can write a direct-debit file straight away (``openkasse sepa export``)."""
    from schwifty import IBAN

    from core.payments.sepa import mandates, prenotifications

    collection = prenotifications.earliest_collection(session, municipality.id, as_of)
    business = session.scalars(
        select(Person).where(
            Person.municipality_id == municipality.id,
            Person.user_id.isnot(None),
            Person.kind == PersonKind.BUSINESS,
        )
    ).all()
    others = session.scalars(
        select(Person)
        .where(Person.municipality_id == municipality.id, Person.user_id.is_(None))
        .order_by(Person.id)
    ).all()
    chosen = [*business, *rng.sample(list(others), min(count, len(others)))]
    for person in chosen:
        iban = IBAN.generate(
            "DE",
            bank_code=rng.choice(["37040044", "12030000", "50010517", "76050101"]),
            account_code=str(rng.randint(10**8, 10**10 - 1)),
        )
        mandates.grant_mandate(
            session,
            person=person,
            municipality=municipality,
            account_holder=person.display_name,
            iban=str(iban.compact),
            tax_account_id=None,
            signed_on=as_of - timedelta(days=rng.randint(20, 700)),
            as_of=as_of,
            actor=ACTOR,
        )
        post_claim(
            session,
            person=person,
            municipality=municipality,
            kind=ClaimKind.WATER_FEE,
            amount_cents=rng.randint(18, 90) * 100,
            due_date=collection,
            description=f"Abschlag Wasser {collection:%m/%Y}",
            as_of=as_of,
            actor=ACTOR,
        )
    prenotifications.prenotify(
        session, municipality, collection_date=collection, as_of=as_of, actor=ACTOR
    )
    return len(chosen)


def sepa_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo direct-debit rules (DOMAIN.md "SEPA direct debit"): 14 days' pre-notification,
    36 months' lapse, bank charges of a return passed on where the debtor is responsible."""
    return {
        "legal_basis": (
            f"Kassen- und Gebührenordnung ({municipality.name}), Abschnitt Lastschriftverfahren; "
            "SEPA Core Direct Debit Scheme Rulebook (EPC016-09), Abschnitte 4.5 und 4.6.1"
        ),
        "prenotification_days": 14,
        "mandate_lapse_months": 36,
        "return_fee_cents": 300 if municipality.slug == "musterstadt" else 450,
        # Where the bank states its charges for a return, those are claimed instead.
        "pass_on_bank_charges": True,
        # Returns the debtor is responsible for (account closed or blocked, no funds, no
        # mandate, refused): the bank's charge is passed on.
        "return_fee_reasons": ["AC01", "AC04", "AC06", "AM04", "MD01", "MS02"],
        # The account or the mandate is gone: collect no more until a clerk or the debtor acts.
        "suspend_mandate_reasons": ["AC01", "AC04", "AC06", "MD01", "MD07", "MS02"],
    }


def refund_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo four-eyes limits for refunds (payments.card.refund_limits: no law sets them)."""
    return {
        "legal_basis": (
            f"Dienstanweisung für die Finanzbuchhaltung ({municipality.name}), Abschnitt "
            "Erstattungen (Vier-Augen-Prinzip), nach § 31 KomHVO NRW"
        ),
        "approval_per_payment_cents": 20000,
        "approval_per_clerk_day_cents": 100000,
    }


def water_statute(municipality: Municipality) -> dict[str, Any]:
    """Demo water statutes (DOMAIN.md "Water": 66 € base fee for Q3 4, 2.16 €/m³, 7 % VAT)."""
    musterstadt = municipality.slug == "musterstadt"
    return {
        "base_fee_year_cents": {"Q3 4": 6600, "Q3 10": 15840}
        if musterstadt
        else {"Q3 4": 7200, "Q3 10": 17280},
        "price_per_m3_cents": 216 if musterstadt else 198,
        "vat_basis_points": 700,
        "plausibility_percent": 50,
        "reading_deadline_days": 15,  # Ablesefrist: readings by 15 January of the next year
        "advance_dates": [[2, 15], [5, 15], [8, 15], [11, 15]] if musterstadt else [[3, 1], [9, 1]],
        "legal_basis": (
            f"Gebührensatzung zur Wasserversorgungssatzung ({municipality.name}) in Verbindung "
            "mit der Verordnung über Allgemeine Bedingungen für die Versorgung mit Wasser "
            "(AVBWasserV) und dem Kommunalabgabengesetz."
        ),
        "remedy": (
            "Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch "
            "erhoben oder Klage beim Verwaltungsgericht eingereicht werden."
        ),
    }


def _water_and_notices(
    session: Session,
    municipality: Municipality,
    person: Person,
    as_of: date,
    rng: random.Random,
    showcase: bool,
) -> list[Claim]:
    """A meter with two accepted yearly readings, last year's bill (with this year's advance
    payments) issued in January; the showcase citizens have not yet sent this year's reading."""
    if not showcase and rng.randrange(100) >= 55:
        return []
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
    return list(
        session.scalars(
            select(Claim)
            .where(Claim.person_id == person.id, Claim.kind == ClaimKind.WATER_FEE)
            .order_by(Claim.due_date, Claim.id)
        )
    )
