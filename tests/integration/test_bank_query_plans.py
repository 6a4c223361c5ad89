"""The bulk bank import and the direct-debit run read a chunk's persons by id list
(core.kernel.id_lists.ids_in): the open claims with their totals, the Personenkonten, the
receivable accounts. A read that scans the whole table instead makes a run grow with the
square of its size, so on SQLite each such read must search its table by an index and scan
none of it; on PostgreSQL the list is one array compared with ``= ANY``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from core.ledger.bulk_collections import receivable_account_ids
from core.ledger.bulk_receipts import LedgerBatch
from tests import factories


def test_bulk_reads_of_a_chunks_persons_use_an_index(db: Session) -> None:
    m = factories.municipality(db)
    persons = [factories.person(db, m) for _ in range(3)]
    factories.claim(db, m, persons[0])
    factories.claim(db, m, persons[1], amount=2500)
    db.flush()
    ids = [p.id for p in persons]
    connection = db.connection()
    sent: list[tuple[str, list[str]]] = []

    def explain(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        plan: list[str] = []
        if conn.dialect.name == "sqlite" and statement.lstrip().upper().startswith("SELECT"):
            rows = cursor.connection.execute(f"EXPLAIN QUERY PLAN {statement}", params)
            plan = [row[3] for row in rows]
        sent.append((statement, plan))

    event.listen(connection, "before_cursor_execute", explain)
    try:
        batch = LedgerBatch(db, m.id, "test")
        batch.load_persons(ids)
        accounts = receivable_account_ids(db, set(ids))
    finally:
        event.remove(connection, "before_cursor_execute", explain)
    assert sorted(accounts) == sorted(ids)  # every person has a receivable account
    assert [len(batch.claims[i]) for i in ids] == [1, 1, 0]
    by_list = [(sql, plan) for sql, plan in sent if "json_each" in sql or "= ANY(" in sql]
    # claims with their totals, Personenkonten, receivables, and the accounts looked up again
    # by core.ledger.bulk.receivable_accounts when it opens the third person's Personenkonto
    assert len(by_list) == 4, sent
    for sql, plan in by_list:
        assert ") = 1" not in sql and ") = true" not in sql, sql
        if connection.dialect.name == "postgresql":
            assert "= ANY(" in sql, sql
            continue
        for table in ("claim", "ledger_account"):
            if f"FROM {table}" in sql:
                assert any(step.startswith(f"SEARCH {table} ") for step in plan), plan
                assert not any(step.startswith(f"SCAN {table}") for step in plan), plan
        assert not any(step.startswith("SCAN posting") for step in plan), plan
