"""Log-in with BundID over SAML 2.0 against a real pysaml2 IdP on loopback
(tools/demo_saml_idp.py): the whole HTTP-Redirect / HTTP-POST round trip, and every bad answer
refused with a German message and no log-in."""

from __future__ import annotations

import base64
import zlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.demo import bundid_saml
from core.identity import external
from core.identity.external import ExternalLogin, ProviderKind, TrustLevel
from core.identity.models import UserAccount
from core.identity.saml import SamlAssertionSeen
from tests.oidc_flow import accounts, follow, slug_of
from tests.saml_flow import (
    ERIKA,
    LENA,
    LEVEL_3,
    LEVEL_4,
    MAX,
    idp_answer,
    post_back,
    saml_login_url,
    saml_round_trip,
    to_idp,
)


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
    # pysaml2 keeps nothing of the citizen in memory
    clients = client.application.extensions["openkasse_saml"].values()
    assert [c.users.subjects() for _at, c in clients] == [[]]


def test_login_page_offers_both_kinds(client: FlaskClient, db: Session, saml_bundid: Any) -> None:
    oidc_row = bundid_saml.provider_row(saml_bundid.municipality_id, "http://127.0.0.1:9")
    oidc_row.slug, oidc_row.kind, oidc_row.label = "bundid", ProviderKind.OIDC, "BundID"
    db.add(oidc_row)
    db.flush()
    page = client.get(f"/{slug_of(db, saml_bundid)}/anmelden").get_data(as_text=True)
    assert "Mit BundID (SAML) anmelden" in page and "Mit BundID anmelden" in page


def test_sp_metadata_names_the_acs_and_wants_signed_assertions(
    client: FlaskClient, db: Session, saml_bundid: Any
) -> None:
    url = f"/{slug_of(db, saml_bundid)}/anmelden/saml/{saml_bundid.slug}/metadata"
    xml = client.get(url).get_data(as_text=True)
    assert f'entityID="http://localhost{url}"' in xml
    assert 'WantAssertionsSigned="true"' in xml and 'AuthnRequestsSigned="true"' in xml
    assert "HTTP-POST" in xml and f"{url.removesuffix('/metadata')}/acs" in xml
    assert "<ds:X509Certificate>" in xml or "X509Certificate>" in xml
    assert "PRIVATE KEY" not in xml


def test_authn_request_is_signed_and_asks_for_the_minimum_level(
    client: FlaskClient, db: Session, saml_bundid: Any, saml_idp: Any
) -> None:
    location = to_idp(client, saml_login_url(db, saml_bundid))
    assert location.startswith(f"{saml_idp.url}/sso/redirect?")
    query = parse_qs(urlsplit(location).query)
    assert query["SigAlg"] == ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"]
    assert query["Signature"][0]
    xml = zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15).decode()
    assert 'Comparison="minimum"' in xml
    assert ">STORK-QAA-Level-1</" in xml  # a log-in asks for the lowest; services ask more
    with client.session_transaction() as state:
        assert state["_ok_saml"]["request_id"] in xml  # InResponseTo must name this ID


def refused(client: FlaskClient, db: Session, provider: Any, response: Any, before: int) -> str:
    """The refusal: back to the log-in page with a German message, no account, no session."""
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    page = follow(client, response)
    assert accounts(db) == before
    account = client.get(f"/{slug_of(db, provider)}/konto")
    assert account.status_code == 302 and "/anmelden" in account.headers["Location"]
    return page


