"""Account linking and step-up against the loopback provider: an e-mail account gets an external
identity only after the password log-in *and* the provider round trip; the same e-mail alone
opens nothing; the SEPA mandate page asks for "substanziell" and offers a new log-in with
``acr_values``; a too-low or someone else's log-in is refused in German."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity import external
from core.identity.external import (
    ExternalLogin,
    IdentityProvider,
    Service,
    ServiceTrustLevel,
    TrustLevel,
)
from core.identity.models import UserAccount
from core.tenancy.municipalities import Municipality
from tests.conftest import csrf_token, login
from tests.oidc_flow import follow, local, login_url, new_subject, round_trip, slug_of, start
from tests.oidc_provider import Provider


@pytest.fixture
def citizen(client: FlaskClient, db: Session, make: Any, bundid: IdentityProvider) -> Any:
    """An e-mail account with a person in the provider's municipality, logged in by password."""
    m = db.get(Municipality, bundid.municipality_id)
    make.sepa_statute(m)
    user = make.user(email="erika@example.org")
    make.person(m, user=user, family_name="Mustermann", given_name="Erika")
    login(client, m.slug, user.email)
    return user


def test_same_email_at_the_provider_does_not_open_the_existing_account(
    app: Flask, db: Session, make: Any, bundid: IdentityProvider, idp: Provider
) -> None:
    existing = make.user(email="erika@example.org")
    sub = new_subject(idp, email="erika@example.org", email_verified=True)
    browser = app.test_client()
    round_trip(browser, login_url(db, bundid), idp, sub)
    identity = external.find_identity(db, idp.url, sub)
    assert identity is not None and identity.account_id != existing.id
    assert external.identities_of(db, existing.id) == []
    other = db.get(UserAccount, identity.account_id)
    assert other is not None and other.email is None  # the claim was not taken over


def test_link_page_needs_the_password_log_in_first(
    client: FlaskClient, db: Session, bundid: IdentityProvider
) -> None:
    slug = slug_of(db, bundid)
    token = csrf_token(client, f"/{slug}/anmelden")
    response = client.post(f"/{slug}/konto/verbinden/bundid", data={"csrf_token": token})
    assert response.status_code == 302
    assert "/anmelden" in response.headers["Location"]


def test_linking_after_password_and_round_trip(
    app: Flask,
    client: FlaskClient,
    db: Session,
    bundid: IdentityProvider,
    idp: Provider,
    citizen: Any,
) -> None:
    slug = slug_of(db, bundid)
    page = client.get(f"/{slug}/konto/verbinden").get_data(as_text=True)
    assert "Mit BundID verbinden" in page
    sub = new_subject(idp)
    response = round_trip(
        client, f"/{slug}/konto/verbinden/bundid", idp, sub, form_on=f"/{slug}/konto/verbinden"
    )
    assert "jetzt mit BundID verbunden" in follow(client, response)
    identity = external.find_identity(db, idp.url, sub)
    assert identity is not None and identity.account_id == citizen.id
    # from now on the BundID log-in opens the e-mail account
    fresh = app.test_client()
    again = round_trip(fresh, login_url(db, bundid), idp, sub)
    assert again.headers["Location"].endswith(f"/{slug}/konto")
    purposes = db.scalars(
        select(ExternalLogin.purpose).where(ExternalLogin.identity_id == identity.id)
    ).all()
    assert [p.value for p in purposes] == ["link", "login"]


def test_an_identity_of_another_account_is_not_moved(
    app: Flask,
    client: FlaskClient,
    db: Session,
    bundid: IdentityProvider,
    idp: Provider,
    citizen: Any,
) -> None:
    sub = new_subject(idp)
    round_trip(app.test_client(), login_url(db, bundid), idp, sub)  # its own account
    owner = external.find_identity(db, idp.url, sub)
    assert owner is not None
    slug = slug_of(db, bundid)
    response = round_trip(
        client, f"/{slug}/konto/verbinden/bundid", idp, sub, form_on=f"/{slug}/konto/verbinden"
    )
    assert "bereits mit einem anderen Kundenkonto verbunden" in follow(client, response)
    still = external.find_identity(db, idp.url, sub)
    assert still is not None and still.account_id == owner.account_id != citizen.id


def mandate_url(db: Session, bundid: IdentityProvider) -> str:
    return f"/{slug_of(db, bundid)}/lastschrift/neu"


