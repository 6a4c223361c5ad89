"""What keeps a person's credit from being paid out, asked of the layers above.

core.payments may not import core.dunning (.importlinter); core.dunning.payout_blocks registers
the insolvency block here (an insolvency administrator, not the debtor, disposes of the estate:
§ 80 InsO), loaded with core.models like the other hooks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

# (session, municipality_id, day) -> {person_id: German reason}
BlockSource = Callable[[Session, int, date], dict[int, str]]

_SOURCES: list[BlockSource] = []


def register(source: BlockSource) -> BlockSource:
    """Add ``source`` (once; registering it again changes nothing)."""
    if source not in _SOURCES:
        _SOURCES.append(source)
    return source


def blocked_persons(session: Session, municipality_id: int, day: date) -> dict[int, str]:
    found: dict[int, str] = {}
    for source in _SOURCES:
        for person_id, reason in source(session, municipality_id, day).items():
            found.setdefault(person_id, reason)
    return found
