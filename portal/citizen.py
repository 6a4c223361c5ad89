"""What every citizen service needs: the logged-in citizen's person in this municipality, and
German plausibility errors put back on the form's fields."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from core import persons
from portal.database import db


def current_person() -> persons.Person | None:
    return persons.person_for_user(db(), g.municipality.id, current_user.id)


def person_or_redirect() -> persons.Person | Response:
    """The person, or a redirect to record name and address first (and come back)."""
    person = current_person()
    if person is None:
        return redirect(url_for("portal.finance_address", next=request.full_path))
    return person


def show_field_errors(form: Any, errors: dict[str, str]) -> None:
    for name, message in errors.items():
        target = form[name] if name in form._fields else None
        if target is None:
            form.form_errors.append(message)
        else:
            target.errors = [*target.errors, message]
