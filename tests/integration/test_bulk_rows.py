"""Rows written in bulk (core.kernel.bulk_rows) are stored as the ORM stores them: the JSON
columns with the same text (on PostgreSQL written by COPY as ``json.dumps`` text, not through
psycopg's ``Json`` wrapper), ``None`` given for a JSON column as the ORM stores a ``None`` set
on it (as core.kernel.audit.record sets ``before``), a column left out as SQL NULL, a document
given as its JSON text (``as_text``) as that document; on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from core.kernel import clock
from core.kernel.audit import AuditEvent
from core.kernel.bulk_rows import executemany, insert_rows
from core.kernel.errors import LedgerError
from tests import factories

DOCUMENT = {"betrag": 7200, "text": 'Straße "Am Ü-Bach"\t\\ 1\n2', "leer": None, "liste": [1, "ä"]}


def _stored(db: Session, object_id: int) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for row in db.execute(
            select(
                AuditEvent.actor,
                AuditEvent.before,
                AuditEvent.after,
                cast(AuditEvent.before, String).label("before_text"),
                cast(AuditEvent.after, String).label("after_text"),
            )
            .where(AuditEvent.object_id == object_id)
            .order_by(AuditEvent.id)
        )
    ]


def test_bulk_rows_store_json_as_the_orm_does(db: Session) -> None:
    m = factories.municipality(db)
    now = clock.now()
    common = {"occurred_at": now, "municipality_id": m.id, "action": "test.bulk"}
    orm = {**common, "actor": "orm", "object_type": "t", "after": DOCUMENT}
    db.add(AuditEvent(**orm, object_id=1, before=None))  # as audit.record sets it
    db.add(AuditEvent(**orm, object_id=2))
    db.flush()
    connection = db.connection()
    row = {**common, "object_type": "t", "before": None, "after": DOCUMENT}
    executemany(connection, AuditEvent.__table__, [{**row, "actor": "bulk", "object_id": 1}])
    keys = ("occurred_at", "municipality_id", "action", "object_type", "actor", "object_id")
    insert_rows(
        connection,
        AuditEvent.__table__,
        (*keys, "after"),
        [(now, m.id, "test.bulk", "t", "text", 2, json.dumps(DOCUMENT))],
        as_text=("after",),
    )
    for object_id, bulk_actor in ((1, "bulk"), (2, "text")):
        orm, bulk = _stored(db, object_id)
        assert orm[0] == "orm" and bulk[0] == bulk_actor
        assert orm[1:] == bulk[1:]  # the documents, and the text the database holds
        assert bulk[2] == DOCUMENT


def test_bulk_rows_name_every_column_they_fill(db: Session) -> None:
    with pytest.raises(LedgerError):
        insert_rows(db.connection(), AuditEvent.__table__, ("actor", "nonsense"), [("a", 1)])
