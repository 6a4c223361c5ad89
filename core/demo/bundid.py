"""The demo's "BundID": a provider row per demo municipality pointing at the demo identity
provider on loopback (tools/demo_idp.py, started by ``make run``), and the demo identities it
offers on its log-in page (README "Mit BundID anmelden (Demo)").

The levels are BundID's (STORK-QAA-Level-1/3/4) in the ``acr`` claim, as an OIDC bridge in
front of BundID passes them on.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.identity import external
from core.identity.external import IdentityProvider, ProviderKind

DEMO_IDP_URL = "http://127.0.0.1:8421"
LEVEL_VALUES = {
    "STORK-QAA-Level-1": "basis",
    "STORK-QAA-Level-3": "substanziell",
    "STORK-QAA-Level-4": "hoch",
}

# sub (the pseudonym) and the claims the demo provider signs for each.
IDENTITIES: list[dict[str, Any]] = [
    {
        "sub": "demo-basis-lena-lehmann",
        "claims": {"acr": "STORK-QAA-Level-1", "given_name": "Lena", "family_name": "Lehmann"},
    },
    {
        "sub": "demo-substanziell-erika-mustermann",
        "claims": {
            "acr": "STORK-QAA-Level-3",
            "given_name": "Erika",
            "family_name": "Mustermann",
            # offered by the provider, never taken over: a same e-mail does not open her account
            "email": "erika.mustermann@musterstadt.example",
        },
    },
    {
        "sub": "demo-hoch-max-beispiel",
        "claims": {"acr": "STORK-QAA-Level-4", "given_name": "Max", "family_name": "Beispiel"},
    },
]


def ensure_providers(session: Session, base_url: str = DEMO_IDP_URL) -> int:
    """A "BundID" provider row for every municipality that has none yet; returns how many."""
    from core.tenancy.municipalities import Municipality

    added = 0
    for municipality in session.query(Municipality).order_by(Municipality.id):
        if external.provider_by_slug(session, municipality.id, "bundid") is not None:
            continue
        session.add(
            IdentityProvider(
                municipality_id=municipality.id,
                slug="bundid",
                label="BundID",
                kind=ProviderKind.OIDC,
                issuer=base_url,
                discovery_url=f"{base_url}/.well-known/openid-configuration",
                client_id=f"openkasse-{municipality.slug}",
                client_secret="demo-secret",  # noqa: S106 - the demo provider accepts any
                scopes="openid profile",
                level_claim="acr",
                level_values=dict(LEVEL_VALUES),
            )
        )
        added += 1
    session.flush()
    return added
