"""An organisation's representatives: invite by e-mail, accept with the link, remove.

Rules: only an organisation (person of kind business) has representatives; an address has at
most one open invitation or active access per organisation; the last active admin ("Verwaltung")
cannot be removed; every change is in the audit trail. The organisation's own log-in (the
person's ``user_id``) is its first admin (:func:`ensure_owner`); removing that admin also
detaches the log-in, so it too loses access at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.identity.models import Role, UserAccount, normalize_email
from core.kernel import audit
from core.kernel.errors import AccessDenied, NotFound, ValidationError
from core.persons.models import Person, PersonKind
from core.representation import invitations
from core.representation.models import Representative, RepresentativeRole

KIND = "representative"
LAST_ADMIN = (
    "Der letzte Zugang mit der Rolle „Verwaltung“ kann nicht entfernt werden. Bitte laden Sie "
    "zuerst eine weitere Person mit dieser Rolle ein."
)


LAST_ADMIN_ROLE = (
    "Der letzte Zugang mit der Rolle „Verwaltung“ behält diese Rolle. Bitte geben Sie sie zuerst "
    "einer weiteren Person."
)


def check_email(email: str) -> str:
    email = normalize_email(email)
    local, at, domain = email.partition("@")
    if not (local and at and "." in domain) or len(email) > 254 or " " in email:
        raise ValidationError("Bitte geben Sie eine gültige E-Mail-Adresse an.")
    return email


def _organisation(person: Person) -> Person:
    if person.kind is not PersonKind.BUSINESS:
        raise ValidationError("Vertreter gibt es nur für Unternehmen und Organisationen.")
    return person


def _record(
    session: Session, rep: Representative, action: str, actor: str, **after: object
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"representative.{action}",
        municipality_id=rep.municipality_id,
        obj=rep,
        after={"organisation_id": rep.organisation_id, "role": rep.role.value, **after},
    )


def current(session: Session, organisation: Person) -> list[Representative]:
    """Active representatives and open invitations, oldest first."""
    return list(
        session.scalars(
            select(Representative)
            .where(
                Representative.organisation_id == organisation.id,
                Representative.removed_at.is_(None),
            )
            .order_by(Representative.id)
        )
    )


def ensure_owner(session: Session, organisation: Person, *, now: datetime) -> None:
    """The organisation's own log-in is an admin representative (made once, on first need)."""
    if organisation.kind is not PersonKind.BUSINESS or organisation.user_id is None:
        return
    if any(r.user_id == organisation.user_id for r in current(session, organisation)):
        return
    account = session.get_one(UserAccount, organisation.user_id)
    rep = Representative(
        municipality_id=organisation.municipality_id,
        organisation_id=organisation.id,
        user_id=account.id,
        email=account.email or "",
        role=RepresentativeRole.ADMIN,
        invited_by="system",
        invited_at=now,
        accepted_at=now,
    )
    session.add(rep)
    session.flush()
    _record(session, rep, "owner_recorded", "system", user_id=account.id)


def invite(
    session: Session,
    organisation: Person,
    *,
    email: str,
    role: RepresentativeRole,
    actor: str,
    now: datetime,
) -> Representative:
    _organisation(organisation)
    email = check_email(email)
    ensure_owner(session, organisation, now=now)
    for rep in current(session, organisation):
        if rep.email == email:
            raise ValidationError("Diese E-Mail-Adresse ist bereits eingeladen oder Vertreter.")
    rep = Representative(
        municipality_id=organisation.municipality_id,
        organisation_id=organisation.id,
        email=email,
        role=role,
        invited_by=actor,
        invited_at=now,
    )
    session.add(rep)
    session.flush()
    _record(session, rep, "invited", actor, email_domain=email.partition("@")[2])
    return rep


def invitation_token(secret: str, rep: Representative, *, issued_at: datetime) -> str:
    return invitations.make(secret, KIND, rep.id, rep.email, issued_at=issued_at)


def invitation_for(session: Session, secret: str, token: str, *, now: datetime) -> Representative:
    """The open invitation a link names, changing nothing (to show what is offered)."""
    return invitations.pending(
        session, Representative, KIND, lambda rep: rep.email, secret, token, now=now
    )


def accept(
    session: Session, secret: str, token: str, account: UserAccount, *, now: datetime
) -> Representative:
    """The logged-in account that opened the link accepts (core/representation/invitations.py:
    the signed one-time link proves possession of the invited mailbox, so an account without
    e-mail — BundID, Unternehmenskonto — or with another address may accept it). The audit row
    says whether the account's own address was the invited one."""
    rep = invitation_for(session, secret, token, now=now)
    if account.role is not Role.CITIZEN:
        raise AccessDenied("Mitarbeitende der Verwaltung können keine Einladung annehmen.")
    for other in current(session, rep.organisation):
        if other.user_id == account.id and other.is_active:
            raise ValidationError("Sie vertreten dieses Unternehmen bereits.")
    rep.user_id = account.id
    rep.accepted_at = now
    session.flush()
    _record(
        session,
        rep,
        "accepted",
        f"user:{account.id}",
        user_id=account.id,
        **invitations.acceptance_facts(account.email, rep.email),
    )
    return rep


def get(session: Session, organisation: Person, rep_id: int) -> Representative:
    """A representative *of this organisation*; any other id is simply not found."""
    rep = session.get(Representative, rep_id)
    if rep is None or rep.organisation_id != organisation.id or rep.removed_at is not None:
        raise NotFound("Dieser Vertreter wurde nicht gefunden.")
    return rep


def active_admins(session: Session, organisation: Person) -> int:
    return (
        session.scalar(
            select(func.count(Representative.id)).where(
                Representative.organisation_id == organisation.id,
                Representative.role == RepresentativeRole.ADMIN,
                Representative.accepted_at.is_not(None),
                Representative.removed_at.is_(None),
            )
        )
        or 0
    )


def remove(session: Session, rep: Representative, *, actor: str, now: datetime) -> None:
    """End a representative's access (or withdraw an open invitation) at once."""
    organisation = rep.organisation
    if rep.removed_at is not None:
        raise ValidationError("Dieser Zugang wurde bereits entfernt.")
    if (
        rep.is_active
        and rep.role is RepresentativeRole.ADMIN
        and active_admins(session, organisation) <= 1
    ):
        raise ValidationError(LAST_ADMIN)
    rep.removed_at = now
    rep.removed_by = actor
    if rep.user_id is not None and organisation.user_id == rep.user_id:
        organisation.user_id = None  # the organisation's own log-in goes with its admin access
    session.flush()
    _record(session, rep, "removed" if rep.accepted_at else "withdrawn", actor)


def change_role(
    session: Session, rep: Representative, role: RepresentativeRole, *, actor: str
) -> None:
    """Give an active representative (or an open invitation) another role; the last active
    admin keeps theirs."""
    if rep.removed_at is not None:
        raise ValidationError("Dieser Zugang wurde bereits entfernt.")
    if role is rep.role:
        return
    if (
        rep.is_active
        and rep.role is RepresentativeRole.ADMIN
        and active_admins(session, rep.organisation) <= 1
    ):
        raise ValidationError(LAST_ADMIN_ROLE)
    before = rep.role.value
    rep.role = role
    session.flush()
    _record(session, rep, "role_changed", actor, role_before=before)
