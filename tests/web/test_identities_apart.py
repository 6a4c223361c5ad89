"""Staff and citizen identities stay apart: a clerk's session never acts in the citizen portal,
a citizen's session never opens the back office — checked on every route the app has."""

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.persons.models import Person
from tests.conftest import CSRF_RE, login, staff_login

# Portal endpoints that need no citizen account: public pages, log-in itself, and pages bound to
# a signed token (payment link, payment attempt, reading card) instead of an account.
PUBLIC_PORTAL_ENDPOINTS = {
    "portal.start",
    "portal.theme",
    "portal.login",
    "portal.oidc_login",  # log-in with an identity provider (portal/identity/oidc.py) ...
    "portal.oidc_return",  # ... and its return, bound to the state it put in the session
    "portal.saml_metadata",  # our SAML service provider's metadata, public by nature
    "portal.saml_acs",  # the SAML response, bound to the request ID it put in the session
    "portal.register",
    "portal.logout",
    "portal.registration_sent",
    "portal.forgot_password",
    "portal.forgot_password_sent",
    "portal.reset_password",  # bound to the reset token it moved into the session
}
BACKOFFICE_WITHOUT_STAFF = {"backoffice.login", "backoffice.logout"}


def _routes(app: Flask, prefix: str) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every route of a blueprint, ids filled with 1."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(prefix):
            continue
        url = re.sub(r"<int:\w+>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    return found


def _is_token_bound(app: Flask, endpoint: str) -> bool:
    return any("<token>" in r.rule for r in app.url_map.iter_rules(endpoint=endpoint))


def test_every_portal_view_is_public_token_bound_or_citizen_only(app: Flask) -> None:
    unguarded = [
        endpoint
        for endpoint, _, _ in _routes(app, "portal.")
        if endpoint not in PUBLIC_PORTAL_ENDPOINTS
        and not _is_token_bound(app, endpoint)
        and not getattr(app.view_functions[endpoint], "citizen_only", False)
    ]
    assert unguarded == [], "use @citizen_required on every logged-in portal view"


def _csrf_of(client: FlaskClient, url: str) -> str:
    match = CSRF_RE.search(client.get(url).get_data(as_text=True))
    assert match
    return match.group(1)


def test_a_clerk_session_never_acts_in_the_citizen_portal(
    app: Flask, client: FlaskClient, make: Any, db: Session
) -> None:
    mine, other = make.municipality(), make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=mine)
    assert staff_login(client, clerk.email).status_code == 302
    token = _csrf_of(client, "/backoffice/personen")  # one CSRF token per session
    persons_before = db.scalar(select(func.count(Person.id)))
    citizen_routes = [
        (endpoint, method, url)
        for endpoint, method, url in _routes(app, "portal.")
        if endpoint not in PUBLIC_PORTAL_ENDPOINTS and not _is_token_bound(app, endpoint)
    ]
    assert len(citizen_routes) > 20
    for slug in (mine.slug, other.slug):
        for endpoint, method, url in citizen_routes:
            path = url.replace("<muni>", slug)
            response = client.open(
                path,
                method=method,
                data={
                    "csrf_token": token,
                    "family_name": "Sachbearbeiter",
                    "street": "Markt",
                    "house_number": "1",
                    "postal_code": "12345",
                    "city": "Irgendwo",
                },
            )
            assert response.status_code == 403, (endpoint, method, response.status_code)
    assert db.scalar(select(func.count(Person.id))) == persons_before
    # the portal's navigation does not treat the clerk as a logged-in citizen either
    assert "Mein Konto" not in client.get(f"/{other.slug}/").get_data(as_text=True)


def test_a_citizen_session_never_opens_the_back_office(
    app: Flask, client: FlaskClient, make: Any
) -> None:
    m = make.municipality()
    citizen = make.user()
    make.person(m, user=citizen)
    assert login(client, m.slug, citizen.email).status_code == 302
    token = _csrf_of(client, f"/{m.slug}/konto")
    routes = [r for r in _routes(app, "backoffice.") if r[0] not in BACKOFFICE_WITHOUT_STAFF]
    assert len(routes) > 20
    for endpoint, method, url in routes:
        response = client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (endpoint, method, response.status_code)
