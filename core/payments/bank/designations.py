"""Payment references that name a set of claims as a whole, where an upper layer says so.

A dunning letter (core.dunning.letter_references, imported by core/models.py) has its own
reference, printed as RF reference in its GiroCode; a transfer naming it is for exactly the
letter's claims (§ 225 (1) AO), not for everything under one Kassenzeichen. The bank import
(core.payments.bank.matching) never imports the layers that make such references
(.importlinter); they register a source instead.

A source answers, for one municipality, every reference it knows → :class:`Designation` (the
person and the claims the reference stands for). The bank import reads them once, on the first
line that names such a reference, and looks each reference up in that dictionary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Designation:
    person_id: int
    claim_ids: frozenset[int]


DesignationSource = Callable[[Session, int], Mapping[str, Designation]]

_SOURCES: list[DesignationSource] = []


def register(source: DesignationSource) -> DesignationSource:
    """Add ``source`` (once; registering it again changes nothing)."""
    if source not in _SOURCES:
        _SOURCES.append(source)
    return source


def designations(session: Session, municipality_id: int) -> dict[str, Designation]:
    """Every registered reference of the municipality → what it designates."""
    found: dict[str, Designation] = {}
    for source in _SOURCES:
        found.update(source(session, municipality_id))
    return found
