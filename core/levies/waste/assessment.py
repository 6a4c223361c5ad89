"""Waste-fee assessment against the database: one liable person (change assessment) with all
their properties and bins, or everyone (annual run).

Like the dog tax (:mod:`core.levies.dog_tax.assessment`) it books only differences per instalment
and property (keys ``waste_fee:<year>:<property_id>:<instalment>``) and issues a notice only
when something changed or the year has no notice yet; running it twice changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from core.kernel.months import month_end, month_index
from core.ledger.accounts import tax_account
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.levies import run_guards
from core.levies.waste.models import WasteBin, WasteProperty
from core.levies.waste.rules import (
    LEVY,
    BinFacts,
    PropertyFacts,
    WasteFeeRules,
    compute_year,
    due_date,
)
from core.notices import booking
from core.notices.periods import Instalment, Line
from core.notices.records import Notice, new_notice, recipient_block
from core.notices.schedule import Schedule, balances_of, schedule, settle
from core.persons.models import Person
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import StatuteCache


class RulesCache(StatuteCache[WasteFeeRules]):
    """Waste-fee statutes of a municipality per year, parsed once per run."""

    def __init__(self, session: Session, municipality_id: int) -> None:
        super().__init__(
            session, municipality_id, LEVY, WasteFeeRules.from_data, "Abfallgebührensatzung"
        )


def facts(prop: WasteProperty, bins: list[WasteBin]) -> PropertyFacts:
    # a bin that starts the day after another of the property ended replaces it (a change)
    ends = {b.end for b in bins if b.end is not None}
    return PropertyFacts(
        prop.id,
        prop.label,
        prop.residents,
        prop.liable_from,
        tuple(
            BinFacts(
                b.id,
                b.number,
                b.litres,
                b.rhythm,
                b.start,
                b.end,
                replaces=b.start - timedelta(days=1) in ends,
            )
            for b in bins
        ),
    )


@dataclass
class _OnFile(booking.OnFile):
    properties: list[tuple[WasteProperty, list[WasteBin]]] = field(default_factory=list)


def _on_file(
    session: Session, municipality: Municipality, year: int, persons: list[Person]
) -> dict[int, _OnFile]:
    """Properties with bins, booked claims, notices and fee account of a chunk of persons."""
    person_ids = [p.id for p in persons]
    found = {
        pid: _OnFile(f.booked, f.claims_by_key, f.has_notice, f.tax_account)
        for pid, f in booking.on_file_of(session, person_ids, ClaimKind.WASTE_FEE, year).items()
    }
    props = list(
        session.scalars(
            select(WasteProperty)
            .where(
                WasteProperty.person_id.in_(person_ids),
                WasteProperty.municipality_id == municipality.id,
            )
            .order_by(WasteProperty.id)
        )
    )
    bins: dict[int, list[WasteBin]] = defaultdict(list)
    if props:
        for b in session.scalars(
            select(WasteBin)
            .where(WasteBin.property_id.in_([p.id for p in props]))
            .order_by(WasteBin.id)
        ):
            bins[b.property_id].append(b)
    for p in props:
        found[p.person_id].properties.append((p, bins[p.id]))
    return found


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
    """Assess one person's waste fees for ``year``; book the difference; return the notice."""
    [on_file] = _on_file(session, municipality, year, [person]).values()
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
    booked, claims_by_key = on_file.booked, on_file.claims_by_key
    if not on_file.properties and not booked:
        return None
    rules_for = rules.for_year(year)
    in_force = rules_for(month_index(as_of) if as_of.year == year else year * 12)
    lines: list[Line] = []
    targets: list[booking.Target] = []
    for prop, bins in on_file.properties:
        result = compute_year(facts(prop, bins), rules_for, year)
        lines.extend(result.lines)
        targets.extend(
            _target(i, year, prop.id, as_of, in_force) for i in result.instalments if i.amount_cents
        )
    total = sum(line.amount_cents for line in lines)
    changes = booking.plan(targets, booked)
    if not changes and (on_file.has_notice or not lines):
        return None
    account = on_file.tax_account or tax_account(session, person, municipality, ClaimKind.WASTE_FEE)
    previous = sum(booked.values())
    first = previous == 0 and not on_file.has_notice
    notice = new_notice(
        session,
        municipality=municipality,
        person=person,
        levy=LEVY,
        year=year,
        issued_on=as_of,
        title=(
            f"Bescheid über Abfallgebühren {year}"
            if first
            else f"Änderungsbescheid über Abfallgebühren {year}"
        ),
        kassenzeichen=account.kassenzeichen,
        total_cents=total,
        previous_cents=previous,
        data=_snapshot(
            person,
            year,
            as_of,
            lines,
            total,
            targets,
            booked,
            schedule(targets, claims_by_key, balances_of(session, claims_by_key)),
            in_force,
            first,
        ),
        actor=actor,
    )
    posted = booking.book(
        session,
        person=person,
        municipality=municipality,
        levy=ClaimKind.WASTE_FEE,
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


def _target(
    instalment: Instalment, year: int, property_id: int, as_of: date, rules: WasteFeeRules
) -> booking.Target:
    return booking.Target(
        key=f"{ClaimKind.WASTE_FEE.value}:{year}:{property_id}:{instalment.index}",
        amount_cents=instalment.amount_cents,
        due_date=due_date(instalment, as_of, rules),
        description=f"Abfallgebühren {year}, Rate {instalment.index}",
        period_start=date(year, instalment.first_month, 1),
        period_end=month_end(year, instalment.last_month),
        label=f"Rate {instalment.index}",
    )


def _snapshot(
    person: Person,
    year: int,
    as_of: date,
    lines: list[Line],
    total: int,
    targets: list[booking.Target],
    booked: dict[str, int],
    rows: Schedule,
    rules: WasteFeeRules,
    first: bool,
) -> dict[str, Any]:
    previous = sum(booked.values())
    if first:
        intro = (
            f"Für das Kalenderjahr {year} werden die Abfallgebühren für die unten genannten "
            "Grundstücke und Behälter wie folgt festgesetzt."
        )
    elif total >= previous:
        intro = (
            f"Die Abfallgebühren {year} werden wegen einer Änderung neu festgesetzt. Der "
            "Mehrbetrag ist zu den angegebenen Terminen zu zahlen."
        )
    else:
        intro = (
            f"Die Abfallgebühren {year} werden wegen einer Änderung neu festgesetzt. Der "
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
            for ln in lines
        ],
        "rate_label": "Jahresgebühr",
        "instalments": rows.as_data(),
        "overpaid_cents": rows.overpaid_cents,
        "payable_cents": sum(max(0, t.amount_cents - booked.get(t.key, 0)) for t in targets),
    }


