"""Helpers of the OIDC log-in tests: a provider row for a test municipality pointing at the
loopback provider (tests/oidc_provider.py), and the redirect dance driven through the Flask
test client and the provider's own log-in form."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.identity import external
from core.identity.external import IdentityProvider
from core.identity.models import UserAccount
from core.tenancy.municipalities import Municipality
from tests.conftest import csrf_token
from tests.oidc_provider import Provider, running_provider

LEVELS = {
    "STORK-QAA-Level-1": "basis",
    "STORK-QAA-Level-3": "substanziell",
    "STORK-QAA-Level-4": "hoch",
}
_subjects = iter(range(10_000))


@pytest.fixture(scope="session")
def idp() -> Iterator[Provider]:
    with running_provider() as provider:
        yield provider


@pytest.fixture
def bundid(db: Session, make: Any, idp: Provider) -> IdentityProvider:
    m = make.municipality()
    provider = IdentityProvider(
        municipality_id=m.id,
        slug="bundid",
        label="BundID",
        kind=external.ProviderKind.OIDC,
        issuer=idp.url,
        discovery_url=f"{idp.url}/.well-known/openid-configuration",
        client_id=f"openkasse-{m.slug}",
        client_secret="demo-secret",
        scopes="openid profile",
        level_claim="acr",
        level_values=LEVELS,
    )
    db.add(provider)
    db.flush()
    return provider


def slug_of(db: Session, provider: IdentityProvider) -> str:
    municipality = db.get(Municipality, provider.municipality_id)
    assert municipality is not None
    return municipality.slug


def new_subject(idp: Provider, acr: str = "STORK-QAA-Level-3", **claims: Any) -> str:
    sub = f"bpk2-{next(_subjects)}-{time.monotonic_ns()}"
    idp.set_user(sub, acr=acr, given_name="Erika", family_name="Mustermann", **claims)
    return sub


def start(
    client: FlaskClient, url: str, idp: Provider, form_on: str | None = None, **data: str
) -> str:
    """Our start URL → the provider's authorization URL (checked to be one). With ``form_on``:
    the start is a form (with CSRF token) on that page, posted to ``url``."""
    if form_on is None:
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": csrf_token(client, form_on), **data})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    location = response.headers["Location"]
    assert location.startswith(f"{idp.url}/oauth2/authorize?")
    return location


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def round_trip(
    client: FlaskClient,
    start_url: str,
    idp: Provider,
    sub: str,
    form_on: str | None = None,
    **data: str,
) -> Any:
    callback = idp.log_in(start(client, start_url, idp, form_on, **data), sub)
    return client.get(local(callback))


def follow(client: FlaskClient, response: Any) -> str:
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:300]
    return client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)


def login_url(db: Session, provider: IdentityProvider, next_url: str = "") -> str:
    url = f"/{slug_of(db, provider)}/anmelden/mit/bundid"
    return f"{url}?next={next_url}" if next_url else url


def accounts(db: Session) -> int:
    return db.scalar(select(func.count(UserAccount.id))) or 0
