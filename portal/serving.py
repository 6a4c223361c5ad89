"""Serving the app: ``openkasse run`` (Werkzeug) without a server banner naming versions.

Werkzeug answers every request with ``Server: Werkzeug/3.x Python/3.11.x``, which tells an
attacker which known vulnerabilities to try. :class:`RequestHandler` names only the product.
Access-log lines pass through :mod:`portal.log_redaction` (installed by the app factory on
Werkzeug's logger). In production run a WSGI server on :mod:`portal.wsgi` instead.
"""

from __future__ import annotations

import click
from flask.cli import ScriptInfo, pass_script_info
from werkzeug.serving import WSGIRequestHandler, run_simple

SERVER_NAME = "OpenKasse"


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
