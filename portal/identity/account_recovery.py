"""Confirming the e-mail address of a new account and "Passwort vergessen".

- Registration (auth.py ``register``) answers "we have sent you an e-mail" whatever the
  address; the owner gets either the confirmation link or a note that the account exists.
- An unconfirmed account may log in, but every page of the municipal portal except the few
  below leads to "Bitte bestätigen Sie Ihre E-Mail-Adresse" (with "send the link again"): it can
  do nothing until the link was followed.
- "Passwort vergessen" answers the same whatever the address; the link works once, for
  ``PASSWORD_RESET_MAX_AGE_MINUTES`` (60), and dies with any later password change.

Links are built from ``PUBLIC_BASE_URL``. A link's token is taken out of the address bar at
once (kept in the session, then a redirect), so that it does not travel on as a Referer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from core.identity import account_tokens, registration
from core.identity.account_mail import AccountLinks, duration_de
from core.identity.models import UserAccount
from core.kernel import clock
from core.kernel.errors import ExpiredToken, InvalidToken
from core.persons.models import PersonKind
from portal.database import db, writes
from portal.identity.auth import citizen_required
from portal.identity.forms import ForgotPasswordForm, NewPasswordForm, RegisterForm, ResendForm
from portal.identity.mail_throttle import mail_throttled, may_mail
from portal.identity.redirects import safe_target
from portal.municipal import bp
from portal.requests import carry_out

RESET_SESSION_KEY = "password_reset_token"
MAX_TOKEN_LENGTH = 200  # genuine ones have about 80 characters; the session cookie stays small

# What an unconfirmed account may open: these pages, the start page and logging in or out.
OPEN_TO_UNCONFIRMED = frozenset(
    {
        "portal.start",
        "portal.theme",
        "portal.login",
        "portal.logout",
        "portal.register",
        "portal.registration_sent",
        "portal.verify_email",
        "portal.unconfirmed",
        "portal.forgot_password",
        "portal.forgot_password_sent",
        "portal.reset_password_link",
        "portal.reset_password",
    }
)


# --------------------------------------------------------------------------- helpers


LIFETIMES = {
    # config key: (unit, default) — core/identity/account_tokens.py says why these defaults
    "ACCOUNT_VERIFY_MAX_AGE_HOURS": ("hours", 24),
    "PASSWORD_RESET_MAX_AGE_MINUTES": ("minutes", 60),
}


def _lifetime(key: str) -> timedelta:
    unit, default = LIFETIMES[key]
    value = current_app.config.get(key, default)
    return timedelta(**{unit: int(value)})


@bp.record_once
def _check_lifetimes(state: Any) -> None:
    """A mistyped lifetime stops the start, not a citizen's request later."""
    for key, (_unit, default) in LIFETIMES.items():
        value = str(state.app.config.get(key, default))
        if not value.isdigit() or int(value) <= 0:
            raise RuntimeError(f"{key} must be a positive whole number, not {value!r}.")


def verify_max_age() -> timedelta:
    return _lifetime("ACCOUNT_VERIFY_MAX_AGE_HOURS")


def reset_max_age() -> timedelta:
    return _lifetime("PASSWORD_RESET_MAX_AGE_MINUTES")


