"""The anchor of the annual-run benchmark: raw sqlite3 (stdlib) writing the same four rows per
claim as the ledger books them — claim, journal entry, posting, audit row — with executemany,
a commit per chunk of 500 claims as the run commits. What the embedded database can do."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE claim (id INTEGER PRIMARY KEY, municipality_id INTEGER, person_id INTEGER,
  kind TEXT, description TEXT, period_start DATE, period_end DATE, amount_cents INTEGER
  CHECK (amount_cents > 0), due_date DATE, kassenzeichen TEXT, assessment_key TEXT,
  notice_id INTEGER, created_at TEXT, cancelled_by_entry_id INTEGER);
CREATE TABLE journal_entry (id INTEGER PRIMARY KEY, municipality_id INTEGER, person_id INTEGER,
  kind TEXT, value_date DATE, booked_at TEXT, text TEXT, actor TEXT, reverses_entry_id INTEGER);
CREATE TABLE posting (id INTEGER PRIMARY KEY, entry_id INTEGER REFERENCES journal_entry(id),
  debit_account_id INTEGER, credit_account_id INTEGER, amount_cents INTEGER
  CHECK (amount_cents > 0), claim_id INTEGER REFERENCES claim(id), payment_id INTEGER);
CREATE TABLE audit_event (id INTEGER PRIMARY KEY, occurred_at TEXT, municipality_id INTEGER,
  actor TEXT, action TEXT, object_type TEXT, object_id INTEGER, before TEXT, after TEXT);
CREATE INDEX ix_posting_claim ON posting (claim_id);
CREATE INDEX ix_claim_person ON claim (person_id, assessment_key);
"""


def raw_sqlite_claims_per_second(claims: int, chunk: int = 500) -> float:
    """Claims per second raw sqlite3 writes (four rows each) into a fresh file database."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "anchor.sqlite3")
        db.executescript(SCHEMA)
        now = datetime.now(UTC).isoformat()
        due = date(2027, 2, 15).isoformat()
        started = time.perf_counter()
        for first in range(1, claims + 1, chunk):
            ids = range(first, min(first + chunk, claims + 1))
            db.executemany(
                "INSERT INTO claim VALUES (?, 1, ?, 'dog_tax', 'Hundesteuer 2027, Rate 1', "
                "'2027-01-01', '2027-03-31', 2400, ?, ?, ?, ?, ?, NULL)",
                [
                    (i, i // 4, due, f"001{i:08d}42", f"dog_tax:2027:{i % 4}", i // 4, now)
                    for i in ids
                ],
            )
            db.executemany(
                "INSERT INTO journal_entry VALUES (?, 1, ?, 'claim', '2027-01-10', ?, "
                "'Sollstellung Hundesteuer: Hundesteuer 2027, Rate 1', 'bench', NULL)",
                [(i, i // 4, now) for i in ids],
            )
            db.executemany(
                "INSERT INTO posting VALUES (?, ?, ?, 2, 2400, ?, NULL)",
                [(i, i, 10 + i // 4, i) for i in ids],
            )
            db.executemany(
                "INSERT INTO audit_event VALUES (?, ?, 1, 'bench', 'claim.posted', 'claim', ?, "
                "NULL, ?)",
                [
                    (
                        i,
                        now,
                        i,
                        json.dumps(
                            {
                                "amount_cents": 2400,
                                "kind": "dog_tax",
                                "due_date": due,
                                "kassenzeichen": f"001{i:08d}42",
                            }
                        ),
                    )
                    for i in ids
                ],
            )
            db.commit()
        elapsed = time.perf_counter() - started
        db.close()
    return claims / elapsed
