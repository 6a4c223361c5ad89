"""Log-in with an OIDC identity provider ("Mit BundID anmelden") against a real provider on
loopback (tests/oidc_provider.py): the whole code flow with PKCE, state and nonce; every bad
answer (issuer, audience, expiry, replayed code, state, nonce, unknown level) refused with a
German message and no 500; key rotation; a first log-in that keeps only what it needs."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.identity import external
from core.identity.external import ExternalIdentity, ExternalLogin, TrustLevel
from core.identity.models import UserAccount
from tests.oidc_flow import (
    accounts,
    follow,
    local,
    login_url,
    new_subject,
    round_trip,
    slug_of,
    start,
)
from tests.oidc_provider import Provider


def test_login_page_offers_bundid(client: FlaskClient, db: Session, bundid: Any) -> None:
    page = client.get(f"/{slug_of(db, bundid)}/anmelden").get_data(as_text=True)
    assert "Mit BundID anmelden" in page


def test_authorization_request_has_pkce_state_and_nonce(
    client: FlaskClient, db: Session, bundid: Any, idp: Provider
) -> None:
    query = parse_qs(urlsplit(start(client, login_url(db, bundid), idp)).query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert query["state"][0] and query["nonce"][0]
    assert query["client_id"] == [bundid.client_id]
    assert query["scope"] == ["openid profile"]


def test_first_login_creates_an_account_with_only_what_is_needed(
    client: FlaskClient, db: Session, bundid: Any, idp: Provider
) -> None:
    sub = new_subject(idp, email="erika@example.org", birthdate="1964-08-12")
    before = accounts(db)
    response = round_trip(client, login_url(db, bundid), idp, sub)
    page = follow(client, response)
    assert "Ihr Kundenkonto ist angelegt" in page
    assert "Erika Mustermann" in page and sub in page and "substanziell" in page
    assert accounts(db) == before + 1
    identity = external.find_identity(db, idp.url, sub)
    assert identity is not None and identity.trust_level is TrustLevel.SUBSTANZIELL
    account = db.get(UserAccount, identity.account_id)
    assert account is not None
    assert account.email is None and account.password_hash is None  # not taken over
    assert account.display_name == "Erika Mustermann"
    logins = db.scalars(select(ExternalLogin).where(ExternalLogin.identity_id == identity.id))
    assert [(row.purpose.value, row.trust_level.value, row.subject) for row in logins] == [
        ("register", "substanziell", sub)
    ]
    # logged in: the account page opens
    assert client.get(f"/{slug_of(db, bundid)}/konto/verbinden").status_code == 200


def test_second_login_finds_the_account_by_issuer_and_subject(
    app: Flask, db: Session, bundid: Any, idp: Provider
) -> None:
    sub = new_subject(idp)
    first = app.test_client()
    round_trip(first, login_url(db, bundid), idp, sub)
    before = accounts(db)
    second = app.test_client()
    response = round_trip(second, login_url(db, bundid, "/x/konto"), idp, sub)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/x/konto")
    assert accounts(db) == before
    identity = external.find_identity(db, idp.url, sub)
    assert identity is not None
    purposes = db.scalars(
        select(ExternalLogin.purpose).where(ExternalLogin.identity_id == identity.id)
    ).all()
    assert [p.value for p in purposes] == ["register", "login"]


def test_next_must_stay_on_this_site(
    client: FlaskClient, db: Session, bundid: Any, idp: Provider
) -> None:
    sub = new_subject(idp)
    response = round_trip(client, login_url(db, bundid, "//evil.example/"), idp, sub)
    follow(client, response)  # the taken-over page
    assert "evil.example" not in client.get(response.headers["Location"]).get_data(as_text=True)
    assert "evil.example" not in response.headers["Location"]


def refused(client: FlaskClient, response: Any, db: Session, before: int) -> str:
    page = follow(client, response)
    assert accounts(db) == before
    assert "Die Anmeldung bei BundID konnte nicht abgeschlossen werden" in page
    return page


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"iss": "http://127.0.0.1:9/evil"}, id="wrong-issuer"),
        pytest.param({"aud": "someone-else"}, id="wrong-audience"),
        pytest.param({"exp": 1_000_000_000, "iat": 999_990_000}, id="expired"),
        pytest.param({"nonce": "not-the-nonce-we-sent"}, id="mismatched-nonce"),
    ],
)
def test_bad_id_tokens_are_refused(
    client: FlaskClient, db: Session, bundid: Any, idp: Provider, claims: dict[str, Any]
) -> None:
    sub = new_subject(idp, **claims)
    before = accounts(db)
    page = refused(client, round_trip(client, login_url(db, bundid), idp, sub), db, before)
    assert "Nachweis des Anmeldedienstes ist ungültig" in page
    assert external.find_identity(db, idp.url, sub) is None


def test_issuer_must_be_the_configured_one_not_only_the_discovered_one(
    client: FlaskClient, db: Session, bundid: Any, idp: Provider
) -> None:
    bundid.issuer = "https://bundid.example/realms/bund"  # discovery says otherwise
    db.flush()
    before = accounts(db)
    refused(client, round_trip(client, login_url(db, bundid), idp, new_subject(idp)), db, before)


def test_unknown_trust_level_is_refused(
    client: FlaskClient, db: Session, bundid: Any, idp: Provider
) -> None:
    sub = new_subject(idp, acr="urn:example:level-x")
    before = accounts(db)
    response = round_trip(client, login_url(db, bundid), idp, sub)
    page = follow(client, response)
    assert "kein bekanntes Vertrauensniveau" in page
    assert accounts(db) == before


def test_replayed_code_is_refused(
    app: Flask, client: FlaskClient, db: Session, bundid: Any, idp: Provider
) -> None:
    sub = new_subject(idp)
    callback = local(idp.log_in(start(client, login_url(db, bundid), idp), sub))
    assert client.get(callback).status_code == 302
    before = accounts(db)
    # the same browser again (its state is spent) ...
    refused(client, client.get(callback), db, before)
    # ... a browser without a log-in under way ...
    fresh = app.test_client()
    refused(fresh, fresh.get(callback), db, before)
    # ... and another browser that started a log-in of its own (state of its own, code spent)
    other = app.test_client()
    own = parse_qs(urlsplit(start(other, login_url(db, bundid), idp)).query)["state"][0]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    path = urlsplit(callback).path
    page = refused(other, other.get(f"{path}?code={code}&state={own}"), db, before)
    assert "nicht bestätigt" in page  # the provider refused the spent code


@pytest.mark.parametrize("state", ["", "&state=forged"], ids=["missing-state", "wrong-state"])
def test_missing_or_mismatched_state_is_refused(
    client: FlaskClient, db: Session, bundid: Any, idp: Provider, state: str
) -> None:
    sub = new_subject(idp)
    callback = idp.log_in(start(client, login_url(db, bundid), idp), sub)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    before = accounts(db)
    response = client.get(f"{urlsplit(callback).path}?code={code}{state}")
    page = refused(client, response, db, before)
    assert "gehört zu keiner Anmeldung" in page


def test_denied_at_the_provider(
    client: FlaskClient, db: Session, bundid: Any, idp: Provider
) -> None:
    start(client, login_url(db, bundid), idp)
    before = accounts(db)
    response = client.get(
        f"/{slug_of(db, bundid)}/anmelden/mit/bundid/zurueck?error=access_denied&state=x"
    )
    assert "abgebrochen" in refused(client, response, db, before)


def test_signing_key_rotation(app: Flask, db: Session, bundid: Any, idp: Provider) -> None:
    sub = new_subject(idp)
    assert round_trip(app.test_client(), login_url(db, bundid), idp, sub).status_code == 302
    idp.rotate_key()  # the app still holds the old key set: a new key id fetches it again
    again = round_trip(app.test_client(), login_url(db, bundid, "/y/konto"), idp, sub)
    assert again.headers["Location"].endswith("/y/konto")


def test_unknown_provider_is_404(client: FlaskClient, db: Session, bundid: Any) -> None:
    assert client.get(f"/{slug_of(db, bundid)}/anmelden/mit/elster").status_code == 404


def test_identity_rows_are_unique_per_issuer_and_subject(db: Session, bundid: Any) -> None:
    account = UserAccount(email=None, display_name="A", role=external.Role.CITIZEN)
    db.add(account)
    db.flush()
    assert isinstance(db.get(UserAccount, account.id), UserAccount)
    ident = ExternalIdentity(
        account_id=account.id,
        kind=external.ProviderKind.OIDC,
        issuer=bundid.issuer,
        subject="s",
        trust_level=TrustLevel.BASIS,
    )
    db.add(ident)
    db.flush()
    savepoint = db.begin_nested()
    db.add(
        ExternalIdentity(
            account_id=account.id,
            kind=external.ProviderKind.SAML,
            issuer=bundid.issuer,
            subject="s",
            trust_level=TrustLevel.HOCH,
        )
    )
    with pytest.raises(IntegrityError):
        db.flush()
    savepoint.rollback()


def test_portal_logs_name_no_subject_and_no_token(
    client: FlaskClient, db: Session, bundid: Any, idp: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    sub = new_subject(idp)
    callback = local(idp.log_in(start(client, login_url(db, bundid), idp), sub))
    client.get(callback)
    client.get(callback)  # and a refused replay
    ours = [r for r in caplog.records if r.name.startswith("portal")]
    assert [r.getMessage() for r in ours] == [
        "log-in with bundid: substanziell",
        "log-in with bundid refused: state",
    ]
    code = parse_qs(urlsplit(callback).query)["code"][0]
    assert not any(sub in r.getMessage() or code in r.getMessage() for r in ours)
