"""`openkasse dunning handover --as-of D [--preview]` on a migrated SQLite file: the preview
lists the person and stores nothing, the hand-over makes the case once."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from core.dunning.enforcement_models import EnforcementCase
from core.kernel.db import make_engine, make_session_factory
from tests import factories
from tests.integration.test_dunning_cli import run
from tests.integration.test_enforcement import DUE, HAND_OVER, dun_to_the_end, enact_costs


def _cases(url: str) -> int:
    with make_session_factory(make_engine(url))() as session:
        return int(session.scalar(select(func.count(EnforcementCase.id))) or 0)


def test_handover_preview_then_for_real(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url}
    assert run("db", "upgrade", env=env).returncode == 0
    with make_session_factory(make_engine(url))() as session:
        m = factories.municipality(session)
        factories.dunning_statute(session, m)
        enact_costs(session, m)
        person = factories.person(session, m, family_name="Säumig")
        factories.claim(session, m, person, amount=12000, due=DUE)
        factories.claim(
            session, m, factories.person(session, m), amount=12000, due=date(2026, 4, 1)
        )
        dun_to_the_end(session, m)
        session.commit()
        name, slug = person.display_name, m.slug
    preview = run("dunning", "handover", "--as-of", HAND_OVER.isoformat(), "--preview", env=env)
    assert preview.returncode == 0, preview.stderr
    assert name in preview.stdout and "1 Fälle zur Abgabe" in preview.stdout
    assert "nichts gespeichert" in preview.stdout and _cases(url) == 0
    done = run(
        "dunning", "handover", "--as-of", HAND_OVER.isoformat(), "--municipality", slug, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "1 Vollstreckungsfälle angelegt" in done.stdout and _cases(url) == 1
    again = run("dunning", "handover", "--as-of", HAND_OVER.isoformat(), env=env)
    assert "0 Vollstreckungsfälle angelegt" in again.stdout and _cases(url) == 1
    bad = run("dunning", "handover", "--as-of", "2026-13-01", env=env)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
