"""`openkasse sepa …` and `openkasse bank import` on a fresh demo database: the demo's mandates
give a direct-debit file straight away; the bank's statement for it is matched completely."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sepaxml
from lxml import etree

from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.payments.sepa.bank_days import next_target_day
from tests.camt_files import build_camt053, statement_from_pain008

SCRIPT = Path(sys.executable).with_name("openkasse")
XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.08.xsd"


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    path = tmp_path_factory.mktemp("sepa-cli") / "cli.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}
    assert run("db", "upgrade", env=env).returncode == 0
    loaded = run("demo", "--persons", "12", env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert "Lastschriftmandate" in loaded.stdout
    return env


def test_prenotify_refuses_a_date_too_early(demo_env: dict[str, str]) -> None:
    from datetime import timedelta

    day = next_target_day(clock.today() + timedelta(days=3))
    result = run(
        "sepa", "prenotify", "--collection-date", day.isoformat(), "--municipality",
        "musterstadt", env=demo_env,
    )  # fmt: skip
    assert result.returncode != 0 and "14 Tage" in result.stderr


def test_prenotify_again_prints_the_letters(demo_env: dict[str, str], tmp_path: Path) -> None:
    from datetime import timedelta

    day = next_target_day(clock.today() + timedelta(days=14))  # the day the demo announced
    letters = tmp_path / "briefe.pdf"
    result = run(
        "sepa", "prenotify", "--collection-date", day.isoformat(), "--municipality",
        "musterstadt", "--letters", str(letters), env=demo_env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "0 Posten" in result.stdout and "schon angekündigt" in result.stdout
    assert "Briefe zum Druck" in result.stdout
    assert letters.read_bytes().startswith(b"%PDF")


def test_direct_debit_file_and_statement_round_trip(
    demo_env: dict[str, str], tmp_path: Path
) -> None:
    from datetime import timedelta

    day = next_target_day(clock.today() + timedelta(days=14))
    out = tmp_path / "lastschrift.xml"
    exported = run(
        "sepa", "export", "--collection-date", day.isoformat(), "--out", str(out),
        "--municipality", "musterstadt", env=demo_env,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert "Lastschriften" in exported.stdout
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.parse(str(out)))
    again = run(
        "sepa", "export", "--collection-date", day.isoformat(), "--out", str(tmp_path / "2.xml"),
        "--municipality", "musterstadt", env=demo_env,
    )  # fmt: skip
    assert again.returncode != 0 and "Keine einziehbaren Posten" in again.stderr
    assert not (tmp_path / "2.xml").exists()

    xml = out.read_bytes()
    first_e2e = etree.fromstring(xml).xpath(
        "string(//p:EndToEndId)", namespaces={"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
    )
    statement = statement_from_pain008(
        xml, iban="DE89370400440532013000", booked_on=day, returns={first_e2e: "AM04"}
    )
    camt = tmp_path / "auszug.xml"
    camt.write_bytes(build_camt053(statement))
    imported = run("bank", "import", str(camt), "--as-of", day.isoformat(), env=demo_env)
    assert imported.returncode == 0, imported.stderr
    assert "Trefferquote 100,0 %" in imported.stdout
    assert "1 Rücklastschriften (1 Gebühren, 0 Mandate ausgesetzt)" in imported.stdout
    twice = run("bank", "import", str(camt), env=demo_env)
    assert twice.returncode == 0 and "Bereits eingelesen" in twice.stdout

    broken = tmp_path / "kaputt.xml"
    broken.write_bytes(build_camt053(statement)[:-40])
    refused = run("bank", "import", str(broken), "--municipality", "musterstadt", env=demo_env)
    assert refused.returncode != 0 and "nichts gebucht" in refused.stderr

    factory = make_session_factory(make_engine(demo_env["DATABASE_URL"]))
    with factory() as session:
        from core.ledger.accounts import system_account
        from core.ledger.balances import account_balance, trial_balance
        from core.tenancy.municipalities import get_by_slug

        m = get_by_slug(session, "musterstadt")
        assert account_balance(session, system_account(session, m.id, "1820")) == 0
        assert sum(trial_balance(session, m.id).values()) == 0
