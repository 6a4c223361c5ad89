"""Demo data: two municipalities with persons, claims of several kinds, payments and log-ins.

Deterministic (seeded) so that screenshots and the README's demo log-ins stay the same. One
module per area: tenancy (municipalities, statutes in force), statutes (the example statutes,
shared with the tests), identity (log-ins), persons, ledger (claims and payments), dog_tax,
waste, water, sepa (mandates), basis_notices (the tax office's Messbescheide), property_tax
(the levy's annual run over them) and representation (who acts for the bakery). The areas draw
from one random generator in a fixed order, so the same seed gives the same data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.demo import (
    basis_notices,
    dog_tax,
    identity,
    ledger,
    persons,
    property_tax,
    representation,
    sepa,
    tenancy,
)
from core.identity.models import Role
from core.tenancy.municipalities import Municipality


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
    """Load the demo into an empty database; returns the German summary line."""
    rng = random.Random(seed)
    counts = {"persons": 0, "claims": 0, "payments": 0, "mandates": 0}
    for spec in tenancy.MUNICIPALITIES:
        municipality = tenancy.create_municipality(session, spec)
        tenancy.enact_statutes(session, municipality)
        progress(f"{municipality.name}: Personen und Forderungen …")
        _logins(session, municipality, as_of, rng, counts)
        representation.load(session, municipality, as_of)
        for i in range(persons_per_municipality):
            person = persons.random_person(session, municipality, as_of, rng)
            ledger.claims_and_payments(session, municipality, person, as_of, rng, counts)
            counts["persons"] += 1
            if (i + 1) % 50 == 0:
                progress(f"  {i + 1}/{persons_per_municipality}")
        progress(f"{municipality.name}: Lastschriftmandate …")
        counts["mandates"] += sepa.grant_mandates(
            session, municipality, as_of, rng, max(3, persons_per_municipality // 12)
        )
        progress(f"{municipality.name}: Messbescheide des Finanzamts …")
        basis_notices.load(session, municipality, as_of)
        progress(f"{municipality.name}: Grundsteuer aus den Messbescheiden …")
        property_tax.assess_and_pay(session, municipality, as_of, rng, counts)
    dog_tax.pending_review(session, as_of)
    return (
        f"Demodaten geladen: {len(tenancy.MUNICIPALITIES)} Kommunen, {counts['persons']} "
        f"Personen, {counts['claims']} Forderungen, {counts['payments']} Zahlungen, "
        f"{counts['mandates']} Lastschriftmandate."
    )


def _logins(
    session: Session,
    municipality: Municipality,
    as_of: date,
    rng: random.Random,
    counts: dict[str, int],
) -> None:
    """The municipality's log-ins; each citizen's own person comes with its claims at once."""
    for login in identity.logins_of(municipality):
        user = identity.create_account(session, login, municipality)
        if login.role is not Role.CITIZEN:
            continue
        person = persons.showcase_person(session, municipality, login, user, as_of, rng)
        ledger.claims_and_payments(session, municipality, person, as_of, rng, counts, showcase=True)
        counts["persons"] += 1
