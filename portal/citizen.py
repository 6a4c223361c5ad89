"""What every citizen service needs: the logged-in citizen's person in this municipality, and
submitting an application (committed once, or its German messages put back on the form)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import redirect, request, url_for
from werkzeug.wrappers import Response

from core.persons import models as persons
from core.workflow.applications import Application
from portal.representation import acting
from portal.requests import carry_out


def current_person() -> persons.Person | None:
    """The person this request acts for: the user's own, or one they may act for today
    (portal/representation/acting.py checks it on every request)."""
    return acting.current_person()


def person_or_redirect() -> persons.Person | Response:
    """The person, or a redirect to record name and address first (and come back)."""
    person = current_person()
    if person is None:
        return redirect(url_for("portal.finance_address", next=request.full_path))
    return person


def submit_application(
    form: Any, submit: Callable[[], Application], *, rename: dict[str, str] | None = None
) -> Response | None:
    """Call a core service that records an application, then commit and show its status page.

    When the service refuses, nothing is kept and its German messages go back onto the form's
    fields (``rename`` maps the service's names to the form's); the caller re-renders.
    """
    submitted = carry_out(submit, form=form, rename=rename)
    if not submitted.ok:
        return None
    return redirect(url_for("portal.application", application_id=submitted.result().id))
