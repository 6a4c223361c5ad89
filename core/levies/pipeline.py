"""The one levy pipeline: every levy (dog tax, waste fees, water billing, and the ones to come)
is a :class:`Levy`, used by one annual run (:func:`run`), one change assessment of one subject
(:func:`assess_one`) and one booking of differences.

A levy says only what is its own: who is liable in a year (:meth:`Levy.liable`), what is on
file for them (:meth:`Levy.read`: the tax objects as facts, what is booked), its run guard and
statistics (:meth:`Levy.start`, :meth:`Levy.count`), and, from the statute's rules, what is
owed per instalment and what the notice prints (:meth:`Levy.assess`). The pipeline books only
the differences (:mod:`core.levies.booking`) and issues a notice only when something changed or
the year has no notice yet; running it twice changes nothing. An annual run reads a chunk,
assesses it in memory and writes it in bulk (:mod:`core.levies.assessing`), then the caller
commits: an interrupted run resumes where it stopped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from core.ledger.kinds import ClaimKind
from core.levies import assessing, run_guards
from core.levies.assessing import Assessment
from core.levies.cases import Case, gc_paused, tax_accounts_of
from core.notices.records import Notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

S = TypeVar("S")  # the subject of one assessment: a person (dog tax, waste fees), a meter (water)
F = TypeVar("F")  # what is on file for one subject: its tax objects (dogs, properties, readings)
R = TypeVar("R")  # the levy's rules for one run (its statutes, parsed)
St = TypeVar("St")  # the run's statistics, as the levy counts them


class Levy(ABC, Generic[S, F, R, St]):
    """One levy as configuration of the pipeline."""

    kind: ClaimKind  # ledger kind; its value is the levy code of statutes and notices

    @abstractmethod
    def rules(self, session: Session, municipality_id: int, year: int) -> R:
        """The rules of ``year`` (parsed once per run)."""

    @abstractmethod
    def liable(self, session: Session, municipality_id: int, year: int) -> list[S]:
        """Every subject liable in ``year`` or with something booked for it."""

    @abstractmethod
    def read(
        self, session: Session, municipality: Municipality, year: int, subjects: Sequence[S]
    ) -> list[Case[F]]:
        """What is on file for ``subjects`` (in their order), in a few queries for a chunk.
        Assessing one subject never changes what another's assessment depends on."""

    @abstractmethod
    def start(
        self,
        session: Session,
        municipality_id: int,
        year: int,
        as_of: date,
        *,
        rules: R,
        subjects: list[S],
        confirm_early: bool,
    ) -> St:
        """The levy's run guard beyond the year (raise a German error to refuse the run) and
        the run's statistics, empty."""

    @abstractmethod
    def count(self, stats: St, case: Case[F], notice: Notice | None) -> None:
        """Count one assessed subject into the run's statistics."""

    @abstractmethod
    def assess(self, case: Case[F], year: int, as_of: date, rules: R) -> Assessment | None:
        """What is owed and printed for one subject; None when nothing is on file."""

    @abstractmethod
    def key(self, subject: S) -> int:
        """The id a job stores for ``subject`` (core.levies.jobs)."""

    @abstractmethod
    def subjects_of(self, session: Session, municipality_id: int, keys: Sequence[int]) -> list[S]:
        """The subjects of ``keys`` (ids of :meth:`key`), in their order."""


class PersonLevy(Levy[int, F, R, St]):
    """A levy assessed per liable person (dog tax, waste fees): its two entry points."""

    def key(self, subject: int) -> int:
        return subject

    def subjects_of(self, session: Session, municipality_id: int, keys: Sequence[int]) -> list[int]:
        return list(keys)

    def assess_person(
        self,
        session: Session,
        *,
        person: Person,
        municipality: Municipality,
        year: int,
        as_of: date,
        actor: str,
        rules: R | None = None,
    ) -> Notice | None:
        """Change assessment of one person for ``year``; book the difference; return the
        new notice, if any."""
        return assess_one(
            session,
            self,
            person.id,
            municipality=municipality,
            year=year,
            as_of=as_of,
            actor=actor,
            rules=rules,
        )

    def assess_all(
        self,
        session: Session,
        *,
        municipality: Municipality,
        year: int,
        as_of: date,
        actor: str,
        chunk_size: int = 500,
        chunk_done: Callable[[int, int], None] = lambda _done, _total: None,
    ) -> St:
        """Annual assessment (Jahresveranlagung) of every liable person, in chunks (:func:`run`)."""
        return run(
            session,
            self,
            municipality=municipality,
            year=year,
            as_of=as_of,
            actor=actor,
            chunk_size=chunk_size,
            chunk_done=chunk_done,
        )


