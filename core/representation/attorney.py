"""Powers of attorney (Vollmachten): grant, accept with the e-mailed link, revoke.

A clerk records one from a signed paper (``granted_online=False``) or the principal grants one
in the portal. Either way the agent accepts with the link sent to the named address, so no one
gains access to a person's affairs by an address alone. Past ``valid_until`` (inclusive) or
revoked, it grants nothing (:func:`PowerOfAttorney.in_force`, asked on every request).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.identity.models import Role, UserAccount
from core.kernel import audit
from core.kernel.errors import AccessDenied, NotFound, ValidationError
from core.persons.models import Person
from core.representation import invitations
from core.representation.models import PowerOfAttorney, Scope
from core.representation.representatives import check_email

KIND = "attorney"


def _record(
    session: Session, power: PowerOfAttorney, action: str, actor: str, **more: object
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"power_of_attorney.{action}",
        municipality_id=power.municipality_id,
        obj=power,
        after={
            "principal_id": power.principal_id,
            "agent_user_id": power.agent_user_id,
            "scope": power.scope.value,
            "valid_from": power.valid_from.isoformat(),
            "valid_until": power.valid_until.isoformat() if power.valid_until else None,
            **more,
        },
    )


def grant(
    session: Session,
    principal: Person,
    *,
    agent_email: str,
    scope: Scope,
    valid_from: date,
    valid_until: date | None,
    actor: str,
    online: bool,
    as_of: date,
) -> PowerOfAttorney:
    email = check_email(agent_email)
    if valid_until is not None and valid_until < valid_from:
        raise ValidationError("Das Ende der Vollmacht darf nicht vor ihrem Beginn liegen.")
    if valid_until is not None and valid_until < as_of:
        raise ValidationError(
            "Eine Vollmacht, die schon abgelaufen ist, kann nicht erteilt werden."
        )
    if principal.user_id is not None:
        own = session.get(UserAccount, principal.user_id)
        if own is not None and own.email == email:
            raise ValidationError("Sie können sich nicht selbst bevollmächtigen.")
    power = PowerOfAttorney(
        municipality_id=principal.municipality_id,
        principal_id=principal.id,
        agent_email=email,
        scope=scope,
        valid_from=valid_from,
        valid_until=valid_until,
        granted_by=actor,
        granted_online=online,
    )
    session.add(power)
    session.flush()
    _record(session, power, "granted", actor)
    return power


def invitation_token(secret: str, power: PowerOfAttorney, *, issued_at: datetime) -> str:
    return invitations.make(secret, KIND, power.id, power.agent_email, issued_at=issued_at)


def invitation_for(session: Session, secret: str, token: str, *, now: datetime) -> PowerOfAttorney:
    """The open invitation a link names, changing nothing (to show what is offered)."""
    return invitations.pending(
        session, PowerOfAttorney, KIND, lambda power: power.agent_email, secret, token, now=now
    )


def accept(
    session: Session, secret: str, token: str, account: UserAccount, *, now: datetime
) -> PowerOfAttorney:
    """The logged-in account that opened the link accepts (as for representatives: the signed
    one-time link proves the mailbox; accounts without e-mail may accept)."""
    power = invitation_for(session, secret, token, now=now)
    if account.role is not Role.CITIZEN:
        raise AccessDenied("Mitarbeitende der Verwaltung können keine Vollmacht annehmen.")
    if power.principal.user_id == account.id:
        raise ValidationError("Sie können sich nicht selbst bevollmächtigen.")
    power.agent_user_id = account.id
    power.accepted_at = now
    session.flush()
    _record(
        session,
        power,
        "accepted",
        f"user:{account.id}",
        **invitations.acceptance_facts(account.email, power.agent_email),
    )
    return power


def revoke(session: Session, power: PowerOfAttorney, *, actor: str, now: datetime) -> None:
    if power.revoked_at is not None:
        raise ValidationError("Diese Vollmacht wurde bereits widerrufen.")
    power.revoked_at = now
    power.revoked_by = actor
    session.flush()
    _record(session, power, "revoked", actor)


def given_by(session: Session, principal: Person) -> list[PowerOfAttorney]:
    return list(
        session.scalars(
            select(PowerOfAttorney)
            .where(PowerOfAttorney.principal_id == principal.id)
            .order_by(PowerOfAttorney.id.desc())
        )
    )


def received_by(session: Session, municipality_id: int, user_id: int) -> list[PowerOfAttorney]:
    return list(
        session.scalars(
            select(PowerOfAttorney)
            .where(
                PowerOfAttorney.municipality_id == municipality_id,
                PowerOfAttorney.agent_user_id == user_id,
            )
            .order_by(PowerOfAttorney.id.desc())
        )
    )


def get_for(
    session: Session, power_id: int, *, principal: Person | None, agent_user_id: int | None
) -> PowerOfAttorney:
    """A power of attorney the caller is party to: given by ``principal`` or received by
    ``agent_user_id``; any other id is simply not found."""
    clauses = []
    if principal is not None:
        clauses.append(PowerOfAttorney.principal_id == principal.id)
    if agent_user_id is not None:
        clauses.append(PowerOfAttorney.agent_user_id == agent_user_id)
    found = (
        session.scalars(
            select(PowerOfAttorney).where(PowerOfAttorney.id == power_id, or_(*clauses))
        ).first()
        if clauses
        else None
    )
    if found is None:
        raise NotFound("Diese Vollmacht wurde nicht gefunden.")
    return found
