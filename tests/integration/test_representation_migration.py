"""The representation migration makes every existing business log-in its organisation's first
admin, on the record (SQLite file of its own: the migration runs from the revision before)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from core.identity.models import Role, UserAccount
from core.persons.models import Person, PersonKind
from portal.cli.db import alembic_config
from tests import factories

BEFORE = "a5e2c7d91b04"


def test_existing_business_log_ins_become_first_admins(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'before.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, BEFORE)
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            m = factories.municipality(session)
            firm = UserAccount(
                email="firma@test.example", password_hash="x", role=Role.CITIZEN, display_name="F"
            )
            citizen = UserAccount(
                email="buerger@test.example", password_hash="x", role=Role.CITIZEN, display_name="B"
            )
            session.add_all([firm, citizen])
            session.flush()
            for number, (kind, user) in enumerate(
                [(PersonKind.BUSINESS, firm), (PersonKind.NATURAL, citizen)], start=1
            ):
                session.add(
                    Person(
                        municipality_id=m.id,
                        number=number,
                        kind=kind,
                        company_name="Firma GmbH" if kind is PersonKind.BUSINESS else None,
                        family_name="Bürger" if kind is PersonKind.NATURAL else None,
                        user_id=user.id,
                    )
                )
            session.commit()
            firm_id = firm.id
        command.upgrade(config, "head")
        with engine.connect() as conn:
            reps = conn.execute(
                text("SELECT user_id, email, role, accepted_at FROM representative")
            ).all()
            assert [(r[0], r[1], r[2]) for r in reps] == [(firm_id, "firma@test.example", "admin")]
            assert reps[0][3] is not None
            actions = conn.execute(text("SELECT actor, action FROM audit_event")).all()
            assert ("migration", "representative.owner_recorded") in actions
        command.downgrade(config, BEFORE)
    finally:
        engine.dispose()
