"""Log-in for citizens (per municipality portal) and staff (back office); roles and decorators.

The session holds only the account id. Staff accounts are bound to one municipality; the
decorators here are the one place that checks roles, the back office uses them too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from core import identity, registration
from core.identity import Role, UserAccount
from core.persons import PersonKind
from portal.database import db
from portal.forms import LoginForm, RegisterForm
from portal.municipal import bp

login_manager = LoginManager()
login_manager.session_protection = "strong"
login_manager.login_message = "Bitte melden Sie sich an, um diese Seite zu sehen."
login_manager.login_message_category = "info"

F = TypeVar("F", bound=Callable[..., Any])


class LoginUser:
    """What Flask-Login keeps per request: ids and role, never an ORM object across requests."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, account: UserAccount) -> None:
        self.id = account.id
        self.role = account.role
        self.municipality_id = account.municipality_id
        self.display_name = account.display_name
        self.is_active = account.is_active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def actor(self) -> str:
        """How the audit trail names this user."""
        return f"user:{self.id}"

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff


def init_app(app: Flask) -> None:
    login_manager.init_app(app)

    @login_manager.user_loader
    def _load(user_id: str) -> LoginUser | None:
        account = db().get(UserAccount, int(user_id)) if user_id.isdigit() else None
        return LoginUser(account) if account is not None and account.is_active else None

    @login_manager.unauthorized_handler
    def _unauthorized() -> Response:
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


def safe_next(default: str) -> str:
    """Only follow ``next`` to a path on this site (no open redirect)."""
    target = request.args.get("next", "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def start_session(account: UserAccount) -> None:
    session.clear()  # a fresh session on log-in: no fixation
    login_user(LoginUser(account))


@bp.route("/anmelden", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        account = identity.authenticate(db(), form.email.data or "", form.password.data or "")
        if account is not None and account.role is Role.CITIZEN:
            db().commit()
            start_session(account)
            return redirect(safe_next(url_for("portal.account")))
        form.form_errors.append("E-Mail-Adresse oder Passwort ist falsch.")
    return render_template("portal/login.html", form=form)


@bp.route("/registrieren", methods=["GET", "POST"])
def register() -> str | Response:
    """The same answer whether or not the address has an account (no enumeration): the
    outcome only shows in the e-mail its owner gets (core/registration.py)."""
    from portal import account_recovery

    form = RegisterForm()
    form.password_context = account_recovery.municipality_context()
    if form.validate_on_submit():
        data = registration.Registration(
            kind=PersonKind(form.kind.data),
            email=form.email.data or "",
            password=form.password.data or "",
            given_name=form.given_name.data or None,
            family_name=form.family_name.data or None,
            company_name=form.company_name.data or None,
            address={
                "street": form.street.data or "",
                "house_number": form.house_number.data or "",
                "postal_code": form.postal_code.data or "",
                "city": form.city.data or "",
            },
        )
        if account_recovery.register(data, form):
            return redirect(url_for("portal.registration_sent"))
    return render_template("portal/register.html", form=form)


@bp.post("/abmelden")
def logout() -> Response:
    logout_user()
    session.clear()
    flash("Sie haben sich abgemeldet.", "info")
    return redirect(url_for("portal.start"))
