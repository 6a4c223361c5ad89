"""The portal under load (issue 12): ``openkasse serve`` (gunicorn) on loopback, 50 concurrent
clients, a logged-in citizen's account page with 40 items (30 open, 10 paid), and as the anchor
a "hello" page served by the same gunicorn settings in the same run; p50/p95 and requests/s of
both and the throughput ratio. Never a timed assertion: prints figures only.

``python -m tests.benchmarks.web [--clients N] [--requests N]`` runs on PostgreSQL when the
server binaries are there (tests/pg.py), else on SQLite; ``python -m tests.benchmarks.run
--only web [--postgres]`` runs it from the benchmark suite. The clients (threads, keep-alive
connections of http.client) share the machine's cores with the server.
"""

from __future__ import annotations

import argparse
import http.client
import os
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


def hello(environ: Any, start_response: Any) -> list[bytes]:
    """The anchor: the least a WSGI app can do, served by the same gunicorn."""
    start_response(
        "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(HELLO_BODY)))]
    )
    return [HELLO_BODY]


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
def gunicorn(database_url: str, app_uri: str, workers: int, threads: int) -> Iterator[str]:
    """gunicorn as ``openkasse serve`` configures it, serving ``app_uri``; yields host:port."""
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
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for(address: str, process: subprocess.Popen[bytes]) -> None:
    host, port = address.split(":")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn ended before it served")
        try:
            connection = http.client.HTTPConnection(host, int(port), timeout=5)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on {address} within 60 s")


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

    def line(self, name: str) -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        return (
            f"{name}: {self.rate:,.0f} requests/s, p50 {statistics.median(ms):.1f} ms, "
            f"p95 {p95:.1f} ms ({len(ms)} requests, {self.failures} failed)"
        )

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


def load(address: str, path: str, cookie: str, clients: int, requests: int) -> Load:
    """``clients`` threads, each on its own keep-alive connection, GET ``path`` ``requests``
    times each; a response other than 200 counts as failed and is not timed."""
    host, port = address.split(":")
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=60)
        mine: list[float] = []
        bad = 0
        start.wait()
        for _ in range(requests):
            began = time.perf_counter()
            connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
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

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return Load(latencies, time.perf_counter() - began, failures[0])


def bench_web(url: str, clients: int = 50, requests: int = 40) -> None:
    backend = url.split(":")[0]
    workers, threads = serving.default_workers(), 2
    citizen_with_items(url)
    with gunicorn(url, serving.WSGI_APP, workers, threads) as address:
        cookie = log_in(address)
        load(address, f"/{SLUG}/konto", cookie, 5, 4)  # warm-up: each worker's first requests
        account = load(address, f"/{SLUG}/konto", cookie, clients, requests)
    with gunicorn(url, "tests.benchmarks.web:hello", workers, threads) as address:
        load(address, "/", "", 5, 4)
        anchor = load(address, "/", "", clients, requests)
    setting = f"{workers} workers × {threads} threads, {clients} clients"
    print(f"web/{backend} ({setting}):")
    print("  " + account.line(f"account page, {ITEMS} items"))
    print("  " + anchor.line('"hello" page (anchor)'))
    print(
        f"  ratio account/hello: {account.rate / anchor.rate:.2f} (goal ≥ 0.3); "
        f"account p95 goal < 100 ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=40, help="requests per client")
    parser.add_argument("--sqlite", action="store_true", help="SQLite even if PostgreSQL is there")
    args = parser.parse_args()
    if args.sqlite or not (pg.PG_BIN / "initdb").exists():
        with tempfile.TemporaryDirectory() as tmp:
            bench_web(f"sqlite:///{Path(tmp) / 'web.sqlite3'}", args.clients, args.requests)
        return
    with pg.running_server() as base:
        admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE bench_web"))
        admin.dispose()
        bench_web(f"{base}/bench_web", args.clients, args.requests)


if __name__ == "__main__":
    main()
