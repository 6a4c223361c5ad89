"""`openkasse` command line: Flask's CLI for this app plus OpenKasse's own commands.

Each command is a thin call into core; it opens one unit of work and commits once.
"""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from core import clock
from core.db import make_engine, make_session_factory, unit_of_work

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = url
    return config


def _create_app():  # type: ignore[no-untyped-def]
    from portal.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """OpenKasse – Kommunale Steuern und Gebühren."""


@main.group("db")
def db_group() -> None:
    """Datenbankschema (Alembic-Migrationen)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: head)."""
    url = current_app.config["DATABASE_URL"]
    command.upgrade(alembic_config(url), revision)
    click.echo(f"Datenbank ist auf Stand {revision}.")


@main.command("demo")
@click.option("--if-empty", is_flag=True, help="Nur laden, wenn noch keine Kommune existiert.")
@click.option("--persons", default=180, show_default=True, help="Personen je Kommune.")
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def demo(if_empty: bool, persons: int, seed: int) -> None:
    """Load demo data: two municipalities, persons, claims, payments, log-ins."""
    from core import demo as demo_data

    factory = make_session_factory(make_engine(current_app.config["DATABASE_URL"]))
    with unit_of_work(factory) as session:
        if demo_data.has_data(session):
            if if_empty:
                click.echo("Demodaten sind bereits geladen.")
                return
            raise click.ClickException("Die Datenbank enthält schon Daten.")
        summary = demo_data.load(
            session,
            as_of=clock.today(),
            persons_per_municipality=persons,
            seed=seed,
            progress=click.echo,
        )
    click.echo(summary)
