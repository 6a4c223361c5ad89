"""SAML identities in the account model: linking an e-mail account only after the password
log-in *and* the IdP round trip (never by the e-mail BundID sends), step-up with a new
AuthnRequest at the higher STORK level, and the levels the services ask for — a mandate and a
change of bank account "substanziell", a meter reading none."""

from __future__ import annotations

import base64
import zlib
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.demo import bundid_saml
from core.identity import external
from core.identity.external import (
    ExternalLogin,
    IdentityProvider,
    Service,
    ServiceTrustLevel,
    TrustLevel,
)
from core.identity.models import UserAccount
from core.kernel import clock
from core.levies.water import links as water_links
from core.payments.sepa import mandates
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import Statute
from tests.conftest import csrf_token, login
from tests.integration.test_water_flow import WATER, meter
from tests.oidc_flow import follow, slug_of
from tests.saml_flow import (
    ERIKA,
    LENA,
    LEVEL_1,
    LEVEL_3,
    LEVEL_4,
    MAX,
    idp_answer,
    post_back,
    saml_login_url,
    saml_round_trip,
    to_idp,
)


@pytest.fixture
def citizen(client: FlaskClient, db: Session, make: Any, saml_bundid: IdentityProvider) -> Any:
    """An e-mail account with a person and a mandate in the provider's municipality, logged in
    by password."""
    m = db.get(Municipality, saml_bundid.municipality_id)
    assert m is not None
    make.sepa_statute(m)
    user = make.user(email="erika@example.org")
    person = make.person(m, user=user, family_name="Mustermann", given_name="Erika")
    user.mandate = mandates.grant_mandate(
        db,
        person=person,
        municipality=m,
        account_holder="Erika Mustermann",
        iban="DE89370400440532013000",
        tax_account_id=None,
        signed_on=date(2026, 1, 5),
        as_of=date(2026, 1, 5),
        actor="test",
    )
    db.commit()
    login(client, m.slug, user.email)
    return user


def link_url(db: Session, provider: IdentityProvider) -> str:
    return f"/{slug_of(db, provider)}/konto/verbinden/{provider.slug}"


def pages(db: Session, provider: IdentityProvider) -> str:
    return f"/{slug_of(db, provider)}/konto/verbinden"


def test_same_email_at_the_idp_does_not_open_the_existing_account(
    app: Flask, db: Session, make: Any, saml_bundid: IdentityProvider
) -> None:
    existing = make.user(email=bundid_saml.IDENTITIES[1]["email"])  # what the IdP sends Erika
    saml_round_trip(app.test_client(), saml_login_url(db, saml_bundid), ERIKA)
    identity = external.find_identity(db, saml_bundid.issuer, ERIKA)
    assert identity is not None and identity.account_id != existing.id
    assert external.identities_of(db, existing.id) == []
    other = db.get(UserAccount, identity.account_id)
    assert other is not None and other.email is None


def test_linking_needs_the_password_log_in_first(
    client: FlaskClient, db: Session, saml_bundid: IdentityProvider
) -> None:
    token = csrf_token(client, f"/{slug_of(db, saml_bundid)}/anmelden")
    response = client.post(link_url(db, saml_bundid), data={"csrf_token": token})
    assert response.status_code == 302 and "/anmelden" in response.headers["Location"]


def test_linking_after_password_and_round_trip(
    app: Flask, client: FlaskClient, db: Session, saml_bundid: IdentityProvider, citizen: Any
) -> None:
    page = client.get(pages(db, saml_bundid)).get_data(as_text=True)
    assert "Mit BundID (SAML) verbinden" in page
    response = saml_round_trip(
        client, link_url(db, saml_bundid), LENA, form_on=pages(db, saml_bundid)
    )
    assert "jetzt mit BundID (SAML) verbunden" in follow(client, response)
    identity = external.find_identity(db, saml_bundid.issuer, LENA)
    assert identity is not None and identity.account_id == citizen.id
    assert identity.kind is external.ProviderKind.SAML
    # from now on the SAML log-in opens the e-mail account
    again = saml_round_trip(app.test_client(), saml_login_url(db, saml_bundid), LENA)
    assert again.headers["Location"].endswith(f"/{slug_of(db, saml_bundid)}/konto")
    purposes = db.scalars(
        select(ExternalLogin.purpose).where(ExternalLogin.identity_id == identity.id)
    ).all()
    assert [p.value for p in purposes] == ["link", "login"]


def mandate_url(db: Session, provider: IdentityProvider) -> str:
    return f"/{slug_of(db, provider)}/lastschrift/neu"


def step_up_url(db: Session, provider: IdentityProvider) -> str:
    return f"/{slug_of(db, provider)}/anmelden/mit/{provider.slug}/hoeher"


