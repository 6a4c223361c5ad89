"""The one four-eyes shape of every run (core.jobs.four_eyes), through each area's own
approve and discard: nobody approves their own preview, only a preview is approved or
discarded, and each step is in the audit trail under the run's own name; each area's get_run
and runs_of see only the municipality's own runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning import overview
from core.dunning import runs as dunning_runs
from core.dunning.models import DunningRun
from core.dunning.models import RunState as DunningState
from core.kernel.audit import AuditEvent
from core.kernel.errors import IllegalTransition, NotFound, ValidationError
from core.payments.payouts import runs as payout_runs
from core.payments.payouts.models import PayoutRun, PayoutRunState
from core.retention import runs as retention_runs
from core.retention.models import RetentionRun
from core.retention.models import RunState as RetentionState
from tests import factories

DAY = date(2026, 3, 2)
PREPARER, SECOND = "user:1", "user:2"


@dataclass(frozen=True)
class Kind:
    noun: str
    audit: str
    make: Callable[[int], Any]
    approve: Callable[[Session, Any, str], object]
    discard: Callable[[Session, Any, str], None]
    get_run: Callable[[Session, int, int], Any]
    runs_of: Callable[..., list[Any]]


KINDS = {
    "dunning": Kind(
        "Mahnlauf",
        "dunning_run",
        lambda m: DunningRun(
            municipality_id=m,
            run_date=DAY,
            state=DunningState.PREVIEW,
            procedure_source="Test",
            created_by=PREPARER,
        ),
        dunning_runs.approve,
        dunning_runs.discard,
        dunning_runs.get_run,
        overview.runs_of,
    ),
    "retention": Kind(
        "Löschlauf",
        "retention_run",
        lambda m: RetentionRun(
            municipality_id=m,
            as_of=DAY,
            state=RetentionState.PREVIEW,
            rules_source="Test",
            counts={},
            created_by=PREPARER,
        ),
        retention_runs.approve,
        retention_runs.discard,
        retention_runs.get_run,
        retention_runs.runs_of,
    ),
    "payouts": Kind(
        "Auszahlungslauf",
        "payout_run",
        lambda m: PayoutRun(
            municipality_id=m,
            as_of=DAY,
            execution_date=DAY,
            state=PayoutRunState.PREVIEW,
            created_by=PREPARER,
        ),
        lambda s, run, actor: payout_runs.approve(s, run, actor=actor, as_of=DAY),
        lambda s, run, actor: payout_runs.discard(s, run, actor=actor),
        payout_runs.get_run,
        payout_runs.runs_of,
    ),
}


def _actions(db: Session, run: Any) -> list[tuple[str, str, Any]]:
    events = db.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == run.__tablename__, AuditEvent.object_id == run.id)
        .order_by(AuditEvent.id)
    )
    return [(e.action, e.actor, e.after) for e in events]


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_second_person_approves_a_preview_and_only_a_preview(db: Session, name: str) -> None:
    kind = KINDS[name]
    municipality = factories.municipality(db)
    run = kind.make(municipality.id)
    db.add(run)
    db.flush()

    with pytest.raises(ValidationError, match=f"Wer den {kind.noun} vorbereitet hat"):
        kind.approve(db, run, PREPARER)
    assert run.approved_by is None and run.state == "preview"

    kind.approve(db, run, SECOND)
    assert run.approved_by == SECOND and run.approved_at is not None
    assert run.state != "preview"
    assert (f"{kind.audit}.approved", SECOND, {"created_by": PREPARER}) in _actions(db, run)

    with pytest.raises(IllegalTransition, match="verwerfen lässt sich nur eine Vorschau"):
        kind.discard(db, run, SECOND)
    with pytest.raises(IllegalTransition, match="kann nicht freigegeben werden"):
        kind.approve(db, run, "user:3")


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_discarded_preview_stays_discarded(db: Session, name: str) -> None:
    kind = KINDS[name]
    run = kind.make(factories.municipality(db).id)
    db.add(run)
    db.flush()

    kind.discard(db, run, PREPARER)  # the preparer may throw their own preview away
    assert run.state == "discarded"
    assert [a for a, _, _ in _actions(db, run)] == [f"{kind.audit}.discarded"]
    with pytest.raises(IllegalTransition, match=f"{kind.noun} Nr. {run.id} ist verworfen"):
        kind.approve(db, run, SECOND)
    assert run.approved_by is None


@pytest.mark.parametrize("name", sorted(KINDS))
def test_runs_are_found_only_in_their_own_municipality(db: Session, name: str) -> None:
    kind = KINDS[name]
    ours, theirs = factories.municipality(db), factories.municipality(db)
    runs = [kind.make(m.id) for m in (ours, ours, theirs, ours)]
    db.add_all(runs)
    db.flush()
    first, second, foreign, third = runs

    assert kind.get_run(db, ours.id, second.id) is second
    with pytest.raises(NotFound, match=f"^{kind.noun} Nr. {foreign.id} gibt es hier nicht.$"):
        kind.get_run(db, ours.id, foreign.id)
    assert kind.runs_of(db, ours.id) == [third, second, first]  # the newest first
    assert kind.runs_of(db, ours.id, limit=2) == [third, second]
    assert kind.runs_of(db, theirs.id) == [foreign]
