"""The direct-debit run of the bank benchmark (tests/benchmarks/bank.py), with its anchor.

Measured: ``create_run`` and the commit — the items read, booked (payment, journal entry,
posting and audit row each, the item, its pre-notification and mandate updated) and the
pain.008 written and XSD-validated. Printed beside it, measured in the same run on SQLite:

* raw sqlite3 (stdlib) writing the very rows the run wrote, into a copy of the database taken
  just before the run (same schema, indexes, triggers, foreign keys on): one executemany per
  table per 5,000 rows, the same UPDATEs, one commit;
* bare lxml parsing and validating the run's own file against the same XSD;

their sum as the anchor (what the database and libxml2 can do for these items) and the ratio.
Peak RSS is the process's high-water mark during the run (reset just before it on Linux).

Alone, with more items than the bank benchmark's tenth of ``--entries``:
``python -m tests.benchmarks.direct_debit --items 100000 [--postgres]``.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from alembic import command
from lxml import etree
from sqlalchemy.orm import Session

from core.kernel.db import make_engine, make_session_factory
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.models import DirectDebitItem
from core.payments.sepa.pain008 import XSD
from core.tenancy.municipalities import Municipality
from portal.cli.db import alembic_config

CHUNK = 5_000
WRITTEN = (  # the tables the run inserts into (accounts and counters: the first run's own)
    "counter",
    "ledger_account",
    "sepa_run",
    "payment",
    "journal_entry",
    "posting",
    "audit_event",
    "sepa_item",
)


def bench_direct_debit(
    session: Session, m: Municipality, url: str, *, collection: Any, as_of: Any
) -> list[DirectDebitItem]:
    """Run and time the direct-debit run over what ``bank.setup`` made; print the figures."""
    backend = url.split(":")[0].split("+")[0]
    path = url.removeprefix("sqlite:///") if backend == "sqlite" else None
    copy = copy_database(path) if path else None
    since = {t: largest_id(session, t) for t in WRITTEN}
    _reset_peak_rss()
    before = _peak_rss_mib()  # what set-up left (its ORM objects, the session)
    started, cpu = time.perf_counter(), time.process_time()
    result = debit_runs.create_run(
        session, m, collection_date=collection, as_of=as_of, actor="bench"
    )
    session.commit()
    run_s, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = _peak_rss_mib()
    assert result.run is not None
    items = debit_runs.items_of(session, result.run)
    rate = len(items) / run_s
    print(
        f"direct-debit run/{backend}: {rate:,.0f} items/s — {len(items)} items, pain.008 of "
        f"{len(result.run.xml) / 1e6:.1f} MB (XSD-checked) in {run_s:,.2f} s; this process's "
        f"CPU {cpu:,.2f} s ({len(items) / cpu:,.0f} items per CPU second); peak RSS "
        f"{peak:,.0f} MiB ({before:,.0f} MiB before the run); load average "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
    )
    xsd_s = _bare_validation(result.run.xml)
    if copy is not None and path is not None:
        raw_s, raw_cpu = _raw_sqlite(path, copy, since, result.run.id)
        anchor = len(items) / (raw_s + xsd_s)
        print(
            f"  anchor (same run): raw sqlite3 writing the same rows {len(items) / raw_s:,.0f} "
            f"items/s ({raw_s:.2f} s; CPU {raw_cpu:.2f} s = {len(items) / raw_cpu:,.0f} items "
            f"per CPU second, the run's ceiling: sqlite3 runs in this process), bare lxml XSD "
            "parse+validation of the file "
            f"{len(items) / xsd_s:,.0f} items/s ({xsd_s:.2f} s), together {anchor:,.0f} "
            f"items/s; ratio {rate / anchor:.2f}"
        )
        Path(copy).unlink()
    else:
        print(
            f"  anchor (same run): bare lxml XSD parse+validation of the file "
            f"{len(items) / xsd_s:,.0f} items/s ({xsd_s:.2f} s); ratio to it "
            f"{rate * xsd_s / len(items):.2f}"
        )
    return items


def largest_id(session: Session, table: str) -> int:
    sql = f"SELECT max(id) FROM {table}"  # noqa: S608 (a table name of WRITTEN)
    return int(session.connection().exec_driver_sql(sql).scalar() or 0)


def copy_database(path: str) -> str:
    """A copy of the database as it is before the run (sqlite3's online backup)."""
    with tempfile.NamedTemporaryFile(suffix=".sqlite3", delete=False) as file:
        target = file.name
    with sqlite3.connect(path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return target


def _raw_sqlite(path: str, copy: str, since: dict[str, int], run_id: int) -> tuple[float, float]:
    """Seconds (wall, this process's CPU) raw sqlite3 takes to write the rows the run wrote
    into the copy."""
    counters = ("SELECT last_value, id FROM counter WHERE id <= ?", (since["counter"],))
    used = (
        "SELECT p.used_by_item_id, p.id FROM sepa_prenotification p JOIN sepa_item i "
        "ON i.id = p.used_by_item_id WHERE i.run_id = ?",
        (run_id,),
    )
    mandates = (
        "SELECT DISTINCT m.last_collected_on, m.id FROM sepa_mandate m JOIN sepa_item i "
        "ON i.mandate_id = m.id WHERE i.run_id = ?",
        (run_id,),
    )
    return raw_rewrite(
        path,
        copy,
        since,
        before=[(counters, "UPDATE counter SET last_value = ? WHERE id = ?")],
        after=[
            (used, "UPDATE sepa_prenotification SET used_by_item_id = ? WHERE id = ?"),
            (mandates, "UPDATE sepa_mandate SET last_collected_on = ? WHERE id = ?"),
        ],
    )


Query = tuple[str, tuple[Any, ...]]


def raw_rewrite(
    path: str,
    copy: str,
    since: dict[str, int],
    *,
    before: list[tuple[Query, str]],
    after: list[tuple[Query, str]],
) -> tuple[float, float]:
    """Seconds (wall, this process's CPU: sqlite3 runs in it) raw sqlite3 (stdlib) takes to
    write into ``copy`` (the database before the measured step) what the step wrote into
    ``path``: the rows of each table of ``since`` (in that order) above its largest id before,
    one executemany per table per 5,000 rows, the UPDATEs of ``before`` and ``after`` (the
    values their queries read from ``path``), one transaction; foreign keys on."""
    source = sqlite3.connect(path)
    rows = {
        t: source.execute(
            f"SELECT * FROM {t} WHERE id > ? ORDER BY id",  # noqa: S608 (a benchmark's table)
            (since[t],),
        ).fetchall()
        for t in since
    }
    first_updates = [(source.execute(*query).fetchall(), sql) for query, sql in before]
    last_updates = [(source.execute(*query).fetchall(), sql) for query, sql in after]
    source.close()
    db = sqlite3.connect(copy, isolation_level=None)
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA journal_mode=WAL")
    started, cpu = time.perf_counter(), time.process_time()
    db.execute("BEGIN IMMEDIATE")
    for values, sql in first_updates:
        db.executemany(sql, values)
    for table in since:
        if not rows[table]:
            continue
        marks = ", ".join("?" * len(rows[table][0]))
        for first in range(0, len(rows[table]), CHUNK):
            sql = f"INSERT INTO {table} VALUES ({marks})"  # noqa: S608 (a benchmark's table)
            db.executemany(sql, rows[table][first : first + CHUNK])
    for values, sql in last_updates:
        for first in range(0, len(values), CHUNK):
            db.executemany(sql, values[first : first + CHUNK])
    db.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    db.close()
    return elapsed, cpu


def _bare_validation(xml: bytes) -> float:
    """Seconds bare lxml takes to parse ``xml`` and validate it against the XSD."""
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    started = time.perf_counter()
    doc = etree.fromstring(xml, etree.XMLParser(huge_tree=True))
    schema.assertValid(doc)
    return time.perf_counter() - started


def _reset_peak_rss() -> None:
    with contextlib.suppress(OSError):  # Linux: "5" resets the high-water mark (VmHWM)
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from tests import pg
    from tests.benchmarks import bank

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000, help="items of the run")
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL instead")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]

    def run(url: str) -> None:
        command.upgrade(alembic_config(url), "head")
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            started = time.perf_counter()
            m, _claims = bank.setup(session, args.items, args.items)
            print(
                f"  set-up: {time.perf_counter() - started:.1f} s (not measured)", file=sys.stderr
            )
            bench_direct_debit(session, m, url, collection=bank.COLLECTION, as_of=bank.AS_OF)
        engine.dispose()

    if args.postgres:
        with pg.running_server() as base:
            admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql("CREATE DATABASE bench_dd")
            admin.dispose()
            run(f"{base}/bench_dd")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench_dd.sqlite3'}")


if __name__ == "__main__":
    main()
