"""The demo's log-ins (README "Demo log-ins") and the name its bookings are recorded under.

Every log-in uses the same documented password; the citizens among them own a person of their
municipality (core/demo/persons.py), the others are clerks of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.identity import models as identity
from core.identity.models import Role, UserAccount
from core.tenancy.municipalities import Municipality

DEMO_PASSWORD = "Demo-Passwort-2026"  # noqa: S105 - documented demo log-in, README
ACTOR = "demo"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: Role
    municipality: str
    who: str

    @property
    def business(self) -> bool:
        return self.who == "Unternehmen"

    @property
    def names(self) -> tuple[str, str]:
        """Given and family name of a citizen, read from the e-mail address."""
        given, family = self.email.split("@")[0].split(".")
        return given.title(), family.title()

    @property
    def display_name(self) -> str:
        if self.role is not Role.CITIZEN:
            return self.who
        return "Bäckerei Krume GmbH" if self.business else " ".join(self.names)


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


def logins_of(municipality: Municipality) -> list[DemoLogin]:
    return [login for login in LOGINS if login.municipality == municipality.slug]


def create_account(session: Session, login: DemoLogin, municipality: Municipality) -> UserAccount:
    """A citizen's log-in is global (no municipality); a clerk's belongs to ``municipality``."""
    if login.role is Role.CITIZEN:
        return identity.create_user(
            session, email=login.email, password=DEMO_PASSWORD, display_name=login.display_name
        )
    return identity.create_user(
        session,
        email=login.email,
        password=DEMO_PASSWORD,
        display_name=login.display_name,
        role=login.role,
        municipality_id=municipality.id,
    )
