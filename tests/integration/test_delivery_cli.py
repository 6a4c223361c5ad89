"""`openkasse delivery fallback --as-of D [--preview]` and `openkasse delivery send` on a fresh
demo database: the preview changes nothing, the batch lands in the print service's folder, a
rerun posts nothing twice."""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy import func, select

from core.delivery.models import Delivery, DeliveryStatus
from core.kernel.db import make_engine, make_session_factory
from tests.integration.test_cli import run


def test_fallback_preview_then_batch_then_nothing_twice(tmp_path: Path) -> None:
    folder = tmp_path / "druck"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "PRINT_SERVICE_DIR": str(folder),
    }
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("demo", "--persons", "4", env=env).returncode == 0
    factory = make_session_factory(make_engine(env["DATABASE_URL"]))

    args = ("delivery", "fallback", "--as-of", "2026-12-22", "--municipality", "musterstadt")
    preview = run(*args, "--preview", env=env)
    assert preview.returncode == 0, preview.stderr
    match = re.search(r"(\d+) Bescheide würden per Post versandt", preview.stdout)
    assert match and int(match.group(1)) > 0, preview.stdout
    with factory() as session:
        assert session.scalar(select(func.count(Delivery.id))) == 0
    expected = int(match.group(1))

    posted = run(*args, env=env)
    assert posted.returncode == 0, posted.stderr
    assert f"{expected} Bescheide" in posted.stdout and "1 Druckaufträge" in posted.stdout
    assert sorted(p.suffix for p in folder.iterdir()) == [".csv", ".json", ".pdf"]
    with factory() as session:
        statuses = session.scalars(select(Delivery.status)).all()
        assert statuses.count(DeliveryStatus.POSTED) == expected

    again = run(*args, env=env)
    assert again.returncode == 0, again.stderr
    assert "0 Bescheide (0 Seiten)" in again.stdout
    assert len(list(folder.iterdir())) == 3

    sent = run("delivery", "send", env=env)
    assert sent.returncode == 0, sent.stderr
    assert "0 Bescheide elektronisch bereitgestellt" in sent.stdout
