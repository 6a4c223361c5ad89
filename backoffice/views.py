"""Back-office views: staff log-in, person search, person account.

Every query is limited to the clerk's own municipality: a person of another municipality is
"not found", exactly like a person that does not exist.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from core.identity import models as identity
from core.kernel import audit
from core.kernel.errors import NotFound
from core.ledger.accounts import accounts_by_id
from core.ledger.balances import credit_balance, person_balance
from core.ledger.queries import claims_of, entries_of, payments_of
from core.payments.card import surplus
from core.payments.sepa.person_search import find_persons
from core.persons import models as persons
from core.tenancy.municipalities import Municipality
from portal.database import db
from portal.form_fields import PersonSearchForm
from portal.identity.auth import (
    WRONG_CREDENTIALS,
    end_session,
    safe_next,
    staff_required,
    start_session,
)
from portal.identity.forms import LoginForm
from portal.identity.throttle import login_throttled, record_failed_login

bp = Blueprint("backoffice", __name__, url_prefix="/backoffice")


@bp.before_request
def _load_municipality() -> None:
    if current_user.is_authenticated and current_user.is_staff:
        g.municipality = db().get(Municipality, current_user.municipality_id)


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


@bp.get("/")
@staff_required()
def index() -> Response:
    return redirect(url_for("backoffice.person_search"))


@bp.get("/personen")
@staff_required()
def person_search() -> str:
    form = PersonSearchForm(request.args)
    query = (form.q.data or "").strip()
    results = find_persons(db(), current_user.municipality_id, query) if query else []
    return render_template(
        "backoffice/persons/person_search.html", form=form, query=query, results=results
    )


@bp.get("/personen/<int:person_id>")
@staff_required()
def person_detail(person_id: int) -> str:
    from backoffice.bank import mandate_context
    from backoffice.dog_tax import dog_tax_context
    from backoffice.waste import waste_context

    session = db()
    try:
        person = persons.get_person(session, current_user.municipality_id, person_id)
    except NotFound:
        abort(404)
    claims = claims_of(session, person)
    return render_template(
        "backoffice/persons/person_detail.html",
        person=person,
        claims=claims,
        payments=payments_of(session, person),
        entries=entries_of(session, person),
        balance=person_balance(session, person),
        credit=credit_balance(session, person),
        trail=audit.trail(session, current_user.municipality_id, "person", person.id),
        surplus_refunds=surplus.surplus_refunds(
            session, current_user.municipality_id, person_id=person.id
        ),
        accounts=accounts_by_id(session, person.municipality_id),
        **dog_tax_context(person),
        **waste_context(person),
        **mandate_context(person),
    )
