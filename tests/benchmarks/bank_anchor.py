"""The anchor of the camt import benchmark: raw sqlite3 (stdlib) writing the same rows per entry
as the import books them, with executemany in chunks of 5,000, one transaction as the import:

* a transfer: bank line, payment, journal entry, posting, audit row (payment.booked);
* a direct-debit credit: bank line, journal entry, posting, and the item's status updated;
* a line for the clerks: bank line, journal entry, posting (into suspense).

What the embedded database can do with these rows; parsing and matching are not in it."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = """
CREATE TABLE bank_line (id INTEGER PRIMARY KEY, municipality_id INTEGER, import_id INTEGER,
  entry_index INTEGER, external_ref TEXT, amount_cents INTEGER CHECK (amount_cents > 0),
  credit BOOLEAN, booking_date DATE, counterparty_name TEXT, counterparty_iban TEXT,
  remittance TEXT, end_to_end_id TEXT, return_reason TEXT, original_amount_cents INTEGER,
  charges_cents INTEGER, status TEXT, method TEXT, note TEXT, person_id INTEGER,
  payment_id INTEGER, item_id INTEGER, suggestions TEXT, resolved_by TEXT, resolved_at TEXT,
  UNIQUE (municipality_id, external_ref));
CREATE TABLE payment (id INTEGER PRIMARY KEY, municipality_id INTEGER, person_id INTEGER,
  amount_cents INTEGER CHECK (amount_cents > 0), received_on DATE, channel TEXT,
  reference_text TEXT, external_ref TEXT, created_at TEXT, reversed_by_entry_id INTEGER,
  UNIQUE (municipality_id, channel, external_ref));
CREATE TABLE journal_entry (id INTEGER PRIMARY KEY, municipality_id INTEGER, person_id INTEGER,
  kind TEXT, value_date DATE, booked_at TEXT, text TEXT, actor TEXT, reverses_entry_id INTEGER);
CREATE TABLE posting (id INTEGER PRIMARY KEY, entry_id INTEGER REFERENCES journal_entry(id),
  debit_account_id INTEGER, credit_account_id INTEGER, amount_cents INTEGER
  CHECK (amount_cents > 0), claim_id INTEGER, payment_id INTEGER);
CREATE TABLE audit_event (id INTEGER PRIMARY KEY, occurred_at TEXT, municipality_id INTEGER,
  actor TEXT, action TEXT, object_type TEXT, object_id INTEGER, before TEXT, after TEXT);
CREATE TABLE sepa_item (id INTEGER PRIMARY KEY, status TEXT, credited_on DATE);
CREATE INDEX ix_posting_claim ON posting (claim_id);
CREATE INDEX ix_posting_payment ON posting (payment_id);
"""

_LINE = (
    "INSERT INTO bank_line VALUES (?, 1, 1, ?, ?, ?, 1, '2026-03-16', ?, "
    "'DE02100100100006820101', ?, ?, NULL, NULL, NULL, ?, ?, ?, ?, ?, ?, '[]', NULL, NULL)"
)


def raw_sqlite_entries_per_second(transfers: int, credits: int, queued: int) -> float:
    """Entries per second raw sqlite3 writes (the rows above) into a fresh file database."""
    kinds = ["transfer"] * transfers + ["credit"] * credits + ["queued"] * queued
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "anchor.sqlite3")
        db.executescript(SCHEMA)
        db.executemany(
            "INSERT INTO sepa_item VALUES (?, 'in_collection', NULL)",
            [(i,) for i in range(1, credits + 1)],
        )
        db.commit()
        started = time.perf_counter()
        for first in range(0, len(kinds), 5000):
            _chunk(db, kinds[first : first + 5000], first)
        db.commit()
        elapsed = time.perf_counter() - started
        db.close()
    return len(kinds) / elapsed


def _chunk(db: sqlite3.Connection, kinds: list[str], offset: int) -> None:
    now = datetime.now(UTC).isoformat()
    lines, payments, entries, postings, audits, items = [], [], [], [], [], []
    for n, kind in enumerate(kinds, start=offset + 1):
        ref, name, amount = f"DE02120300000000202051/BANKREF{n:09d}", f"Erika Zahler{n}", 1000 + n
        payment = n if kind == "transfer" else None
        item = n if kind == "credit" else None
        status = {"transfer": "booked", "credit": "cleared", "queued": "queued"}[kind]
        text = f"Grundsteuer KZ 10100{n:08d}"
        lines.append((n, n, ref, amount, name, text, None, status, None, None, n, payment, item))
        entries.append((n, n, "payment" if payment else "clearing", "2026-03-16", now, text[:200]))
        postings.append((n, n, 1, 2 + n, amount, n if payment else None, payment))
        if payment:
            payments.append((n, n, amount, "2026-03-16", "bank_transfer", text, ref, now))
            after = {"amount_cents": amount, "channel": "bank_transfer", "allocated": [[n, amount]]}
            audits.append((n, now, "bench", "payment.booked", "payment", n, json.dumps(after)))
        if item:
            items.append(("credited", "2026-03-16", item))
    db.executemany("INSERT INTO payment VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, NULL)", payments)
    db.executemany("INSERT INTO journal_entry VALUES (?, 1, ?, ?, ?, ?, ?, 'bench', NULL)", entries)
    db.executemany("INSERT INTO posting VALUES (?, ?, ?, ?, ?, ?, ?)", postings)
    db.executemany("INSERT INTO audit_event VALUES (?, ?, 1, ?, ?, ?, ?, NULL, ?)", audits)
    db.executemany(_LINE, lines)
    db.executemany("UPDATE sepa_item SET status = ?, credited_on = ? WHERE id = ?", items)
