"""What the commands take from the app context: a database session factory and the
municipalities a ``--municipality`` option names."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.db import make_engine, make_session_factory

if TYPE_CHECKING:
    from core.tenancy.municipalities import Municipality


def session_factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(current_app.config["DATABASE_URL"]))


def municipalities(session: Session, slug: str | None) -> list[Municipality]:
    """The municipality named ``slug``, or all of them without one."""
    from core.tenancy import municipalities as tenancy

    if slug:
        try:
            return [tenancy.get_by_slug(session, slug)]
        except Exception as exc:
            raise click.ClickException(f"Unbekannte Kommune: {slug}") from exc
    return tenancy.all_municipalities(session)


def one_municipality(session: Session, slug: str | None) -> Municipality:
    found = municipalities(session, slug)
    if len(found) != 1:
        raise click.ClickException("Bitte die Kommune angeben: --municipality KURZNAME.")
    return found[0]
