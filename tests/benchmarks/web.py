"""The portal under load (issue 12): ``openkasse serve`` (gunicorn) on loopback, 50 concurrent
clients, a logged-in citizen's account page with 40 items (30 open, 10 paid), and as the anchor
a "hello" page: a Flask view of the same app on the same server in the same run, requested with
the same session cookie. p50/p95, requests/s and CPU per request (gunicorn, PostgreSQL, client)
of both, the ratio, and a bare WSGI "hello" (gunicorn and client alone). Prints figures only.

``python -m tests.benchmarks.web [--clients N] [--requests N] [--workers N] [--threads N]``
runs on PostgreSQL when the server binaries are there (tests/pg.py), else on SQLite (gunicorn
as ``openkasse serve`` sets it up unless given); ``python -m tests.benchmarks.run
--only web [--postgres]`` from the suite. The clients (http.client keep-alive connections in
two processes: one GIL would cap the load) share the cores with the server; their CPU is printed.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from alembic import command
from flask import Flask
from sqlalchemy import text

from core.kernel.db import make_engine, make_session_factory
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from portal import serving
from portal.cli.db import alembic_config
from tests import factories, pg
from tests.e2e.server import HOST, free_port

REPO = Path(__file__).resolve().parents[2]
SLUG = "lasttest"
EMAIL = "buergerin@lasttest.example"
ITEMS, PAID = 40, 10
SECRET_KEY = "bench-web-secret-" + "x" * 32
HELLO_BODY = b"Hallo"
HELLO_PATH = "/bench-hallo"
FLASK_APP_WITH_HELLO = "tests.benchmarks.web:portal_with_hello()"
CLIENT_PROCESSES = 2
# Clients without pause measure throughput, their latency is then queueing (50 clients at X/s
# wait 50/X s); users who pause before each request as locust's do measure a page's latency.
THINK = (0.5, 1.5)


def hello(environ: Any, start_response: Any) -> list[bytes]:
    """The least a WSGI app can do (the earlier anchor): what gunicorn and the client cost."""
    start_response(
        "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO_BODY)))]
    )
    return [HELLO_BODY]


def portal_with_hello() -> Flask:
    """The anchor: the portal app with one more view that answers "Hallo" — the same Flask app,
    hooks, session handling and headers as the account page, on the same server, minus the
    page's own work. gunicorn calls it in every worker (``FLASK_APP_WITH_HELLO``)."""
    from portal.app import create_app

    app = create_app()
    app.add_url_rule(HELLO_PATH, "bench_hello", lambda: HELLO_BODY.decode())
    return app


def citizen_with_items(url: str) -> None:
    """Migrate ``url`` and give a citizen of a municipality ``ITEMS`` claims, ``PAID`` paid."""
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        m = factories.municipality(session, slug=SLUG, name="Laststadt")
        user = factories.user(session, email=EMAIL)
        person = factories.person(session, m, user=user)
        claims = [
            factories.claim(
                session,
                m,
                person,
                amount=1000 + 100 * n,
                due=date(2026, 2, 15) + timedelta(days=30 * n),
                description=f"Hundesteuer Rate {n + 1}",
            )
            for n in range(ITEMS)
        ]
        for claim in claims[:PAID]:
            record_payment(
                session,
                person=person,
                amount_cents=claim.amount_cents,
                received_on=factories.AS_OF,
                channel=PaymentChannel.BANK_TRANSFER,
                as_of=factories.AS_OF,
                actor="bench",
                kassenzeichen=claim.kassenzeichen,
            )
        session.commit()
    engine.dispose()


@contextmanager
def gunicorn(
    database_url: str, app_uri: str, workers: int, threads: int
) -> Iterator[tuple[str, int]]:
    """gunicorn as ``openkasse serve`` configures it, serving ``app_uri``; host:port, master pid."""
    address = f"{HOST}:{free_port()}"
    code = (
        "from portal import serving; serving.gunicorn_application("
        f"bind={address!r}, workers={workers}, threads={threads}, timeout=120, "
        f"access_log=None, app_uri={app_uri!r}).run()"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "OPENKASSE_ENV": "development",
    }
    process = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO)
    try:
        _wait_for(address, process)
        yield address, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for(address: str, process: subprocess.Popen[bytes]) -> None:
    host, port = address.split(":")
    deadline = time.monotonic() + 300  # five workers importing the app on a busy machine
    while time.monotonic() < deadline and process.poll() is None:
        try:
            connection = http.client.HTTPConnection(host, int(port), timeout=5)
            connection.request("GET", "/")
            return connection.getresponse().close()
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on {address} within 300 s")