def assess_one(
    session: Session,
    levy: Levy[S, F, R, Any],
    subject: S,
    *,
    municipality: Municipality,
    year: int,
    as_of: date,
    actor: str,
    rules: R | None = None,
) -> Notice | None:
    """Change assessment of one subject for ``year`` (a chunk of one: see :func:`run`); books
    the difference; returns the new notice, if any."""
    [case] = levy.read(session, municipality, year, [subject])
    rules = rules if rules is not None else levy.rules(session, municipality.id, year)
    plan = assessing.plan(case, levy.assess(case, year, as_of, rules))
    if plan is None:
        return None
    how = assessing.Issuing(levy.kind, municipality, year, as_of, actor)
    return assessing.issue(
        session, how, plan, tax_accounts_of(session, levy.kind, [case.person.id])
    )


def plan(
    session: Session,
    levy: Levy[S, F, R, St],
    *,
    municipality: Municipality,
    year: int,
    as_of: date,
    confirm_early: bool = False,
) -> tuple[list[S], R, St]:
    """The run guards, then the subjects of an annual run, its rules and its statistics as the
    levy's start counts them (a job's plan: core.levies.jobs)."""
    run_guards.check_year(year, as_of)
    rules = levy.rules(session, municipality.id, year)
    subjects = levy.liable(session, municipality.id, year)
    stats = levy.start(
        session,
        municipality.id,
        year,
        as_of,
        rules=rules,
        subjects=subjects,
        confirm_early=confirm_early,
    )
    return subjects, rules, stats


def run_chunk(
    session: Session,
    levy: Levy[S, F, R, St],
    subjects: Sequence[S],
    *,
    how: assessing.Issuing,
    rules: R,
    stats: St,
    bulk: bool = True,
) -> None:
    """Assess and book one chunk of an annual run: what is on file for it is read up front,
    assessed in memory and written in bulk (:func:`assessing.issue_chunk`); ``bulk=False``
    books case by case, the same ledger (tests and the benchmark compare both). Doing a chunk
    again books nothing: only differences are booked."""
    with gc_paused():
        cases = levy.read(session, how.municipality, how.year, subjects)
        accounts = tax_accounts_of(session, levy.kind, {c.person.id for c in cases})
        plans = [assessing.plan(c, levy.assess(c, how.year, how.as_of, rules)) for c in cases]
        if bulk:
            notices = assessing.issue_chunk(session, how, plans, accounts)
        else:
            notices = [
                p if p is None else assessing.issue(session, how, p, accounts) for p in plans
            ]
        for case, notice in zip(cases, notices, strict=True):
            levy.count(stats, case, notice)


def run(
    session: Session,
    levy: Levy[S, F, R, St],
    *,
    municipality: Municipality,
    year: int,
    as_of: date,
    actor: str,
    chunk_size: int = 500,
    chunk_done: Callable[[int, int], None] = lambda _done, _total: None,
    confirm_early: bool = False,
    bulk: bool = True,
) -> St:
    """Annual run (Jahresveranlagung, Verbrauchsabrechnung) of every liable subject in this
    process, after the run guards; ``chunk_done(done, total)`` is called after each chunk so
    that the caller can commit and report progress (the job engine runs the same chunks on
    any number of workers: core.levies.jobs)."""
    subjects, rules, stats = plan(
        session,
        levy,
        municipality=municipality,
        year=year,
        as_of=as_of,
        confirm_early=confirm_early,
    )
    how = assessing.Issuing(levy.kind, municipality, year, as_of, actor)
    for start in range(0, len(subjects), chunk_size):
        chunk = subjects[start : start + chunk_size]
        run_chunk(session, levy, chunk, how=how, rules=rules, stats=stats, bulk=bulk)
        chunk_done(min(start + chunk_size, len(subjects)), len(subjects))
    return stats
