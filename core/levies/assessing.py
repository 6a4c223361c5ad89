"""What a levy computes for one subject (:class:`Assessment` with its payment :class:`Table`s)
and how the pipeline issues it: a notice and the booking of the differences, one case at a
time (:func:`issue`) or a whole chunk at once (:func:`issue_chunk`, the annual runs).

In a chunk, the cases with nothing booked yet, no direct-debit mandate and no credit — the
common first assessment — are drafted in memory and written in bulk (notices, then claims via
:func:`core.ledger.bulk.post_claims`); every other case is issued one by one as before. Tax
accounts and notice numbers are reserved as one block in the order of the cases, so both ways
give the same numbers, Kassenzeichen and ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from core.ledger import bulk
from core.ledger.accounts import TaxAccountRef, open_tax_account, open_tax_accounts
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies import booking
from core.levies.cases import Case, gc_paused
from core.levies.prenotification import with_direct_debit
from core.levies.schedule import Schedule, balances_of, schedule, settle
from core.notices.records import Notice, issue_notices, new_notice
from core.payments.sepa.mandates import active_by_person
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, reserve_numbers

F = TypeVar("F")  # what is on file for one subject: its tax objects (dogs, properties, readings)

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
    standing: Standing | None = None  # book on this notice of an earlier year, issue none


@dataclass(frozen=True)
class Standing:
    """A notice of an earlier year that stands for the assessed one ("bis auf Weiteres":
    core.levies.property_tax.standing): the year's claims are booked on it, no notice issued."""

    notice_id: int
    kassenzeichen: str


@dataclass(frozen=True)
class Plan(Generic[F]):
    """A case whose assessment issues a notice, with the differences to book per table."""

    case: Case[F]
    assessment: Assessment
    changes: dict[str, list[booking.Change]]

    @property
    def booked_before(self) -> bool:
        return any(self.case.booked[t.year][1] for t in self.assessment.tables.values())


def plan(case: Case[F], assessment: Assessment | None) -> Plan[F] | None:
    """None when no notice is to be issued: nothing on file, or nothing changed and the year
    has its notice (or nothing to print)."""
    if assessment is None:
        return None
    changes = {
        name: booking.plan(table.targets, case.booked[table.year][0])
        for name, table in assessment.tables.items()
    }
    covered = case.has_notice or assessment.standing is not None
    if not any(changes.values()) and (covered or not assessment.printable):
        return None
    return Plan(case, assessment, changes)


@dataclass(frozen=True)
class Issuing:
    """What every notice of a run shares."""

    kind: ClaimKind
    municipality: Municipality
    year: int
    as_of: date
    actor: str


def issue(
    session: Session,
    how: Issuing,
    plan_: Plan[Any],
    accounts: dict[int, TaxAccountRef],
    number: int | None = None,
) -> Notice | None:
    """Issue the notice of one case and book its differences claim by claim (the ledger's
    one-by-one path, with the Person itself); on a standing notice: book, issue none."""
    case, assessment = plan_.case, plan_.assessment
    tables, person = assessment.tables, session.get_one(Person, case.person.id)
    if assessment.standing is not None:
        _book_on(session, how, plan_, person, assessment.standing)
        return None
    account = accounts.get(person.id)
    if account is None:  # opened by the first notice; a second subject finds it
        opened = open_tax_account(session, person, how.municipality, how.kind)
        account = TaxAccountRef(opened.id, person.id, opened.kassenzeichen)
        accounts[person.id] = account
    booked = case.booked[tables[INSTALMENTS].year][0]
    previous = sum(booked.values())
    first = previous == 0 and not case.has_notice
    targets = tables[INSTALMENTS].targets
    payable = sum(max(0, t.amount_cents - booked.get(t.key, 0)) for t in targets)
    snapshot = assessment.snapshot(_rows(session, case, tables), first, payable)
    notice = new_notice(
        session,
        municipality=how.municipality,
        person=person,
        levy=how.kind.value,
        year=how.year,
        issued_on=how.as_of,
        title=assessment.title(first),
        kassenzeichen=account.kassenzeichen,
        total_cents=assessment.total_cents,
        previous_cents=previous,
        data=with_direct_debit(
            session, how.municipality, person, how.kind.value, how.as_of, snapshot
        ),
        actor=how.actor,
        number=number,
    )
    settle(
        session,
        notice,
        {
            name: _book(session, how, case, person, table, plan_.changes[name], notice)
            for name, table in tables.items()
        },
    )
    return notice


