"""Back office person search and person account: the start page, and the page that shows one
person's account with what every area knows about the person.

An area adds its part of the person page with :func:`person_page_section`, so this module
imports no area. Every query is limited to the clerk's own municipality: a person of another
municipality is "not found", exactly like a person that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from backoffice.blueprint import bp
from core.kernel import audit
from core.kernel.errors import NotFound
from core.ledger.accounts import accounts_by_id
from core.ledger.balances import credit_balance, person_balance
from core.ledger.queries import claims_of, entries_of, payments_of
from core.payments.sepa.person_search import find_persons
from core.persons import models as persons
from portal.database import db
from portal.form_fields import PersonSearchForm
from portal.identity.auth import staff_required

PersonPageSection = Callable[[persons.Person], dict[str, object]]
"""An area's part of the person page: the template values it needs for one person."""

_sections: list[PersonPageSection] = []


def person_page_section(section: PersonPageSection) -> PersonPageSection:
    """Decorator: show the values of ``section`` on every person page."""
    _sections.append(section)
    return section


def _section_values(person: persons.Person) -> dict[str, object]:
    values: dict[str, object] = {}
    for section in _sections:
        part = section(person)
        if clash := values.keys() & part.keys():
            raise RuntimeError(f"Person page values given by two areas: {sorted(clash)}")
        values.update(part)
    return values


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
    session = db()
    try:
        person = persons.get_person(session, current_user.municipality_id, person_id)
    except NotFound:
        abort(404)
    return render_template(
        "backoffice/persons/person_detail.html",
        person=person,
        claims=claims_of(session, person),
        payments=payments_of(session, person),
        entries=entries_of(session, person),
        balance=person_balance(session, person),
        credit=credit_balance(session, person),
        trail=audit.trail(session, current_user.municipality_id, "person", person.id),
        accounts=accounts_by_id(session, person.municipality_id),
        **_section_values(person),
    )