@pytest.mark.parametrize(
    ("knobs", "reason"),
    [
        ({"sign": "none"}, "nicht oder nicht von ihm unterschrieben"),
        ({"sign": "other"}, "nicht oder nicht von ihm unterschrieben"),
        ({"audience": "https://anderer-dienst.example/metadata"}, "für einen anderen Dienst"),
        ({"lifetime": "-10"}, "abgelaufen, noch nicht gültig"),
        ({"in_response_to": "id-einer-anderen-anmeldung"}, "gehört zu keiner Anmeldung"),
    ],
    ids=["unsigned", "foreign-key", "audience", "expired", "in-response-to"],
)
def test_bad_responses_are_refused_in_german(
    client: FlaskClient, db: Session, saml_bundid: Any, knobs: dict[str, str], reason: str
) -> None:
    before = accounts(db)
    response = saml_round_trip(client, saml_login_url(db, saml_bundid), LENA, LEVEL_3, **knobs)
    page = refused(client, db, saml_bundid, response, before)
    assert reason in page
    assert external.find_identity(db, saml_bundid.issuer, LENA) is None
    assert db.scalar(select(func.count(SamlAssertionSeen.id))) == 0  # nothing kept


def test_the_same_response_posted_twice_is_refused(
    client: FlaskClient, db: Session, saml_bundid: Any
) -> None:
    answer = idp_answer(to_idp(client, saml_login_url(db, saml_bundid)), ERIKA)
    with client.session_transaction() as state:
        copied = dict(state)  # the session cookie as an eavesdropper would copy it
    assert post_back(client, answer).status_code == 302
    assert external.find_identity(db, saml_bundid.issuer, ERIKA) is not None
    before = accounts(db)

    # the same browser again, logged out: its request is spent (InResponseTo does not match)
    with client.session_transaction() as state:
        state.clear()
    page = refused(client, db, saml_bundid, post_back(client, answer), before)
    assert "gehört zu keiner Anmeldung" in page

    # with the copied cookie the request ID matches: the assertion's ID was seen
    with client.session_transaction() as state:
        state.clear()
        state.update(copied)
    page = refused(client, db, saml_bundid, post_back(client, answer), before)
    assert "schon einmal verwendet" in page
    assert db.scalar(select(func.count(SamlAssertionSeen.id))) == 1


def test_acs_without_a_request_of_this_browser_is_refused(
    app: Flask, db: Session, saml_bundid: Any
) -> None:
    first, other = app.test_client(), app.test_client()
    answer = idp_answer(to_idp(first, saml_login_url(db, saml_bundid)), MAX)
    before = accounts(db)
    page = refused(other, db, saml_bundid, post_back(other, answer), before)
    assert "gehört zu keiner Anmeldung" in page  # unsolicited here
    assert post_back(other, {"_action": answer["_action"]}).status_code == 302  # empty: no 500


def test_second_saml_login_finds_the_account(app: Flask, db: Session, saml_bundid: Any) -> None:
    saml_round_trip(app.test_client(), saml_login_url(db, saml_bundid), MAX)
    identity = external.find_identity(db, saml_bundid.issuer, MAX)
    assert identity is not None and identity.trust_level is TrustLevel.BASIS
    before = accounts(db)
    again = saml_round_trip(app.test_client(), saml_login_url(db, saml_bundid), MAX, LEVEL_4)
    assert again.headers["Location"].endswith(f"/{slug_of(db, saml_bundid)}/konto")
    assert accounts(db) == before
    db.refresh(identity)
    assert identity.trust_level is TrustLevel.HOCH
    purposes = db.scalars(
        select(ExternalLogin.purpose).where(ExternalLogin.identity_id == identity.id)
    ).all()
    assert [p.value for p in purposes] == ["register", "login"]


def test_a_cross_site_post_without_the_session_cookie_is_posted_again_from_our_page(
    client: FlaskClient, db: Session, saml_bundid: Any
) -> None:
    """BundID posts from another site: a SameSite=Lax session cookie stays behind, so the ACS
    first answers with a page of ours that posts the response again (then the cookie comes)."""
    answer = idp_answer(to_idp(client, saml_login_url(db, saml_bundid)), LENA)
    with client.session_transaction() as state:
        kept = dict(state)
        state.clear()  # the browser left the cookie out
    path = urlsplit(answer["_action"]).path
    data = {"SAMLResponse": answer["SAMLResponse"], "RelayState": answer["RelayState"]}
    before = accounts(db)
    page = client.post(path, data=data)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Anmeldung wird abgeschlossen" in text and 'name="weiter" value="1"' in text
    assert "js/saml_continue.js" in text
    assert accounts(db) == before  # nothing checked or kept yet
    with client.session_transaction() as state:
        state.update(kept)  # our own page's post carries the cookie
    done = client.post(path, data={**data, "weiter": "1"})
    assert "Ihr Kundenkonto ist angelegt" in follow(client, done)
    assert accounts(db) == before + 1


