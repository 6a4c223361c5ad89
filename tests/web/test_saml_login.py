"""Log-in with BundID over SAML 2.0 against a real pysaml2 IdP on loopback
(tools/demo_saml_idp.py): the whole HTTP-Redirect / HTTP-POST round trip, and every bad answer
refused with a German message and no log-in."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity import external
from core.identity.external import ExternalLogin, ProviderKind, TrustLevel
from core.identity.models import UserAccount
from tests.oidc_flow import accounts, follow, slug_of
from tests.saml_flow import LENA, LEVEL_3, saml_login_url, saml_round_trip


def test_first_saml_login_creates_an_account(
    client: FlaskClient, db: Session, saml_bundid: Any
) -> None:
    before = accounts(db)
    response = saml_round_trip(client, saml_login_url(db, saml_bundid), LENA, LEVEL_3)
    page = follow(client, response)
    assert "Ihr Kundenkonto ist angelegt" in page, page[:2000]
    assert "Lena Lehmann" in page and LENA in page and "substanziell" in page
    assert accounts(db) == before + 1
    identity = external.find_identity(db, saml_bundid.issuer, LENA)
    assert identity is not None
    assert identity.kind is ProviderKind.SAML
    assert identity.trust_level is TrustLevel.SUBSTANZIELL
    account = db.get(UserAccount, identity.account_id)
    assert account is not None and account.email is None  # the e-mail sent is not taken over
    logins = db.scalars(select(ExternalLogin).where(ExternalLogin.identity_id == identity.id))
    assert [(r.purpose.value, r.trust_level.value, r.issuer) for r in logins] == [
        ("register", "substanziell", saml_bundid.issuer)
    ]
    assert client.get(f"/{slug_of(db, saml_bundid)}/konto/verbinden").status_code == 200