def _book_on(
    session: Session, how: Issuing, plan_: Plan[Any], person: Person, standing: Standing
) -> None:
    """Book a case's differences on the notice standing for its year (no notice issued)."""
    for name, table in plan_.assessment.tables.items():
        booking.book(
            session,
            person=person,
            municipality=how.municipality,
            levy=how.kind,
            year=table.year,
            targets=table.targets,
            kassenzeichen=standing.kassenzeichen,
            notice_id=standing.notice_id,
            as_of=how.as_of,
            actor=how.actor,
            changes=plan_.changes[name],
            claims_by_key=plan_.case.booked[table.year][1],
        )


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
    how: Issuing,
    case: Case[Any],
    person: Person,
    table: Table,
    changes: list[booking.Change],
    notice: Notice,
) -> tuple[list[booking.Target], dict[str, list[Claim]], list[Claim]]:
    """Book one payment table's differences; its targets, the claims before, those posted."""
    claims = case.booked[table.year][1]
    posted = booking.book(
        session,
        person=person,
        municipality=how.municipality,
        levy=how.kind,
        year=table.year,
        targets=table.targets,
        kassenzeichen=notice.kassenzeichen,
        notice_id=notice.id,
        as_of=notice.issued_on,
        actor=how.actor,
        changes=changes,
        claims_by_key=claims,
    )
    return table.targets, claims, posted


def issue_chunk(
    session: Session,
    how: Issuing,
    plans: Sequence[Plan[Any] | None],
    accounts: dict[int, TaxAccountRef],
) -> list[Notice | None]:
    """Issue the notices of a chunk's plans (None: no notice), in their order: tax accounts and
    notice numbers reserved as one block each, first assessments written in bulk."""
    with gc_paused():
        return _issue_chunk(session, how, plans, accounts)


def _issue_chunk(
    session: Session,
    how: Issuing,
    plans: Sequence[Plan[Any] | None],
    accounts: dict[int, TaxAccountRef],
) -> list[Notice | None]:
    issuing = [p for p in plans if p is not None and p.assessment.standing is None]
    if any(p is not None and p.assessment.standing is not None for p in plans):
        return _issue_some_on_standing(session, how, plans, accounts)
    if not issuing:
        return [None for _ in plans]
    new_accounts = {p.case.person.id: p.case.person for p in issuing}
    for person_id in accounts:
        new_accounts.pop(person_id, None)
    if new_accounts:
        persons = list(new_accounts.values())
        accounts.update(open_tax_accounts(session, persons, how.municipality, how.kind))
    numbers = iter(reserve_numbers(session, how.municipality.id, "notice", len(issuing)))
    person_ids = list({p.case.person.id for p in issuing})
    one_by_one = set(active_by_person(session, how.municipality.id, person_ids))
    one_by_one.update(bulk.with_credit(session, person_ids))
    notices: list[Notice | None] = []
    drafts: list[tuple[int, Plan[Any], dict[str, Any]]] = []
    unbooked: dict[tuple[booking.Target, ...], Schedule] = {}  # many cases share their targets
    for plan_ in plans:
        if plan_ is None:
            notices.append(None)
        elif plan_.booked_before or plan_.case.person.id in one_by_one:
            notices.append(issue(session, how, plan_, accounts, next(numbers)))
        else:
            row = _draft(how, plan_, accounts[plan_.case.person.id], next(numbers), unbooked)
            drafts.append((len(notices), plan_, row))
            notices.append(None)  # the notice written in bulk below
    for (at, _plan, _row), notice in zip(drafts, _write(session, how, drafts), strict=True):
        notices[at] = notice
    return notices


