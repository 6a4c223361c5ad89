"""The bulk audit writer (core.kernel.audit.record_all) stores the rows audit.record stores for
the same events — every column, the JSON documents as the same text, ``on_behalf_of`` from
acting_for — after what the session still holds, and its rows are as append-only as any; on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import String, cast, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from core.kernel import audit, clock
from core.kernel.audit import AuditEvent
from core.kernel.errors import LedgerError
from core.persons.models import Person

AT = datetime(2026, 11, 30, 9, 15, 42, 123456, tzinfo=UTC)
AFTER = {"betrag": 7200, "text": 'Straße "Am Ü-Bach"\t\\ 1', "leer": None, "liste": [1, "ä"]}


def _stored(db: Session, ids: list[int]) -> list[tuple[Any, ...]]:
    """Every column but the id, the documents also as the text the database holds."""
    columns = [c for c in AuditEvent.__table__.c if c.name != "id"]
    return [
        tuple(row)
        for row in db.execute(
            select(
                *columns,
                cast(AuditEvent.before, String).label("before_text"),
                cast(AuditEvent.after, String).label("after_text"),
            )
            .where(AuditEvent.id.in_(ids))
            .order_by(AuditEvent.id)
        )
    ]


def _by_record(db: Session, person: Person, **kw: Any) -> int:
    m_id = person.municipality_id
    event = audit.record(
        db, actor="user:7", action="test.changed", obj=person, municipality_id=m_id, **kw
    )
    event.occurred_at = AT
    db.flush()
    return event.id


def _row(person: Person, **kw: Any) -> audit.Row:
    return audit.Row(
        "user:7", "test.changed", Person.__tablename__, person.id, person.municipality_id, **kw
    )


@pytest.mark.parametrize("acting_for", [None, "person:34"])
@pytest.mark.parametrize(
    "documents",
    [{}, {"after": AFTER}, {"before": {"status": "offen"}, "after": AFTER}, {"before": None}],
)
def test_bulk_rows_are_the_rows_record_writes(
    db: Session, make: Any, acting_for: str | None, documents: dict[str, Any]
) -> None:
    m = make.municipality()
    person = make.person(m)
    db.flush()
    with audit.acting_for(acting_for):
        recorded = _by_record(db, person, **documents)
        bulk = audit.record_all(db, [_row(person, **documents)], occurred_at=AT)
    assert len(bulk) == 1 and bulk[0] > recorded
    by_record, by_bulk = _stored(db, [recorded]), _stored(db, bulk)
    assert by_record == by_bulk
    assert db.get(AuditEvent, bulk[0]).on_behalf_of == acting_for  # type: ignore[union-attr]


def test_bulk_rows_follow_what_the_session_holds_and_keep_their_order(
    db: Session, make: Any
) -> None:
    m = make.municipality()
    person = make.person(m)
    db.flush()
    pending = audit.record(
        db, actor="cli", action="test.first", obj=person, municipality_id=m.id
    )  # not flushed: record_all flushes it first
    before = clock.now()
    ids = audit.record_all(
        db, [_row(person, after={"n": n}) for n in range(5)] + [_row(person, before={"n": 5})]
    )
    assert audit.record_all(db, []) == []
    assert pending.id is not None and pending.id < ids[0]
    assert ids == sorted(ids) and len(set(ids)) == 6
    trail = audit.trail(db, m.id, Person.__tablename__, person.id)[-7:]  # after person.created
    assert [e.action for e in trail] == ["test.first"] + ["test.changed"] * 6
    assert [e.after for e in trail[1:]] == [{"n": n} for n in range(5)] + [None]
    assert trail[-1].before == {"n": 5}
    assert all(e.on_behalf_of is None and e.occurred_at >= before for e in trail[1:])
    assert len({e.occurred_at for e in trail[1:]}) == 1  # one instant for the whole batch


def test_bulk_rows_are_append_only(db: Session, make: Any) -> None:
    m = make.municipality()
    person = make.person(m)
    db.flush()
    (row_id,) = audit.record_all(db, [_row(person, after=AFTER)])
    # Raw SQL on purpose: the database refuses even a client that bypasses the ORM.
    for statement in ("UPDATE audit_event SET actor = 'x' WHERE id = :i",
                      "DELETE FROM audit_event WHERE id = :i"):  # fmt: skip
        with pytest.raises(DatabaseError, match="append-only"), db.begin_nested():
            db.execute(text(statement), {"i": row_id})
    loaded = db.get(AuditEvent, row_id)
    assert loaded is not None and loaded.after == AFTER
    loaded.action = "test.rewritten"
    with pytest.raises(LedgerError, match="unveränderlich"):
        db.flush()
    db.rollback()
