"""The `openkasse` console script: help, migrations and demo data on a fresh database."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.demo.identity import DEMO_PASSWORD, LOGINS
from core.identity import models as identity
from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.ledger.balances import trial_balance
from core.ledger.models import Claim, Payment
from core.ledger.queries import claims_of
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

SCRIPT = Path(sys.executable).with_name("openkasse")


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.fixture
def fresh_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}


def test_help_lists_the_commands(fresh_env: dict[str, str]) -> None:
    result = run("--help", env=fresh_env)
    assert result.returncode == 0, result.stderr
    for name in ("db", "demo", "run"):
        assert name in result.stdout


def test_upgrade_and_demo_on_a_fresh_database(fresh_env: dict[str, str]) -> None:
    upgraded = run("db", "upgrade", env=fresh_env)
    assert upgraded.returncode == 0, upgraded.stderr
    loaded = run("demo", "--persons", "6", env=fresh_env)
    assert loaded.returncode == 0, loaded.stderr
    assert "Demodaten geladen: 2 Kommunen" in loaded.stdout
    again = run("demo", "--if-empty", env=fresh_env)
    assert again.returncode == 0 and "bereits geladen" in again.stdout
    assert run("demo", env=fresh_env).returncode != 0  # never loads twice

    factory = make_session_factory(make_engine(fresh_env["DATABASE_URL"]))
    with factory() as session:
        municipalities = session.scalars(select(Municipality)).all()
        assert {m.slug for m in municipalities} == {"musterstadt", "beispielhausen"}
        assert session.scalar(select(func.count(Claim.id))) > 50
        assert session.scalar(select(func.count(Payment.id))) > 10
        for m in municipalities:
            assert sum(trial_balance(session, m.id).values()) == 0
        for login in LOGINS:
            assert identity.authenticate(session, login.email, DEMO_PASSWORD) is not None
        erika = session.scalars(select(Person).where(Person.family_name == "Mustermann")).one()
        views = claims_of(session, erika)
        assert any(v.open_cents and v.claim.due_date < clock.today() for v in views)  # overdue
        assert any(v.open_cents == 0 and not v.cancelled for v in views)  # paid
        session.rollback()


def test_assess_and_notices_commands(fresh_env: dict[str, str], tmp_path: Path) -> None:
    import json

    assert run("db", "upgrade", env=fresh_env).returncode == 0
    assert run("demo", "--persons", "8", env=fresh_env).returncode == 0
    year = clock.today().year + 1
    first = run(
        "assess",
        "dog-tax",
        "--as-of",
        f"{year}-01-10",
        "--municipality",
        "musterstadt",
        "--no-render",
        env=fresh_env,
    )
    assert first.returncode == 0, first.stderr
    assert f"Hundesteuer {year}" in first.stdout
    second = run(
        "assess",
        "dog-tax",
        "--as-of",
        f"{year}-01-10",
        "--municipality",
        "musterstadt",
        env=fresh_env,
    )
    assert second.returncode == 0, second.stderr
    assert "0 neue Bescheide" in second.stdout  # idempotent
    for again in (False, True):  # from the demo's basis notices; the second run books nothing
        assessed = run(
            "assess", "property-tax", "--as-of", f"{year}-01-10", "--municipality",
            "musterstadt", "--no-render", env=fresh_env,
        )  # fmt: skip
        assert assessed.returncode == 0, assessed.stderr
        assert f"Grundsteuer {year}" in assessed.stdout and "Grundstücke" in assessed.stdout
        assert (", 0 neue Bescheide" in assessed.stdout) is again

    this_year = str(year - 1)  # no readings yet in the demo: every meter is estimated
    water_args = ("assess", "water", "--period", this_year, "--municipality", "musterstadt")
    early = run(*water_args, env=fresh_env)  # the period's reading deadline has not passed
    assert early.returncode != 0
    assert "Ablesefrist" in early.stderr and "--confirm-early" in early.stderr
    assert f"bis 15.01.{year}" in early.stdout and "Geschätzt würden" in early.stdout
    water = run(*water_args, "--confirm-early", env=fresh_env)
    assert water.returncode == 0, water.stderr
    assert "Abrechnungen, davon" in water.stdout and " 0 Abrechnungen" not in water.stdout
    again = run(*water_args, "--confirm-early", env=fresh_env)
    assert " 0 Abrechnungen" in again.stdout  # idempotent

    listed = run("notices", "list", "--json", env=fresh_env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert rows
    for key in (
        "id",
        "municipality",
        "person_name",
        "kind",
        "kassenzeichen",
        "amount_cents",
        "issued_on",
    ):
        assert key in rows[0]
    newest = max((r for r in rows if r["kind"] == "dog_tax"), key=lambda r: r["id"])
    assert newest["issued_on"] == f"{year}-01-10" and newest["rendered"]  # rendered by the run
    out = tmp_path / "bescheid.pdf"
    rendered = run("notices", "render", str(newest["id"]), "--out", str(out), env=fresh_env)
    assert rendered.returncode == 0, rendered.stderr
    assert out.read_bytes().startswith(b"%PDF")
    assert "SHA-256" in rendered.stdout
    assert run("notices", "render", "999999", "--out", str(out), env=fresh_env).returncode != 0

    new_notices = []
    for _ in range(2):  # the second run changes nothing
        waste = run("assess", "waste", "--as-of", f"{year}-01-10", "--no-render", env=fresh_env)
        assert waste.returncode == 0, waste.stderr
        assert f"Abfallgebühren {year}" in waste.stdout
        new_notices.append([int(n) for n in re.findall(r"(\d+) neue Bescheide", waste.stdout)])
    assert all(new_notices[0]) and len(new_notices[0]) == 2 and new_notices[1] == [0, 0]


@pytest.mark.parametrize("year", ["abc", "-5", "1999", "2100"])
def test_annual_runs_refuse_a_year_far_from_today(
    fresh_env: dict[str, str], tmp_path: Path, year: str
) -> None:
    """Refused in German before anything is read or booked (no database needed)."""
    as_of = f"{clock.today().year}-12-01"
    for args in (
        ("assess", "dog-tax", "--as-of", as_of, "--year", year),
        ("assess", "waste", "--as-of", as_of, "--year", year),
        ("assess", "property-tax", "--as-of", as_of, "--year", year),
        ("assess", "water", "--period", year, "--confirm-early"),
        ("meters", "cards", "--period", year, "--out", str(tmp_path / "karten.pdf")),
    ):
        result = run(*args, env=fresh_env)
        assert result.returncode != 0, args
        assert "vierstellig" in result.stderr or "kein Lauf möglich" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and "Invalid value" not in result.stderr