def test_idp_metadata_may_come_from_the_configuration(
    app: Flask, db: Session, saml_bundid: Any, saml_idp: Any
) -> None:
    """A deployment may give the IdP's metadata as XML (SAML_IDP_METADATA) instead of a URL."""
    app.config["SAML_IDP_METADATA"] = {
        saml_bundid.slug: requests.get(saml_idp.metadata_url, timeout=10).text
    }
    saml_bundid.discovery_url = "http://127.0.0.1:9/nirgends"  # nothing listens there
    db.flush()
    response = saml_round_trip(app.test_client(), saml_login_url(db, saml_bundid), MAX)
    assert response.status_code == 302 and "/anmelden/uebernommen" in response.headers["Location"]


def test_an_unreachable_idp_is_a_german_message(
    client: FlaskClient, db: Session, saml_bundid: Any
) -> None:
    saml_bundid.discovery_url = "http://127.0.0.1:9/nirgends"
    db.flush()
    response = client.get(saml_login_url(db, saml_bundid))
    assert response.status_code == 302
    assert "gerade nicht erreichbar" in follow(client, response)


def test_logs_name_the_provider_and_outcome_never_the_subject(
    client: FlaskClient, db: Session, saml_bundid: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    answer = idp_answer(to_idp(client, saml_login_url(db, saml_bundid)), ERIKA)
    post_back(client, answer)
    with client.session_transaction() as state:
        state.clear()
    post_back(client, answer)  # and a refused second post
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("portal")]
    assert ours == [
        "log-in with bundid-saml: basis",
        "SAML log-in with bundid-saml refused: state",
    ]
    everything = " ".join(r.getMessage() for r in caplog.records)
    assert ERIKA not in everything and "Mustermann" not in everything
    assert answer["SAMLResponse"][:40] not in everything


def test_an_assertion_encrypted_for_our_certificate_is_read(
    client: FlaskClient, db: Session, saml_bundid: Any, saml_idp: Any
) -> None:
    """As BundID does: the IdP encrypts the signed assertion for the encryption certificate in
    our metadata (registered with it here: the test client's URLs answer no one else)."""
    metadata = client.get(
        f"/{slug_of(db, saml_bundid)}/anmelden/saml/{saml_bundid.slug}/metadata"
    ).get_data(as_text=True)
    assert 'use="encryption"' in metadata
    requests.post(f"{saml_idp.url}/_sp-metadata", data=metadata, timeout=10).raise_for_status()
    answer = idp_answer(to_idp(client, saml_login_url(db, saml_bundid)), LENA, LEVEL_3)
    xml = base64.b64decode(answer["SAMLResponse"]).decode()
    assert "EncryptedAssertion" in xml and LENA not in xml  # nothing readable on the way
    assert "Ihr Kundenkonto ist angelegt" in follow(client, post_back(client, answer))
    identity = external.find_identity(db, saml_bundid.issuer, LENA)
    assert identity is not None and identity.trust_level is TrustLevel.SUBSTANZIELL


@pytest.mark.parametrize(
    "junk", ["!!!kein-base64", base64.b64encode(b"<kein>SAML</kein>").decode(), "PD94bWwg"]
)
def test_junk_at_the_acs_is_a_german_refusal(
    client: FlaskClient, db: Session, saml_bundid: Any, junk: str
) -> None:
    to_idp(client, saml_login_url(db, saml_bundid))  # a request is under way
    before = accounts(db)
    acs = f"/{slug_of(db, saml_bundid)}/anmelden/saml/{saml_bundid.slug}/acs"
    page = refused(client, db, saml_bundid, client.post(acs, data={"SAMLResponse": junk}), before)
    assert "konnte nicht abgeschlossen werden" in page
