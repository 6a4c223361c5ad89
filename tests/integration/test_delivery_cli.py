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


def test_an_objection_letter_without_consent_is_in_the_fallback_preview_and_batch(
    tmp_path: Path,
) -> None:
    from datetime import UTC, date, datetime

    from core.objections import decisions, service
    from core.objections.models import DecisionKind
    from tests import factories
    from tests.delivery_helpers import issue_notice

    folder = tmp_path / "druck"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "PRINT_SERVICE_DIR": str(folder),
    }
    assert run("db", "upgrade", env=env).returncode == 0
    factory = make_session_factory(make_engine(env["DATABASE_URL"]))
    with factory() as session:
        town = factories.municipality(session, state="BY")
        factories.dog_tax_statute(session, town, objection=True)
        person = factories.person(session, town, family_name="Papierfreund")
        notice = issue_notice(session, town, person)
        objection = service.lodge(
            session, municipality=town, person=person, notice=notice, reasons="Zu hoch.",
            suspension=False, actor="citizen", now=datetime(2026, 4, 1, 10, tzinfo=UTC),
        )  # fmt: skip
        decision = decisions.decide(
            session, objection, kind=DecisionKind.REJECTED, reasons="Satzungsgemäß.",
            day=date(2026, 4, 20), actor="user:1",
        )  # fmt: skip
        slug, document_id, name = town.slug, decision.document_id, person.display_name
        letter = f"Widerspruchsbescheid-Widerspruch-{objection.id}.pdf"
        session.commit()

    args = ("delivery", "fallback", "--as-of", "2026-12-08", "--municipality", slug)
    preview = run(*args, "--preview", env=env)
    assert preview.returncode == 0, preview.stderr
    assert "2 Bescheide würden per Post versandt" in preview.stdout
    assert f"Schreiben {letter} an {name}" in preview.stdout, preview.stdout
    with factory() as session:
        assert session.scalar(select(func.count(Delivery.id))) == 0

    posted = run(*args, env=env)
    assert posted.returncode == 0, posted.stderr
    with factory() as session:
        delivery = session.scalars(
            select(Delivery).where(Delivery.document_id == document_id)
        ).one()
        # posted Tuesday 8.12.2026: + 4 = Saturday 12.12. → Monday 14.12.
        assert (delivery.status, delivery.deemed_on) == (DeliveryStatus.POSTED, date(2026, 12, 14))
