"""The back office's side of a run with four eyes (core.jobs.four_eyes: dunning, retention and
payout runs): the run of the clerk's municipality or "not found", the confirm buttons' CSRF
check, and who prepared and approved a run as staff names."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy.orm import Session

from backoffice.form_ids import MAX_ID
from backoffice.lookups import ACTORS, actor_names
from core.kernel.errors import NotFound
from portal.database import db
from portal.form_fields import ConfirmForm

Run = TypeVar("Run")


def run_or_404(get_run: Callable[[Session, int, int], Run], run_id: int) -> Run:
    """The run ``run_id`` of the clerk's municipality; another municipality's run, or a number
    no run can have, is "not found" (404), so that no one learns it exists."""
    if run_id > MAX_ID:
        abort(404)
    try:
        return get_run(db(), current_user.municipality_id, run_id)
    except NotFound:
        abort(404)


def confirmed() -> None:
    """A confirm button (approve, discard, book) came with its CSRF token, or 400."""
    if not ConfirmForm().validate_on_submit():
        abort(400)


def staff_names(actors: Iterable[str | None]) -> dict[str, str]:
    """Audit actors as names: staff by name, the job worker and the command line by role."""
    names = actor_names(db(), {a for a in actors if a})
    return {actor: ACTORS.get(actor, name) for actor, name in names.items()}
