"""A throwaway PostgreSQL 15 server on loopback for the test run (recipe: shared/TOOLING.md)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _newest_pg_bin() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = Path(os.environ.get("OPENKASSE_PG_BIN") or _newest_pg_bin())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server() -> Iterator[str]:
    """Yield a base URL (no database name) of a fresh server; stop and delete it afterwards."""
    if not (PG_BIN / "initdb").exists():
        raise RuntimeError(
            f"PostgreSQL binaries not found in {PG_BIN}. `make test` installs them "
            "(Debian package postgresql), or set OPENKASSE_TEST_PG_URL to a server."
        )
    workdir = Path(tempfile.mkdtemp(prefix="openkasse-pg."))
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(workdir, "postgres", "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    data, log = workdir / "data", workdir / "log"
    try:
        subprocess.run(
            [
                *run_as,
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir} -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off"
        )
        subprocess.run(
            [
                *run_as,
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(log),
                "-w",
                "-o",
                options,
                "start",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*run_as, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)