def test_mandate_step_up_asks_the_idp_for_the_level_and_refuses_a_lower_one(
    client: FlaskClient,
    db: Session,
    saml_bundid: IdentityProvider,
    saml_idp: Any,
    citizen: Any,
) -> None:
    response = client.get(mandate_url(db, saml_bundid))
    assert response.status_code == 403
    assert f"form-action 'self' {saml_idp.url};" in response.headers["Content-Security-Policy"]
    page = response.get_data(as_text=True)
    assert "„substanziell“" in page and "Konto mit BundID (SAML) verbinden und anmelden" in page

    form = {"stufe": "substanziell", "next": mandate_url(db, saml_bundid)}
    location = to_idp(client, step_up_url(db, saml_bundid), mandate_url(db, saml_bundid), **form)
    request = zlib.decompress(
        base64.b64decode(parse_qs(urlsplit(location).query)["SAMLRequest"][0]), -15
    ).decode()
    assert ">STORK-QAA-Level-3</" in request and 'ForceAuthn="true"' in request

    low = post_back(client, idp_answer(location, LENA, LEVEL_1))  # the IdP chose less
    assert "nötig ist mindestens „substanziell“" in follow(client, low)
    assert external.find_identity(db, saml_bundid.issuer, LENA) is None  # nothing linked
    assert client.get(mandate_url(db, saml_bundid)).status_code == 403

    location = to_idp(client, step_up_url(db, saml_bundid), mandate_url(db, saml_bundid), **form)
    enough = post_back(client, idp_answer(location, LENA, LEVEL_4))
    assert enough.headers["Location"].endswith(mandate_url(db, saml_bundid))
    opened = client.get(mandate_url(db, saml_bundid))
    assert opened.status_code == 200
    assert "Lastschriftmandat erteilen" in opened.get_data(as_text=True)


def test_changing_the_bank_account_asks_its_own_level(
    client: FlaskClient, db: Session, saml_bundid: IdentityProvider, citizen: Any
) -> None:
    """A mandate's new IBAN is Service.BANK_ACCOUNT_CHANGE: here "hoch", above the mandate's."""
    db.add(
        ServiceTrustLevel(
            municipality_id=saml_bundid.municipality_id,
            service=Service.BANK_ACCOUNT_CHANGE,
            min_level=TrustLevel.HOCH,
        )
    )
    db.commit()
    change = f"/{slug_of(db, saml_bundid)}/lastschrift/{citizen.mandate.id}/aendern"
    saml_round_trip(client, link_url(db, saml_bundid), MAX, LEVEL_3, form_on=pages(db, saml_bundid))
    assert client.get(mandate_url(db, saml_bundid)).status_code == 200  # substanziell: enough

    response = client.get(change)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Ihre Bankverbindung ändern" in page and "„hoch“" in page
    assert "Ihre jetzige Anmeldung hat das Vertrauensniveau „substanziell“" in page
    assert "Erneut mit BundID (SAML) anmelden" in page

    form = {"stufe": "hoch", "next": change}
    back = saml_round_trip(client, step_up_url(db, saml_bundid), MAX, form_on=change, data=form)
    assert back.headers["Location"].endswith(change)
    assert client.get(change).status_code == 200
    logins = db.scalars(select(ExternalLogin.purpose).order_by(ExternalLogin.id)).all()
    assert [p.value for p in logins][-2:] == ["link", "step_up"]


def test_step_up_must_be_the_same_person(
    client: FlaskClient, db: Session, saml_bundid: IdentityProvider, citizen: Any
) -> None:
    saml_round_trip(client, link_url(db, saml_bundid), MAX, LEVEL_1, form_on=pages(db, saml_bundid))
    form = {"stufe": "substanziell", "next": mandate_url(db, saml_bundid)}
    response = saml_round_trip(
        client, step_up_url(db, saml_bundid), LENA, form_on=mandate_url(db, saml_bundid), data=form
    )
    assert "mit einem anderen Konto angemeldet" in follow(client, response)
    assert client.get(mandate_url(db, saml_bundid)).status_code == 403


@pytest.fixture
def reading_card(db: Session, make: Any, app: Flask, saml_bundid: IdentityProvider) -> str:
    """The reading form's link of a meter in a municipality that offers the SAML log-in."""
    m = db.get(Municipality, saml_bundid.municipality_id)
    assert m is not None
    db.add(
        Statute(
            municipality_id=m.id,
            levy="water_fee",
            valid_from=date(2020, 1, 1),
            source="Wassergebührensatzung (Test)",
            data=WATER,
        )
    )
    w = meter(db, m, make.person(m, family_name="Wassermann"))
    db.commit()
    year = clock.today().year
    token = water_links.reading_token(app.config["SECRET_KEY"], w, year, issued_at=clock.now())
    return f"/{m.slug}/zaehlerstand/{year}/{token}"


def test_a_meter_reading_needs_no_log_in(app: Flask, reading_card: str) -> None:
    page = app.test_client().get(reading_card)
    assert page.status_code == 200
    assert "Bitte melden Sie sich noch einmal an" not in page.get_data(as_text=True)


def test_a_meter_reading_level_is_data_too(
    app: Flask, db: Session, saml_bundid: IdentityProvider, reading_card: str, citizen: Any
) -> None:
    db.add(
        ServiceTrustLevel(
            municipality_id=saml_bundid.municipality_id,
            service=Service.METER_READING,
            min_level=TrustLevel.BASIS,
        )
    )
    db.commit()
    anonymous = app.test_client().get(reading_card)
    assert anonymous.status_code == 302 and "/anmelden" in anonymous.headers["Location"]
    browser = app.test_client()
    login(browser, slug_of(db, saml_bundid), citizen.email)
    page = browser.get(reading_card)
    assert page.status_code == 403  # a password log-in has no level at all
    assert "einen Zählerstand melden" in page.get_data(as_text=True)