def _cookies(response: http.client.HTTPResponse, jar: dict[str, str]) -> None:
    for header in response.headers.get_all("Set-Cookie") or []:
        jar.update({k: v.value for k, v in SimpleCookie(header).items()})


def log_in(address: str) -> str:
    """Log the citizen in through the form (CSRF token, session cookie); the Cookie header."""
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    jar: dict[str, str] = {}
    connection.request("GET", f"/{SLUG}/anmelden")
    response = connection.getresponse()
    page = response.read().decode()
    _cookies(response, jar)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, "no CSRF token on the log-in page"
    form = urllib.parse.urlencode(
        {"csrf_token": token[1], "email": EMAIL, "password": factories.PASSWORD}
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
    }
    connection.request("POST", f"/{SLUG}/anmelden", body=form, headers=headers)
    response = connection.getresponse()
    response.read()
    _cookies(response, jar)
    assert response.status == 302, f"log-in answered {response.status}"
    cookie = "; ".join(f"{k}={v}" for k, v in jar.items())
    connection.request("GET", f"/{SLUG}/konto", headers={"Cookie": cookie})
    response = connection.getresponse()
    account = response.read().decode()
    connection.close()
    assert response.status == 200 and f"Hundesteuer Rate {ITEMS}" in account, "not the account"
    return cookie


@dataclass
class Load:
    latencies: list[float]
    seconds: float
    failures: int
    client_cpu: float  # seconds of CPU the client processes used
    server_cpu: float  # seconds of CPU of the gunicorn workers
    database_cpu: float  # seconds of CPU of their PostgreSQL backends

    def line(self, name: str) -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        n = max(1, len(ms))
        return (
            f"{name}: {self.rate:,.0f} requests/s, p50 {statistics.median(ms):.1f} ms, "
            f"p95 {p95:.1f} ms ({len(ms)} requests, {self.failures} failed); CPU per request: "
            f"gunicorn {1000 * self.server_cpu / n:.2f} ms, PostgreSQL "
            f"{1000 * self.database_cpu / n:.2f} ms, client {1000 * self.client_cpu / n:.2f} ms"
        )

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


