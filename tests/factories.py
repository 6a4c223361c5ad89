"""Creator functions for test data; each test's transaction rolls back what they make."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from core.identity import models as identity
from core.identity.models import Role, UserAccount
from core.ledger.claims import post_claim
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.persons import models as persons
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Municipality

# Shares no word with the generated e-mails, names and municipalities (user123@test.example
# made "Test-Passwort-123" a context password and the 123rd user a random failure).
PASSWORD = "Laterne-Wiese-Sonnenblume"
AS_OF = date(2026, 3, 1)
_seq = itertools.count(1)


def municipality(session: Session, **kw: Any) -> Municipality:
    n = next(_seq)
    values: dict[str, Any] = dict(
        slug=f"kommune{n}",
        name=f"Testkommune {n}",
        official_key=f"{n:08d}",
        state="NW",
        creditor_id="DE98ZZZ09999999999",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        bank_name="Testbank",
        cash_office_name=f"Kasse Testkommune {n}",
        street="Markt 1",
        postal_code="12345",
        city=f"Teststadt {n}",
        email=f"kasse{n}@test.example",
        phone="+49 1",
        kassenzeichen_prefix=f"{n % 1000:03d}",
        primary_color="#0b4f8a",
    )
    values.update(kw)
    m = Municipality(**values)
    session.add(m)
    session.flush()
    return m


def user(
    session: Session,
    *,
    role: Role = Role.CITIZEN,
    municipality: Municipality | None = None,
    email: str | None = None,
) -> UserAccount:
    n = next(_seq)
    return identity.create_user(
        session,
        email=email or f"user{n}@test.example",
        password=PASSWORD,
        display_name=f"Nutzer {n}",
        role=role,
        municipality_id=municipality.id if municipality and role is not Role.CITIZEN else None,
    )


def person(
    session: Session,
    municipality: Municipality,
    *,
    user: UserAccount | None = None,
    family_name: str | None = None,
    **kw: Any,
) -> Person:
    n = next(_seq)
    kw.setdefault("kind", PersonKind.NATURAL)
    if kw["kind"] is PersonKind.NATURAL:
        kw.setdefault("given_name", "Testa")
        kw.setdefault("family_name", family_name or f"Person{n}")
    return persons.create_person(
        session,
        municipality_id=municipality.id,
        as_of=AS_OF,
        actor="test",
        user_id=user.id if user else None,
        address={
            "street": "Weg",
            "house_number": str(n),
            "postal_code": "12345",
            "city": municipality.city,
        },
        **kw,
    )


def claim(
    session: Session,
    municipality: Municipality,
    owner: Person,
    *,
    amount: int = 10000,
    kind: ClaimKind = ClaimKind.DOG_TAX,
    due: date = date(2026, 2, 15),
    description: str = "Hundesteuer 2026",
    as_of: date = AS_OF,
) -> Claim:
    return post_claim(
        session,
        person=owner,
        municipality=municipality,
        kind=kind,
        amount_cents=amount,
        due_date=due,
        description=description,
        as_of=as_of,
        actor="test",
    )


def dog_tax_statute(session: Session, m: Municipality, **overrides: Any) -> Any:
    """The Musterstadt demo statute (graded rates, quarterly, month after) and the default
    review criteria for municipality ``m``."""
    from core.demo.statutes import dog_tax_statute as demo_statute
    from core.levies.dog_tax.services import DEFAULT_CRITERIA
    from core.tenancy.statutes import Statute
    from core.workflow.criteria import ensure_criteria

    data = {**demo_statute(type("M", (), {"slug": "musterstadt"})()), **overrides}
    statute = Statute(
        municipality_id=m.id,
        levy="dog_tax",
        valid_from=date(2020, 1, 1),
        source="Hundesteuersatzung (Test)",
        data=data,
    )
    session.add(statute)
    ensure_criteria(session, m.id, DEFAULT_CRITERIA)
    session.flush()
    return statute


def waste_statute(session: Session, m: Municipality, **overrides: Any) -> Any:
    """The Musterstadt demo waste statute (Eichenzell table, min 10 l per resident and week,
    quarterly, month after) and the default waste review criteria for municipality ``m``."""
    from core.demo.statutes import waste_statute as demo_statute
    from core.levies.waste.services import DEFAULT_CRITERIA
    from core.tenancy.statutes import Statute
    from core.workflow.criteria import ensure_criteria

    data = {**demo_statute(type("M", (), {"slug": "musterstadt"})()), **overrides}
    statute = Statute(
        municipality_id=m.id,
        levy="waste_fee",
        valid_from=date(2020, 1, 1),
        source="Abfallgebührensatzung (Test)",
        data=data,
    )
    session.add(statute)
    ensure_criteria(session, m.id, DEFAULT_CRITERIA)
    session.flush()
    return statute


def waste_property(
    session: Session, m: Municipality, owner: Person, *, residents: int = 3, **kw: Any
) -> Any:
    from core.levies.waste.models import WasteProperty

    values: dict[str, Any] = dict(
        street="Lindenallee",
        house_number=str(next(_seq)),
        postal_code="12345",
        city=m.city,
        liable_from=date(2025, 12, 1),
    )
    values.update(kw)
    prop = WasteProperty(municipality_id=m.id, person_id=owner.id, residents=residents, **values)
    session.add(prop)
    session.flush()
    return prop


def sepa_statute(session: Session, m: Municipality, **overrides: Any) -> Any:
    """The demo direct-debit rules (14 days' pre-notification, 3 € return fee) for ``m``."""
    from core.demo.statutes import sepa_statute as demo_statute
    from core.tenancy.statutes import Statute

    data = {**demo_statute(type("M", (), {"slug": "musterstadt", "name": "Test"})()), **overrides}
    statute = Statute(
        municipality_id=m.id,
        levy="sepa",
        valid_from=date(2020, 1, 1),
        source="Kassenordnung (Test)",
        data=data,
    )
    session.add(statute)
    session.flush()
    return statute


def dunning_statute(session: Session, m: Municipality, **overrides: Any) -> Any:
    """The Musterstadt demo dunning procedure (reminder, Mahnung, announcement of enforcement;
    NRW fee, surcharges, 5 € tolerance) for ``m``."""
    from core.demo.statutes import dunning_statute as demo_statute
    from core.dunning.procedure import LEVY
    from core.tenancy.statutes import Statute

    data = {**demo_statute(type("M", (), {"slug": "musterstadt"})()), **overrides}
    statute = Statute(
        municipality_id=m.id,
        levy=LEVY,
        valid_from=date(2020, 1, 1),
        source="Mahnordnung (Test)",
        data=data,
    )
    session.add(statute)
    session.flush()
    return statute


def instalment_statute(session: Session, m: Municipality, **overrides: Any) -> Any:
    """The demo rules for deferrals and instalments (straight through up to 1,000 € and six
    months; 0.5 % interest per full month; a plan ends 14 days after a missed instalment)."""
    from core.demo.statutes import instalment_statute as demo_statute
    from core.dunning.instalment_rules import LEVY
    from core.tenancy.statutes import Statute

    statute = Statute(
        municipality_id=m.id,
        levy=LEVY,
        valid_from=date(2020, 1, 1),
        source="Stundungsrichtlinie (Test)",
        data={**demo_statute(m), **overrides},
    )
    session.add(statute)
    session.flush()
    return statute


def trade_tax_statute(session: Session, m: Municipality, **overrides: Any) -> Any:
    """A trade-tax Hebesatz statute (400 %, no interest, four eyes above 10,000 €) from 2020."""
    from core.tenancy.statutes import Statute

    data: dict[str, Any] = {
        "hebesatz_percent": 400,
        "approval_above_euro": 10000,
        "legal_basis": "§ 2 der Hebesatzsatzung (Test) in Verbindung mit §§ 16, 19, 20 GewStG",
        **overrides,
    }
    statute = Statute(
        municipality_id=m.id,
        levy="trade_tax",
        valid_from=date(2020, 1, 1),
        source="Hebesatzsatzung (Test)",
        data=data,
    )
    session.add(statute)
    session.flush()
    return statute
