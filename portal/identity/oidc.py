"""Log-in with an OIDC identity provider (BundID through its OIDC bridge; Authlib's Flask client).

Authorization code flow with PKCE (S256), ``state`` and ``nonce`` (Authlib keeps them in the
session, one entry per request). The ID token is checked by Authlib against the provider's JWKS
(an unknown key id fetches the set again: key rotation), its ``aud`` (our client id), ``exp`` and
``nonce``; ``iss`` must equal the issuer configured for the provider, not only what its discovery
document says. Every refusal is a German message on the log-in page, never a 500.

One round trip serves three purposes (kept in the session as ``_ok_oidc``): log-in (a first one
creates an account, :func:`core.identity.external.sign_in`), linking an account that is logged
in with its password (:func:`~core.identity.external.link`), and step-up to a higher trust level
(:mod:`portal.identity.trust`). Logs name the provider and the outcome only: no token, no subject.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from joserfc.errors import BadSignatureError, JoseError
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from core.identity import external
from core.identity.external import IdentityProvider, TrustLevel, Verified
from core.identity.models import UserAccount
from core.kernel.errors import DomainError
from portal.database import db, writes
from portal.identity import auth, sessions
from portal.identity.auth import citizen_required
from portal.identity.redirects import safe_target
from portal.identity.throttle import external_login_throttled, record_failed_login
from portal.municipal import bp

log = logging.getLogger(__name__)
EXTENSION = "openkasse_oauth"
FLOW = "_ok_oidc"  # purpose, provider, next, level of the round trip under way
TRUST = "_ok_trust_level"  # level of this session's provider log-in (none: password)
TAKEN_OVER = "_ok_taken_over"

REFUSED = (
    "Die Anmeldung bei {label} konnte nicht abgeschlossen werden: {reason} "
    "Bitte versuchen Sie es erneut."
)
REASONS = {
    "state": "Die Antwort gehört zu keiner Anmeldung, die hier begonnen wurde (abgelaufen, schon "
    "verwendet oder in einem anderen Browserfenster begonnen).",
    "token": "Der Anmeldedienst hat die Anmeldung nicht bestätigt.",
    "id_token": "Der Nachweis des Anmeldedienstes ist ungültig oder abgelaufen.",
    "unreachable": "Der Anmeldedienst ist gerade nicht erreichbar.",
    "denied": "Die Anmeldung wurde abgebrochen.",
}


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = OAuth(app)
    # registered before portal/app.py's security headers: runs after them (reverse order)
    app.after_request(_extend_form_action)
    app.jinja_env.globals["identity_providers"] = _providers_here


def _providers_here() -> list[IdentityProvider]:
    """The municipality's active providers; none asked for when this request's first statement
    (portal.municipal) read that it has none."""
    municipality = g.get("municipality")
    if municipality is None or g.get("has_identity_providers") is False:
        return []
    return external.providers_of(db(), municipality.id)


def _client(provider: IdentityProvider) -> Any:
    """Authlib's client for this provider registration (one per configuration: a changed row
    gets a new client, and with it fresh metadata and keys)."""
    oauth: OAuth = current_app.extensions[EXTENSION]
    fingerprint = "|".join(
        (str(provider.id), provider.issuer, provider.discovery_url, provider.client_id)
    )
    name = "idp" + hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    client = oauth.create_client(name)
    if client is None:
        secrets = current_app.config.get("OIDC_CLIENT_SECRETS") or {}
        client = oauth.register(
            name,
            client_id=provider.client_id,
            client_secret=secrets.get(provider.slug) or provider.client_secret,
            server_metadata_url=provider.discovery_url,
            client_kwargs={"scope": provider.scopes, "code_challenge_method": "S256"},
        )
    return client


def _provider(slug: str, any_kind: bool = False) -> IdentityProvider:
    """The provider row of ``slug``; ``any_kind``: SAML too (log-in, link and step-up start here
    for both protocols, :func:`begin` hands SAML on)."""
    provider = external.provider_by_slug(db(), g.municipality.id, slug)
    if provider is None or (not any_kind and provider.kind is not external.ProviderKind.OIDC):
        raise NotFound()
    return provider


# Other protocols' round trips (portal/identity/saml.py registers itself): same arguments.
STARTERS: dict[external.ProviderKind, Callable[..., Response]] = {}
# A company account's log-in (portal/representation/company_login.py registers itself): called
# with the checked log-in before the account is signed in (a DomainError refuses it), it returns
# what to do once the session is begun. Without it a company account cannot log in.
COMPANY_LOGIN: dict[str, Callable[[Verified], Callable[[UserAccount], None]]] = {}
NO_COMPANY_LOGIN = "Die Anmeldung mit dem Unternehmenskonto ist hier nicht eingerichtet."


def begin(
    provider: IdentityProvider, purpose: str, next_url: str, level: TrustLevel | None = None
) -> Response:
    """Send the browser to the provider; ``level``: ask for at least this trust level."""
    starter = STARTERS.get(provider.kind)
    if starter is not None:
        return starter(provider, purpose, next_url, level)
    extra: dict[str, str] = {}
    if level is not None:
        value = provider.claim_value_for(level)
        if value is None:
            flash(
                f"Über {provider.label} ist das Vertrauensniveau „{level.label}“ nicht möglich.",
                "error",
            )
            return redirect(next_url)
        extra["acr_values"] = value
        extra["prompt"] = "login"
    session[FLOW] = {
        "purpose": purpose,
        "provider": provider.slug,
        "next": next_url,
        "level": level.value if level else None,
    }
    redirect_uri = url_for("portal.oidc_return", provider=provider.slug, _external=True)
    try:
        response: Response = _client(provider).authorize_redirect(redirect_uri, **extra)
    except (requests.RequestException, ValueError, KeyError) as exc:
        log.warning("identity provider %s unreachable (%s)", provider.slug, type(exc).__name__)
        flash(REFUSED.format(label=provider.label, reason=REASONS["unreachable"]), "error")
        return redirect(url_for("portal.login"))
    return response


@bp.get("/anmelden/mit/<provider>")
def oidc_login(provider: str) -> Response:
    found = _provider(provider, any_kind=True)
    if current_user.is_authenticated:
        return redirect(url_for("portal.account"))
    return begin(found, "login", auth.safe_next(url_for("portal.account")))


@bp.post("/konto/verbinden/<provider>")
@citizen_required
def oidc_link(provider: str) -> Response:
    """A form with CSRF token (linking changes the account); the password session is proof one,
    the provider's round trip proof two."""
    return begin(_provider(provider, any_kind=True), "link", url_for("portal.linked_accounts"))


