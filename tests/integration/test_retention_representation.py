"""Retention and representation, on SQLite and PostgreSQL: an anonymised organisation's
representatives and an anonymised citizen's powers of attorney end (the invited addresses go,
the rows stay for the audit trail), and an account that still represents another organisation
or holds a power of attorney in force keeps its log-in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

import core.job_kinds  # noqa: F401  (registers the kinds)
from core.identity.models import UserAccount
from core.jobs import worker
from core.persons.models import Person, PersonKind
from core.representation.models import (
    PowerOfAttorney,
    Representative,
    RepresentativeRole,
    Scope,
)
from core.retention import runs
from core.retention.models import RunState
from core.tenancy.municipalities import Municipality
from tests import retention_helpers as old

AS_OF = date(2026, 12, 3)
OLD = date(2015, 3, 1)
ACCEPTED = datetime(2015, 3, 2, tzinfo=UTC)


def _execute(db: Session, factory: sessionmaker[Session], m: Municipality) -> None:
    run, _ = runs.open_run(db, m, AS_OF, "user:1")
    runs.approve(db, run, "user:2")
    db.commit()
    worker.drain(factory, environment={})
    db.expire_all()
    assert db.get_one(runs.RetentionRun, run.id).state is RunState.DONE


def _representative(db: Session, m: Municipality, org: Person, user: UserAccount) -> Representative:
    row = Representative(
        municipality_id=m.id, organisation_id=org.id, user_id=user.id, email=user.email or "",
        role=RepresentativeRole.ADMIN, invited_by="test", accepted_at=ACCEPTED,
    )  # fmt: skip
    db.add(row)
    db.flush()
    return row


def _power(db: Session, m: Municipality, principal: Person, agent: UserAccount) -> PowerOfAttorney:
    row = PowerOfAttorney(
        municipality_id=m.id, principal_id=principal.id, agent_user_id=agent.id,
        agent_email=agent.email or "", scope=Scope.ALL, valid_from=OLD, valid_until=None,
        granted_by="test", accepted_at=ACCEPTED,
    )  # fmt: skip
    db.add(row)
    db.flush()
    return row


def test_an_anonymised_organisations_representatives_and_powers_end(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    m = make.municipality()
    owner = make.user(email="chefin@alt.example")
    org = old.old_person(db, make, m, OLD, kind=PersonKind.BUSINESS, company_name="Alt GmbH",
                         user=owner)  # fmt: skip
    clerk = make.user(email="buchhaltung@alt.example")
    rep = _representative(db, m, org, clerk)
    adviser = make.user(email="berater@kanzlei.example")
    power = _power(db, m, org, adviser)
    db.commit()

    _execute(db, session_factory, m)

    assert db.get_one(Person, org.id).company_name == "gelöscht"
    rep_row, power_row = db.get_one(Representative, rep.id), db.get_one(PowerOfAttorney, power.id)
    assert rep_row.removed_at is not None and rep_row.email == ""
    assert not rep_row.is_active
    assert power_row.revoked_at is not None and power_row.agent_email == ""
    assert not power_row.in_force(AS_OF)
    # the representative's and adviser's own log-ins are theirs, not the organisation's
    assert db.get_one(UserAccount, clerk.id).is_active
    assert db.get_one(UserAccount, adviser.id).is_active


def test_a_log_in_that_still_acts_for_others_stays(
    db: Session, make: Any, session_factory: sessionmaker[Session]
) -> None:
    m = make.municipality()
    adviser = make.user(email="berater@kanzlei.example")
    citizen = old.old_person(db, make, m, OLD, user=adviser)  # the adviser's own old file
    client = make.person(m, kind=PersonKind.BUSINESS, company_name="Neu GmbH")
    _power(db, m, client, adviser)  # in force: the adviser still acts for a client
    db.commit()

    _execute(db, session_factory, m)

    assert db.get_one(Person, citizen.id).family_name == "gelöscht"
    account = db.get_one(UserAccount, adviser.id)
    assert account.is_active and account.email == "berater@kanzlei.example"