def test_password_log_in_is_not_enough_for_a_mandate(
    client: FlaskClient, db: Session, bundid: IdentityProvider, idp: Provider, citizen: Any
) -> None:
    response = client.get(mandate_url(db, bundid))
    assert response.status_code == 403
    # its form ends at the provider: the page's CSP lets it (browsers check redirects too)
    assert f"form-action 'self' {idp.url};" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    assert "mindestens dem Vertrauensniveau" in page and "„substanziell“" in page
    assert "Konto mit BundID verbinden und anmelden" in page
    # the button is a form with a CSRF token: without it nothing starts
    refused = client.post(
        f"/{slug_of(db, bundid)}/anmelden/mit/bundid/hoeher", data={"stufe": "substanziell"}
    )
    assert refused.status_code == 400


def test_step_up_asks_for_the_level_and_refuses_a_lower_one(
    client: FlaskClient, db: Session, bundid: IdentityProvider, idp: Provider, citizen: Any
) -> None:
    step_up = f"/{slug_of(db, bundid)}/anmelden/mit/bundid/hoeher"
    form = {
        "form_on": mandate_url(db, bundid),
        "stufe": "substanziell",
        "next": mandate_url(db, bundid),
    }
    query = parse_qs(urlsplit(start(client, step_up, idp, **form)).query)
    assert query["acr_values"] == ["STORK-QAA-Level-3"]
    assert query["prompt"] == ["login"]
    low = new_subject(idp, acr="STORK-QAA-Level-1")
    page = follow(client, round_trip(client, step_up, idp, low, **form))
    assert "nötig ist mindestens „substanziell“" in page
    assert external.find_identity(db, idp.url, low) is None  # nothing linked
    assert client.get(mandate_url(db, bundid)).status_code == 403

    enough = new_subject(idp, acr="STORK-QAA-Level-4")
    response = round_trip(client, step_up, idp, enough, **form)
    assert response.headers["Location"].endswith(mandate_url(db, bundid))
    form = client.get(mandate_url(db, bundid))
    assert form.status_code == 200
    assert "Lastschriftmandat erteilen" in form.get_data(as_text=True)


def test_step_up_of_a_bundid_log_in_must_be_the_same_person(
    app: Flask, db: Session, bundid: IdentityProvider, idp: Provider
) -> None:
    slug = slug_of(db, bundid)
    browser = app.test_client()
    mine = new_subject(idp, acr="STORK-QAA-Level-1")
    round_trip(browser, login_url(db, bundid), idp, mine)
    step_up = f"/{slug}/anmelden/mit/bundid/hoeher"
    form = {"form_on": f"/{slug}/konto/verbinden", "stufe": "hoch", "next": f"/{slug}/konto"}
    query = parse_qs(urlsplit(start(browser, step_up, idp, **form)).query)
    assert query["acr_values"] == ["STORK-QAA-Level-4"]
    someone_else = new_subject(idp, acr="STORK-QAA-Level-4")
    page = follow(browser, round_trip(browser, step_up, idp, someone_else, **form))
    assert "mit einem anderen Konto angemeldet" in page

    idp.set_user(mine, acr="STORK-QAA-Level-4")  # the same citizen, now with the Online-Ausweis
    round_trip(browser, step_up, idp, mine, **form)
    page = browser.get(f"/{slug}/konto/verbinden").get_data(as_text=True)
    assert "Vertrauensniveau „hoch“" in page
    identity = external.find_identity(db, idp.url, mine)
    assert identity is not None and identity.trust_level is TrustLevel.HOCH


def test_trust_level_per_service_is_data(
    client: FlaskClient, db: Session, bundid: IdentityProvider, citizen: Any
) -> None:
    db.add(
        ServiceTrustLevel(
            municipality_id=bundid.municipality_id, service=Service.SEPA_MANDATE, min_level=None
        )
    )
    db.flush()
    assert client.get(mandate_url(db, bundid)).status_code == 200
    assert external.required_level(db, bundid.municipality_id, Service.METER_READING) is None
    assert (
        external.required_level(db, bundid.municipality_id, Service.BANK_ACCOUNT_CHANGE)
        is TrustLevel.SUBSTANZIELL
    )


def test_callback_without_a_flow_of_this_browser_is_refused_in_german(
    client: FlaskClient, db: Session, bundid: IdentityProvider, citizen: Any
) -> None:
    response = client.get(
        local(f"http://x/{slug_of(db, bundid)}/anmelden/mit/bundid/zurueck?code=x&state=y")
    )
    assert response.status_code == 302
    assert "gehört zu keiner Anmeldung" in follow(client, response)


def test_failed_round_trips_are_throttled(
    app: Flask, client: FlaskClient, db: Session, bundid: IdentityProvider
) -> None:
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "2 per 15 minutes"
    back = f"/{slug_of(db, bundid)}/anmelden/mit/bundid/zurueck?code=x&state=forged"
    assert [client.get(back).status_code for _ in range(2)] == [302, 302]
    blocked = client.get(back)
    assert blocked.status_code == 429
    assert "Zu viele Anmeldeversuche" in blocked.get_data(as_text=True)
