"""The demo's "BundID" over SAML 2.0: a provider row per demo municipality pointing at the demo
SAML identity provider on loopback (tools/demo_saml_idp.py, started by ``make run``), and the
demo identities its log-in page offers (README "Mit BundID anmelden (Demo)").

The level is not part of the identity: as at BundID, the citizen picks the way of logging in on
the provider's page (user name and password, ELSTER certificate, Online-Ausweis).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.identity import external
from core.identity import saml as bundid
from core.identity.external import IdentityProvider, ProviderKind

DEMO_SAML_IDP_URL = "http://127.0.0.1:8422"
SLUG = "bundid-saml"

# sub is the bPK2 pseudonym the provider sends; the e-mail address is sent, never taken over
IDENTITIES: list[dict[str, str]] = [
    {
        "sub": "demo-saml-bpk2-lena-lehmann",
        "given_name": "Lena",
        "family_name": "Lehmann",
        "email": "lena.lehmann@example.org",
    },
    {
        "sub": "demo-saml-bpk2-erika-mustermann",
        "given_name": "Erika",
        "family_name": "Mustermann",
        "email": "erika.mustermann@musterstadt.example",
    },
    {
        "sub": "demo-saml-bpk2-max-beispiel",
        "given_name": "Max",
        "family_name": "Beispiel",
        "email": "max.beispiel@beispielhausen.example",
    },
]


def provider_row(municipality_id: int, base_url: str) -> IdentityProvider:
    """The row of the IdP at ``base_url`` (its entity id is its metadata URL)."""
    return IdentityProvider(
        municipality_id=municipality_id,
        slug=SLUG,
        label="BundID (SAML)",
        kind=ProviderKind.SAML,
        issuer=f"{base_url}/metadata",  # the IdP's entity id
        discovery_url=f"{base_url}/metadata",  # where its metadata is fetched
        client_id="",  # our SP entity id: empty = the portal's metadata URL
        client_secret="",
        scopes="",
        level_claim=bundid.TRUST_LEVEL,
        level_values=dict(bundid.LEVEL_VALUES),
    )


def ensure_providers(session: Session, base_url: str = DEMO_SAML_IDP_URL) -> int:
    """A SAML "BundID" row for every municipality that has none yet; returns how many."""
    from core.tenancy.municipalities import Municipality

    added = 0
    for municipality in session.query(Municipality).order_by(Municipality.id):
        if external.provider_by_slug(session, municipality.id, SLUG) is None:
            session.add(provider_row(municipality.id, base_url))
            added += 1
    session.flush()
    return added
