"""The web process's side of the job engine (core.jobs): what a worker needs from the
configuration, and who is told after a commit that made chunks pending (:func:`wake`).

- ``JOBS_WORKER = "in-process"`` (SQLite default): a thread of this process does the pending
  chunks and ends when none is left; a web process that stops mid-chunk loses only that
  chunk's uncommitted work, which the next wake-up does again.
- ``"procrastinate"`` (PostgreSQL default): one procrastinate token per pending chunk
  (core.jobs.queue); `openkasse jobs worker` processes on any machine do them.
- ``"external"``: nothing is told; `openkasse jobs work --forever` processes poll the chunks.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask, current_app

from core.jobs import worker
from core.notices.jobs import SETTINGS
from portal.database import EXTENSION
from portal.notice_settings import notice_settings

log = logging.getLogger(__name__)
THREAD = "openkasse.jobs_thread"
AGAIN = "openkasse.jobs_again"


def environment() -> dict[str, Any]:
    """What the job kinds take from the host: the notice settings (secret for signed links)."""
    return {SETTINGS: notice_settings()}


_LOCK = threading.Lock()


def wake(app: Flask | None = None, job_id: int | None = None) -> bool:
    """After a commit that made chunks pending (of ``job_id``, or of any running job): let the
    in-process worker do them, or defer their procrastinate tokens. False when polling workers
    find them themselves (``JOBS_WORKER = "external"``). Call it in an app context."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["JOBS_WORKER"] == "procrastinate":
        defer(app, job_id)
        return True
    if app.config["JOBS_WORKER"] != "in-process":
        return False
    with _LOCK:
        running: threading.Thread | None = app.extensions.get(THREAD)
        if running is not None and running.is_alive():
            app.extensions[AGAIN] = True  # it looks once more before it ends
            return True
        app.extensions[AGAIN] = False
        thread = threading.Thread(
            target=_drain, args=(app, environment()), name="openkasse-jobs", daemon=True
        )
        app.extensions[THREAD] = thread
        thread.start()
    return True


def defer(app: Flask, job_id: int | None) -> int:
    """Procrastinate tokens for the pending chunks (idempotent: one waiting token per chunk);
    the number deferred now. A failure here loses nothing: the workers' sweep gives tokens
    to a running job that has none within a minute."""
    from core.jobs import queue  # procrastinate only where it is used (not for SQLite)

    try:
        return queue.defer_pending(app.config["DATABASE_URL"], app.extensions[EXTENSION], job_id)
    except Exception:
        log.exception("job tokens not deferred (job %s); the job workers' sweep will", job_id)
        return 0


def _drain(app: Flask, env: dict[str, Any]) -> None:
    factory = app.extensions[EXTENSION]
    while True:
        try:
            worker.drain(factory, environment=env)
        except Exception:  # the chunk stays pending; the next wake-up takes it again
            log.exception("in-process job worker stopped")
            return
        with _LOCK:
            if not app.extensions.get(AGAIN):
                app.extensions[THREAD] = None
                return
            app.extensions[AGAIN] = False
