"""Representatives and powers of attorney: the core rules (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role, UserAccount
from core.kernel import audit
from core.kernel.audit import AuditEvent
from core.kernel.errors import AccessDenied, InvalidToken, ValidationError
from core.kernel.mail import OutboxMessage
from core.persons.models import PersonKind
from core.representation import access, attorney, representatives
from core.representation.models import Permission, RepresentativeRole, Scope

SECRET = "test-secret"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 1)


def _org(make: Any, m: Any, owner: Any) -> Any:
    return make.person(m, user=owner, kind=PersonKind.BUSINESS, company_name="Krume GmbH")


def _invite_and_accept(db: Session, org: Any, account: Any, role: RepresentativeRole) -> Any:
    rep = representatives.invite(db, org, email=account.email, role=role, actor="user:1", now=NOW)
    token = representatives.invitation_token(SECRET, rep, issued_at=NOW)
    return representatives.accept(db, SECRET, token, account, now=NOW + timedelta(hours=1))


def test_an_accepted_invitation_gives_the_roles_permissions(db: Session, make: Any) -> None:
    m = make.municipality()
    owner, clerk = make.user(), make.user()
    org = _org(make, m, owner)
    _invite_and_accept(db, org, clerk, RepresentativeRole.READ_ONLY)
    found = access.authority(db, m.id, clerk.id, org.id, TODAY)
    assert found is not None
    assert found.allows(Permission.VIEW)
    assert not found.allows(Permission.PAY)
    assert not found.allows(Permission.MANDATE)
    assert not found.allows(Permission.APPLY)
    assert access.authority(db, m.id, owner.id, org.id, TODAY).allows(Permission.MANAGE)  # type: ignore[union-attr]


def test_the_invitation_goes_by_mail_and_works_once(db: Session, make: Any) -> None:
    m = make.municipality()
    owner, other = make.user(), make.user()
    org = _org(make, m, owner)
    rep = representatives.invite(
        db, org, email=other.email.upper(), role=RepresentativeRole.ACCOUNTING, actor="x", now=NOW
    )
    assert rep.email == other.email
    token = representatives.invitation_token(SECRET, rep, issued_at=NOW)
    with pytest.raises(InvalidToken):
        representatives.accept(db, SECRET, token[:-2] + "xx", other, now=NOW)
    clerk = make.user(role=Role.CLERK, municipality=m)
    with pytest.raises(AccessDenied):
        representatives.accept(db, SECRET, token, clerk, now=NOW)
    representatives.accept(db, SECRET, token, other, now=NOW)
    with pytest.raises(InvalidToken):  # once only: also the invited address cannot use it again
        representatives.accept(db, SECRET, token, other, now=NOW)
    with pytest.raises(InvalidToken):
        representatives.accept(db, SECRET, token, make.user(), now=NOW)


def test_an_account_without_email_accepts_with_the_link(db: Session, make: Any) -> None:
    """The link proves the mailbox: a BundID account (no e-mail) accepts, and the audit row says
    it was accepted by the link, not by a matching address."""
    m = make.municipality()
    owner = make.user()
    org = _org(make, m, owner)
    rep = representatives.invite(
        db, org, email="karl@krume.example", role=RepresentativeRole.READ_ONLY, actor="x", now=NOW
    )
    token = representatives.invitation_token(SECRET, rep, issued_at=NOW)
    bundid = UserAccount(email=None, display_name="Karl Krume", role=Role.CITIZEN)
    db.add(bundid)
    db.flush()
    representatives.accept(db, SECRET, token, bundid, now=NOW)
    assert rep.user_id == bundid.id and rep.is_active
    found = access.authority(db, m.id, bundid.id, org.id, TODAY)
    assert found is not None and found.allows(Permission.VIEW)
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "representative.accepted")
    ).one()
    assert event.actor == f"user:{bundid.id}" and event.after is not None
    assert event.after["accepted_by"] == "link" and event.after["account_email_matches"] is False


def test_an_old_invitation_is_dead(db: Session, make: Any) -> None:
    m = make.municipality()
    owner, other = make.user(), make.user()
    org = _org(make, m, owner)
    rep = representatives.invite(
        db, org, email=other.email, role=RepresentativeRole.ADMIN, actor="x", now=NOW
    )
    token = representatives.invitation_token(SECRET, rep, issued_at=NOW)
    with pytest.raises(InvalidToken):
        representatives.accept(db, SECRET, token, other, now=NOW + timedelta(days=8))


def test_the_last_admin_cannot_be_removed(db: Session, make: Any) -> None:
    m = make.municipality()
    owner, second = make.user(), make.user()
    org = _org(make, m, owner)
    representatives.ensure_owner(db, org, now=NOW)
    (owner_rep,) = representatives.current(db, org)
    with pytest.raises(ValidationError, match="letzte"):
        representatives.remove(db, owner_rep, actor="user:1", now=NOW)
    _invite_and_accept(db, org, second, RepresentativeRole.ADMIN)
    representatives.remove(db, owner_rep, actor=f"user:{second.id}", now=NOW)
    # the organisation's own log-in went with its admin access: nothing is left of it
    assert org.user_id is None
    assert access.authority(db, m.id, owner.id, org.id, TODAY) is None


def test_removal_takes_effect_at_once(db: Session, make: Any) -> None:
    m = make.municipality()
    owner, clerk = make.user(), make.user()
    org = _org(make, m, owner)
    rep = _invite_and_accept(db, org, clerk, RepresentativeRole.ACCOUNTING)
    assert access.authority(db, m.id, clerk.id, org.id, TODAY) is not None
    representatives.remove(db, rep, actor=f"user:{owner.id}", now=NOW)
    assert access.authority(db, m.id, clerk.id, org.id, TODAY) is None
    actions = [e.action for e in audit.trail(db, m.id, "representative", rep.id)]
    assert actions == [
        "representative.invited",
        "representative.accepted",
        "representative.removed",
    ]


def test_only_organisations_have_representatives(db: Session, make: Any) -> None:
    m = make.municipality()
    citizen = make.person(m, user=make.user())
    with pytest.raises(ValidationError):
        representatives.invite(
            db, citizen, email="a@b.example", role=RepresentativeRole.ADMIN, actor="x", now=NOW
        )


def _power(db: Session, principal: Any, agent: Any, scope: Scope, until: date | None) -> Any:
    power = attorney.grant(
        db,
        principal,
        agent_email=agent.email,
        scope=scope,
        valid_from=TODAY,
        valid_until=until,
        actor="user:1",
        online=True,
        as_of=TODAY,
    )
    token = attorney.invitation_token(SECRET, power, issued_at=NOW)
    return attorney.accept(db, SECRET, token, agent, now=NOW)


def test_a_power_of_attorney_grants_its_scope_until_its_end(db: Session, make: Any) -> None:
    m = make.municipality()
    agent = make.user()
    principal = make.person(m, user=make.user())
    _power(db, principal, agent, Scope.PAYMENTS, TODAY + timedelta(days=30))
    found = access.authority(db, m.id, agent.id, principal.id, TODAY + timedelta(days=30))
    assert found is not None and found.via == "attorney"
    assert found.allows(Permission.PAY) and not found.allows(Permission.APPLY)
    assert not found.allows(Permission.MANAGE)
    assert access.authority(db, m.id, agent.id, principal.id, TODAY + timedelta(days=31)) is None
    assert access.authority(db, m.id, agent.id, principal.id, TODAY - timedelta(days=1)) is None


def test_a_pending_or_revoked_power_grants_nothing(db: Session, make: Any) -> None:
    m = make.municipality()
    agent = make.user()
    principal = make.person(m, user=make.user())
    pending = attorney.grant(
        db,
        principal,
        agent_email=agent.email,
        scope=Scope.ALL,
        valid_from=TODAY,
        valid_until=None,
        actor="clerk",
        online=False,
        as_of=TODAY,
    )
    assert pending.agent_user_id is None
    assert access.authority(db, m.id, agent.id, principal.id, TODAY) is None
    power = _power(db, principal, agent, Scope.VIEW, None)
    assert access.authority(db, m.id, agent.id, principal.id, TODAY) is not None
    attorney.revoke(db, power, actor="user:1", now=NOW)
    assert access.authority(db, m.id, agent.id, principal.id, TODAY) is None


def test_a_power_that_ended_before_it_began_is_refused(db: Session, make: Any) -> None:
    m = make.municipality()
    principal = make.person(m, user=make.user())
    with pytest.raises(ValidationError):
        attorney.grant(
            db,
            principal,
            agent_email="a@b.example",
            scope=Scope.ALL,
            valid_from=TODAY,
            valid_until=TODAY - timedelta(days=1),
            actor="x",
            online=True,
            as_of=TODAY,
        )


def test_audit_rows_name_the_person_acted_for(db: Session, make: Any) -> None:
    m = make.municipality()
    org = _org(make, m, make.user())
    with audit.acting_for(f"person:{org.id}"):
        rep = representatives.invite(
            db,
            org,
            email="neu@test.example",
            role=RepresentativeRole.READ_ONLY,
            actor="user:9",
            now=NOW,
        )
    (row,) = audit.trail(db, m.id, "representative", rep.id)
    assert (row.actor, row.on_behalf_of) == ("user:9", f"person:{org.id}")
    later = make.person(m)
    (created,) = audit.trail(db, m.id, "person", later.id)
    assert created.on_behalf_of is None
    assert db.scalars(select(AuditEvent).where(AuditEvent.id == row.id)).one().on_behalf_of


def test_invitation_mail_is_queued(db: Session, make: Any) -> None:
    from core.representation import mail

    m = make.municipality()
    org = _org(make, m, make.user())
    rep = representatives.invite(
        db, org, email="neu@test.example", role=RepresentativeRole.READ_ONLY, actor="x", now=NOW
    )
    message = mail.send_representative_invitation(db, m, rep, "https://portal.example/link")
    assert isinstance(message, OutboxMessage)
    assert "Krume GmbH" in message.subject and "Nur lesen" in message.body


def test_the_demo_bakery_has_a_reader_and_a_tax_adviser(db: Session) -> None:
    from core import demo
    from core.identity.models import find_by_email
    from core.tenancy.municipalities import Municipality

    demo.load(db, as_of=TODAY, persons_per_municipality=1)
    town = db.scalars(select(Municipality).where(Municipality.slug == "musterstadt")).one()
    owner = find_by_email(db, "buchhaltung@baeckerei-krume.example")
    reader = find_by_email(db, "lesen@baeckerei-krume.example")
    adviser = find_by_email(db, "steuerberatung@kanzlei-klar.example")
    assert owner and reader and adviser
    own = access.actable(db, town.id, owner.id, TODAY)
    assert [a.via for a in own] == ["own"]
    (bakery,) = access.actable(db, town.id, reader.id, TODAY)
    assert bakery.person.id == own[0].person.id and bakery.permissions == {Permission.VIEW}
    (advised,) = access.actable(db, town.id, adviser.id, TODAY)
    assert advised.via == "attorney" and advised.allows(Permission.PAY)
    assert not advised.allows(Permission.APPLY)
    assert representatives.active_admins(db, bakery.person) == 1


def test_the_last_admin_keeps_the_role_and_changes_are_audited(db: Session, make: Any) -> None:
    m = make.municipality()
    owner, reader = make.user(), make.user()
    org = _org(make, m, owner)
    rep = _invite_and_accept(db, org, reader, RepresentativeRole.READ_ONLY)
    (owner_rep,) = [r for r in representatives.current(db, org) if r.user_id == owner.id]
    with pytest.raises(ValidationError, match="behält"):
        representatives.change_role(db, owner_rep, RepresentativeRole.ACCOUNTING, actor="x")
    representatives.change_role(db, rep, RepresentativeRole.ADMIN, actor=f"user:{owner.id}")
    assert access.authority(db, m.id, reader.id, org.id, TODAY).allows(Permission.MANAGE)  # type: ignore[union-attr]
    representatives.change_role(db, owner_rep, RepresentativeRole.READ_ONLY, actor="x")
    assert not access.authority(db, m.id, owner.id, org.id, TODAY).allows(Permission.PAY)  # type: ignore[union-attr]
    assert audit.trail(db, m.id, "representative", rep.id)[-1].action == (
        "representative.role_changed"
    )


def test_a_power_of_attorney_link_is_accepted_by_an_account_without_email(
    db: Session, make: Any
) -> None:
    m = make.municipality()
    principal = make.person(m, user=make.user())
    power = attorney.grant(
        db,
        principal,
        agent_email="berater@kanzlei.example",
        scope=Scope.VIEW,
        valid_from=TODAY,
        valid_until=None,
        actor="user:1",
        online=True,
        as_of=TODAY,
    )
    token = attorney.invitation_token(SECRET, power, issued_at=NOW)
    agent = UserAccount(email=None, display_name="Bea Berater", role=Role.CITIZEN)
    db.add(agent)
    db.flush()
    attorney.accept(db, SECRET, token, agent, now=NOW)
    found = access.authority(db, m.id, agent.id, principal.id, TODAY)
    assert found is not None and found.via == "attorney"
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "power_of_attorney.accepted")
    ).one()
    assert event.after is not None and event.after["account_email_matches"] is False
    with pytest.raises(InvalidToken):  # once only
        attorney.accept(db, SECRET, token, make.user(), now=NOW)
