"""The one levy pipeline: every levy (dog tax, waste fees, water billing, and the ones to come)
is a :class:`Levy`, used by one annual run (:func:`run`), one change assessment of one subject
(:func:`assess_one`) and one booking of differences.

A levy says only what is its own: who is liable in a year (:meth:`Levy.liable`), what is on
file for them (:meth:`Levy.read`: the tax objects as facts, what is booked), its run guard and
statistics (:meth:`Levy.start`, :meth:`Levy.count`), and, from the statute's rules, what is
owed per instalment and what the notice prints (:meth:`Levy.assess`). The pipeline books only
the differences (:mod:`core.levies.booking`) and issues a notice only when something changed or
the year has no notice yet; running it twice changes nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from core.ledger.accounts import open_tax_account
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, TaxAccount
from core.levies import booking, run_guards
from core.levies.cases import Case, tax_accounts_of
from core.levies.prenotification import with_direct_debit
from core.levies.schedule import Schedule, balances_of, schedule, settle
from core.notices.records import Notice, new_notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

S = TypeVar("S")  # the subject of one assessment: a person (dog tax, waste fees), a meter (water)
F = TypeVar("F")  # what is on file for one subject: its tax objects (dogs, properties, readings)
R = TypeVar("R")  # the levy's rules for one run (its statutes, parsed)
St = TypeVar("St")  # the run's statistics, as the levy counts them

INSTALMENTS = "instalments"  # the payment table of the assessed year (others: "advances")


@dataclass(frozen=True)
class Table:
    """One payment table of the notice: what is owed per key for one year."""

    year: int
    targets: list[booking.Target]


@dataclass(frozen=True)
class Assessment:
    """What a levy computes for one subject (no database): the payment tables and the notice.

    ``snapshot(rows, first, payable_cents)`` is the notice's printed snapshot given the payment
    rows per table as they stand before the booking; ``title(first)`` its title."""

    tables: dict[str, Table]  # INSTALMENTS first, then e.g. the next year's advances
    total_cents: int
    printable: bool  # something to print: a year without anything liable gets no first notice
    title: Callable[[bool], str]
    snapshot: Callable[[dict[str, Schedule], bool, int], dict[str, Any]]


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


class PersonLevy(Levy[int, F, R, St]):
    """A levy assessed per liable person (dog tax, waste fees): its two entry points."""

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
    return _assess(
        session,
        levy,
        case,
        municipality=municipality,
        year=year,
        as_of=as_of,
        actor=actor,
        rules=rules if rules is not None else levy.rules(session, municipality.id, year),
        accounts=tax_accounts_of(session, levy.kind, [case.person.id]),
    )


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
) -> St:
    """Annual run (Jahresveranlagung, Verbrauchsabrechnung) of every liable subject, after the
    run guards; ``chunk_done(done, total)`` is called after each chunk so that the caller can
    commit and report progress. What is on file for a chunk is read up front."""
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
    for start in range(0, len(subjects), chunk_size):
        cases = levy.read(session, municipality, year, subjects[start : start + chunk_size])
        accounts = tax_accounts_of(session, levy.kind, {c.person.id for c in cases})
        for case in cases:
            notice = _assess(
                session,
                levy,
                case,
                municipality=municipality,
                year=year,
                as_of=as_of,
                actor=actor,
                rules=rules,
                accounts=accounts,
            )
            levy.count(stats, case, notice)
        chunk_done(min(start + chunk_size, len(subjects)), len(subjects))
    return stats


def _assess(
    session: Session,
    levy: Levy[Any, F, R, Any],
    case: Case[F],
    *,
    municipality: Municipality,
    year: int,
    as_of: date,
    actor: str,
    rules: R,
    accounts: dict[int, TaxAccount],
) -> Notice | None:
    """Assess one case; issue the notice and book the differences of each payment table."""
    assessment = levy.assess(case, year, as_of, rules)
    if assessment is None:
        return None
    tables = assessment.tables
    changes = {
        name: booking.plan(table.targets, case.booked[table.year][0])
        for name, table in tables.items()
    }
    if not any(changes.values()) and (case.has_notice or not assessment.printable):
        return None
    person = case.person
    account = _tax_account(session, levy, person, municipality, accounts)
    booked = case.booked[tables[INSTALMENTS].year][0]
    previous = sum(booked.values())
    first = previous == 0 and not case.has_notice
    targets = tables[INSTALMENTS].targets
    payable = sum(max(0, t.amount_cents - booked.get(t.key, 0)) for t in targets)
    notice = new_notice(
        session,
        municipality=municipality,
        person=person,
        levy=levy.kind.value,
        year=year,
        issued_on=as_of,
        title=assessment.title(first),
        kassenzeichen=account.kassenzeichen,
        total_cents=assessment.total_cents,
        previous_cents=previous,
        data=with_direct_debit(
            session,
            municipality,
            person,
            levy.kind.value,
            as_of,
            assessment.snapshot(_rows(session, case, tables), first, payable),
        ),
        actor=actor,
    )
    settle(
        session,
        notice,
        {
            name: _book(session, levy.kind, case, table, changes[name], notice, municipality, actor)
            for name, table in tables.items()
        },
    )
    return notice


def _tax_account(
    session: Session,
    levy: Levy[Any, Any, Any, Any],
    person: Person,
    municipality: Municipality,
    accounts: dict[int, TaxAccount],
) -> TaxAccount:
    """The person's account of the levy, opened by the first notice; a second subject finds it."""
    account = accounts.get(person.id)
    if account is None:
        account = open_tax_account(session, person, municipality, levy.kind)
        accounts[person.id] = account
    return account


def _rows(session: Session, case: Case[Any], tables: dict[str, Table]) -> dict[str, Schedule]:
    """The payment rows per table as they stand before the booking, with what of the claims
    booked so far is paid now (one query)."""
    balances = balances_of(
        session, {k: c for t in tables.values() for k, c in case.booked[t.year][1].items()}
    )
    return {
        name: schedule(table.targets, case.booked[table.year][1], balances)
        for name, table in tables.items()
    }


def _book(
    session: Session,
    kind: ClaimKind,
    case: Case[Any],
    table: Table,
    changes: list[booking.Change],
    notice: Notice,
    municipality: Municipality,
    actor: str,
) -> tuple[list[booking.Target], dict[str, list[Claim]], list[Claim]]:
    """Book one payment table's differences; its targets, the claims before, those posted."""
    claims = case.booked[table.year][1]
    posted = booking.book(
        session,
        person=case.person,
        municipality=municipality,
        levy=kind,
        year=table.year,
        targets=table.targets,
        kassenzeichen=notice.kassenzeichen,
        notice_id=notice.id,
        as_of=notice.issued_on,
        actor=actor,
        changes=changes,
        claims_by_key=claims,
    )
    return table.targets, claims, posted