def _client_process(
    address: str,
    path: str,
    cookie: str,
    threads: int,
    requests: int,
    think: tuple[float, float],
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    """One client process: ``threads`` threads, each on its own keep-alive connection, GET
    ``path`` ``requests`` times, pausing a random time in ``think`` (seconds) before each
    request; puts (latencies, failures, CPU seconds) on ``out``."""
    host, port = address.split(":")
    headers = {"Cookie": cookie} if cookie else {}
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client(connection: http.client.HTTPConnection) -> None:
        mine: list[float] = []
        bad = 0
        go.wait()
        for _ in range(requests):
            if think[1]:
                time.sleep(random.uniform(*think))  # noqa: S311 - a pause, not a secret
            began = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                mine.append(time.perf_counter() - began)
            else:
                bad += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    connections = [http.client.HTTPConnection(host, int(port), timeout=60) for _ in range(threads)]
    for connection in connections:
        # the connections exist and have carried a request before the clock starts: a browser
        # or a proxy opens one to send a request, while one opened idle holds a gthread
        # worker's thread for up to 5 s waiting for its first bytes (gunicorn's
        # wait_for_data), which put whole seconds of start-up into the p95 (BENCHMARKS.md)
        connection.request("GET", path, headers=headers)
        connection.getresponse().read()
    workers = [threading.Thread(target=client, args=(c,)) for c in connections]
    for worker in workers:
        worker.start()
    ready.put(True)
    go.wait()
    cpu = time.process_time()
    for worker in workers:
        worker.join()
    out.put((latencies, failures[0], time.process_time() - cpu))


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (none: the process is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the live processes ``pids`` (all their threads)."""
    ticks = sum(int(f[11]) + int(f[12]) for f in map(_stat, pids) if f)  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    procs = [p.name for p in Path("/proc").iterdir() if p.name.isdigit()]
    return [int(p) for p in procs if (f := _stat(p)) and f[1] == str(pid)]


def _backends(url: str) -> list[int]:
    """The PostgreSQL server processes of the benchmark database's connections (none: SQLite)."""
    if not url.startswith("postgresql"):
        return []
    engine = make_engine(url)
    with engine.connect() as conn:
        pids = conn.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        own = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        found = [int(p) for p in pids if p != own]
    engine.dispose()
    return found


def load(
    address: str,
    path: str,
    cookie: str,
    clients: int,
    requests: int,
    server: tuple[list[int], list[int]] = ([], []),
    think: tuple[float, float] = (0, 0),
) -> Load:
    """``clients`` keep-alive connections in two processes, ``requests`` GETs of ``path`` each
    (not 200: failed, not timed); ``server``: gunicorn's workers and the database's processes;
    ``think``: the range of each client's pause before a request (none: as fast as it goes)."""
    context = multiprocessing.get_context("fork")
    ready, out, go = context.Queue(), context.Queue(), context.Event()
    k = CLIENT_PROCESSES
    shares = [clients // k + (i < clients % k) for i in range(k)]
    processes = [
        context.Process(
            target=_client_process,
            args=(address, path, cookie, n, requests, think, ready, go, out),
        )
        for n in shares
        if n
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=60)
    cpu = [_cpu_seconds(pids) for pids in server]
    began = time.perf_counter()
    go.set()
    results = [out.get(timeout=600) for _ in processes]
    seconds = time.perf_counter() - began
    cpu = [_cpu_seconds(pids) - before for pids, before in zip(server, cpu, strict=True)]
    for process in processes:
        process.join()
    return Load(
        [x for r in results for x in r[0]],
        seconds,
        sum(r[1] for r in results),
        sum(r[2] for r in results),
        *cpu,
    )


def bench_web(
    url: str,
    clients: int = 50,
    requests: int = 40,
    workers: int | None = None,
    threads: int = serving.DEFAULT_THREADS,
) -> None:
    """``workers``/``threads``: gunicorn's settings (default: those of ``openkasse serve``)."""
    backend = url.split(":")[0]
    workers = workers or serving.default_workers()
    citizen_with_items(url)
    with gunicorn(url, FLASK_APP_WITH_HELLO, workers, threads) as (address, master):
        cookie = log_in(address)
        load(address, f"/{SLUG}/konto", cookie, 10, 10)  # warm-up: every worker's first
        load(address, HELLO_PATH, cookie, 10, 10)
        server = (_children(master), _backends(url))
        account = load(address, f"/{SLUG}/konto", cookie, clients, requests, server)
        anchor = load(address, HELLO_PATH, cookie, clients, requests * 4, server)
        paced = load(address, f"/{SLUG}/konto", cookie, clients, 10, server, THINK)
    with gunicorn(url, "tests.benchmarks.web:hello", workers, threads) as (address, master):
        load(address, "/", "", 10, 10)
        bare = load(address, "/", "", clients, requests * 4, (_children(master), []))
    setting = f"{workers} workers × {threads} threads, {clients} clients in 2 processes"
    print(f"web/{backend} ({setting}, {os.cpu_count()} cores):")
    print("  " + account.line(f"account page, {ITEMS} items, clients without pause"))
    pause = f"account page, {clients} users pausing {THINK[0]}–{THINK[1]} s before each request"
    print("  " + paced.line(pause))
    print("  " + anchor.line('"hello" page, a Flask view of the same app (anchor)'))
    print("  " + bare.line('"hello" as a bare WSGI callable on the same gunicorn settings'))
    print(
        f"  ratio account/hello: {account.rate / anchor.rate:.2f} (goal ≥ 0.3; against the bare "
        f"WSGI hello {account.rate / bare.rate:.2f}); account p95 goal < 100 ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="requests per client")
    parser.add_argument("--sqlite", action="store_true", help="SQLite even if PostgreSQL is there")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: openkasse serve's)")
    parser.add_argument("--threads", type=int, default=serving.DEFAULT_THREADS)
    args = parser.parse_args()
    if args.sqlite or not (pg.PG_BIN / "initdb").exists():
        with tempfile.TemporaryDirectory() as tmp:
            bench_web(
                f"sqlite:///{Path(tmp) / 'web.sqlite3'}",
                args.clients,
                args.requests,
                args.workers,
                args.threads,
            )
        return
    with pg.running_server() as base:
        admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE bench_web"))
        admin.dispose()
        bench_web(f"{base}/bench_web", args.clients, args.requests, args.workers, args.threads)


if __name__ == "__main__":
    main()
