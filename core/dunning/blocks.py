"""Mahnsperren: blocks of one claim or of a person, with reason, start, end and history.

A blocked claim is not dunned while the block is in force (its first to its last day). Ending
a block sets its last day; the row stays, so the history shows every block there was. Items in
collection (a direct debit not yet settled, a card payment in progress) are no blocks: the run
skips them by looking at the payments themselves (core.dunning.selection).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.dunning.models import BLOCK_REASON_LABELS, BlockReason, DunningBlock
from core.kernel import audit
from core.kernel.errors import IllegalTransition, ValidationError
from core.ledger.models import Claim
from core.persons.models import Person

if TYPE_CHECKING:
    from core.dunning.procedure import DunningRules
    from core.dunning.surcharges import FreePeriod


def add_block(
    session: Session,
    *,
    person: Person,
    reason: BlockReason,
    starts_on: date,
    actor: str,
    claim: Claim | None = None,
    ends_on: date | None = None,
    note: str = "",
) -> DunningBlock:
    """Block the claim (or, without one, all claims of the person) from ``starts_on``."""
    if claim is not None and claim.person_id != person.id:
        raise ValidationError("Die Forderung gehört nicht zu dieser Person.")
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError("Eine Mahnsperre kann nicht vor ihrem Beginn enden.")
    block = DunningBlock(
        municipality_id=person.municipality_id,
        person_id=person.id,
        claim_id=claim.id if claim is not None else None,
        reason=BlockReason(reason),
        starts_on=starts_on,
        ends_on=ends_on,
        note=note[:500],
        created_by=actor,
    )
    session.add(block)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dunning_block.added",
        obj=block,
        municipality_id=person.municipality_id,
        after={
            "reason": block.reason.value,
            "claim_id": block.claim_id,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on.isoformat() if ends_on else None,
        },
    )
    return block


def end_block(session: Session, block: DunningBlock, *, last_day: date, actor: str) -> None:
    """End the block after ``last_day`` (kept as history)."""
    if block.ends_on is not None and block.ends_on <= last_day:
        raise IllegalTransition(f"Diese Mahnsperre endet bereits am {block.ends_on:%d.%m.%Y}.")
    if last_day < block.starts_on:
        raise ValidationError("Eine Mahnsperre kann nicht vor ihrem Beginn enden.")
    before = block.ends_on.isoformat() if block.ends_on else None
    block.ends_on, block.ended_by = last_day, actor
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="dunning_block.ended",
        obj=block,
        municipality_id=block.municipality_id,
        before={"ends_on": before},
        after={"ends_on": last_day.isoformat()},
    )


def _active(day: date) -> tuple[Any, ...]:
    return (
        DunningBlock.starts_on <= day,
        or_(DunningBlock.ends_on.is_(None), DunningBlock.ends_on >= day),
    )


def is_blocked(session: Session, claim: Claim, day: date) -> bool:
    """Whether a block of the claim or of its person is in force on ``day``."""
    found = session.scalar(
        select(DunningBlock.id)
        .where(
            DunningBlock.person_id == claim.person_id,
            or_(DunningBlock.claim_id.is_(None), DunningBlock.claim_id == claim.id),
            *_active(day),
        )
        .limit(1)
    )
    return found is not None


def blocked_on(session: Session, municipality_id: int, day: date) -> tuple[set[int], set[int]]:
    """(persons blocked as a whole, single claims blocked) of the municipality on ``day``."""
    rows = session.execute(
        select(DunningBlock.person_id, DunningBlock.claim_id).where(
            DunningBlock.municipality_id == municipality_id, *_active(day)
        )
    )
    persons: set[int] = set()
    claims: set[int] = set()
    for person_id, claim_id in rows:
        (persons.add(person_id) if claim_id is None else claims.add(claim_id))
    return persons, claims


def blocks_of(session: Session, person: Person) -> list[DunningBlock]:
    """The person's blocks, in force or ended, newest first (the history)."""
    return list(
        session.scalars(
            select(DunningBlock)
            .where(
                DunningBlock.person_id == person.id,
                DunningBlock.municipality_id == person.municipality_id,
            )
            .order_by(DunningBlock.starts_on.desc(), DunningBlock.id.desc())
        )
    )


def describe(block: DunningBlock) -> str:
    """German one-liner, e.g. "Stundung vom 01.03.2026 bis 30.06.2026"."""
    until = f" bis {block.ends_on:%d.%m.%Y}" if block.ends_on else " (unbefristet)"
    return f"{BLOCK_REASON_LABELS[block.reason]} vom {block.starts_on:%d.%m.%Y}{until}"


CHUNK = 500


class OfPerson(Protocol):
    """A claim as :func:`surcharge_free_periods` needs it: a Claim or a run's plain row."""

    @property
    def id(self) -> int: ...
    @property
    def person_id(self) -> int: ...


def surcharge_reasons(rules: DunningRules) -> frozenset[BlockReason]:
    """The blocks during which no Säumniszuschläge arise (core/dunning/surcharges.py): a
    deferral always (§ 240 (1) S. 1 AO: the claim is not due), a suspension of enforcement only
    where the procedure's statute data says so; insolvency and clerk's blocks stop dunning only."""
    if rules.suspension_stops_surcharges:
        return frozenset({BlockReason.DEFERRAL, BlockReason.SUSPENSION})
    return frozenset({BlockReason.DEFERRAL})


def surcharge_free_periods(
    session: Session, claims: Iterable[OfPerson], rules: DunningRules
) -> dict[int, list[FreePeriod]]:
    """Per claim, the (first day, last day or None) of the blocks of its own or of its person
    in which it bears no surcharges, ended ones included (history counts)."""
    by_person: dict[int, list[int]] = {}
    for claim in claims:
        by_person.setdefault(claim.person_id, []).append(claim.id)
    found: dict[int, list[FreePeriod]] = {}
    persons = sorted(by_person)
    for start in range(0, len(persons), CHUNK):
        rows = session.execute(
            select(
                DunningBlock.person_id,
                DunningBlock.claim_id,
                DunningBlock.starts_on,
                DunningBlock.ends_on,
            ).where(
                DunningBlock.person_id.in_(persons[start : start + CHUNK]),
                DunningBlock.reason.in_(sorted(surcharge_reasons(rules))),
            )
        )
        for person_id, claim_id, starts_on, ends_on in rows:
            for mine in by_person[person_id]:
                if claim_id in (None, mine):
                    found.setdefault(mine, []).append((starts_on, ends_on))
    return found