@bp.get("/konto/verbinden")
@citizen_required
def linked_accounts() -> Response:
    page = render_template(
        "portal/identity/linked_accounts.html",
        identities=external.identities_of(db(), current_user.id),
        trust=session_level(),
    )
    return allow_forms_to(Response(page), _providers_here())


def allow_forms_to(response: Response, providers: list[IdentityProvider]) -> Response:
    """The portal's CSP has ``form-action 'self'``, and browsers apply it to the redirects after
    a form too: a page whose form (link, step-up) ends at a provider names its origin (added to
    the header by the hook in :func:`init_app`, which runs after the one that sets it)."""
    g.form_action_origins = sorted(
        {
            _origin(url)
            for p in providers
            for url in (p.issuer, p.discovery_url)
            if url.startswith(("https://", "http://"))  # a SAML entity id may be a URN
        }
    )
    return response


def _extend_form_action(response: Response) -> Response:
    origins = g.get("form_action_origins")
    csp = response.headers.get("Content-Security-Policy")
    if origins and csp:
        response.headers["Content-Security-Policy"] = csp.replace(
            "form-action 'self'", " ".join(["form-action 'self'", *origins])
        )
    return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def session_level() -> TrustLevel | None:
    value = session.get(TRUST)
    return TrustLevel(value) if isinstance(value, str) and value in _LEVELS else None


_LEVELS = {level.value for level in TrustLevel}


def _verify(provider: IdentityProvider) -> Verified:
    """The round trip's result, checked; raises ``_Refused`` with the reason's key."""
    if request.args.get("error"):
        raise _Refused("denied")
    client = _client(provider)
    options = {
        "iss": {"essential": True, "value": provider.issuer},
        "sub": {"essential": True},
    }
    state = client.framework.get_state_data(session, request.args.get("state")) or {}
    g.oidc_nonce = state.get("nonce")
    try:
        token = client.authorize_access_token(claims_options=options)
    except BadSignatureError:
        # A token signed with a key we do not know yet, without a key id (Authlib fetches the
        # key set again for an unknown id itself): the provider may have rotated its key. The
        # code is spent, so check this very token against a fresh key set, once.
        client.fetch_jwk_set(force=True)
        token = _recheck(client, options)
    except OAuthError as exc:
        raise _Refused("state" if exc.error == "mismatching_state" else "token") from exc
    except JoseError as exc:
        raise _Refused("id_token") from exc
    except requests.RequestException as exc:
        raise _Refused("unreachable") from exc
    claims = token.get("userinfo")
    if not claims or not isinstance(claims.get("sub"), str):
        raise _Refused("id_token")  # no ID token: an OAuth answer is not an OIDC log-in
    return Verified(
        provider=provider,
        subject=claims["sub"],
        level=provider.level_of(dict(claims)),
        given_name=str(claims.get("given_name") or ""),
        family_name=str(claims.get("family_name") or ""),
        organisation=str(claims.get(provider.org_claim) or "") if provider.company_account else "",
    )


