"""The Alembic migrations build exactly the schema the models describe, on both databases,
and the database itself guards the ledger (CHECK constraints, append-only triggers)."""

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

import core.models  # noqa: F401
from core.kernel.db import Base
from core.ledger.models import Posting


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


@pytest.mark.parametrize("table", ["audit_event", "journal_entry", "posting"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET id = id", "DELETE FROM {t}"])
def test_append_only_tables_refuse_changes_in_the_database(
    db: Session, make: Any, table: str, statement: str
) -> None:
    m = make.municipality()
    make.claim(m, make.person(m))  # writes an entry, a posting and audit events
    db.flush()
    # Raw SQL on purpose: the database must refuse even a client that bypasses the ORM.
    savepoint = db.connection().begin_nested()
    with pytest.raises(DatabaseError, match="append-only"):
        db.connection().execute(text(statement.format(t=table)))
    savepoint.rollback()


@pytest.mark.parametrize(
    ("change", "constraint"),
    [
        ({"amount_cents": -5}, "ck_posting_amount_positive"),
        ({"amount_cents": 0}, "ck_posting_amount_positive"),
        ({"same_account": True}, "ck_posting_two_accounts"),
    ],
)
def test_database_rejects_invalid_postings(
    db: Session, make: Any, change: dict[str, Any], constraint: str
) -> None:
    m = make.municipality()
    make.claim(m, make.person(m))
    good = db.scalars(select(Posting)).first()
    assert good is not None
    values = {
        "entry_id": good.entry_id,
        "debit_account_id": good.debit_account_id,
        "credit_account_id": good.credit_account_id,
        "amount_cents": 100,
    }
    if change.get("same_account"):
        values["credit_account_id"] = values["debit_account_id"]
    else:
        values.update(change)
    savepoint = db.connection().begin_nested()
    with pytest.raises(DatabaseError, match=constraint):
        db.connection().execute(Posting.__table__.insert().values(**values))
    savepoint.rollback()
