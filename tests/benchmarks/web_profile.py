"""The account page of issue 12 in one process (Flask's test client, no server): CPU per request,
statements per request, and optionally a cProfile of the requests. The same citizen with 40
items as tests/benchmarks/web.py. Prints figures only.

``python -m tests.benchmarks.web_profile [--requests N] [--sqlite] [--profile N] [--sort tottime]
[--cpu-time]`` (PostgreSQL when the server binaries are there, as tests/benchmarks/web.py);
``--profile N`` prints the N functions with the most cumulative (or ``--sort``) time; with
``--cpu-time`` the profile counts CPU time, not wall time (waiting for PostgreSQL left out).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from core.kernel.db import make_engine
from tests import factories, pg
from tests.benchmarks.web import EMAIL, ITEMS, SECRET_KEY, SLUG, citizen_with_items


def profile_account(url: str, args: argparse.Namespace) -> None:
    requests, top, show, save = args.requests, args.profile, args.statements, args.save
    timer = (time.process_time,) if args.cpu_time else ()
    os.environ.update({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY})
    os.environ.setdefault("OPENKASSE_ENV", "development")
    citizen_with_items(url)
    from portal.app import create_app

    app = create_app()
    client = app.test_client()
    page = client.get(f"/{SLUG}/anmelden").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, "no CSRF token on the log-in page"
    form = {"csrf_token": token[1], "email": EMAIL, "password": factories.PASSWORD}
    assert client.post(f"/{SLUG}/anmelden", data=form).status_code == 302
    first = client.get(f"/{SLUG}/konto")
    assert f"Hundesteuer Rate {ITEMS}" in first.get_data(as_text=True), "not the account"
    if save:
        Path(save).write_bytes(first.data)
    for _ in range(20):  # warm-up: caches, the connection pool
        client.get(f"/{SLUG}/konto")
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    from sqlalchemy.engine import Engine

    event.listen(Engine, "before_cursor_execute", count)
    client.get(f"/{SLUG}/konto")
    event.remove(Engine, "before_cursor_execute", count)
    profiler = cProfile.Profile(*timer) if top else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for _ in range(requests):
        assert client.get(f"/{SLUG}/konto").status_code == 200
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"account page ({url.split(':')[0]}, {ITEMS} items, {len(first.data):,} bytes): "
        f"{len(statements)} statements, {1000 * cpu / requests:.2f} ms CPU and "
        f"{1000 * wall / requests:.2f} ms wall per request ({requests} requests, test client)"
    )
    hello = client.get("/")
    cpu = time.process_time()
    for _ in range(requests):
        client.get("/")
    print(
        f"  the portal's start page '/' ({hello.status_code}): "
        f"{1000 * (time.process_time() - cpu) / requests:.2f} ms CPU per request"
    )
    if show:
        for statement in statements:
            print("  --", " ".join(statement.split())[:300])
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions")
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument("--cpu-time", action="store_true", help="profile CPU time, not wall time")
    parser.add_argument("--statements", action="store_true", help="print the page's SQL")
    parser.add_argument("--save", default="", help="write the account page to this file")
    args = parser.parse_args()
    if args.sqlite or not (pg.PG_BIN / "initdb").exists():
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'web.sqlite3'}"
            profile_account(url, args)
        return
    with pg.running_server() as base:
        admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE bench_web"))
        admin.dispose()
        profile_account(f"{base}/bench_web", args)


if __name__ == "__main__":
    main()