def _recheck(client: Any, options: dict[str, Any]) -> dict[str, Any]:
    token: dict[str, Any] = client.token or {}
    nonce = g.pop("oidc_nonce", None)
    if not nonce:
        raise _Refused("id_token")
    try:
        token["userinfo"] = client.parse_id_token(token, nonce=nonce, claims_options=options)
    except JoseError as exc:
        raise _Refused("id_token") from exc
    return token


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@bp.get("/anmelden/mit/<provider>/zurueck")
@writes  # the return creates or links an account and records the log-in
@external_login_throttled
def oidc_return(provider: str) -> Response:
    found = _provider(provider)
    flow = session.pop(FLOW, None) or {}
    try:
        if flow.get("provider") != found.slug:
            raise _Refused("state")
        verified = _verify(found)
        return _carry_out(flow, verified)
    except _Refused as refused:
        log.info("log-in with %s refused: %s", found.slug, refused.reason)
        message = REFUSED.format(label=found.label, reason=REASONS[refused.reason])
    except DomainError as error:
        log.info("log-in with %s refused: %s", found.slug, type(error).__name__)
        message = str(error)
    db().rollback()
    record_failed_login()
    flash(message, "error")
    if current_user.is_authenticated:
        return redirect(safe_target(flow.get("next"), url_for("portal.account")))
    return redirect(url_for("portal.login"))


def _carry_out(flow: dict[str, Any], verified: Verified) -> Response:
    purpose = flow.get("purpose")
    next_url = safe_target(flow.get("next"), url_for("portal.account"))
    wanted = TrustLevel(flow["level"]) if flow.get("level") else None
    if wanted is not None and not external.meets(verified.level, wanted):
        raise DomainError(
            f"Sie haben sich mit dem Vertrauensniveau „{verified.level.label}“ angemeldet; "
            f"nötig ist mindestens „{wanted.label}“ (zum Beispiel mit dem Online-Ausweis)."
        )
    if purpose in ("link", "step_up"):
        if not current_user.is_authenticated:
            raise _Refused("state")  # the password session ended during the round trip
        account = db().get(UserAccount, current_user.id)
        assert account is not None  # noqa: S101 - the loader just found it
        if purpose == "link":
            external.link(db(), account, verified)
            flash(f"Ihr Kundenkonto ist jetzt mit {verified.provider.label} verbunden.", "success")
        else:
            external.step_up(db(), account.id, verified)
        db().commit()
        session[TRUST] = verified.level.value
        log.info("%s with %s: %s", purpose, verified.provider.slug, verified.level.value)
        return redirect(next_url)
    finish = None
    if verified.provider.company_account:
        if not COMPANY_LOGIN:
            raise DomainError(NO_COMPANY_LOGIN)
        finish = [prepare(verified) for prepare in COMPANY_LOGIN.values()]
    if current_user.is_authenticated:
        auth.end_session()  # someone else's session in this browser does not carry over
    signed_in = external.sign_in(db(), verified)
    db().commit()
    sessions.begin(signed_in.account)
    session[TRUST] = verified.level.value
    for step in finish or ():
        step(signed_in.account)
    log.info("log-in with %s: %s", verified.provider.slug, verified.level.value)
    if signed_in.created:
        session[TAKEN_OVER] = signed_in.taken_over
        return redirect(url_for("portal.oidc_taken_over", next=next_url))
    return redirect(next_url)


@bp.get("/anmelden/uebernommen")
@citizen_required
def oidc_taken_over() -> str:
    return render_template(
        "portal/identity/taken_over.html",
        taken_over=session.pop(TAKEN_OVER, None) or {},
        next_url=auth.safe_next(url_for("portal.account")),
    )
