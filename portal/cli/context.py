"""What the commands take from the app context: a database session factory, the
municipalities a ``--municipality`` option names, and a run acted on in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import click
from flask import current_app
from sqlalchemy.orm import Session, sessionmaker

from core.kernel.db import Base, make_engine, make_session_factory

if TYPE_CHECKING:
    from core.tenancy.municipalities import Municipality

Row = TypeVar("Row", bound=Base)
T = TypeVar("T")


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


def act_on_run(
    model: type[Row],
    run_id: int,
    slug: str | None,
    action: Callable[[Session, Row], T],
    *,
    noun: str,
) -> T:
    """Do ``action`` to the run ``run_id`` in one transaction, the way every four-eyes run's
    command does (approve, discard, book): the run of the municipality ``slug`` names, or
    without ``--municipality`` the run of whichever municipality it belongs to (the operator's
    command). The core's German refusal becomes the command's error and nothing is kept."""
    from core.kernel.db import get_scoped
    from core.kernel.errors import DomainError

    with session_factory()() as session:
        try:
            run = (
                session.get(model, run_id)
                if slug is None
                else get_scoped(
                    session,
                    model,
                    one_municipality(session, slug).id,
                    run_id,
                    not_found=f"{noun} Nr. {run_id} gibt es hier nicht.",
                )
            )
            if run is None:
                raise click.ClickException(f"{noun} Nr. {run_id} gibt es nicht.")
            result = action(session, run)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        session.commit()
    return result