@dataclass
class RunStats:
    persons: int = 0
    notices: int = 0
    bins: int = 0


def liable_in_year(session: Session, municipality_id: int, year: int) -> list[int]:
    """Everyone with a property liable in ``year`` or with waste fees booked for it."""
    start, end = date(year, 1, 1), date(year, 12, 31)
    with_props = select(WasteProperty.person_id).where(
        WasteProperty.municipality_id == municipality_id, WasteProperty.liable_from <= end
    )
    with_bins = (
        select(WasteProperty.person_id)
        .join(WasteBin, WasteBin.property_id == WasteProperty.id)
        .where(
            WasteProperty.municipality_id == municipality_id,
            WasteBin.start <= end,
            or_(WasteBin.end.is_(None), WasteBin.end >= start),
        )
    )
    with_claims = select(Claim.person_id).where(
        Claim.municipality_id == municipality_id,
        Claim.kind == ClaimKind.WASTE_FEE,
        Claim.assessment_key.startswith(booking.key_prefix(ClaimKind.WASTE_FEE, year)),
    )
    return sorted(
        set(session.scalars(with_props))
        | set(session.scalars(with_bins))
        | set(session.scalars(with_claims))
    )


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
    """Annual assessment of every liable person, in chunks (``chunk_done(done, total)`` after
    each, so that the caller can commit and report progress)."""
    run_guards.check_year(year, as_of)
    rules = RulesCache(session, municipality.id)
    liable = liable_in_year(session, municipality.id, year)
    stats = RunStats()
    for start in range(0, len(liable), chunk_size):
        chunk = liable[start : start + chunk_size]
        persons = {
            p.id: p
            for p in session.scalars(
                select(Person).where(Person.id.in_(chunk)).options(selectinload(Person.addresses))
            )
        }
        on_file = _on_file(session, municipality, year, [persons[pid] for pid in chunk])
        for person_id in chunk:
            stats.persons += 1
            stats.bins += sum(len(bins) for _, bins in on_file[person_id].properties)
            notice = _assess(
                session,
                person=persons[person_id],
                municipality=municipality,
                year=year,
                as_of=as_of,
                actor=actor,
                rules=rules,
                on_file=on_file[person_id],
            )
            stats.notices += notice is not None
        chunk_done(min(start + chunk_size, len(liable)), len(liable))
    return stats
