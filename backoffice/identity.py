"""Back office log-in and log-out: staff accounts only, the same throttle as the portal."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from backoffice.blueprint import bp
from core.identity import models as identity
from portal.database import db
from portal.identity.auth import WRONG_CREDENTIALS, end_session, safe_next, start_session
from portal.identity.forms import LoginForm
from portal.identity.throttle import login_throttled, record_failed_login


@bp.route("/anmelden", methods=["GET", "POST"])
@login_throttled
def login() -> str | Response:
    form = LoginForm()
    if form.validate_on_submit():
        account = identity.authenticate(db(), form.email.data or "", form.password.data or "")
        if account is not None and account.role.is_staff:
            db().commit()
            start_session(account)
            return redirect(safe_next(url_for("backoffice.index")))
        record_failed_login()
        form.form_errors.append(WRONG_CREDENTIALS)
    return render_template("backoffice/identity/login.html", form=form)


@bp.post("/abmelden")
def logout() -> Response:
    end_session()
    flash("Sie haben sich abgemeldet.", "info")
    return redirect(url_for("backoffice.login"))
