"""Trust levels per service (Vertrauensniveau) and step-up.

A view of a service calls :func:`required_or_step_up`: while this session's log-in is below what
the municipality asks for the service (core.identity.external.required_level), the citizen gets a
German explanation and a button to log in again at the higher level — a new authorization request
with ``acr_values`` (oidc.py). An account logged in with e-mail and password has no trust level
yet: it links BundID first (the same round trip proves the level).
"""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from core.identity import external
from core.identity.external import Service, TrustLevel
from portal.database import db
from portal.identity import oidc
from portal.identity.auth import citizen_required
from portal.identity.redirects import safe_target
from portal.municipal import bp

SERVICE_NAMES = {
    Service.SEPA_MANDATE: "ein Lastschriftmandat erteilen oder ändern",
    Service.BANK_ACCOUNT_CHANGE: "Ihre Bankverbindung ändern",
    Service.METER_READING: "einen Zählerstand melden",
}


def required_or_step_up(service: Service) -> Response | None:
    """None when this session's log-in is good enough for ``service``, else the step-up page."""
    required = external.required_level(db(), g.municipality.id, service)
    level = oidc.session_level()
    if external.meets(level, required):
        return None
    assert required is not None  # noqa: S101 - meets() is True for no requirement
    if not current_user.is_authenticated:  # a view without log-in (reading card): log in first
        return redirect(url_for("portal.login", next=request.full_path))
    linked = {i.issuer for i in external.identities_of(db(), current_user.id)}
    providers = [
        p
        for p in external.providers_of(db(), g.municipality.id)
        if p.claim_value_for(required) is not None
    ]
    body = render_template(
        "portal/identity/step_up.html",
        service=SERVICE_NAMES[service],
        required=required,
        level=level,
        providers=providers,
        linked=linked,
        next_url=request.full_path if request.method == "GET" else request.path,
    )
    return oidc.allow_forms_to(Response(body, status=403, mimetype="text/html"), providers)


@bp.post("/anmelden/mit/<provider>/hoeher")
@citizen_required
def oidc_step_up(provider: str) -> Response:
    """The step-up page's form (CSRF token): a new log-in at ``stufe``, back to ``next``."""
    found = oidc._provider(provider, any_kind=True)
    wanted = request.form.get("stufe", "")
    level = TrustLevel(wanted) if wanted in TrustLevel._value2member_map_ else TrustLevel.HOCH
    linked = any(i.issuer == found.issuer for i in external.identities_of(db(), current_user.id))
    return oidc.begin(
        found,
        "step_up" if linked else "link",
        safe_target(request.form.get("next"), url_for("portal.account")),
        level,
    )
