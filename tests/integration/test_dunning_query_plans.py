"""The dunning run's reads by id list (core.kernel.id_lists.ids_in) are served by an index:
a run reads its items, claims, payment history and surcharges chunk by chunk, so a read that
scans the whole table instead makes the run grow with the square of its size. SQLite: its
query plan searches the table by an index and scans none of it; PostgreSQL: the list is one
array compared with ``= ANY``, a condition of its own (never ``(…) = true``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core.dunning import selection
from core.dunning.models import DunningItem, DunningLetter
from core.kernel.id_lists import ids_in
from core.ledger.models import Claim, Posting
from core.persons.models import Person

READS: list[tuple[Any, str]] = [  # (a read by id list, the table it must search)
    (select(Claim.id, Claim.description).where(ids_in(Claim.id, [1, 2, 3])), "claim"),
    (
        select(DunningItem.id).where(ids_in(DunningItem.letter_id, [1, 2]), DunningItem.level > 0),
        "dunning_item",
    ),
    (
        select(DunningItem.claim_id).where(
            ids_in(DunningItem.claim_id, [4, 5]), DunningItem.booked.is_(True)
        ),
        "dunning_item",
    ),
    (select(Posting.amount_cents).where(ids_in(Posting.claim_id, [6])), "posting"),
    (select(Person.number).where(ids_in(Person.id, [7, 8])), "person"),
    (
        select(DunningLetter.id).where(
            ids_in(DunningLetter.id, [9]), DunningLetter.booked_at.is_(None)
        ),
        "dunning_letter",
    ),
]


def test_reads_by_id_list_use_an_index(db: Session) -> None:
    connection = db.connection()
    plans: list[list[str]] = []
    sent: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        sent.append(statement)
        if conn.dialect.name == "sqlite":
            rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", params)
            plans.append([row[3] for row in rows])

    event.listen(connection, "before_cursor_execute", explain)
    try:
        for query, _ in READS:
            db.execute(query).all()
    finally:
        event.remove(connection, "before_cursor_execute", explain)
    assert len(sent) == len(READS)
    for sql in sent:
        assert ") = 1" not in sql and ") = true" not in sql, sql
        if connection.dialect.name == "postgresql":
            assert "= ANY(" in sql, sql
    if connection.dialect.name != "sqlite":
        return
    assert len(plans) == len(READS)
    for (_, table), plan in zip(READS, plans, strict=True):
        assert any(step.startswith(f"SEARCH {table} ") for step in plan), plan
        assert not any(step.startswith(f"SCAN {table}") for step in plan), plan


def test_a_chunk_of_persons_reads_its_claims_by_person(db: Session) -> None:
    """The preview's read of a chunk's open claims goes through the claims of those persons,
    never through the municipality's (all its claims, for every chunk); so do the debits and
    card payments holding them."""
    connection = db.connection()
    plans: list[tuple[str, list[str]]] = []

    def explain(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if conn.dialect.name == "sqlite":
            rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", params)
            plans.append((statement, [row[3] for row in rows]))

    event.listen(connection, "before_cursor_execute", explain)
    try:
        selection.open_due_rows(db, 1, date(2026, 3, 16), [1, 2, 3])
        selection.in_collection(db, 1, [4, 5])
    finally:
        event.remove(connection, "before_cursor_execute", explain)
    if connection.dialect.name != "sqlite":
        return
    assert len(plans) == 3
    claims, debits, cards = (plan for _, plan in plans)
    assert any("ix_claim_person_due (person_id=?" in step for step in claims), claims
    assert not any("municipality_id=?" in step for step in claims + debits + cards), plans
