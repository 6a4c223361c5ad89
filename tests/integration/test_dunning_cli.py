"""`openkasse dunning run|approve|book` on a fresh demo database with a dunning procedure:
the preview stores nothing, the run waits for a second person, booking books once and the
ledger stays balanced."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.demo.statutes import dunning_statute
from core.dunning import letters
from core.dunning.models import DunningItem, DunningRun, RunState
from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.ledger.balances import trial_balance
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.tenancy.municipalities import get_by_slug
from core.tenancy.statutes import Statute

SCRIPT = Path(sys.executable).with_name("openkasse")


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    path = tmp_path_factory.mktemp("dunning-cli") / "cli.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("demo", "--persons", "6", env=env).returncode == 0
    factory = make_session_factory(make_engine(env["DATABASE_URL"]))
    with factory() as session:
        m = get_by_slug(session, "musterstadt")
        session.add(
            Statute(
                municipality_id=m.id,
                levy="dunning",
                valid_from=date(2020, 1, 1),
                source="Mahnordnung (Test)",
                data=dunning_statute(m),
            )
        )
        session.commit()
    return env


def _dunning_claims(env: dict[str, str]) -> int:
    factory = make_session_factory(make_engine(env["DATABASE_URL"]))
    with factory() as session:
        m = get_by_slug(session, "musterstadt")
        assert sum(trial_balance(session, m.id).values()) == 0
        return int(
            session.scalar(
                select(func.count(Claim.id)).where(
                    Claim.municipality_id == m.id,
                    Claim.kind == ClaimKind.LATE_PAYMENT_SURCHARGE,
                )
            )
            or 0
        )


def test_preview_approve_book(demo_env: dict[str, str]) -> None:
    as_of = (clock.today() + timedelta(days=30)).isoformat()
    shown = run(
        "dunning", "run", "--as-of", as_of, "--municipality", "musterstadt", "--preview",
        env=demo_env,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    assert "Stufe 1 „Zahlungserinnerung“" in shown.stdout and "Säumniszuschlag" in shown.stdout
    assert "Nur Vorschau: nichts gespeichert." in shown.stdout
    factory = make_session_factory(make_engine(demo_env["DATABASE_URL"]))
    with factory() as session:
        assert session.scalar(select(func.count(DunningRun.id))) == 0

    made = run(
        "dunning", "run", "--as-of", as_of, "--municipality", "musterstadt", "--actor", "user:1",
        env=demo_env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    found = re.search(r"Mahnlauf Nr\. (\d+)", made.stdout)
    assert found
    number = found.group(1)
    same = run("dunning", "approve", number, "--actor", "user:1", env=demo_env)
    assert same.returncode != 0 and "Vier-Augen-Prinzip" in same.stderr
    approved = run("dunning", "approve", number, "--actor", "user:2", env=demo_env)
    assert approved.returncode == 0 and "freigegeben von user:2" in approved.stdout

    booked = run("dunning", "book", number, "--actor", "user:2", env=demo_env)
    assert booked.returncode == 0, booked.stderr
    surcharges = _dunning_claims(demo_env)
    with factory() as session:  # the letters' surcharges (those of claims paid late: besides)
        of_letters = session.scalar(
            select(func.count(DunningItem.surcharge_claim_id)).where(
                DunningItem.surcharge_claim_id.is_not(None)
            )
        )
    assert surcharges >= (of_letters or 0) > 0
    assert f"{of_letters} Säumniszuschläge" in booked.stdout
    again = run("dunning", "book", number, env=demo_env)
    assert again.returncode == 0 and "0 Mahnschreiben" in again.stdout
    assert _dunning_claims(demo_env) == surcharges
    with factory() as session:
        assert session.get_one(DunningRun, int(number)).state is RunState.BOOKED
        made_pdfs = re.search(
            r"gebucht: (\d+) Mahnschreiben.*, (\d+) Mahnschreiben als PDF", booked.stdout
        )
        assert made_pdfs and made_pdfs.group(1) == made_pdfs.group(2) != "0"  # one PDF per letter
        assert "0 Mahnschreiben als PDF archiviert" in again.stdout  # and never a second one
        assert (
            letters.pending(session, session.get_one(DunningRun, int(number)).municipality_id) == []
        )
