"""The demo's representation: Bäckerei Krume GmbH (Musterstadt) has its own log-in as admin
("Verwaltung"), a second representative who may only read, and it gave its tax adviser a power
of attorney for payments (README "Demo log-ins"). Draws nothing from the random generator."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.demo.identity import ACTOR, DEMO_PASSWORD
from core.identity import models as identity
from core.persons.models import Person, PersonKind
from core.representation.models import PowerOfAttorney, Representative, RepresentativeRole, Scope
from core.representation.representatives import ensure_owner
from core.tenancy.municipalities import Municipality

BUSINESS = "Bäckerei Krume GmbH"
READER = ("lesen@baeckerei-krume.example", "Lena Leser")
ADVISER = ("steuerberatung@kanzlei-klar.example", "Steuerkanzlei Klar")


def load(session: Session, municipality: Municipality, as_of: date) -> None:
    business = session.scalars(
        select(Person).where(
            Person.municipality_id == municipality.id,
            Person.kind == PersonKind.BUSINESS,
            Person.company_name == BUSINESS,
            Person.user_id.is_not(None),
        )
    ).first()
    if business is None:
        return  # another municipality: the bakery is in Musterstadt
    now = datetime.combine(as_of, time(9), tzinfo=UTC)
    ensure_owner(session, business, now=now)
    reader = identity.create_user(
        session, email=READER[0], password=DEMO_PASSWORD, display_name=READER[1]
    )
    session.add(
        Representative(
            municipality_id=municipality.id,
            organisation_id=business.id,
            user_id=reader.id,
            email=reader.email or "",
            role=RepresentativeRole.READ_ONLY,
            invited_by=ACTOR,
            invited_at=now,
            accepted_at=now,
        )
    )
    adviser = identity.create_user(
        session, email=ADVISER[0], password=DEMO_PASSWORD, display_name=ADVISER[1]
    )
    session.add(
        PowerOfAttorney(
            municipality_id=municipality.id,
            principal_id=business.id,
            agent_user_id=adviser.id,
            agent_email=adviser.email or "",
            scope=Scope.PAYMENTS,
            valid_from=as_of - timedelta(days=30),
            valid_until=as_of + timedelta(days=365),
            granted_by=ACTOR,
            granted_online=False,
            accepted_at=now,
        )
    )
    session.flush()
