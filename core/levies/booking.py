"""Book an assessment: compare what is owed per instalment with what is booked, book only the
difference (new claims for more, reductions for less; what was overpaid becomes credit)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.id_lists import ids_in
from core.ledger.balances import ClaimBalance, claim_balances
from core.ledger.claims import post_claim, reduce_claim
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim
from core.notices.records import Notice
from core.payments.sepa.prenotifications import announce_by_notice
from core.persons.models import Person
from core.tenancy.municipalities import Municipality


@dataclass(frozen=True)
class Target:
    """What is owed for one instalment of one year, as assessed now."""

    key: str  # e.g. "dog_tax:2026:1"
    amount_cents: int
    due_date: date
    description: str
    period_start: date
    period_end: date
    label: str = ""  # short name of the row on the notice ("Rate 1", "Abschlag 2")


@dataclass(frozen=True)
class Change:
    key: str
    before_cents: int
    after_cents: int
    due_date: date

    @property
    def difference_cents(self) -> int:
        return self.after_cents - self.before_cents


def key_prefix(levy: ClaimKind, year: int) -> str:
    return f"{levy.value}:{year}:"


Booked = tuple[dict[str, int], dict[str, list[Claim]]]


def booked_per_key_of(
    session: Session, person_ids: Collection[int], levy: ClaimKind, year: int
) -> dict[int, Booked]:
    """What stands booked of ``levy`` for ``year`` per assessment key, and the claims per key
    (oldest first), of many persons at once (two queries per 500 persons)."""
    ids = list(person_ids)
    claims = [
        claim
        for start in range(0, len(ids), 500)
        for claim in session.scalars(
            select(Claim)
            .where(
                ids_in(Claim.person_id, ids[start : start + 500]),
                Claim.kind == levy,
                Claim.assessment_key.startswith(key_prefix(levy, year)),
                Claim.cancelled_by_entry_id.is_(None),
            )
            .order_by(Claim.id)
        )
    ]
    balances: dict[int, ClaimBalance] = {}
    for start in range(0, len(claims), 2000):
        balances.update(claim_balances(session, claims[start : start + 2000]))
    amounts: dict[int, dict[str, int]] = {pid: defaultdict(int) for pid in ids}
    by_key: dict[int, dict[str, list[Claim]]] = {pid: defaultdict(list) for pid in ids}
    for claim in claims:
        key = claim.assessment_key or ""
        amounts[claim.person_id][key] += balances[claim.id].assessed_cents
        by_key[claim.person_id][key].append(claim)
    return {pid: (dict(amounts[pid]), dict(by_key[pid])) for pid in ids}


def plan(targets: list[Target], booked: dict[str, int]) -> list[Change]:
    """The differences between what is owed and what is booked (pure)."""
    due = {t.key: t.due_date for t in targets}
    owed = {t.key: t.amount_cents for t in targets}
    changes = []
    for key in sorted(set(owed) | set(booked)):
        before, after = booked.get(key, 0), owed.get(key, 0)
        if before != after:
            changes.append(Change(key, before, after, due.get(key, date.min)))
    return changes


def book(
    session: Session,
    *,
    person: Person,
    municipality: Municipality,
    levy: ClaimKind,
    year: int,
    targets: list[Target],
    kassenzeichen: str,
    notice_id: int,
    as_of: date,
    actor: str,
    changes: list[Change],
    claims_by_key: dict[str, list[Claim]],
) -> list[Claim]:
    """Carry out ``changes`` (from :func:`plan`) in the ledger; returns the claims posted."""
    by_key = {t.key: t for t in targets}
    touched: list[Claim] = []
    posted: list[Claim] = []
    for change in changes:
        if change.difference_cents > 0:
            target = by_key[change.key]
            description = target.description + (", Nachforderung" if change.before_cents else "")
            claim = post_claim(
                session,
                person=person,
                municipality=municipality,
                kind=levy,
                amount_cents=change.difference_cents,
                due_date=target.due_date,
                description=description,
                as_of=as_of,
                actor=actor,
                period_start=target.period_start,
                period_end=target.period_end,
                kassenzeichen=kassenzeichen,
                assessment_key=change.key,
                notice_id=notice_id,
            )
            touched.append(claim)
            posted.append(claim)
            continue
        touched += _reduce(
            session,
            claims_by_key.get(change.key, []),
            -change.difference_cents,
            reason=f"Änderungsbescheid {year}",
            as_of=as_of,
            actor=actor,
        )
    if touched:
        announce_by_notice(session, notice_id, touched)
    return posted


def _reduce(
    session: Session, claims: list[Claim], cents: int, *, reason: str, as_of: date, actor: str
) -> list[Claim]:
    """Lower a key's claims by ``cents``, newest first; returns the claims reduced."""
    reduced = []
    for claim in reversed(claims):
        assessed = claim_balances(session, [claim])[claim.id].assessed_cents
        part = min(assessed, cents)
        if part:
            reduce_claim(session, claim, part, as_of=as_of, actor=actor, reason=reason)
            reduced.append(claim)
            cents -= part
        if not cents:
            break
    return reduced


@dataclass
class OnFile:
    """What is already on file for one person, levy and year (loaded per chunk in batch runs)."""

    booked: dict[str, int]
    claims_by_key: dict[str, list[Claim]]
    has_notice: bool = False


def on_file_of(
    session: Session, person_ids: Collection[int], levy: ClaimKind, year: int
) -> dict[int, OnFile]:
    """Booked claims per key and whether a notice of the year exists, of many persons at once
    (a few queries per chunk instead of several per person)."""
    ids = list(person_ids)
    found = {
        pid: OnFile(booked, claims)
        for pid, (booked, claims) in booked_per_key_of(session, ids, levy, year).items()
    }
    for pid in session.scalars(
        select(Notice.person_id)
        .where(Notice.person_id.in_(ids), Notice.levy == levy.value, Notice.year == year)
        .distinct()
    ):
        found[pid].has_notice = True
    return found
