"""`openkasse dunning plans --as-of D` on a fresh demo database (its enacted instalment rules):
a plan whose first instalment is missed is ended, its block ends; run again, nothing changes."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from core.dunning.blocks import is_blocked
from core.dunning.instalment_models import InstalmentPlan, PlanState
from core.dunning.instalment_rules import suggested_dates
from core.dunning.instalments import create_plan, eligible_claims
from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.kernel.months import add_months
from core.persons.models import Person
from core.tenancy.municipalities import get_by_slug

SCRIPT = Path(sys.executable).with_name("openkasse")


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_plans_command_ends_a_plan_with_a_missed_instalment(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("demo", "--persons", "4", env=env).returncode == 0
    factory = make_session_factory(make_engine(env["DATABASE_URL"]))
    today = clock.today()
    first = add_months(today, 1)
    with factory() as session:
        m = get_by_slug(session, "musterstadt")
        people = session.scalars(select(Person).where(Person.municipality_id == m.id))
        person, claims = next(
            (p, found) for p in people if (found := eligible_claims(session, p, today))
        )
        plan = create_plan(
            session,
            person=person,
            municipality=m,
            claims=claims[:1],
            dates=suggested_dates(first, 1),
            as_of=today,
            actor="test",
        )
        session.commit()
        plan_id, claim = plan.id, claims[0][0]
    day = (first + timedelta(days=15)).isoformat()
    done = run("dunning", "plans", "--as-of", day, "--municipality", "musterstadt", env=env)
    assert done.returncode == 0, done.stderr
    assert "1 geprüft, 0 erledigt, 1 wegen versäumter Rate beendet" in done.stdout
    with factory() as session:
        assert session.get_one(InstalmentPlan, plan_id).state is PlanState.TERMINATED
        assert not is_blocked(session, claim, first + timedelta(days=16))
    again = run("dunning", "plans", "--as-of", day, "--municipality", "musterstadt", env=env)
    assert "0 geprüft" in again.stdout
