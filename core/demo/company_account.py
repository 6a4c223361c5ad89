"""The demo's "Mein Unternehmenskonto" (MUK): a company-account provider row per demo
municipality pointing at a second demo identity provider on loopback (``tools/demo_idp.py PORT
muk``, started by ``make run``), and the demo identities it offers (README "Mit
Unternehmenskonto anmelden (Demo)").

Each identity is a natural person (pseudonym, name) with the Steuernummer of the organisation
they log in for in the claim ``org_id`` (core/representation/company_account.py), at the level
of an ELSTER certificate ("substanziell"). The Steuernummern are those of the demo's trade-tax
objects in Musterstadt (core/demo/basis_notices.py, seed 2026; tests/integration checks them).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from core.demo.bundid import LEVEL_VALUES
from core.identity import external
from core.identity.external import ExternalIdentity, IdentityProvider, ProviderKind, TrustLevel
from core.identity.models import Role, UserAccount
from core.kernel import clock
from core.levies.basis_notices.businesses import business_by_tax_number
from core.representation.models import Representative, RepresentativeRole

DEMO_MUK_URL = "http://127.0.0.1:8423"
SLUG = "unternehmenskonto"
ORG_CLAIM = "org_id"
KRUME = "0599/500/00002"  # Bäckerei Krume GmbH, Musterstadt (has representatives)
GRUEN = "0599/501/00006"  # Gärtnerei Grün GbR, Musterstadt (none yet)
DIRECTOR = "demo-muk-krume-geschaeftsfuehrung"

IDENTITIES: list[dict[str, Any]] = [
    {  # recorded as the bakery's admin by ensure_providers: recognised at once
        "sub": DIRECTOR,
        "claims": {
            "acr": "STORK-QAA-Level-3",
            "given_name": "Karl",
            "family_name": "Krume",
            ORG_CLAIM: KRUME,
        },
    },
    {  # the bakery has representatives and did not invite her: refused (MUK's say-so is not
        # enough, whatever it claims)
        "sub": "demo-muk-krume-aushilfe",
        "claims": {
            "acr": "STORK-QAA-Level-3",
            "given_name": "Anna",
            "family_name": "Aushilfe",
            ORG_CLAIM: KRUME,
            "bevollmaechtigt": True,
        },
    },
    {  # the nursery has no representatives yet: the first MUK log-in becomes its admin
        "sub": "demo-muk-gruen-inhaberin",
        "claims": {
            "acr": "STORK-QAA-Level-3",
            "given_name": "Greta",
            "family_name": "Grün",
            ORG_CLAIM: GRUEN,
        },
    },
    {  # no business of the town has this Steuernummer: refused
        "sub": "demo-muk-unbekannt",
        "claims": {
            "acr": "STORK-QAA-Level-3",
            "given_name": "Uwe",
            "family_name": "Unbekannt",
            ORG_CLAIM: "9999/999/99999",
        },
    },
]


def provider_row(municipality_id: int, slug: str, base_url: str) -> IdentityProvider:
    return IdentityProvider(
        municipality_id=municipality_id,
        slug=SLUG,
        label="Unternehmenskonto",
        kind=ProviderKind.OIDC,
        issuer=base_url,
        discovery_url=f"{base_url}/.well-known/openid-configuration",
        client_id=f"openkasse-muk-{slug}",
        client_secret="demo-secret",  # noqa: S106 - the demo provider accepts any
        scopes="openid profile",
        level_claim="acr",
        level_values=dict(LEVEL_VALUES),
        company_account=True,
        org_claim=ORG_CLAIM,
    )


def ensure_providers(session: Session, base_url: str = DEMO_MUK_URL) -> int:
    """A company-account provider row for every municipality that has none yet, and the bakery's
    managing director as its admin ("Verwaltung"); returns how many rows were added."""
    from core.tenancy.municipalities import Municipality

    added = 0
    for municipality in session.query(Municipality).order_by(Municipality.id):
        if external.provider_by_slug(session, municipality.id, SLUG) is not None:
            continue
        session.add(provider_row(municipality.id, municipality.slug, base_url))
        added += 1
        _director(session, municipality.id, base_url)
    session.flush()
    return added


def _director(session: Session, municipality_id: int, issuer: str) -> None:
    """Karl Krume: invited by the bakery and accepted with his MUK account (as the README's demo
    shows what a recognised representative sees)."""
    bakery = business_by_tax_number(session, municipality_id, KRUME)
    if bakery is None or external.find_identity(session, issuer, DIRECTOR) is not None:
        return
    account = UserAccount(
        email=None, password_hash=None, display_name="Karl Krume", role=Role.CITIZEN
    )
    session.add(account)
    session.flush()
    session.add(
        ExternalIdentity(
            account_id=account.id,
            kind=ProviderKind.OIDC,
            issuer=issuer,
            subject=DIRECTOR,
            trust_level=TrustLevel.SUBSTANZIELL,
        )
    )
    now = datetime.combine(clock.today(), time(9), tzinfo=UTC)
    session.add(
        Representative(
            municipality_id=municipality_id,
            organisation_id=bakery.id,
            user_id=account.id,
            email="",
            role=RepresentativeRole.ADMIN,
            invited_by="demo",
            invited_at=now,
            accepted_at=now,
        )
    )
