"""Read helpers the back-office pages share: rows by id for a table's references, and audit
actors as staff names."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import UserAccount

# Actors that are no staff member, as the pages name them.
ACTORS = {"system": "System (Job-Worker)", "cli": "Kommandozeile"}


def rows_by_id(session: Session, model: Any, ids: set[int]) -> dict[int, Any]:
    """The rows of ``model`` with these ids, by id (no query for no ids)."""
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}


def actor_names(session: Session, actors: set[str]) -> dict[str, str]:
    """Audit actors ("user:7") as the staff member's name; anything else as it is."""
    ids = {int(a.split(":", 1)[1]) for a in actors if a.startswith("user:") and a[5:].isdigit()}
    names = {
        f"user:{u.id}": u.display_name
        for u in session.scalars(select(UserAccount).where(UserAccount.id.in_(ids)))
    }
    return {a: names.get(a, a) for a in actors}
