"""Checking the second instalment plans as a job (core.dunning.instalment_jobs, kind
``instalment_plans``): a paid plan completes and a plan with a missed instalment ends, their
blocks end on the job's day; a chunk done twice changes nothing; a future day or a town without
second plans is refused in German. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.dunning import blocks
from core.dunning.instalment_models import InstalmentPlan, PlanState
from core.dunning.instalment_rules import suggested_dates
from core.dunning.instalments import submit_request
from core.jobs import control, worker
from core.jobs.kinds import KINDS
from core.jobs.models import Job, JobState
from core.kernel.errors import ValidationError
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

TODAY = date(2026, 3, 2)
CHECK = date(2026, 5, 20)
DUE = date(2026, 2, 15)


@pytest.fixture
def town(make: Any, monkeypatch: pytest.MonkeyPatch) -> Municipality:
    monkeypatch.setenv("OPENKASSE_TODAY", CHECK.isoformat())
    m = make.municipality()
    make.instalment_statute(m)
    make.dunning_statute(m)
    return m


def _plan(db: Session, m: Municipality, person: Person, claim: Claim) -> InstalmentPlan:
    application = submit_request(
        db, person=person, municipality=m, claim_ids=[claim.id],
        dates=suggested_dates(date(2026, 4, 1), 2), reason="Kurzarbeit", as_of=TODAY,
        actor="citizen:test",
    )  # fmt: skip
    return db.get_one(InstalmentPlan, application.data["plan_id"])


def _pay(db: Session, person: Person, claim: Claim, cents: int, day: date) -> None:
    record_payment(
        db, person=person, amount_cents=cents, received_on=day, as_of=day, actor="bank",
        channel=PaymentChannel.BANK_TRANSFER, kassenzeichen=claim.kassenzeichen,
    )  # fmt: skip


def test_the_job_completes_paid_plans_and_ends_missed_ones(
    db: Session, make: Any, town: Municipality, session_factory: sessionmaker[Session]
) -> None:
    paid_person, late_person, second_person = (make.person(town) for _ in range(3))
    paid = make.claim(town, paid_person, amount=20000, due=DUE)
    late = make.claim(town, late_person, amount=20000, due=DUE)
    second = make.claim(town, second_person, amount=20000, due=DUE)
    plans = [_plan(db, town, p, c) for p, c in
             ((paid_person, paid), (late_person, late), (second_person, second))]  # fmt: skip
    _pay(db, paid_person, paid, 20000, date(2026, 4, 1))
    _pay(db, second_person, second, 10000, date(2026, 4, 1))  # the 2nd, due 01.05., 19 days late
    _pay(db, late_person, late, 5000, date(2026, 4, 1))  # 1st instalment short: missed
    job = control.start(db, town, "instalment_plans", {}, actor="user:1")
    db.commit()

    assert worker.drain(session_factory, environment={}) == 1

    db.expire_all()
    assert db.get_one(Job, job.id).state is JobState.DONE
    assert [p.state for p in plans] == [
        PlanState.COMPLETED, PlanState.TERMINATED, PlanState.TERMINATED
    ]  # fmt: skip
    assert all(p.ended_on == CHECK for p in plans)
    assert not blocks.is_blocked(db, paid, CHECK + date.resolution)
    assert not blocks.is_blocked(db, late, CHECK + date.resolution)
    kind = KINDS["instalment_plans"]
    assert control.summary(job, control.progress(db, job)) == (
        "Ratenpläne zum 20.05.2026: 3 geprüft, 1 erledigt, 2 wegen versäumter Rate beendet."
    )
    again = kind.run(db, town, job.params, [p.id for p in plans], actor="x", environment={})
    assert again == {}  # no plan runs any more: nothing done twice


def test_a_future_day_or_no_running_plan_is_refused(db: Session, town: Municipality) -> None:
    with pytest.raises(ValidationError, match="nicht in der Zukunft"):
        control.preview(db, town, "instalment_plans", {"as_of": "2026-05-21"})
    with pytest.raises(ValidationError, match="JJJJ-MM-TT"):
        control.preview(db, town, "instalment_plans", {"as_of": "20.05.2026"})
    with pytest.raises(ValidationError, match="kein Ratenplan"):
        control.preview(db, town, "instalment_plans", {"as_of": "2026-05-20"})
