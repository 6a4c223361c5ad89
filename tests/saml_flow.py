"""Helpers of the SAML log-in tests: the real pysaml2 IdP of tools/demo_saml_idp.py on loopback,
a provider row for a test municipality pointing at it, and the round trip driven through the
Flask test client and the IdP's own log-in page (its forms read from its HTML, as a browser
would submit them)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.demo import bundid_saml
from core.identity.external import IdentityProvider
from tests.oidc_flow import slug_of
from tools.demo_saml_idp import RunningIdp, running_idp

LENA = bundid_saml.IDENTITIES[0]["sub"]
ERIKA = bundid_saml.IDENTITIES[1]["sub"]
MAX = bundid_saml.IDENTITIES[2]["sub"]
LEVEL_1, LEVEL_3, LEVEL_4 = (f"STORK-QAA-Level-{n}" for n in (1, 3, 4))
_FIELD = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


@pytest.fixture(scope="session")
def saml_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningIdp]:
    with running_idp(tmp_path_factory.mktemp("saml_idp")) as idp:
        yield idp


@pytest.fixture
def saml_bundid(db: Session, make: Any, saml_idp: RunningIdp) -> IdentityProvider:
    m = make.municipality()
    provider = bundid_saml.provider_row(m.id, saml_idp.url)
    db.add(provider)
    db.flush()
    return provider


def saml_login_url(db: Session, provider: IdentityProvider) -> str:
    return f"/{slug_of(db, provider)}/anmelden/mit/{provider.slug}"  # one entry for both kinds


def to_idp(client: FlaskClient, url: str, form_on: str | None = None, **data: str) -> str:
    """Our start (a link, or a form with CSRF token on ``form_on``) → the IdP's SSO URL."""
    from tests.conftest import csrf_token

    if form_on is None:
        response = client.get(url)
    else:
        response = client.post(url, data={"csrf_token": csrf_token(client, form_on), **data})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return str(response.headers["Location"])


def idp_answer(sso_url: str, sub: str, level: str | None = None, **knobs: str) -> dict[str, str]:
    """The IdP's log-in page, submitted for ``sub``: the form it posts back to us."""
    page = requests.get(sso_url, timeout=10)
    page.raise_for_status()
    fields = {n: html.unescape(v) for n, v in _FIELD.findall(page.text)}
    checked = re.search(r'value="(STORK-QAA-Level-\d)" checked', page.text)
    assert checked is not None
    data = {**fields, "sub": sub, "level": level or checked.group(1), **knobs}
    action = _ACTION.search(page.text)
    assert action is not None
    answer = requests.post(html.unescape(action.group(1)), data=data, timeout=10)
    answer.raise_for_status()
    posted = {n: html.unescape(v) for n, v in _FIELD.findall(answer.text)}
    back = _ACTION.search(answer.text)
    assert back is not None
    posted["_action"] = html.unescape(back.group(1))
    return posted


def post_back(client: FlaskClient, answer: dict[str, str]) -> Any:
    """The IdP's auto-submitted form, posted to our ACS (no CSRF token: none is needed); when
    the ACS answers with its page that posts it once more (no log-in under way in this session,
    as after a cross-site post without the cookie), that form is submitted as its script would."""
    path = urlsplit(answer["_action"]).path
    data = {k: v for k, v in answer.items() if not k.startswith("_")}
    response = client.post(path, data=data)
    if response.status_code == 200 and 'name="weiter"' in response.get_data(as_text=True):
        response = client.post(path, data={**data, "weiter": "1"})
    return response


def saml_round_trip(
    client: FlaskClient,
    start_url: str,
    sub: str,
    level: str | None = None,
    form_on: str | None = None,
    data: dict[str, str] | None = None,
    **knobs: str,
) -> Any:
    sso = to_idp(client, start_url, form_on, **(data or {}))
    return post_back(client, idp_answer(sso, sub, level, **knobs))
