"""Log-in for citizens (per municipality portal) and staff (back office); roles and decorators.

The session holds the account id and its version (sessions.py). Staff accounts are bound
to one municipality; the decorators here are the one place that checks roles, the back office
uses them too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort, flash, g, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required
from werkzeug.wrappers import Response

from core.identity import models as identity
from core.identity.models import Role, UserAccount
from portal.database import db
from portal.identity import sessions
from portal.identity.forms import LoginForm
from portal.identity.redirects import safe_target
from portal.identity.throttle import login_throttled, record_failed_login, remember_device
from portal.municipal import bp

login_manager = LoginManager()
login_manager.session_protection = "strong"
login_manager.login_message = "Bitte melden Sie sich an, um diese Seite zu sehen."
login_manager.login_message_category = "info"
WRONG_CREDENTIALS = "E-Mail-Adresse oder Passwort ist falsch."
SESSION_EXPIRED = (
    "Ihre Sitzung wurde aus Sicherheitsgründen beendet (längere Zeit keine Aktivität oder "
    "Höchstdauer erreicht). Bitte melden Sie sich erneut an."
)

F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.user_loader(sessions.load_user)
    login_manager._session_identifier_generator = sessions.session_identifier

    @login_manager.unauthorized_handler
    def _unauthorized() -> Response:
        if g.get("session_expired"):
            flash(SESSION_EXPIRED, "info")
        else:
            flash(login_manager.login_message, "info")
        if request.blueprint == "backoffice":
            return redirect(url_for("backoffice.login", next=request.full_path))
        if getattr(g, "municipality", None) is not None:
            return redirect(url_for("portal.login", next=request.full_path))
        return redirect(url_for("public.index"))


def staff_required(*roles: Role) -> Callable[[F], F]:
    """Staff of the current municipality only; with ``roles``, only those roles."""

    def decorator(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_staff or (roles and current_user.role not in roles):
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorator


def citizen_required(view: F) -> F:
    """Citizen accounts only: a clerk's session is no citizen and may not act in the portal
    (staff and citizen identities stay apart). Every logged-in portal view uses this."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user.role is not Role.CITIZEN:
            abort(403)
        return view(*args, **kwargs)

    wrapped.citizen_only = True  # type: ignore[attr-defined]  # checked by the route inventory test
    return cast(F, wrapped)


def safe_next(default: str) -> str:
    """Only follow ``next`` to a path on this site (no open redirect), else ``default``."""
    return safe_target(request.args.get("next"), default)


def start_session(account: UserAccount) -> None:
    sessions.begin(account)
    if account.email is not None:
        remember_device(account.email)


def end_session() -> None:
    """Log-out for portal and back office: ends this session and all copies of it."""
    sessions.end(current_user.id if current_user.is_authenticated else None)


@bp.route("/anmelden", methods=["GET", "POST"])
@login_throttled
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        account = identity.authenticate(db(), form.email.data or "", form.password.data or "")
        if account is not None and account.role is Role.CITIZEN:
            db().commit()
            start_session(account)
            return redirect(safe_next(url_for("portal.account")))
        record_failed_login()
        form.form_errors.append(WRONG_CREDENTIALS)
    return render_template("portal/identity/login.html", form=form)


@bp.post("/abmelden")
def logout() -> Response:
    end_session()
    flash("Sie haben sich abgemeldet.", "info")
    return redirect(url_for("portal.start"))
