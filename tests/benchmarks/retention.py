"""Benchmark of the retention run (Löschlauf, issue 15): records past their period deleted or
anonymised.

`python -m tests.benchmarks.retention [--persons N] [--postgres] [--no-sqlite]`, or
`python -m tests.benchmarks.run --only retention [--retention-persons N]` (not part of the
test suite). Set-up (bulk insert, not measured): ``persons`` persons registered in 2014, each
with a notice PDF and a notification e-mail of 2015; every tenth person also has a document of
this year (so it is kept, and the person with it). Measured, as the back office does it: the
preview (what is due, blocked ones with their reason), the run prepared (its items stored), the
second person's approval and the job that deletes (drained here by core.jobs.worker): document
contents and e-mail texts deleted, persons anonymised, an audit row per item.

Prints items per second, CPU seconds and statements of each step, the peak RSS, the load
average, and the anchor measured in the same run: raw sqlite3 doing the same writes per item
(the erasing UPDATE of the record and its audit row, executemany, a commit per chunk of 500).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

import core.job_kinds  # noqa: F401  (registers the retention job)
from core.jobs import worker
from core.kernel.archive import Document
from core.kernel.db import make_engine, make_session_factory
from core.kernel.mail import OutboxMessage
from core.persons.models import Person
from core.retention import runs
from core.retention.models import RetentionItem
from core.tenancy.municipalities import Counter, Municipality
from portal.cli.db import alembic_config
from tests import factories
from tests.benchmarks.payouts import _step
from tests.benchmarks.setup_rows import first_id, on_each_database, person_rows, write

AS_OF = date(2026, 12, 1)
REGISTERED = datetime(2014, 5, 2, 10, 0, tzinfo=UTC)
MADE = datetime(2015, 3, 2, 10, 0, tzinfo=UTC)
RECENT = datetime(2026, 2, 2, 10, 0, tzinfo=UTC)
PDF = b"%PDF-1.7 " + b"Bescheid " * 300  # a few KB, as a one-page notice without fonts


def setup(session: Session, persons: int) -> Municipality:
    """The municipality and its old records (see the module), committed."""
    m = factories.municipality(session)
    session.flush()
    p0, d0, o0 = (first_id(session, t) for t in (Person, Document, OutboxMessage))
    write(
        session,
        Person,
        person_rows(
            m.id,
            p0,
            persons,
            given_name="Alma",
            family_name="Altbestand",
            created_at=REGISTERED,
            email=lambda n: f"alma{n}@example.org",
        ),
    )
    kept = range(0, persons, 10)
    write(
        session,
        Document,
        (
            {
                "id": d0 + k,
                "municipality_id": m.id,
                "person_id": p0 + n,
                "kind": "notice",
                "filename": "bescheid.pdf",
                "media_type": "application/pdf",
                "sha256": "0" * 64,
                "size_bytes": len(PDF),
                "content": PDF,
                "created_at": made,
            }
            for k, (n, made) in enumerate(
                [(n, MADE) for n in range(persons)] + [(n, RECENT) for n in kept]
            )
        ),
    )
    write(
        session,
        OutboxMessage,
        (
            {
                "id": o0 + n,
                "municipality_id": m.id,
                "recipient": f"alma{n + 1}@example.org",
                "subject": "Ihr Bescheid liegt im Postfach",
                "body": "Guten Tag, Ihr Bescheid liegt in Ihrem Postfach bereit.",
                "created_at": MADE,
                "sent_at": MADE,
            }
            for n in range(persons)
        ),
    )
    session.add(Counter(municipality_id=m.id, name="person", last_value=persons))
    if session.get_bind().dialect.name == "postgresql":
        for model in (Person, Document, OutboxMessage):
            name = model.__tablename__
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {name}))"
                )
            )
    session.commit()
    return m


def raw_sqlite_erasures_per_second(items: int, chunk: int = 500) -> float:
    """Items per second raw sqlite3 erases: the record's UPDATE and an audit row each."""
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "anchor.sqlite3")
        db.executescript(
            "CREATE TABLE document (id INTEGER PRIMARY KEY, content BLOB);"
            "CREATE TABLE audit_event (id INTEGER PRIMARY KEY, occurred_at TEXT, actor TEXT, "
            "action TEXT, object_type TEXT, object_id INTEGER, after TEXT);"
        )
        db.executemany("INSERT INTO document VALUES (?, ?)", ((i, PDF) for i in range(items)))
        db.commit()
        now = datetime.now(UTC).isoformat()
        after = json.dumps({"object_type": "document", "category": "bescheid", "rule": "x" * 60})
        started = time.perf_counter()
        for first in range(0, items, chunk):
            ids = range(first, min(first + chunk, items))
            db.executemany(
                "UPDATE document SET content = x'' WHERE id = ? AND length(content) > 0",
                ((i,) for i in ids),
            )
            db.executemany(
                "INSERT INTO audit_event VALUES (NULL, ?, 'user:2', 'retention.erased', "
                "'retention_item', ?, ?)",
                ((now, i, after) for i in ids),
            )
            db.commit()
        elapsed = time.perf_counter() - started
        db.close()
    return items / elapsed


def bench_retention(url: str, persons: int, *, anchor: bool = True) -> None:
    backend = url.split(":")[0]
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        started = time.perf_counter()
        m = setup(session, persons)
        print(
            f"  set-up ({backend}): {persons:,} persons with old records in "
            f"{time.perf_counter() - started:.1f} s (bulk insert, not measured)",
            file=sys.stderr,
        )
        shown, p_wall, p_cpu, p_sql = _step(
            session, "preview", lambda: runs.preview(session, m, AS_OF)
        )
        (run, _), o_wall, o_cpu, o_sql = _step(
            session, "prepare", lambda: runs.open_run(session, m, AS_OF, "user:1")
        )
        session.commit()

        def approve_and_delete() -> int:
            job_id = runs.approve(session, run, "user:2")
            session.commit()
            if job_id is None:
                return 0
            return worker.drain(factory, environment={}, job_id=job_id)

        chunks, a_wall, a_cpu, a_sql = _step(session, "approve and delete", approve_and_delete)
        session.expire_all()
        done = session.scalar(
            select(func.count(RetentionItem.id)).where(
                RetentionItem.run_id == run.id, RetentionItem.done_at.is_not(None)
            )
        )
        done = done or 0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"retention run/{backend}: preview {len(shown.items) / p_wall:,.0f} items/s "
            f"({p_cpu:,.1f} s CPU, {p_sql:,} statements); prepare "
            f"{len(shown.items) / o_wall:,.0f} items/s ({o_cpu:,.1f} s CPU, {o_sql:,} "
            f"statements); approval and the deleting job ({chunks} chunks) {done / a_wall:,.0f} "
            f"items/s ({a_cpu:,.1f} s CPU of this process, {a_sql:,} statements) — {done:,} "
            f"items done of {len(shown.items):,} found "
            f"({len(shown.blocked):,} blocked); peak RSS {rss:,.0f} MiB; load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        if anchor and done:
            raw = raw_sqlite_erasures_per_second(done)
            total = p_wall + o_wall + a_wall
            print(
                f"retention anchor: raw sqlite3 erases (UPDATE and audit row per item, "
                f"executemany) {raw:,.0f} items/s in this run — ratio {done / total / raw:.3f} "
                f"for the whole run ({done / total:,.0f} items/s)"
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=10_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    on_each_database(
        "bench_retention",
        bench_retention,
        sqlite=not (args.no_sqlite and args.postgres),
        postgres=args.postgres,
        persons=args.persons,
    )


if __name__ == "__main__":
    main()
