"""`openkasse retention run|approve` on a fresh database with records past their period: the
preview stores and deletes nothing, the preparer cannot approve, a second person's approval
deletes the content once and the ledger stays balanced."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.kernel import clock
from core.kernel.archive import Document
from core.kernel.db import make_engine, make_session_factory
from core.ledger.balances import trial_balance
from core.persons.models import Person
from core.retention.models import RetentionRun
from tests import factories
from tests import retention_helpers as old

SCRIPT = Path(sys.executable).with_name("openkasse")
OLD = date(2015, 3, 1)


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def old_records(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], int, str]:
    path = tmp_path_factory.mktemp("retention-cli") / "cli.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    assert run("db", "upgrade", env=env).returncode == 0
    factory = make_session_factory(make_engine(env["DATABASE_URL"]))
    with factory() as session:
        m = factories.municipality(session, slug="altstadt")
        person = old.old_person(session, old.Make(session), m, OLD)
        notice = old.notice(session, m, person, OLD)
        session.commit()
        return env, notice.document_id or 0, m.slug


def _state(env: dict[str, str], document_id: int) -> tuple[int, int, str, int]:
    factory = make_session_factory(make_engine(env["DATABASE_URL"]))
    with factory() as session:
        doc = session.get_one(Document, document_id)
        assert sum(trial_balance(session, doc.municipality_id).values()) == 0
        runs_ = session.scalar(select(func.count(RetentionRun.id))) or 0
        person = session.get_one(Person, doc.person_id)
        return len(doc.content), int(runs_), person.family_name or "", doc.size_bytes


def test_preview_run_four_eyes_and_approval(old_records: tuple[dict[str, str], int, str]) -> None:
    env, document_id, slug = old_records
    today = clock.today().isoformat()
    shown = run("retention", "run", "--as-of", today, "--municipality", slug, "--preview", env=env)
    assert shown.returncode == 0, shown.stderr
    assert f"Dokument {document_id} (buchungsbeleg, erstellt 01.03.2015" in shown.stdout
    assert "Nur Vorschau: nichts gespeichert" in shown.stdout
    size, runs_, name, _ = _state(env, document_id)
    assert (runs_, name) == (0, name) and size > 0 and name != "gelöscht"

    made = run("retention", "run", "--as-of", today, "--municipality", slug, "--actor", "user:1",
               env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "retention approve 1" in made.stdout
    same = run("retention", "approve", "1", "--actor", "user:1", "--municipality", slug, env=env)
    assert same.returncode != 0 and "Vier-Augen-Prinzip" in same.stderr
    assert _state(env, document_id)[0] > 0

    approved = run("retention", "approve", "1", "--actor", "user:2", "--municipality", slug,
                   "--work", env=env)  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    assert "Löschlauf Nr. 1: ausgeführt." in approved.stdout
    size, runs_, name, size_bytes = _state(env, document_id)
    assert (size, runs_, name) == (0, 1, "gelöscht") and size_bytes > 0

    again = run("retention", "run", "--as-of", today, "--municipality", slug, "--preview", env=env)
    assert "0 Einträge fällig, 0 gesperrt." in again.stdout
