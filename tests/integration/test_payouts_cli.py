"""`openkasse payouts run|approve` on a fresh database: the preview stores nothing, the
preparer cannot approve, a second person's approval books the payout once and writes a valid
pain.001 file."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from core.kernel.db import make_engine, make_session_factory
from core.ledger.balances import credit_balance, trial_balance
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.payments.payouts.accounts import record_payout_account
from core.payments.payouts.pain001 import validate
from core.persons.models import Person
from tests import factories

SCRIPT = Path(sys.executable).with_name("openkasse")
DAY = date(2026, 3, 1)


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


def test_preview_four_eyes_and_approval(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    assert run("db", "upgrade", env=env).returncode == 0
    factory = make_session_factory(make_engine(env["DATABASE_URL"]))
    with factory() as session:
        m = factories.municipality(session, slug="auszahl")
        person = factories.person(session, m)
        record_payment(
            session,
            person=person,
            amount_cents=4321,
            channel=PaymentChannel.BANK_TRANSFER,
            received_on=DAY,
            as_of=DAY,
            actor="test",
        )
        record_payout_account(
            session, person, iban="DE02120300000000202051", account_holder="Testa", actor="t"
        )
        session.commit()
        person_id = person.id

    shown = run("payouts", "run", "--as-of", "2026-03-01", "--preview", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "43,21" in shown.stdout and "DE02 **** **** 2051" in shown.stdout
    assert "nichts gespeichert" in shown.stdout

    prepared = run("payouts", "run", "--as-of", "2026-03-01", "--actor", "anna", env=env)
    assert prepared.returncode == 0, prepared.stderr
    assert "Nr. 1 wartet auf Freigabe" in prepared.stdout

    out = tmp_path / "auszahlung.xml"
    refused = run("payouts", "approve", "1", "--by", "anna", "--out", str(out), env=env)
    assert refused.returncode != 0 and "Vier-Augen-Prinzip" in refused.stderr
    assert not out.exists()

    approved = run("payouts", "approve", "1", "--by", "bernd", "--out", str(out), env=env)
    assert approved.returncode == 0, approved.stderr
    assert "1 Auszahlungen" in approved.stdout
    validate(out.read_bytes())
    again = run("payouts", "approve", "1", "--by", "carla", env=env)
    assert again.returncode != 0 and "ausgeführt" in again.stderr

    with factory() as session:
        person = session.get_one(Person, person_id)
        assert credit_balance(session, person) == 0
        assert sum(trial_balance(session, person.municipality_id).values()) == 0
