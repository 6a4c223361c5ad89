"""How much of a claim a direct debit may collect on a day, where an upper layer says so.

The direct-debit code (core.payments.sepa) collects a due claim's whole open amount, unless a
source registered here limits it: e.g. a running instalment plan (core.dunning.instalment_debits,
imported by core/models.py) allows only the instalments due by the collection day. This layer
never imports the ones that limit it (.importlinter); they register a function instead.

A source answers, for the claims it limits (of ``claim_ids``, or of the whole municipality when
``claim_ids`` is None), the most a debit may collect from each on ``day``; 0 means "nothing
now". A claim no source names is not limited. Where two sources name a claim, the lower wins.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import date

from sqlalchemy.orm import Session

LimitSource = Callable[[Session, int, date, Collection[int] | None], Mapping[int, int]]

_SOURCES: list[LimitSource] = []


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
