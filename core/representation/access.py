"""Whom a log-in may act for, and what it may do there — asked afresh on every request.

A user acts for their own person (everything; an organisation's own log-in as far as its role
as representative goes), for an organisation they actively represent
(their role's permissions) and for a principal whose power of attorney is in force today (its
scope's permissions). Nothing here is cached: a removed representative or a revoked or expired
power of attorney grants nothing from the next question on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import EllipsisType

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.persons.models import Person
from core.representation.models import (
    ALL_PERMISSIONS,
    Permission,
    PowerOfAttorney,
    Representative,
)


@dataclass(frozen=True)
class Authority:
    """Why and how far a user may act for ``person``."""

    person: Person
    permissions: frozenset[Permission]
    via: str  # "own", "representative", "attorney"
    label: str  # German, for the switcher: "Eigenes Konto", "Verwaltung", "Vollmacht: …"

    def allows(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def is_own(self) -> bool:
        return self.via == "own"


def _merge(found: dict[int, Authority], authority: Authority) -> None:
    """Two ways to the same person (e.g. representative and attorney): the wider one counts."""
    known = found.get(authority.person.id)
    if known is None or (not known.is_own and len(authority.permissions) > len(known.permissions)):
        found[authority.person.id] = authority


# Built once (every portal request of a citizen asks): building a statement costs more than
# running it. Parameters: municipality_id, user_id (and organisation_id).
_OWN_PERSON = select(Person).where(
    Person.municipality_id == bindparam("municipality_id"), Person.user_id == bindparam("user_id")
)
_OWN_ROLE = select(Representative.role).where(
    Representative.organisation_id == bindparam("organisation_id"),
    Representative.user_id == bindparam("user_id"),
    Representative.accepted_at.is_not(None),
    Representative.removed_at.is_(None),
)
_REPRESENTED = select(Representative).where(
    Representative.municipality_id == bindparam("municipality_id"),
    Representative.user_id == bindparam("user_id"),
    Representative.accepted_at.is_not(None),
    Representative.removed_at.is_(None),
)
_POWERS = select(PowerOfAttorney).where(
    PowerOfAttorney.municipality_id == bindparam("municipality_id"),
    PowerOfAttorney.agent_user_id == bindparam("user_id"),
    PowerOfAttorney.accepted_at.is_not(None),
    PowerOfAttorney.revoked_at.is_(None),
)


def own(
    session: Session,
    municipality_id: int,
    user_id: int,
    *,
    represents: bool = True,
    person: Person | EllipsisType | None = ...,
) -> Authority | None:
    """The user's own person here; an organisation's own log-in as far as its role goes.
    ``represents=False``: the caller has just read that the user has no accepted
    representation and no power of attorney at all (the role is then not asked for);
    ``person``: the user's own person here (or None: there is none) as the caller has just
    read it in the same transaction (it is then not asked for again)."""
    ids = {"municipality_id": municipality_id, "user_id": user_id}
    if person is ...:
        person = session.scalars(_OWN_PERSON, ids).first()
    if person is None:
        return None
    role = None
    if represents:
        role = session.scalars(
            _OWN_ROLE, {"organisation_id": person.id, "user_id": user_id}
        ).first()
    if role is None:
        return Authority(person, ALL_PERMISSIONS, "own", "Eigenes Konto")
    return Authority(person, role.permissions, "own", role.label)


def actable(
    session: Session,
    municipality_id: int,
    user_id: int,
    as_of: date,
    *,
    known_own: Authority | None = None,
    represents: bool = True,
) -> list[Authority]:
    """Everyone the user may act for in this municipality: their own person first.
    ``known_own``: what :func:`own` answered earlier in the same transaction (not asked again);
    ``represents=False``: as in :func:`own` (then only the own person is asked for)."""
    found: dict[int, Authority] = {}
    mine = known_own if known_own is not None and known_own.is_own else None
    mine = mine or own(session, municipality_id, user_id, represents=represents)
    if mine is not None:
        found[mine.person.id] = mine
    if not represents:
        return list(found.values())
    ids = {"municipality_id": municipality_id, "user_id": user_id}
    reps = session.scalars(_REPRESENTED, ids)
    for rep in reps:
        if rep.organisation_id in found:
            continue  # the organisation's own log-in: own() has applied its role
        _merge(
            found,
            Authority(rep.organisation, rep.role.permissions, "representative", rep.role.label),
        )
    powers = session.scalars(_POWERS, ids)
    for power in powers:
        if power.in_force(as_of):
            label = f"Vollmacht: {power.scope.label}"
            _merge(found, Authority(power.principal, power.scope.permissions, "attorney", label))
    return list(found.values())


def authority(
    session: Session, municipality_id: int, user_id: int, person_id: int, as_of: date
) -> Authority | None:
    """The user's authority for ``person_id`` today, or None: they may not act for it."""
    for candidate in actable(session, municipality_id, user_id, as_of):
        if candidate.person.id == person_id:
            return candidate
    return None
