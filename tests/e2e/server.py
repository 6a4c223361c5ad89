"""A real HTTP server around the portal with demo data, for browser tests and tools/screenshot.py.

The database is a throw-away SQLite file, migrated by Alembic like production and filled with a
small demo (core/demo/). The server runs Werkzeug in a daemon thread on a free loopback port.
The browser tests give it their own localstripe (tests/localstripe.py) as its Stripe server and
register its webhook there (:func:`stripe_config`, :func:`register_webhook`).
"""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from werkzeug.serving import BaseWSGIServer, make_server

from core import demo
from core.demo.identity import DEMO_PASSWORD
from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory, unit_of_work
from portal import database
from portal.app import create_app
from portal.cli.db import alembic_config

HOST = "127.0.0.1"
SECRET_KEY = "e2e-secret"
PERSONS_PER_MUNICIPALITY = 5

CITIZEN_EMAIL = "erika.mustermann@musterstadt.example"
CLERK_EMAIL = "sachbearbeitung@musterstadt.example"
PASSWORD = DEMO_PASSWORD

# The live server's Stripe keys; localstripe accepts any key of the right prefix.
STRIPE_SECRET_KEY = "sk_test_openkasse_e2e"
STRIPE_PUBLISHABLE_KEY = "pk_test_openkasse_e2e"
STRIPE_WEBHOOK_SECRET = "whsec_openkasse_e2e"
WEBHOOK_PATH = "/zahlungsdienst/stripe"


def stripe_config(localstripe: str) -> dict[str, str]:
    """App settings that make ``localstripe`` (base URL) the portal's Stripe: API and Stripe.js
    (STRIPE_JS_URL follows STRIPE_API_BASE, portal/config.py)."""
    return {
        "STRIPE_API_BASE": localstripe,
        "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": STRIPE_PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
    }


def register_webhook(localstripe: str, server_url: str) -> None:
    """Have localstripe sign its events with the live server's secret and send them to its
    webhook (about a second after each event), like Stripe does (tools/localstripe_webhook.py)."""
    body = urllib.parse.urlencode(
        {"url": server_url + WEBHOOK_PATH, "secret": STRIPE_WEBHOOK_SECRET}
    ).encode()
    request = urllib.request.Request(f"{localstripe}/_config/webhooks/openkasse-e2e", data=body)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200, response.status


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

    def __init__(self, directory: Path, config: dict[str, Any] | None = None) -> None:
        self.database_url = demo_database(directory)
        port = free_port()
        self.url = f"http://{HOST}:{port}"
        # Links printed on notices (QR codes) point to this server, so a test can follow them.
        self.app = create_app(
            {
                "DATABASE_URL": self.database_url,
                "SECRET_KEY": SECRET_KEY,
                "PUBLIC_BASE_URL": self.url,
                **(config or {}),
            }
        )
        self._server: BaseWSGIServer = make_server(HOST, port, _buffered(self.app), threaded=True)
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


def start_live_server(directory: Path, config: dict[str, Any] | None = None) -> LiveServer:
    """Migrate and fill a database in ``directory`` and serve the portal on a free port;
    ``config`` adds to the app's settings (e.g. :func:`stripe_config`)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    return LiveServer(directory, config)


@contextmanager
def serving(config: dict[str, Any] | None = None) -> Iterator[LiveServer]:
    """Serve the portal with demo data for the duration of the block."""
    with tempfile.TemporaryDirectory(prefix="openkasse-e2e-") as tmp:
        server = start_live_server(Path(tmp), config)
        try:
            yield server
        finally:
            server.stop()


def _buffered(app: Any) -> Any:
    """Hand Werkzeug's development server each response as bytes already read, its file (a
    static CSS file, a PDF) closed: when the browser resets a connection, that server can fail
    before it closes the response, and the open file would surface later as a ResourceWarning in
    an unrelated test."""

    def wsgi(environ: Any, start_response: Any) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return list(body)
        finally:
            if hasattr(body, "close"):
                body.close()

    return wsgi


@contextmanager
def live_server(config: dict[str, Any] | None = None) -> Iterator[str]:
    """Serve the portal with demo data for the duration of the block; yields the base URL."""
    with serving(config) as server:
        yield server.url