def _issue_some_on_standing(
    session: Session,
    how: Issuing,
    plans: Sequence[Plan[Any] | None],
    accounts: dict[int, TaxAccountRef],
) -> list[Notice | None]:
    """A chunk where some plans book on a standing notice: those with nothing booked, no
    mandate and no credit in bulk on it, the others one by one; the rest as any chunk."""
    on_standing = [p for p in plans if p is not None and p.assessment.standing is not None]
    person_ids = list({p.case.person.id for p in on_standing})
    one_by_one = set(active_by_person(session, how.municipality.id, person_ids))
    one_by_one.update(bulk.with_credit(session, person_ids))
    claims: list[bulk.NewClaim] = []
    for plan_ in on_standing:
        standing = plan_.assessment.standing
        if plan_.booked_before or plan_.case.person.id in one_by_one or standing is None:
            issue(session, how, plan_, accounts)
        else:
            claims += _new_claims(how, plan_, standing.notice_id, standing.kassenzeichen)
    bulk.post_claims(
        session, claims, municipality=how.municipality, as_of=how.as_of, actor=how.actor
    )
    rest = [None if p is None or p.assessment.standing is not None else p for p in plans]
    return _issue_chunk(session, how, rest, accounts)


def _draft(
    how: Issuing,
    plan_: Plan[Any],
    account: TaxAccountRef,
    number: int,
    unbooked: dict[tuple[booking.Target, ...], Schedule],
) -> dict[str, Any]:
    """The notice row of a first assessment, in memory. Nothing is booked, no mandate, no
    credit: the payment rows after the booking are those before it (:func:`schedule.settle`),
    and :func:`with_direct_debit` adds nothing. ``unbooked``: the rows of targets with nothing
    booked, per targets (a pure function of them), as far as the chunk has met them."""
    case, assessment = plan_.case, plan_.assessment
    first = not case.has_notice
    payable = sum(max(0, t.amount_cents) for t in assessment.tables[INSTALMENTS].targets)
    rows = {}
    for name, table in assessment.tables.items():
        key = tuple(table.targets)
        if key not in unbooked:
            unbooked[key] = schedule(table.targets, {}, {})
        rows[name] = unbooked[key]
    data = assessment.snapshot(rows, first, payable)
    return {
        "municipality_id": how.municipality.id,
        "person_id": case.person.id,
        "levy": how.kind.value,
        "year": how.year,
        "number": number,
        "issued_on": how.as_of,
        "title": assessment.title(first),
        "kassenzeichen": account.kassenzeichen,
        "total_cents": assessment.total_cents,
        "previous_cents": 0,
        "data": {**data, **{name: r.as_data() for name, r in rows.items()}},
    }


def _write(
    session: Session, how: Issuing, drafts: list[tuple[int, Plan[Any], dict[str, Any]]]
) -> list[Notice]:
    """The drafted notices in one executemany, then all their claims in bulk."""
    if not drafts:
        return []
    notices = issue_notices(session, [row for _, _, row in drafts], actor=how.actor)
    claims = []
    for (_at, plan_, row), notice in zip(drafts, notices, strict=True):
        claims += _new_claims(how, plan_, notice.id, row["kassenzeichen"])
    bulk.post_claims(
        session, claims, municipality=how.municipality, as_of=how.as_of, actor=how.actor
    )
    return notices


def _new_claims(
    how: Issuing, plan_: Plan[Any], notice_id: int, kassenzeichen: str
) -> list[bulk.NewClaim]:
    """The claims of a plan with nothing booked yet, for the bulk path."""
    claims = []
    for name, table in plan_.assessment.tables.items():
        targets = {t.key: t for t in table.targets}
        for change in plan_.changes[name]:
            target = targets[change.key]
            claims.append(
                bulk.NewClaim(
                    person=plan_.case.person,
                    kind=how.kind,
                    amount_cents=change.difference_cents,
                    due_date=target.due_date,
                    description=target.description,
                    kassenzeichen=kassenzeichen,
                    period_start=target.period_start,
                    period_end=target.period_end,
                    assessment_key=change.key,
                    notice_id=notice_id,
                )
            )
    return claims
