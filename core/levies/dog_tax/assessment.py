"""Dog-tax assessment against the database: one owner (change assessment) or all (annual run).

Running it twice changes nothing: it books only differences, and issues a notice only when
something changed or the year has no notice yet.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from core.kernel.months import month_end
from core.ledger.accounts import open_tax_account
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies import run_guards
from core.levies.dog_tax.models import Dog
from core.levies.dog_tax.rules import (
    LEVY,
    DogFacts,
    DogTaxRules,
    Instalment,
    compute_year,
    due_date,
)
from core.notices import booking
from core.notices.records import Notice, new_notice, recipient_block
from core.notices.schedule import Schedule, balances_of, schedule, settle
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import StatuteCache


class RulesCache(StatuteCache[DogTaxRules]):
    """Dog-tax statutes of a municipality per year, parsed once per run."""

    def __init__(self, session: Session, municipality_id: int) -> None:
        super().__init__(
            session, municipality_id, LEVY, DogTaxRules.from_data, "Hundesteuersatzung"
        )


def facts(dog: Dog) -> DogFacts:
    return DogFacts(
        dog.id,
        dog.name,
        dog.born_on,
        dog.acquired_on,
        dog.ended_on,
        dog.dangerous,
        dog.exemption_code,
    )


def assess_person(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    year: int,
    as_of: date,
    actor: str,
    rules: RulesCache | None = None,
) -> Notice | None:
    """Assess one owner's dog tax for ``year``; book the difference; return the new notice."""
    [on_file] = _on_file(session, municipality, year, [person.id]).values()
    return _assess(
        session,
        person=person,
        municipality=municipality,
        year=year,
        as_of=as_of,
        actor=actor,
        rules=rules or RulesCache(session, municipality.id),
        on_file=on_file,
    )


@dataclass
class _OnFile(booking.OnFile):
    """What the database holds for one owner before the assessment."""

    dogs: list[Dog] = field(default_factory=list)


def _on_file(
    session: Session, municipality: Municipality, year: int, person_ids: list[int]
) -> dict[int, _OnFile]:
    """Dogs, booked claims, whether a notice exists, and the dog-tax account of each owner —
    a few queries for a whole chunk of owners instead of several per owner. Assessing one owner
    never changes another's, so the chunk can be read up front."""
    found = {
        pid: _OnFile(f.booked, f.claims_by_key, f.has_notice, f.tax_account)
        for pid, f in booking.on_file_of(session, person_ids, ClaimKind.DOG_TAX, year).items()
    }
    for dog in session.scalars(
        select(Dog)
        .where(Dog.person_id.in_(person_ids), Dog.municipality_id == municipality.id)
        .order_by(Dog.id)
    ):
        found[dog.person_id].dogs.append(dog)
    return found


def _assess(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    year: int,
    as_of: date,
    actor: str,
    rules: RulesCache,
    on_file: _OnFile,
) -> Notice | None:
    dogs, booked, claims_by_key = on_file.dogs, on_file.booked, on_file.claims_by_key
    if not dogs and not booked:
        return None
    rules_for = rules.for_year(year)
    result = compute_year([facts(d) for d in dogs], rules_for, year)
    in_force = rules_for(as_of.year * 12 + as_of.month - 1 if as_of.year == year else year * 12)
    targets = [_target(i, year, as_of, in_force) for i in result.instalments if i.amount_cents]
    changes = booking.plan(targets, booked)
    has_notice = on_file.has_notice
    if not changes and (has_notice or not result.lines):
        return None
    account = on_file.tax_account or open_tax_account(
        session, person, municipality, ClaimKind.DOG_TAX
    )
    previous = sum(booked.values())
    first = previous == 0 and not has_notice
    rows = schedule(targets, claims_by_key, balances_of(session, claims_by_key))
    data = _snapshot(person, year, as_of, result, targets, booked, rows, in_force, first=first)
    notice = new_notice(
        session,
        municipality=municipality,
        person=person,
        levy=LEVY,
        year=year,
        issued_on=as_of,
        title=(
            f"Bescheid über die Festsetzung der Hundesteuer {year}"
            if first
            else f"Änderungsbescheid über die Hundesteuer {year}"
        ),
        kassenzeichen=account.kassenzeichen,
        total_cents=result.total_cents,
        previous_cents=previous,
        data=data,
        actor=actor,
    )
    posted = booking.book(
        session,
        person=person,
        municipality=municipality,
        levy=ClaimKind.DOG_TAX,
        year=year,
        targets=targets,
        kassenzeichen=account.kassenzeichen,
        notice_id=notice.id,
        as_of=as_of,
        actor=actor,
        changes=changes,
        claims_by_key=claims_by_key,
    )
    settle(session, notice, {"instalments": (targets, claims_by_key, posted)})
    return notice


