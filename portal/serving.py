"""Serving the app: ``openkasse run`` (Werkzeug, development) and ``openkasse serve`` (gunicorn,
production), neither with a server banner naming versions.

Werkzeug answers every request with ``Server: Werkzeug/3.x Python/3.11.x``, gunicorn with
``Server: gunicorn``; both tell an attacker which known vulnerabilities to try.
:class:`RequestHandler` and :func:`gunicorn_application` name only the product.
Access-log lines pass through :mod:`portal.log_redaction` (installed by the app factory on the
loggers of Werkzeug and gunicorn); gunicorn's access log format (:data:`ACCESS_LOG_FORMAT`)
has no client address, no query string, no referrer and no user agent in the first place.
"""

from __future__ import annotations

import os
from typing import Any

import click
import gunicorn.http.wsgi
from flask.cli import ScriptInfo, pass_script_info
from gunicorn.app.base import BaseApplication
from gunicorn.util import import_app
from werkzeug.serving import WSGIRequestHandler, run_simple

SERVER_NAME = "OpenKasse"
WSGI_APP = "portal.wsgi:app"
# Time, process, method, path (tokens redacted by the filter), status, bytes, milliseconds. The
# client address is personal data (the reverse proxy logs it under its own retention rules).
ACCESS_LOG_FORMAT = '%(t)s %(p)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
# Threads per worker (gthread: one waits for the database while another renders). Measured on
# 2 cores with 50 clients (BENCHMARKS.md, "the account page made cheaper"): 2 × 2 and 3 × 2 no
# worse than the default 5 × 2, 2 × 4 worse; within the noise of a shared machine, so the
# defaults stay; `openkasse serve --workers/--threads` and the web benchmark take others.
DEFAULT_THREADS = 2
MAX_DEFAULT_WORKERS = 8  # each worker holds its own database pool; PostgreSQL allows ~100


class RequestHandler(WSGIRequestHandler):
    def version_string(self) -> str:
        return SERVER_NAME


@click.command("run", short_help="Entwicklungsserver starten.")
@click.option("--host", "-h", default="127.0.0.1", show_default=True)
@click.option("--port", "-p", default=5000, show_default=True)
@click.option("--reload/--no-reload", default=False, help="Bei Codeänderungen neu laden.")
@click.option("--debugger/--no-debugger", default=False, help="Werkzeug-Debugger (nie öffentlich).")
@pass_script_info
def run_command(info: ScriptInfo, host: str, port: int, reload: bool, debugger: bool) -> None:
    """Serve the portal with Werkzeug (development and the demo)."""
    app = info.load_app()
    run_simple(
        host,
        port,
        app,
        use_reloader=reload,
        use_debugger=debugger,
        threaded=True,
        request_handler=RequestHandler,
    )


def default_workers() -> int:
    """gunicorn's rule of thumb, 2 × cores + 1, capped at :data:`MAX_DEFAULT_WORKERS`."""
    return min(2 * (os.cpu_count() or 1) + 1, MAX_DEFAULT_WORKERS)


class _Gunicorn(BaseApplication):
    """gunicorn configured from a dict instead of its own command line, serving ``app_uri``."""

    def __init__(self, settings: dict[str, Any], app_uri: str) -> None:
        self._settings = settings
        self._app_uri = app_uri
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._settings.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn ≥ 25 opens a management socket in the home directory by default: one
            # per user, so a second server on the machine would clash; nobody needs it here.
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        return import_app(self._app_uri)


def gunicorn_application(
    *,
    bind: str,
    workers: int,
    threads: int,
    timeout: int,
    access_log: str | None,
    app_uri: str = WSGI_APP,
) -> BaseApplication:
    """A gunicorn arbiter's application: ``workers`` processes (with ``threads`` threads each:
    gunicorn's gthread worker when more than one), each loading ``app_uri`` itself (no preload:
    no database connection is shared across fork)."""
    # gunicorn writes its module constant into every response's Server header; the workers
    # fork from this process and inherit the product name instead.
    gunicorn.http.wsgi.SERVER = SERVER_NAME
    settings: dict[str, Any] = {
        "bind": [bind],
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": timeout,
        "accesslog": access_log,
        "access_log_format": ACCESS_LOG_FORMAT,
        "proc_name": "openkasse",
    }
    return _Gunicorn(settings, app_uri)
