"""Benchmark of issue 14, "Statute simulator": the Hebesatz simulator over N property-tax objects
(default 250,000, a city the size of Köln), as the back office runs it
(core.levies.realtax_simulator.simulate_municipality: every object's Messbetrag in force in one
Core select of tuples, then the levy's own annual_tax through the one engine), for a scenario of
separate residential / non-residential B rates from 2026 over 5 years.

`python -m tests.benchmarks.realtax_simulator [--objects N] [--postgres]` or
`python -m tests.benchmarks.run --only simulator`. Set-up (bulk insert, not measured): N/5
persons with five plots each, one Grundsteuermessbescheid per plot from 2025, Messbeträge of
20 € to 2,020 € (up to 200,000 distinct values: close to the worst case for the simulator,
which computes each distinct (kind, Messbetrag) once), 3 % A, 17 % non-residential, 80 %
residential land, the demo statute of Musterstadt (NRW).

Prints objects per CPU second of the simulation (and per wall second; the machines are
shared, so CPU time is the fairer measure), the CPU time of loading alone, the peak
resident memory of the process (set-up included, and the peak before the simulation), and the
anchor measured in the same run: raw sqlite3 (stdlib) selecting the same N rows' Messbetrag and
kind (the join of tax_object and basis_notice) from the same database file, rows per CPU
second.
Records nothing, asserts nothing.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from alembic import command
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.levies.basis_notices.in_force import in_force
from core.levies.basis_notices.models import (
    BasisNotice,
    BasisNoticeImport,
    LandUse,
    NoticeDocument,
    NoticeKind,
    PropertyClass,
    TaxKind,
    TaxObject,
)
from core.levies.property_tax.rules import NON_RESIDENTIAL, RESIDENTIAL
from core.levies.realtax_simulator import Scenario, simulate_municipality
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Municipality
from portal.cli.db import alembic_config
from tests import factories, pg
from tests.benchmarks.dog_tax import peak_rss_mib
from tests.realtax_simulator_data import enact_hebesaetze

BATCH = 10_000
SCENARIO = Scenario("property_tax", {RESIDENTIAL: 65000, NON_RESIDENTIAL: 99000}, 2026, 5)


def _kind(n: int) -> tuple[PropertyClass, LandUse | None]:
    if n % 100 < 3:
        return PropertyClass.A, None
    return PropertyClass.B, LandUse.NON_RESIDENTIAL if n % 100 < 20 else LandUse.RESIDENTIAL


def setup(session: Session, objects: int) -> Municipality:
    m = factories.municipality(session, slug="musterstadt")
    enact_hebesaetze(session, m)
    created = clock.now()
    persons = max(1, objects // 5)
    for first in range(1, persons + 1, BATCH):
        session.execute(
            insert(Person),
            [
                {
                    "municipality_id": m.id,
                    "number": n,
                    "kind": PersonKind.NATURAL,
                    "given_name": "Grund",
                    "family_name": f"Eigner{n}",
                    "created_at": created,
                }
                for n in range(first, min(first + BATCH, persons + 1))
            ],
        )
    person_ids = list(
        session.scalars(
            select(Person.id).where(Person.municipality_id == m.id).order_by(Person.number)
        )
    )
    delivery = BasisNoticeImport(
        municipality_id=m.id,
        filename="bench.xml",
        sha256="0" * 64,
        reader="bench",
        records=objects,
        applied=objects,
        queued=0,
        known=0,
        imported_by="bench",
    )
    session.add(delivery)
    session.flush()
    for first in range(0, objects, BATCH):
        numbers = range(first, min(first + BATCH, objects))
        session.execute(
            insert(TaxObject),
            [
                {
                    "municipality_id": m.id,
                    "person_id": person_ids[n % persons],
                    "tax": TaxKind.PROPERTY_TAX,
                    "reference": f"5315/{n // 1000:04d}/{n % 1000:03d}",
                    "property_class": _kind(n)[0],
                    "land_use": _kind(n)[1],
                    "created_at": created,
                }
                for n in numbers
            ],
        )
    object_ids = list(
        session.scalars(
            select(TaxObject.id).where(TaxObject.municipality_id == m.id).order_by(TaxObject.id)
        )
    )
    for first in range(0, objects, BATCH):
        session.execute(
            insert(BasisNotice),
            [
                {
                    "municipality_id": m.id,
                    "tax_object_id": object_ids[n],
                    "import_id": delivery.id,
                    "kind": NoticeKind.NEW,
                    "document": NoticeDocument.MEASUREMENT,
                    "year_from": 2025,
                    "messbetrag_cents": 2000 + (n * 7919) % 200_000,
                    "notice_date": date(2024, 11, 15),
                    "record_key": f"{n:064d}",
                    "digest": "0" * 64,
                    "created_at": created,
                }
                for n in range(first, min(first + BATCH, objects))
            ],
        )
    session.commit()
    return m


def raw_sqlite_rows_per_second(path: Path, municipality_id: int) -> tuple[int, float]:
    """The anchor: stdlib sqlite3 reading the same rows' Messbetrag and kind, per CPU second
    of this process (the machine is shared: wall time would measure the neighbours)."""
    db = sqlite3.connect(path)
    started = time.process_time()
    rows = db.execute(
        "SELECT o.reference, o.property_class, o.land_use, n.messbetrag_cents "
        "FROM basis_notice n JOIN tax_object o ON o.id = n.tax_object_id "
        "WHERE o.municipality_id = ? AND o.tax = 'property_tax' AND n.year_from <= 2026",
        (municipality_id,),
    ).fetchall()
    elapsed = time.process_time() - started
    db.close()
    return len(rows), len(rows) / elapsed


def bench_simulator(url: str, objects: int) -> None:
    backend = url.split(":", 1)[0]
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        started = time.perf_counter()
        m = setup(session, objects)
        print(
            f"  set-up ({backend}): {objects:,} plots in {time.perf_counter() - started:.1f} s "
            "(bulk insert, not measured)",
            file=sys.stderr,
        )
        if backend != "sqlite":  # planner statistics, as a database in use has them
            session.execute(text("ANALYZE tax_object, basis_notice"))
            session.commit()
        session.expunge_all()
        m = session.get_one(Municipality, m.id)
        rss_before = peak_rss_mib()
        started = time.process_time()
        loaded = in_force(session, m.id, TaxKind.PROPERTY_TAX, 2026, advance_fallback=False)
        load_s = time.process_time() - started
        del loaded
        session.rollback()
        started = time.perf_counter()
        cpu = time.process_time()
        result = simulate_municipality(session, m, SCENARIO)
        run_s, cpu = time.perf_counter() - started, time.process_time() - cpu
        sim = result.simulation
        first = sim.years[0]
        print(
            f"hebesatz simulator/{backend}: {sim.objects / cpu:,.0f} objects per CPU second "
            f"({sim.objects / run_s:,.0f} objects/s wall on this shared machine) — "
            f"{sim.objects:,} plots, {len(sim.years)} years, in {run_s:.2f} s wall, {cpu:.2f} s "
            f"CPU (loading the Messbeträge alone: {load_s:.2f} s CPU); revenue {first.year} "
            f"{first.current_cents / 100:,.0f} € → {first.simulated_cents / 100:,.0f} €; "
            f"peak RSS {peak_rss_mib():,.0f} MiB ({rss_before:,.0f} MiB before the simulation)"
        )
        if backend == "sqlite":
            rows, raw = raw_sqlite_rows_per_second(Path(url.removeprefix("sqlite:///")), m.id)
            print(
                f"hebesatz simulator anchor: raw sqlite3 SELECTs the same {rows:,} rows' "
                f"Messbetrag and kind at {raw:,.0f} rows per CPU second in this run — ratio "
                f"{sim.objects / cpu / raw:.3f} (the simulator: load, compute, 5 years)"
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=250_000, help="property-tax plots")
    parser.add_argument("--postgres", action="store_true", help="also on a PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true", help="with --postgres: only there")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory() as tmp:
        if args.no_sqlite and args.postgres:
            tmp = ""
        if tmp:
            bench_simulator(f"sqlite:///{Path(tmp) / 'bench_simulator.sqlite3'}", args.objects)
    if args.postgres:
        with pg.running_server() as base:
            admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("CREATE DATABASE bench_simulator"))
            admin.dispose()
            bench_simulator(f"{base}/bench_simulator", args.objects)


if __name__ == "__main__":
    main()