def _target(instalment: Instalment, year: int, as_of: date, rules: DogTaxRules) -> booking.Target:
    return booking.Target(
        key=f"{ClaimKind.DOG_TAX.value}:{year}:{instalment.index}",
        amount_cents=instalment.amount_cents,
        due_date=due_date(instalment, as_of, rules),
        description=f"Hundesteuer {year}, Rate {instalment.index}",
        period_start=date(year, instalment.first_month, 1),
        period_end=month_end(year, instalment.last_month),
        label=f"Rate {instalment.index}",
    )


def _snapshot(
    person: Person,
    year: int,
    as_of: date,
    result: Any,
    targets: list[booking.Target],
    booked: dict[str, int],
    rows: Schedule,
    rules: DogTaxRules,
    *,
    first: bool,
) -> dict[str, Any]:
    payable = sum(max(0, t.amount_cents - booked.get(t.key, 0)) for t in targets)
    previous = sum(booked.values())
    if first:
        intro = (
            f"Für das Kalenderjahr {year} wird die Hundesteuer für die unten genannten "
            "Hunde wie folgt festgesetzt."
        )
    elif result.total_cents >= previous:
        intro = (
            f"Die Hundesteuer {year} wird wegen einer Änderung neu festgesetzt. Der "
            "Mehrbetrag ist zu den angegebenen Terminen zu zahlen."
        )
    else:
        intro = (
            f"Die Hundesteuer {year} wird wegen einer Änderung neu festgesetzt. Der "
            "Minderbetrag wird mit offenen Beträgen verrechnet oder Ihnen gutgeschrieben."
        )
    return {
        "recipient": recipient_block(person, as_of),
        "person_number": person.number,
        "intro": intro,
        "legal_basis": rules.legal_basis or rules.source,
        "remedy": rules.remedy,
        "statute_source": rules.source,
        "lines": [
            {
                "description": ln.description,
                "period_start": ln.period_start.isoformat(),
                "period_end": ln.period_end.isoformat(),
                "months": ln.months,
                "annual_cents": ln.annual_cents,
                "amount_cents": ln.amount_cents,
            }
            for ln in result.lines
        ],
        "rate_label": "Jahressteuer",
        "instalments": rows.as_data(),
        "overpaid_cents": rows.overpaid_cents,
        "payable_cents": payable,
    }


@dataclass
class RunStats:
    persons: int = 0  # owners assessed
    notices: int = 0  # new notices issued
    dogs: int = 0  # dogs on file of the owners assessed


def owners_in_year(session: Session, municipality_id: int, year: int) -> list[int]:
    """Everyone with a dog liable in ``year`` or with dog tax booked for it."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    with_dogs = select(Dog.person_id).where(
        Dog.municipality_id == municipality_id,
        Dog.acquired_on <= end,
        or_(Dog.ended_on.is_(None), Dog.ended_on >= start),
    )
    with_claims = select(Claim.person_id).where(
        Claim.municipality_id == municipality_id,
        Claim.kind == ClaimKind.DOG_TAX,
        Claim.assessment_key.startswith(booking.key_prefix(ClaimKind.DOG_TAX, year)),
    )
    return sorted(set(session.scalars(with_dogs)) | set(session.scalars(with_claims)))


def assess_all(
    session: Session,
    *,
    municipality: Municipality,
    year: int,
    as_of: date,
    actor: str,
    chunk_size: int = 500,
    chunk_done: Callable[[int, int], None] = lambda _done, _total: None,
) -> RunStats:
    """Annual assessment (Jahresveranlagung) of every owner; ``chunk_done(done, total)`` is
    called after each chunk so that the caller can commit and report progress. What is on file
    for the owners of a chunk is read up front (:func:`_on_file`), a few queries per chunk."""
    run_guards.check_year(year, as_of)
    rules = RulesCache(session, municipality.id)
    owners = owners_in_year(session, municipality.id, year)
    stats = RunStats()
    for start in range(0, len(owners), chunk_size):
        chunk = owners[start : start + chunk_size]
        persons = {
            p.id: p
            for p in session.scalars(
                select(Person)
                .where(Person.id.in_(chunk))
                .options(selectinload(Person.addresses))  # printed on the notice
            )
        }
        on_file = _on_file(session, municipality, year, chunk)
        for person_id in chunk:
            stats.persons += 1
            stats.dogs += len(on_file[person_id].dogs)
            if (
                _assess(
                    session,
                    person=persons[person_id],
                    municipality=municipality,
                    year=year,
                    as_of=as_of,
                    actor=actor,
                    rules=rules,
                    on_file=on_file[person_id],
                )
                is not None
            ):
                stats.notices += 1
        chunk_done(min(start + chunk_size, len(owners)), len(owners))
    return stats
