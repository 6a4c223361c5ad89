"""A real HTTP server around the portal with demo data, for browser tests and tools/screenshot.py.

The database is a throw-away SQLite file, migrated by Alembic like production and filled with a
small demo (core/demo.py). The server runs Werkzeug in a daemon thread on a free loopback port.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from werkzeug.serving import BaseWSGIServer, make_server

from core import clock, demo
from core.db import make_engine, make_session_factory, unit_of_work
from portal import database
from portal.app import create_app
from portal.cli import alembic_config

HOST = "127.0.0.1"
SECRET_KEY = "e2e-secret"
PERSONS_PER_MUNICIPALITY = 5

CITIZEN_EMAIL = "erika.mustermann@musterstadt.example"
CLERK_EMAIL = "sachbearbeitung@musterstadt.example"
PASSWORD = demo.DEMO_PASSWORD


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def demo_database(directory: Path) -> str:
    """A migrated SQLite database with demo data in ``directory``; returns its URL."""
    url = f"sqlite:///{directory / 'e2e.sqlite3'}"
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            demo.load(
                session, as_of=clock.today(), persons_per_municipality=PERSONS_PER_MUNICIPALITY
            )
    finally:
        engine.dispose()
    return url


class LiveServer:
    """The portal served over HTTP; ``url`` has no trailing slash. Call :meth:`stop` once."""

    def __init__(self, directory: Path) -> None:
        database_url = demo_database(directory)
        port = free_port()
        self.url = f"http://{HOST}:{port}"
        # Links printed on notices (QR codes) point to this server, so a test can follow them.
        self.app = create_app(
            {
                "DATABASE_URL": database_url,
                "SECRET_KEY": SECRET_KEY,
                "PUBLIC_BASE_URL": self.url,
            }
        )
        self._server: BaseWSGIServer = make_server(HOST, port, self.app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="e2e-live-server", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        # The app's engine keeps pooled SQLite connections open; close them before the file goes.
        self.app.extensions[database.EXTENSION].kw["bind"].dispose()


def start_live_server(directory: Path) -> LiveServer:
    """Migrate and fill a database in ``directory`` and serve the portal on a free port."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    return LiveServer(directory)


@contextmanager
def live_server() -> Iterator[str]:
    """Serve the portal with demo data for the duration of the block; yields the base URL."""
    with tempfile.TemporaryDirectory(prefix="openkasse-e2e-") as tmp:
        server = start_live_server(Path(tmp))
        try:
            yield server.url
        finally:
            server.stop()
