"""`openkasse db …`: the database schema by Alembic migrations (never run on start-up), and on
PostgreSQL procrastinate's tables for the job workers (core.jobs.queue)."""

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
    """Migrate the database to REVISION (default: head); on PostgreSQL also procrastinate's
    schema, once."""
    url = current_app.config["DATABASE_URL"]
    command.upgrade(alembic_config(url), revision)
    click.echo(f"Datenbank ist auf Stand {revision}.")
    if url.startswith("postgresql"):
        from core.jobs import queue
        from core.kernel.db import make_engine

        engine = make_engine(url)
        try:
            applied = queue.apply_schema(url, engine)
        finally:
            engine.dispose()
        click.echo(
            "Warteschlange der Job-Worker (procrastinate) eingerichtet."
            if applied
            else "Warteschlange der Job-Worker (procrastinate) ist schon eingerichtet."
        )
