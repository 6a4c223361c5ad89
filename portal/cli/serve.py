"""``openkasse serve``: the portal and back office on gunicorn, the production web server.

Several worker processes, each with its own database pool, load :mod:`portal.wsgi`; run as many
machines as needed against one PostgreSQL behind a reverse proxy (docs/DEPLOYMENT.md). The
configuration is checked here before any worker starts, so a missing production secret is one
clear line on the terminal instead of a traceback per worker.
"""

from __future__ import annotations

import click

from portal import config, serving
from portal.app import ROOT


def check_configuration() -> None:
    """Read the configuration as the app factory will (environment, defaults); a mistake
    becomes a German/English message and exit code 1."""
    try:
        config.load(str(ROOT / "instance"))
    except RuntimeError as error:
        raise click.ClickException(
            f"OpenKasse startet nicht, die Konfiguration ist unvollständig "
            f"(cannot start, configuration incomplete): {error}"
        ) from None


@click.command("serve", short_help="Produktionsserver (gunicorn) starten.")
@click.option(
    "--bind",
    "-b",
    default="127.0.0.1:8000",
    show_default=True,
    help="Adresse:Port (oder unix:/pfad) für den Reverse-Proxy.",
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    default=serving.default_workers,
    show_default="2 × Kerne + 1, höchstens 8",
    help="Worker-Prozesse.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=serving.DEFAULT_THREADS,
    show_default=True,
    help="Threads je Worker (mehr als einer: gthread, wartet parallel auf die Datenbank).",
)
@click.option(
    "--timeout",
    type=click.IntRange(min=1),
    default=120,
    show_default=True,
    help="Sekunden, nach denen ein hängender Worker neu gestartet wird.",
)
@click.option(
    "--access-log",
    default="-",
    show_default=True,
    help="Datei für das Zugriffsprotokoll ('-': Standardausgabe, '': keins).",
)
def serve_command(bind: str, workers: int, threads: int, timeout: int, access_log: str) -> None:
    """Serve the portal in production: gunicorn workers on portal.wsgi:app."""
    check_configuration()
    serving.gunicorn_application(
        bind=bind,
        workers=workers,
        threads=threads,
        timeout=timeout,
        access_log=access_log or None,
    ).run()