def links(next_url: str | None = None) -> AccountLinks:
    """The links of the account e-mails; ``next_url``: where the confirmation link leads on
    (a same-site path, e.g. the invitation that led to the registration)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    after = safe_target(next_url, "") or None
    return AccountLinks(
        verify=lambda token: base + url_for("portal.verify_email", token=token, next=after),
        reset=lambda token: base + url_for("portal.reset_password_link", token=token),
        login=base + url_for("portal.login"),
        forgot_password=base + url_for("portal.forgot_password"),
    )


def municipality_context() -> tuple[str | None, ...]:
    m = g.municipality
    return (m.name, m.slug, m.city)


def register_account(data: registration.Registration, form: RegisterForm) -> bool:
    """Run the registration; False (with the message on the form) when it was refused."""
    try:
        registered = carry_out(
            lambda: registration.register_citizen(
                db(),
                g.municipality,
                data,
                secret=current_app.config["SECRET_KEY"],
                links=links(request.args.get("next")),
                now=clock.now(),
                as_of=clock.today(),
                verify_max_age=verify_max_age(),
                may_mail=may_mail,
            ),
            form=form,
            field="password",
        )
    except IntegrityError:
        # The same address registered at the same moment by another request: it has an
        # account now, and the answer is the same as for any address that has one.
        db().rollback()
        return True
    return registered.ok


def _current_account() -> UserAccount | None:
    if not current_user.is_authenticated:
        return None
    return db().get(UserAccount, current_user.id)  # the loader's object: no second query


@bp.before_request
def _confine_unconfirmed_accounts() -> Response | None:
    if request.endpoint in OPEN_TO_UNCONFIRMED or not current_user.is_authenticated:
        return None
    account = _current_account()
    # (an account made by a BundID log-in has no e-mail address to confirm)
    if account is not None and account.email is not None and not account.email_verified:
        return redirect(url_for("portal.unconfirmed"), code=303)
    return None


def _invalid_link(exc: Exception, *, kind: str) -> tuple[str, int]:
    expired = isinstance(exc, ExpiredToken)
    page = render_template("portal/identity/link_invalid.html", expired=expired, kind=kind)
    return page, 410 if expired else 404


# --------------------------------------------------------------------------- confirming


@bp.get("/registrieren/gesendet")
def registration_sent() -> str:
    return render_template(
        "portal/identity/registration_sent.html", max_age=duration_de(verify_max_age())
    )


@bp.get("/konto/bestaetigen/<token>")
@writes
def verify_email(token: str) -> Response | tuple[str, int]:
    verified = carry_out(
        lambda: account_tokens.verify_email(
            db(),
            current_app.config["SECRET_KEY"],
            token,
            now=clock.now(),
            max_age=verify_max_age(),
        ),
        handled=(InvalidToken, ExpiredToken),
    )
    if verified.error is not None:
        return _invalid_link(verified.error, kind="verify")
    account = verified.result()
    after = safe_target(request.args.get("next"), "")  # e.g. the invitation that led here
    if current_user.is_authenticated and current_user.id == account.id:
        flash("Danke, Ihre E-Mail-Adresse ist bestätigt.", "success")
        return redirect(after or url_for("portal.account"))
    flash("Danke, Ihre E-Mail-Adresse ist bestätigt. Sie können sich jetzt anmelden.", "success")
    return redirect(url_for("portal.login", next=after or None))


@bp.route("/konto/unbestaetigt", methods=["GET", "POST"])
@citizen_required
@mail_throttled
def unconfirmed() -> str | Response:
    account = _current_account()
    if account is None or account.email is None or account.email_verified:
        return redirect(url_for("portal.account"))
    form = ResendForm()
    if form.validate_on_submit():
        email = account.email
        if may_mail(email):  # else the same answer, nothing sent (mail flooding)
            registration.send_verification(
                db(),
                g.municipality,
                account,
                secret=current_app.config["SECRET_KEY"],
                links=links(),
                now=clock.now(),
                max_age=verify_max_age(),
            )
            db().commit()
        flash(f"Wir haben den Link noch einmal an {email} geschickt.", "success")
        return redirect(url_for("portal.unconfirmed"))
    return render_template(
        "portal/identity/unconfirmed.html",
        form=form,
        email=account.email,
        max_age=duration_de(verify_max_age()),
    )


# --------------------------------------------------------------------------- forgot password


@bp.route("/passwort-vergessen", methods=["GET", "POST"])
@mail_throttled
def forgot_password() -> str | Response:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        email = form.email.data or ""
        if may_mail(email):  # else the same answer, nothing sent (mail flooding)
            registration.request_password_reset(
                db(),
                g.municipality,
                email,
                secret=current_app.config["SECRET_KEY"],
                links=links(),
                now=clock.now(),
                max_age=reset_max_age(),
            )
            db().commit()
        return redirect(url_for("portal.forgot_password_sent"))
    return render_template("portal/identity/forgot_password.html", form=form)


@bp.get("/passwort-vergessen/gesendet")
def forgot_password_sent() -> str:
    return render_template(
        "portal/identity/forgot_password_sent.html", max_age=duration_de(reset_max_age())
    )


@bp.get("/passwort/neu/<token>")
def reset_password_link(token: str) -> Response:
    """The e-mailed link: keep its token in the session and drop it from the address bar."""
    session[RESET_SESSION_KEY] = token[:MAX_TOKEN_LENGTH]  # a longer one is no genuine link
    return redirect(url_for("portal.reset_password"))


@bp.route("/passwort/neu", methods=["GET", "POST"])
def reset_password() -> str | Response | tuple[str, int]:
    token = str(session.get(RESET_SESSION_KEY, ""))
    secret, now, max_age = current_app.config["SECRET_KEY"], clock.now(), reset_max_age()
    try:
        account = account_tokens.account_for_reset(db(), secret, token, now=now, max_age=max_age)
    except (InvalidToken, ExpiredToken) as exc:
        session.pop(RESET_SESSION_KEY, None)
        return _invalid_link(exc, kind="reset")
    form = NewPasswordForm()
    if form.validate_on_submit():
        reset = carry_out(
            lambda: account_tokens.reset_password(
                db(),
                secret,
                token,
                form.password.data or "",
                now=now,
                max_age=max_age,
                context=registration.context_of_account(db(), g.municipality, account),
            ),
            form=form,
            field="password",
        )
        if reset.ok:
            session.pop(RESET_SESSION_KEY, None)
            flash("Ihr neues Passwort gilt ab sofort. Bitte melden Sie sich damit an.", "success")
            return redirect(url_for("portal.login"))
    return render_template("portal/identity/reset_password.html", form=form, email=account.email)


@bp.route("/registrieren", methods=["GET", "POST"])
@mail_throttled
def register() -> str | Response:
    """The same answer whether or not the address has an account (no enumeration): the
    outcome only shows in the e-mail its owner gets (core/identity/registration.py)."""
    form = RegisterForm()
    form.password_context = municipality_context()
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
        if register_account(data, form):
            return redirect(url_for("portal.registration_sent"))
    return render_template("portal/identity/register.html", form=form)
