"""`openkasse db …`: the database schema by Alembic migrations (never run on start-up)."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import AppGroup, with_appcontext

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = url
    return config


@click.group("db", cls=AppGroup)
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
