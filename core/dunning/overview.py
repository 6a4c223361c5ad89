"""What the back-office screens of dunning read, nothing written: the municipality's runs, a
run's totals (per level and in all), its letters one page at a time — a weekly run of a large
town has a quarter of a million letters, so a page is a LIMIT/OFFSET query, never the whole
run —, the jobs that book a run, and each claim's dunning history on the person page.

A few aggregate statements per screen, none per letter or claim.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.dunning.models import (
    RUN_STATE_LABELS,
    DunningItem,
    DunningLetter,
    DunningRun,
    RunState,
)
from core.jobs import four_eyes
from core.persons.models import Person

PER_PAGE = 50
BOOKING_KIND = "dunning"  # core.dunning.jobs.BookDunningRun.name


@dataclass(frozen=True)
class LevelFigures:
    level: int
    name: str
    letters: int
    persons: int
    items: int
    open_cents: int
    fee_cents: int
    surcharge_cents: int
    total_cents: int


@dataclass(frozen=True)
class RunFigures:
    persons: int
    letters: int
    items: int
    open_cents: int
    fee_cents: int
    surcharge_cents: int
    total_cents: int
    levels: tuple[LevelFigures, ...]


def figures(session: Session, run: DunningRun) -> RunFigures:
    """The run's totals: persons, letters, items, open amounts, fees and surcharges, per level."""
    items_per_level = {
        int(level): int(n)
        for level, n in session.execute(
            select(DunningLetter.level, func.count(DunningItem.id))
            .join(DunningItem, DunningItem.letter_id == DunningLetter.id)
            .where(DunningLetter.run_id == run.id)
            .group_by(DunningLetter.level)
        )
    }
    rows = session.execute(
        select(
            DunningLetter.level,
            func.min(DunningLetter.level_name),
            func.count(DunningLetter.id),
            func.count(DunningLetter.person_id.distinct()),
            func.coalesce(func.sum(DunningLetter.open_cents), 0),
            func.coalesce(func.sum(DunningLetter.fee_cents), 0),
            func.coalesce(func.sum(DunningLetter.surcharge_cents), 0),
            func.coalesce(func.sum(DunningLetter.total_cents), 0),
        )
        .where(DunningLetter.run_id == run.id)
        .group_by(DunningLetter.level)
        .order_by(DunningLetter.level)
    )
    levels = tuple(
        LevelFigures(
            int(level), str(name), int(letters), int(persons),
            int(items_per_level.get(level, 0)), int(open_), int(fee), int(surcharge), int(total),
        )
        for level, name, letters, persons, open_, fee, surcharge, total in rows
    )  # fmt: skip
    persons = session.scalar(
        select(func.count(DunningLetter.person_id.distinct())).where(DunningLetter.run_id == run.id)
    )
    return RunFigures(
        persons=int(persons or 0),
        letters=sum(lv.letters for lv in levels),
        items=sum(lv.items for lv in levels),
        open_cents=sum(lv.open_cents for lv in levels),
        fee_cents=sum(lv.fee_cents for lv in levels),
        surcharge_cents=sum(lv.surcharge_cents for lv in levels),
        total_cents=sum(lv.total_cents for lv in levels),
        levels=levels,
    )


@dataclass(frozen=True)
class LetterPage:
    letters: list[DunningLetter]
    persons: dict[int, Person]
    number: int  # 1-based, within 1..pages
    pages: int  # at least 1
    count: int  # letters matching in all


def letters_page(
    session: Session,
    run: DunningRun,
    page: int,
    *,
    person_ids: Collection[int] | None = None,
    per_page: int | None = None,
) -> LetterPage:
    """One page of the run's letters (in the order they were stored: by person, then level),
    optionally only those of ``person_ids`` (a search); a page past the last is the last."""
    per_page = per_page or PER_PAGE
    where = [DunningLetter.run_id == run.id]
    if person_ids is not None:
        where.append(DunningLetter.person_id.in_(list(person_ids)))
    count = int(session.scalar(select(func.count(DunningLetter.id)).where(*where)) or 0)
    pages = max(1, -(-count // per_page))
    number = min(max(page, 1), pages)
    letters = list(
        session.scalars(
            select(DunningLetter)
            .where(*where)
            .order_by(DunningLetter.id)
            .offset((number - 1) * per_page)
            .limit(per_page)
        )
    )
    ids = {letter.person_id for letter in letters}
    persons = (
        {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))} if ids else {}
    )
    return LetterPage(letters, persons, number, pages, count)


def runs_of(session: Session, municipality_id: int, limit: int = 50) -> list[DunningRun]:
    """The municipality's latest runs, the newest first."""
    return four_eyes.runs_of(session, DunningRun, municipality_id, limit)


def letter_counts(session: Session, run_ids: Collection[int]) -> dict[int, int]:
    """Letters per run (no query for no runs)."""
    if not run_ids:
        return {}
    rows = session.execute(
        select(DunningLetter.run_id, func.count(DunningLetter.id))
        .where(DunningLetter.run_id.in_(list(run_ids)))
        .group_by(DunningLetter.run_id)
    )
    return {int(run_id): int(n) for run_id, n in rows}


@dataclass(frozen=True)
class HistoryStep:
    """One letter a claim was (or in an open run is to be) part of."""

    run_id: int
    run_date: date
    run_state: RunState
    level: int
    level_name: str
    open_cents: int
    fee_cents: int
    surcharge_cents: int
    booked: bool

    @property
    def run_state_label(self) -> str:
        return RUN_STATE_LABELS[self.run_state]


def claim_history(session: Session, person: Person) -> dict[int, list[HistoryStep]]:
    """Per claim of the person the letters of runs not discarded, the oldest first: booked
    ones set the claim's level, those of an open run (preview, approved) are only planned."""
    rows = session.execute(
        select(
            DunningItem.claim_id,
            DunningRun.id,
            DunningRun.run_date,
            DunningRun.state,
            DunningItem.level,
            DunningLetter.level_name,
            DunningItem.open_cents,
            DunningItem.fee_cents,
            DunningItem.surcharge_cents,
            DunningItem.booked,
        )
        .join(DunningLetter, DunningLetter.id == DunningItem.letter_id)
        .join(DunningRun, DunningRun.id == DunningLetter.run_id)
        .where(
            DunningLetter.person_id == person.id,
            DunningLetter.municipality_id == person.municipality_id,
            DunningRun.state != RunState.DISCARDED,
        )
        .order_by(DunningRun.run_date, DunningItem.level, DunningItem.id)
    )
    found: dict[int, list[HistoryStep]] = {}
    for claim_id, *step in rows:
        found.setdefault(int(claim_id), []).append(HistoryStep(*step))
    return found
