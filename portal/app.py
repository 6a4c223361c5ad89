"""Application factory: configuration, extensions, blueprints, error pages, security headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

import core.models  # noqa: F401  (every table known before the first flush: FKs name tables by string)
from core.payments.card.provider import PaymentProvider
from portal import config as config_module
from portal import database, http_headers, log_redaction, request_hygiene
from portal.payments import provider as payments_provider

ROOT = Path(__file__).resolve().parent.parent
csrf = CSRFProtect()


def content_security_policy(stripe_js_url: str) -> str:
    """Scripts, styles and fonts from our own origin only — and Stripe.js from the payment
    provider's host (Stripe in production, localstripe in the demo and tests)."""
    parts = urlsplit(stripe_js_url)
    stripe_origin = f"{parts.scheme}://{parts.netloc}"
    extra = " https://hooks.stripe.com" if parts.netloc == "js.stripe.com" else ""
    return (
        f"default-src 'self'; img-src 'self' data:; style-src 'self'; "
        f"script-src 'self' {stripe_origin}; connect-src 'self' {stripe_origin}"
        f"{' https://api.stripe.com' if extra else ''}; frame-src {stripe_origin}{extra}; "
        "font-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; "
        "object-src 'none'"
    )


def create_app(
    config: dict[str, Any] | None = None,
    *,
    session_factory: sessionmaker[Session] | None = None,
    payment_provider: PaymentProvider | None = None,
) -> Flask:
    """The app from ``config`` (over the environment's); tests may hand in the database's
    session factory and a payment provider instead of those the configuration names."""
    app = Flask(
        "portal",
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
    )
    app.config.update(config_module.load(app.instance_path, config))
    Path(app.instance_path).mkdir(exist_ok=True)

    if app.config["TRUSTED_PROXY_COUNT"] > 0:
        # Only behind a known number of proxies does X-Forwarded-For say who the client is.
        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    app.jinja_env.add_extension("jinja2.ext.do")
    request_hygiene.install(app)  # before any route: it replaces the int converter
    database.init_app(app, session_factory)
    payments_provider.install(app, payment_provider)
    csrf.init_app(app)

    from portal import filters
    from portal.identity import auth, mail_throttle, oidc, saml, throttle

    auth.init_app(app)
    oidc.init_app(app)
    saml.init_app(app)  # SAML log-in: our key pair, its round trips through oidc.begin
    filters.init_app(app)
    throttle.init_app(app)
    mail_throttle.init_app(app)  # after throttle: its hook runs before the limiter's

    _register_blueprints(app)
    _register_error_pages(app)
    log_redaction.install(app)  # after the blueprints: the patterns come from the url_map

    _install_security_headers(app)
    http_headers.install(app)  # no-store, no server banner, HSTS in production

    return app


def _register_blueprints(app: Flask) -> None:
    from backoffice import areas as backoffice_areas

    # These modules register their views on the municipal blueprint.
    from portal import (  # noqa: F401
        address,
        delivery,
        dog_tax,
        dunning,
        instalments,
        ledger,
        notices,
        objections,
        property_tax,
        trade_tax,
        waste,
    )
    from portal.identity import account_recovery, trust  # noqa: F401
    from portal.municipal import bp as municipal_bp
    from portal.payments import card, payouts, sepa  # noqa: F401
    from portal.public import bp as public_bp
    from portal.public import stripe_webhook
    from portal.representation import attorney_views, views  # noqa: F401
    from portal.water import views as water_views  # noqa: F401
    from portal.workflow import views as workflow_views  # noqa: F401

    csrf.exempt(stripe_webhook)  # signed by the provider instead of a CSRF token
    from portal.identity.saml import saml_acs

    csrf.exempt(saml_acs)  # the signed SAML response, bound to this session's request, is proof
    app.register_blueprint(public_bp)
    backoffice_areas.register(app)  # the back-office blueprint with every area's views
    app.register_blueprint(municipal_bp)  # last: its /<muni>/ prefix matches almost anything


def _install_security_headers(app: Flask) -> None:
    csp = content_security_policy(app.config["STRIPE_JS_URL"])

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response


def _register_error_pages(app: Flask) -> None:
    messages = {
        400: ("Anfrage ungültig", "Die Anfrage konnte nicht verarbeitet werden."),
        403: ("Kein Zugriff", "Sie haben keinen Zugriff auf diese Seite."),
        404: ("Seite nicht gefunden", "Diese Seite gibt es nicht (mehr)."),
        405: ("Aktion nicht möglich", "Diese Seite kann so nicht aufgerufen werden."),
        409: ("Nicht möglich", "Der Vorgang passt nicht mehr zum aktuellen Stand."),
        413: ("Datei zu groß", "Die gesendete Datei ist zu groß. Bitte wählen Sie eine kleinere."),
        429: ("Zu viele Anfragen", "Bitte warten Sie einige Minuten und versuchen Sie es erneut."),
        500: ("Technischer Fehler", "Bitte versuchen Sie es später noch einmal."),
        503: ("Bitte erneut versuchen", request_hygiene.BUSY_TEXT),
    }

    def handler(code: int):  # type: ignore[no-untyped-def]
        def _render(error: Exception) -> Any:
            prepared = getattr(error, "response", None)
            if code == 429 and prepared is not None:
                return prepared  # the throttled form again, with its German message
            title, text = messages[code]
            if isinstance(error, HTTPException) and error.description != type(error).description:
                text = error.description or text  # a German text given to abort() on purpose
            return render_template("error.html", title=title, text=text, code=code), code

        return _render

    for code in messages:
        app.register_error_handler(code, handler(code))

    @app.errorhandler(CSRFError)
    def _csrf(_error: CSRFError) -> tuple[str, int]:
        text = (
            "Das Formular ist abgelaufen oder wurde nicht von dieser Seite gesendet. "
            "Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."
        )
        return render_template("error.html", title="Formular abgelaufen", text=text, code=400), 400
