"""Log-in with BundID over SAML 2.0 directly (pysaml2 as service provider).

* **Metadata** of our service provider per municipality and provider (``…/saml/metadata``): its
  entity id (that URL, unless the provider row's ``client_id`` names one), the
  AssertionConsumerService (HTTP-POST) and the signing certificate.
* **AuthnRequest** by HTTP-Redirect, signed (RSA-SHA256), with RequestedAuthnContext
  ``minimum`` = the STORK-QAA level the log-in needs (the lowest the provider asserts when the
  log-in needs none); a step-up asks again with ``ForceAuthn``.
* **Response** at the ACS: pysaml2 requires the response *and* the assertion to be signed by the
  key in the IdP's metadata (xmlsec1), the audience to be our entity id, the validity
  (NotBefore/NotOnOrAfter, 60 s of clock skew) to hold and ``InResponseTo`` to be the ID of the
  request this session sent — unsolicited responses are refused. The assertion's ID is then
  recorded in the database (core.identity.saml.remember): a second post is a replay.
* Then the same core functions as OIDC (sign in, link, step up; portal/identity/oidc.py's
  ``_carry_out``): both protocols end in one account model, only the kind differs.

The IdP's metadata comes from the provider row's ``discovery_url`` (fetched, kept per provider
configuration) or the app's ``SAML_IDP_METADATA = {slug: xml}``. Our key pair is
``SAML_SP_KEY_FILE``/``SAML_SP_CERT_FILE``; without it a self-signed demo pair is made in the
instance folder. The ACS is the only CSRF-exempt view here: a signed response bound to this
session's request is its own proof. Logs name the provider and the outcome, never the subject.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from calendar import timegm
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from flask import (
    Flask,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.response import StatusError, UnsolicitedResponse
from saml2.saml import NAMEID_FORMAT_TRANSIENT, AuthnContextClassRef
from saml2.samlp import RequestedAuthnContext
from saml2.sigver import SignatureError
from saml2.time_util import str_to_time
from saml2.validate import ResponseLifetimeExceed, ToEarly
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from core.identity import external
from core.identity import saml as bundid
from core.identity.external import IdentityProvider, ProviderKind, TrustLevel
from core.identity.saml_keys import self_signed
from core.kernel.errors import DomainError
from portal.database import db, writes
from portal.identity import oidc
from portal.identity.redirects import safe_target
from portal.identity.throttle import external_login_throttled, record_failed_login
from portal.municipal import bp

log = logging.getLogger(__name__)
EXTENSION = "openkasse_saml"
# The IdP's metadata (its signing certificate) is fetched again after this many seconds, so a
# rolled-over certificate is taken up without a restart.
METADATA_MAX_AGE = 3600
FLOW = "_ok_saml"  # purpose, provider, next, level and the request's ID of the round trip
REASONS = {
    **oidc.REASONS,
    "signature": "Die Antwort des Anmeldedienstes ist nicht oder nicht von ihm unterschrieben.",
    "expired": "Die Anmeldebestätigung ist abgelaufen oder noch nicht gültig.",
    # pysaml2 reports a failed condition (validity, audience) as one error
    "invalid": "Die Anmeldebestätigung ist ungültig (abgelaufen, noch nicht gültig oder für "
    "einen anderen Dienst ausgestellt).",
}


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = {}
    # pysaml2 logs the subject, the attributes and whole responses at INFO and DEBUG
    logging.getLogger("saml2").setLevel(max(logging.WARNING, logging.getLogger("saml2").level))
    oidc.STARTERS[ProviderKind.SAML] = begin
    if not app.config.get("SAML_SP_KEY_FILE"):
        key, cert = self_signed(Path(app.instance_path) / "saml_sp", "sp", "OpenKasse (Demo)")
        app.config["SAML_SP_KEY_FILE"], app.config["SAML_SP_CERT_FILE"] = str(key), str(cert)


def _provider(slug: str) -> IdentityProvider:
    provider = external.provider_by_slug(db(), g.municipality.id, slug)
    if provider is None or provider.kind is not ProviderKind.SAML:
        raise NotFound()
    return provider


def _idp_metadata(provider: IdentityProvider) -> str:
    configured = (current_app.config.get("SAML_IDP_METADATA") or {}).get(provider.slug)
    if configured:
        return str(configured)
    answer = requests.get(provider.discovery_url, timeout=10)
    answer.raise_for_status()
    return answer.text


def _client(provider: IdentityProvider) -> Saml2Client:
    """pysaml2's SP for this provider row, this municipality and this host (one per
    configuration: a changed row gets a new one, and with it freshly fetched metadata; the
    metadata is fetched again after ``SAML_METADATA_MAX_AGE`` seconds)."""
    acs = url_for("portal.saml_acs", provider=provider.slug, _external=True)
    entity_id = provider.client_id or url_for(
        "portal.saml_metadata", provider=provider.slug, _external=True
    )
    cache: dict[tuple[Any, ...], tuple[float, Saml2Client]] = current_app.extensions[EXTENSION]
    key = (provider.id, provider.issuer, provider.discovery_url, entity_id, acs)
    max_age = float(current_app.config.get("SAML_METADATA_MAX_AGE", METADATA_MAX_AGE))
    if key not in cache or time.monotonic() - cache[key][0] > max_age:
        config = SPConfig()
        config.load(
            {
                "entityid": entity_id,
                "key_file": current_app.config["SAML_SP_KEY_FILE"],
                "cert_file": current_app.config["SAML_SP_CERT_FILE"],
                # BundID encrypts the assertion for the certificate in our metadata
                "encryption_keypairs": [
                    {
                        "key_file": current_app.config["SAML_SP_KEY_FILE"],
                        "cert_file": current_app.config["SAML_SP_CERT_FILE"],
                    }
                ],
                "accepted_time_diff": 60,
                "service": {
                    "sp": {
                        "endpoints": {"assertion_consumer_service": [(acs, BINDING_HTTP_POST)]},
                        "authn_requests_signed": True,
                        "want_response_signed": True,
                        "want_assertions_signed": True,
                        "allow_unsolicited": False,
                        "name_id_format": [NAMEID_FORMAT_TRANSIENT],
                        "signing_algorithm": SIG_RSA_SHA256,
                        "digest_algorithm": DIGEST_SHA256,
                    }
                },
                "metadata": {"inline": [_idp_metadata(provider)]},
            }
        )
        cache[key] = (time.monotonic(), Saml2Client(config=config))
    return cache[key][1]


@bp.get("/anmelden/saml/<provider>/metadata")
def saml_metadata(provider: str) -> Response:
    try:
        client = _client(_provider(provider))
    except (requests.RequestException, ValueError) as exc:
        log.warning("SAML provider %s unreachable (%s)", provider, type(exc).__name__)
        return Response("Der Anmeldedienst ist gerade nicht erreichbar.", status=503)
    xml = create_metadata_string(None, client.config, 4, sign=False)
    return Response(xml, mimetype="application/samlmetadata+xml")


def begin(
    provider: IdentityProvider, purpose: str, next_url: str, level: TrustLevel | None = None
) -> Response:
    """Send the browser to the IdP with an AuthnRequest asking for at least ``level``."""
    lowest = provider.assertable_levels()[0] if provider.level_values else TrustLevel.BASIS
    value = provider.claim_value_for(level or lowest)
    if value is None:
        flash(
            f"Über {provider.label} ist das Vertrauensniveau „{(level or lowest).label}“ "
            "nicht möglich.",
            "error",
        )
        return redirect(next_url)
    try:
        client = _client(provider)
        request_id, info = client.prepare_for_authenticate(
            entityid=provider.issuer,
            relay_state=secrets.token_urlsafe(16),
            binding=BINDING_HTTP_REDIRECT,
            requested_authn_context=RequestedAuthnContext(
                authn_context_class_ref=[AuthnContextClassRef(text=value)],
                comparison="minimum",
            ),
            force_authn="true" if level is not None else None,
            sigalg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256,
        )
    except (requests.RequestException, ValueError, KeyError) as exc:
        log.warning("SAML provider %s unreachable (%s)", provider.slug, type(exc).__name__)
        flash(oidc.REFUSED.format(label=provider.label, reason=REASONS["unreachable"]), "error")
        return redirect(url_for("portal.login"))
    session[FLOW] = {
        "purpose": purpose,
        "provider": provider.slug,
        "next": next_url,
        "level": level.value if level else None,
        "request_id": request_id,
    }
    return redirect(dict(info["headers"])["Location"])


@bp.post("/anmelden/saml/<provider>/acs")
@writes  # creates or links the account, records the log-in and the assertion's ID
@external_login_throttled
def saml_acs(provider: str) -> Response | str:
    found = _provider(provider)
    if FLOW not in session and not request.form.get("weiter"):
        # BundID posts from another site, and the session cookie is SameSite=Lax: the browser
        # left it out. Posted once more from our own page, it comes along (nothing is checked
        # or kept before that: the response is checked in the request that has the session).
        return render_template(
            "portal/identity/saml_continue.html",
            provider=found,
            saml_response=request.form.get("SAMLResponse", ""),
            relay_state=request.form.get("RelayState", ""),
        )
    flow = session.pop(FLOW, None) or {}
    try:
        if flow.get("provider") != found.slug or not flow.get("request_id"):
            raise oidc._Refused("state")
        verified = _verify(found, flow)
        return oidc._carry_out(flow, verified)
    except oidc._Refused as refused:
        log.info("SAML log-in with %s refused: %s", found.slug, refused.reason)
        message = oidc.REFUSED.format(label=found.label, reason=REASONS[refused.reason])
    except DomainError as error:
        log.info("SAML log-in with %s refused: %s", found.slug, type(error).__name__)
        message = str(error)
    db().rollback()
    record_failed_login()
    flash(message, "error")
    if current_user.is_authenticated:
        return redirect(safe_target(flow.get("next"), url_for("portal.account")))
    return redirect(url_for("portal.login"))


def _verify(provider: IdentityProvider, flow: dict[str, Any]) -> external.Verified:
    """The posted response, checked by pysaml2, its assertion ID recorded; raises _Refused."""
    posted = request.form.get("SAMLResponse", "")
    if not posted:
        raise oidc._Refused("invalid")
    try:
        client = _client(provider)
        response = client.parse_authn_request_response(
            posted, BINDING_HTTP_POST, outstanding={flow["request_id"]: flow.get("next", "")}
        )
    except UnsolicitedResponse as exc:
        raise oidc._Refused("state") from exc
    except SignatureError as exc:
        raise oidc._Refused("signature") from exc
    except (ResponseLifetimeExceed, ToEarly) as exc:
        raise oidc._Refused("expired") from exc
    except StatusError as exc:
        raise oidc._Refused("denied") from exc
    except requests.RequestException as exc:
        raise oidc._Refused("unreachable") from exc
    except Exception as exc:  # pysaml2 raises bare Exception/ValueError too
        log.info("SAML response of %s refused (%s)", provider.slug, type(exc).__name__)
        raise oidc._Refused(_reason_of(exc)) from exc
    if response is None or response.assertion is None:
        raise oidc._Refused("invalid")
    _forget(client, response)
    assertion = response.assertion
    if response.issuer() != provider.issuer or not _signed(response, assertion):
        raise oidc._Refused("signature")
    attributes: dict[str, list[str]] = {}
    for statement in assertion.attribute_statement:
        for attribute in statement.attribute:
            attributes[attribute.name] = [v.text for v in attribute.attribute_value]
    conditions = assertion.conditions
    ends = conditions.not_on_or_after if conditions is not None else None
    bundid.remember(db(), provider.issuer, assertion.id or "", _instant(ends))
    return bundid.verified(provider, attributes)


def _forget(client: Saml2Client, response: Any) -> None:
    """pysaml2 keeps every log-in's attributes in its client's memory (for logout and attribute
    queries, which OpenKasse does not use): dropped at once, nothing of the citizen stays."""
    with contextlib.suppress(KeyError):
        client.users.cache.delete(response.name_id)


def _reason_of(exc: Exception) -> str:
    text = str(exc)
    if "signature" in text.lower() or "signed" in text.lower():
        return "signature"
    if "expired" in text.lower() or "Too old" in text:
        return "expired"
    return "invalid"


def _signed(response: Any, assertion: Any) -> bool:
    """pysaml2 checked each signature present and the config demands both; this says again
    that both were there (a missing signature must never pass by a changed default)."""
    return response.response.signature is not None and assertion.signature is not None


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromtimestamp(timegm(str_to_time(value)), tz=UTC)
