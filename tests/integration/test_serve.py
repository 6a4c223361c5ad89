"""``openkasse serve`` as it runs in production: real gunicorn processes on a migrated SQLite
database with demo data, spoken to over loopback HTTP; and its refusal to start in production
without a proper SECRET_KEY."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import HOST, demo_database, free_port

REPO = Path(__file__).resolve().parents[2]
OPENKASSE = [sys.executable, "-c", "from portal.cli import main; main()"]
SECRET_KEY = "serve-test-secret-" + "x" * 32


def _environment(**settings: str) -> dict[str, str]:
    """This process's environment without OpenKasse's settings, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "OPENKASSE_ENV")}
    env["PYTHONPATH"] = str(REPO)
    return {**env, **settings}


def _get(url: str) -> tuple[int, dict[str, str], str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, dict(response.headers), response.read().decode()


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"openkasse serve ended early:\n{log.read_text()}")
        try:
            _get(url + "/")
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"openkasse serve did not answer within 60 s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The base URL of two gunicorn workers on a demo database, and their log file; stopped
    with SIGTERM afterwards, which must end the server cleanly (exit code 0)."""
    directory = tmp_path_factory.mktemp("serve")
    database_url = demo_database(directory)
    url = f"http://{HOST}:{free_port()}"
    log = directory / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*OPENKASSE, "serve", "--workers", "2", "--bind", url.removeprefix("http://")],
            env=_environment(DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY),
            cwd=REPO,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(url, process, log)
            yield url, log
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
    assert code == 0, log.read_text()
    assert "Worker exiting" in log.read_text()


def test_serves_the_start_page_and_a_municipality_without_a_version_banner(
    served: tuple[str, Path],
) -> None:
    url, _ = served
    for path in ("/", "/musterstadt/"):
        status, headers, body = _get(url + path)
        assert status == 200, path
        assert headers.get("Server") == "OpenKasse", headers
        assert "gunicorn" not in str(headers).lower()
        assert "Musterstadt" in body


def test_runs_two_worker_processes(served: tuple[str, Path]) -> None:
    _, log = served
    booted = {
        line.rsplit("pid: ", 1)[1].strip(")\n ")
        for line in log.read_text().splitlines()
        if "Booting worker with pid" in line
    }
    assert len(booted) == 2, log.read_text()


def test_access_log_has_the_path_but_no_query_string_and_no_client_address(
    served: tuple[str, Path],
) -> None:
    url, log = served
    _get(url + "/musterstadt/?suche=Erika+Mustermann&token=geheim")
    deadline = time.monotonic() + 10
    while '"GET /musterstadt/ HTTP/1.1" 200' not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    text = log.read_text()
    assert "Erika" not in text and "geheim" not in text and "suche" not in text
    access_lines = [line for line in text.splitlines() if '"GET ' in line]
    assert access_lines and not any(HOST in line for line in access_lines), access_lines


@pytest.mark.parametrize("secret", [None, "too-short"])
def test_production_without_a_proper_secret_key_refuses_to_start(
    tmp_path: Path, secret: str | None
) -> None:
    settings = {"OPENKASSE_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    if secret:
        settings["SECRET_KEY"] = secret
    done = subprocess.run(
        [*OPENKASSE, "serve", "--workers", "1", "--bind", f"{HOST}:{free_port()}"],
        env=_environment(**settings),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "OpenKasse startet nicht" in done.stderr and "SECRET_KEY" in done.stderr
    assert "at least 32 characters" in done.stderr
    assert "Traceback" not in done.stderr and "Booting worker" not in done.stderr
