"""How much of a claim a direct debit may collect on a day, where an upper layer says so.

The direct-debit code (core.payments.sepa) collects a due claim's whole open amount, unless a
source registered here limits it: e.g. a running instalment plan (core.dunning.instalment_debits,
imported by core/models.py) allows only the instalments due by the collection day. This layer
never imports the ones that limit it (.importlinter); they register a function instead.

A source answers, for the claims it limits (of ``claim_ids``, or of the whole municipality when
``claim_ids`` is None), the most a debit may collect from each on ``day``; 0 means "nothing
now". A claim no source names is not limited. Where two sources name a claim, the lower wins.

A source may also register the claims' **schedule** (:func:`register_schedule`): for the claims
it limits, the collections to come, as (day, cents) in order — what a debit will take of each
claim on each day if every earlier one is collected. A pre-notification made ahead (a notice
that names the mandate: core.payments.sepa.prenotifications.announce_by_notice) announces
those, not the claim in full. A claim a schedule source names with no entries is not
collected at all.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import date

from sqlalchemy.orm import Session

LimitSource = Callable[[Session, int, date, Collection[int] | None], Mapping[int, int]]
ScheduleSource = Callable[[Session, int, Collection[int]], Mapping[int, list[tuple[date, int]]]]

_SOURCES: list[LimitSource] = []
_SCHEDULES: list[ScheduleSource] = []


def register(source: LimitSource) -> LimitSource:
    """Add ``source`` (once; registering it again changes nothing)."""
    if source not in _SOURCES:
        _SOURCES.append(source)
    return source


def limits_on(
    session: Session, municipality_id: int, day: date, claim_ids: Collection[int] | None = None
) -> dict[int, int]:
    """The most a direct debit may collect on ``day`` per limited claim (module docstring)."""
    if claim_ids is not None and not claim_ids:
        return {}
    limits: dict[int, int] = {}
    for source in _SOURCES:
        for claim_id, cents in source(session, municipality_id, day, claim_ids).items():
            value = max(0, cents)
            limits[claim_id] = min(value, limits.get(claim_id, value))
    return limits


def capped(claim_id: int, open_cents: int, limits: Mapping[int, int]) -> int:
    """What a debit may collect of a claim with ``open_cents`` open."""
    return min(open_cents, limits[claim_id]) if claim_id in limits else open_cents


def register_schedule(source: ScheduleSource) -> ScheduleSource:
    """Add a schedule ``source`` (once; registering it again changes nothing)."""
    if source not in _SCHEDULES:
        _SCHEDULES.append(source)
    return source


def schedules(
    session: Session, municipality_id: int, claim_ids: Collection[int]
) -> dict[int, list[tuple[date, int]]]:
    """Per scheduled claim of ``claim_ids``: the collections to come, (day, cents) by day
    (module docstring); a claim no source names is collected in full when due."""
    found: dict[int, list[tuple[date, int]]] = {}
    if not claim_ids:
        return found
    for source in _SCHEDULES:
        for claim_id, parts in source(session, municipality_id, claim_ids).items():
            found.setdefault(claim_id, []).extend(parts)
    return {claim_id: sorted(parts) for claim_id, parts in found.items()}
