"""Retention runs (Löschläufe): preview → approval by a second person → execution as a job.

:func:`preview` lists what a run on an as-of date would delete (nothing written);
:func:`open_run` stores it as a run in state preview with its items; :func:`approve` is the
four-eyes step (the one who prepared the run is refused) and starts the job
(core/retention/jobs.py) that does the items in chunks. One open run at a time per
municipality (under the municipality's ``retention`` lock). The as-of date is never in the
future: a period cannot be counted as over before it is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.jobs import control, four_eyes
from core.jobs.kinds import Plan, kind_named
from core.kernel import audit, clock
from core.kernel.errors import IllegalTransition, ValidationError
from core.retention.models import RetentionItem, RetentionRun, RunState
from core.retention.planning import Found, find
from core.retention.rules import CATEGORIES, RetentionRules, rules_on
from core.tenancy.municipalities import Municipality, serialize

LOCK = "retention"
NAMES = four_eyes.RunNames(noun="Löschlauf", audit="retention_run")
JOB_KIND = "retention"  # core.retention.jobs.RetentionJob.name
OPEN_STATES = (RunState.PREVIEW, RunState.APPROVED)


@dataclass(frozen=True)
class Preview:
    as_of: date
    rules: RetentionRules
    items: list[Found]

    @property
    def due(self) -> list[Found]:
        return [i for i in self.items if i.blocked is None]

    @property
    def blocked(self) -> list[Found]:
        return [i for i in self.items if i.blocked is not None]

    def counts(self) -> dict[str, int]:
        """Per category the number of records due (not blocked)."""
        return dict(Counter(i.category for i in self.due))


def _check_as_of(as_of: date) -> None:
    if as_of > clock.today():
        raise ValidationError(
            f"Der Stichtag {as_of:%d.%m.%Y} liegt in der Zukunft; gelöscht wird nur, was "
            "heute schon abgelaufen ist."
        )


def preview(session: Session, municipality: Municipality, as_of: date) -> Preview:
    """What a run on ``as_of`` would delete and what is blocked (nothing is written)."""
    _check_as_of(as_of)
    rules = rules_on(session, municipality.id, as_of)
    return Preview(as_of, rules, find(session, municipality.id, as_of, rules))


def open_run(
    session: Session, municipality: Municipality, as_of: date, actor: str
) -> tuple[RetentionRun, Preview]:
    """A run in state preview with its items (nothing is deleted)."""
    serialize(session, municipality.id, LOCK)
    found = session.scalar(
        select(RetentionRun.id).where(
            RetentionRun.municipality_id == municipality.id, RetentionRun.state.in_(OPEN_STATES)
        )
    )
    if found is not None:
        raise IllegalTransition(
            f"Löschlauf Nr. {found} ist noch offen. Bitte erst ihn ausführen oder verwerfen."
        )
    shown = preview(session, municipality, as_of)
    run = RetentionRun(
        municipality_id=municipality.id,
        as_of=as_of,
        state=RunState.PREVIEW,
        rules_source=shown.rules.source[:300],
        counts=shown.counts(),
        created_by=actor,
    )
    session.add(run)
    session.flush()
    rows = [
        {
            "municipality_id": municipality.id,
            "run_id": run.id,
            "object_type": item.object_type,
            "object_id": item.object_id,
            "category": item.category,
            "person_id": item.person_id,
            "made_on": item.made_on,
            "due_on": item.due_on,
            "rule": item.rule,
            "blocked": item.blocked,
            "details": item.details,
        }
        for item in shown.items
    ]
    if rows:
        session.execute(insert(RetentionItem), rows)
    audit.record(
        session,
        actor=actor,
        action="retention_run.previewed",
        obj=run,
        municipality_id=municipality.id,
        after={"as_of": as_of.isoformat(), "due": run.counts, "blocked": len(shown.blocked)},
    )
    return run, shown


def approve(session: Session, run: RetentionRun, actor: str) -> int | None:
    """The second person's approval (Vier-Augen-Prinzip); starts the job that deletes. The
    job's id, or None when nothing is due (the run is done at once)."""
    four_eyes.approve(session, run, actor, NAMES)
    run.state = RunState.APPROVED
    session.flush()
    keys = open_items(session, run)
    if not keys:
        finish(session, run)
        return None
    kind = kind_named(JOB_KIND)
    municipality = session.get_one(Municipality, run.municipality_id)
    params = {"run": run.id}
    made = Plan(keys, [f"{len(keys)} Einträge werden gelöscht oder anonymisiert."])
    job = control.start_planned(session, municipality, kind, params, made, actor=actor)
    run.job_id = job.id
    session.flush()
    return job.id


def open_items(session: Session, run: RetentionRun) -> list[int]:
    """The run's items due and not done yet, in order (documents before persons)."""
    return list(
        session.scalars(
            select(RetentionItem.id)
            .where(
                RetentionItem.run_id == run.id,
                RetentionItem.blocked.is_(None),
                RetentionItem.done_at.is_(None),
            )
            .order_by(RetentionItem.id)
        )
    )


def finish(session: Session, run: RetentionRun) -> None:
    if run.state is RunState.DONE:
        return
    run.state = RunState.DONE
    session.flush()
    audit.record(
        session,
        actor="system",
        action="retention_run.done",
        obj=run,
        municipality_id=run.municipality_id,
    )


def discard(session: Session, run: RetentionRun, actor: str) -> None:
    four_eyes.refuse_unless_preview(run, NAMES)
    run.state = RunState.DISCARDED
    four_eyes.record_discarded(session, run, actor, NAMES)


def get_run(session: Session, municipality_id: int, run_id: int) -> RetentionRun:
    return four_eyes.get_run(session, RetentionRun, NAMES, municipality_id, run_id)


def runs_of(session: Session, municipality_id: int, limit: int = 50) -> list[RetentionRun]:
    """The municipality's latest runs, the newest first."""
    return four_eyes.runs_of(session, RetentionRun, municipality_id, limit)


def items_of(
    session: Session, run: RetentionRun, *, blocked: bool | None = None, limit: int = 500
) -> list[RetentionItem]:
    """The run's first ``limit`` items (only the due or only the blocked ones, when asked)."""
    query = select(RetentionItem).where(RetentionItem.run_id == run.id)
    if blocked is not None:
        query = query.where(
            RetentionItem.blocked.is_not(None) if blocked else RetentionItem.blocked.is_(None)
        )
    return list(session.scalars(query.order_by(RetentionItem.id).limit(limit)))


@dataclass(frozen=True)
class Figures:
    due: dict[str, int]  # per category, not blocked
    done: int
    blocked: int


def figures(session: Session, run: RetentionRun) -> Figures:
    """The run's counts in one query (a large town's run has far more items than a page)."""
    due: Counter[str] = Counter()
    done = blocked = 0
    for category, is_blocked, is_done, count in session.execute(
        select(
            RetentionItem.category,
            RetentionItem.blocked.is_not(None),
            RetentionItem.done_at.is_not(None),
            func.count(),
        )
        .where(RetentionItem.run_id == run.id)
        .group_by(
            RetentionItem.category,
            RetentionItem.blocked.is_not(None),
            RetentionItem.done_at.is_not(None),
        )
    ):
        if is_blocked:
            blocked += count
            continue
        due[category] += count
        done += count if is_done else 0
    return Figures(dict(due), done, blocked)


def category_label(key: str) -> str:
    return CATEGORIES[key].label if key in CATEGORIES else key
