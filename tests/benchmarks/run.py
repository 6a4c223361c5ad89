"""Throughput benchmarks (not part of `make test`): `make bench` or
`python -m tests.benchmarks.run [--claims N] [--dogs N] [--render N] [--entries N] [--notices N]
[--plots N] [--only WHAT] [--postgres]`.

Ledger: post claims and book payments with § 225 allocation, the core of every batch run.
Dog tax (issue 3): the annual assessment (Jahresveranlagung) of 100,000 dogs — computation,
notice records and booking — then rendering and archiving the PDFs of a sample of the notices
(tests/benchmarks/dog_tax.py).
Water (issue 5): the yearly water billing. Bank (issue 6): a direct-debit run and the import of
a camt.053 statement with 100,000 entries (tests/benchmarks/bank.py). Notices (issue 12): PDFs
rendered in a pool of one and of two workers against bare WeasyPrint (tests/benchmarks/notices.py).
Hebesatz simulator (issue 14): 250,000 plots, objects/s and peak memory against raw sqlite3
reading the same rows (tests/benchmarks/realtax_simulator.py).
Property tax (issue 14): the annual run over 250,000 plots (tests/benchmarks/property_tax.py).
Prints the rates with progress lines on stderr; records nothing, asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.ledger.claims import post_claim
from core.ledger.kinds import ClaimKind
from core.ledger.models import Claim, PaymentChannel
from core.ledger.receipts import record_payment
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Municipality
from core.tenancy.statutes import Statute
from portal.cli.db import alembic_config
from tests import factories, pg
from tests.benchmarks.anchor import raw_sqlite_claims_per_second
from tests.benchmarks.dog_tax import bench_dog_tax, peak_rss_mib

AS_OF = date(2026, 1, 10)


def bench_ledger(url: str, claims: int) -> None:
    command.upgrade(alembic_config(url), "head")
    factory = make_session_factory(make_engine(url))
    with factory() as session:
        m = factories.municipality(session)
        people = [factories.person(session, m) for _ in range(max(1, claims // 4))]
        session.commit()
        started = time.perf_counter()
        made = []
        for i in range(claims):
            made.append(
                post_claim(
                    session,
                    person=people[i % len(people)],
                    municipality=m,
                    kind=ClaimKind.PROPERTY_TAX,
                    amount_cents=7200,
                    due_date=AS_OF + timedelta(days=36 + i % 300),
                    description="Grundsteuer",
                    as_of=AS_OF,
                    actor="bench",
                )
            )
            if (i + 1) % 1000 == 0:
                print(f"  {i + 1}/{claims} claims", file=sys.stderr)
        session.commit()
        claim_s = time.perf_counter() - started
        started = time.perf_counter()
        for i, claim in enumerate(made):
            record_payment(
                session,
                person=people[i % len(people)],
                amount_cents=7200,
                received_on=AS_OF,
                channel=PaymentChannel.BANK_TRANSFER,
                as_of=AS_OF,
                actor="bench",
                kassenzeichen=claim.kassenzeichen,
            )
            if (i + 1) % 1000 == 0:
                print(f"  {i + 1}/{claims} payments", file=sys.stderr)
        session.commit()
        pay_s = time.perf_counter() - started
    backend = url.split(":")[0]
    print(
        f"ledger/{backend}: {claims / claim_s:,.0f} claims/s, {claims / pay_s:,.0f} "
        f"payments/s (allocated by § 225 AO) for {claims} claims of {len(people)} persons, "
        f"one by one (the services a clerk's or citizen's request calls); peak RSS "
        f"{peak_rss_mib():,.0f} MiB"
    )
    if backend == "sqlite":
        raw = raw_sqlite_claims_per_second(claims)
        print(
            f"ledger anchor: raw sqlite3 writes the four rows per claim at {raw:,.0f} claims/s "
            f"in this run — ratio {claims / claim_s / raw:.3f} one by one (the runs book in "
            "bulk: see the dog-tax run)"
        )


WATER_PERIOD = 2026


def water_setup(session: Session, meters: int) -> Municipality:
    """A municipality with its water statute and ``meters`` meters with two years of accepted
    readings each (bulk insert: set-up, not measured)."""
    from core.levies.water.models import Meter, MeterReading, ReadingSource, ReadingStatus
    from tests.integration.test_water_flow import WATER

    m = factories.municipality(session)
    session.add(
        Statute(
            municipality_id=m.id,
            levy="water_fee",
            valid_from=date(2020, 1, 1),
            source="Wassergebührensatzung (Benchmark)",
            data=WATER,
        )
    )
    created = clock.now()
    session.execute(
        insert(Person),
        [
            {
                "municipality_id": m.id,
                "number": n,
                "kind": PersonKind.NATURAL,
                "given_name": "Wa",
                "family_name": f"Nutzer{n}",
                "created_at": created,
            }
            for n in range(1, meters + 1)
        ],
    )
    person_ids = list(
        session.scalars(
            select(Person.id).where(Person.municipality_id == m.id).order_by(Person.number)
        )
    )
    session.execute(
        insert(Meter),
        [
            {
                "municipality_id": m.id,
                "person_id": pid,
                "number": f"WZ{n:07d}",
                "size": "Q3 4",
                "location": f"Wasserweg {n}",
                "installed_on": date(2020, 1, 1),
                "initial_reading": 0,
                "created_at": created,
            }
            for n, pid in enumerate(person_ids, start=1)
        ],
    )
    meter_ids = list(
        session.scalars(select(Meter.id).where(Meter.municipality_id == m.id).order_by(Meter.id))
    )
    rows = []
    for n, mid in enumerate(meter_ids):
        yearly = 40 + n % 120
        for period, value in ((WATER_PERIOD - 1, 1000 + yearly), (WATER_PERIOD, 1000 + 2 * yearly)):
            if period == WATER_PERIOD and n % 10 == 0:
                continue  # every tenth meter sent no reading: estimated
            rows.append(
                {
                    "municipality_id": m.id,
                    "meter_id": mid,
                    "period": period,
                    "value": value,
                    "read_on": date(period, 12, 15),
                    "source": ReadingSource.CARD,
                    "status": ReadingStatus.ACCEPTED,
                    "current": True,
                    "issues": [],
                    "created_at": created,
                    "created_by": "bench",
                }
            )
    for first in range(0, len(rows), 10_000):
        session.execute(insert(MeterReading), rows[first : first + 10_000])
    session.execute(update(Meter).where(Meter.municipality_id == m.id).values(initial_reading=1000))
    session.commit()
    return m


def bench_water(url: str, meters: int, *, anchor: bool = True) -> None:
    """The water billing run; on SQLite beside raw sqlite3 writing the four rows of each claim
    the run booked (the bill's final payment and next year's advances), as for the dog tax."""
    from core.levies.water.assessment import bill_all

    backend = url.split(":")[0]
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        started = time.perf_counter()
        m = water_setup(session, meters)
        print(
            f"  set-up ({backend}): {meters} meters with readings in "
            f"{time.perf_counter() - started:.1f} s (bulk insert, not measured)",
            file=sys.stderr,
        )
        started, cpu_started = time.perf_counter(), time.process_time()

        def chunk_done(done: int, total: int) -> None:
            session.commit()
            if done % 5000 < 500 or done == total:
                rate = done / (time.perf_counter() - started)
                print(f"  {done}/{total} meters ({rate:,.0f} meters/s)", file=sys.stderr)

        stats = bill_all(
            session,
            municipality=m,
            period=WATER_PERIOD,
            as_of=date(WATER_PERIOD + 1, 1, 15),
            actor="bench",
            chunk_done=chunk_done,
        )
        session.commit()
        run_s, run_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        claims = (
            session.scalar(
                select(func.count(Claim.id)).where(
                    Claim.municipality_id == m.id, Claim.kind == ClaimKind.WATER_FEE
                )
            )
            or 0
        )
        print(
            f"water billing run/{backend}: {stats.meters / run_s:,.0f} meters/s — "
            f"{stats.meters} meters, {stats.notices} bills ({stats.estimated} estimated), "
            f"{claims:,} claims ({claims / run_s:,.0f}/s) with next year's advance payments, in "
            f"{run_s:,.1f} s ({run_cpu:,.1f} s CPU of this process; peak RSS "
            f"{peak_rss_mib():,.0f} MiB)"
        )
        if anchor and backend == "sqlite" and claims:
            raw = raw_sqlite_claims_per_second(claims)
            print(
                f"water anchor: raw sqlite3 writes the four rows per claim at {raw:,.0f} "
                f"claims/s in this run — ratio {claims / run_s / raw:.3f}"
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument(
        "--dogs",
        type=int,
        default=100_000,
        help="dogs of the annual dog-tax run (owners: 4/5 of it)",
    )
    parser.add_argument(
        "--render", type=int, default=200, help="notices of the run to render and archive as PDF"
    )
    parser.add_argument("--meters", type=int, default=100_000, help="meters of the water run")
    parser.add_argument(
        "--plots", type=int, default=250_000, help="plots of the property-tax annual run"
    )
    parser.add_argument(
        "--entries", type=int, default=100_000, help="entries of the camt.053 statement"
    )
    parser.add_argument("--notices", type=int, default=200, help="notices per pool size")
    parser.add_argument(
        "--dunning-items", type=int, default=100_000, help="open items of the dunning run"
    )
    parser.add_argument(
        "--simulator-objects",
        type=int,
        default=250_000,
        help="property-tax plots of the Hebesatz simulator",
    )
    parser.add_argument(
        "--delivery-notices", type=int, default=100, help="notices of the postal-fallback batch"
    )
    parser.add_argument(
        "--dunning-persons",
        type=int,
        help="persons owing the dunning run's items (default: one item each; issue 13: "
        "--dunning-items 1000000 --dunning-persons 250000)",
    )
    parser.add_argument(
        "--only",
        choices=(
            "ledger",
            "dog-tax",
            "water",
            "bank",
            "web",
            "notices",
            "jobs",
            "dunning",
            "simulator",
            "delivery",
            "property-tax",
            "payouts",
            "retention",
        ),
        help="run one benchmark only",
    )
    parser.add_argument("--payout-persons", type=int, default=20_000, help="persons with credit")
    parser.add_argument(
        "--retention-persons", type=int, default=10_000, help="persons with old records"
    )
    parser.add_argument("--postgres", action="store_true", help="also on a PostgreSQL server")
    parser.add_argument(
        "--postgres-dogs", type=int, help="dogs of the dog-tax run on PostgreSQL (default: --dogs)"
    )
    parser.add_argument("--no-sqlite", action="store_true", help="with --postgres: only there")
    parser.add_argument(
        "--memory",
        action="store_true",
        help="the dog-tax annual run over 1,000,000 dogs (800,000 owners), no PDFs and no "
        "anchor, printing the peak RSS (goal: < 1 GiB); --dogs changes the size",
    )
    args = parser.parse_args()
    if args.memory:
        args.only, args.render = "dog-tax", 0
        if "--dogs" not in sys.argv:
            args.dogs = 1_000_000
    # results (stdout) in order with the progress lines (stderr) when both go to one file
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}"
    )

    def run_all(url_for: Any, dogs: int) -> None:
        if args.only in (None, "ledger"):
            bench_ledger(url_for("bench"), args.claims)
        if args.only in (None, "dog-tax"):
            bench_dog_tax(url_for("bench_dogs"), dogs, args.render, anchor=not args.memory)
        if args.only in (None, "water"):
            bench_water(url_for("bench_water"), args.meters)
        if args.only in (None, "bank"):
            from tests.benchmarks.bank import bench_bank

            bench_bank(url_for("bench_bank"), args.entries)
        if args.only in (None, "web"):
            from tests.benchmarks.web import bench_web

            bench_web(url_for("bench_web"))
        if args.only in (None, "notices"):
            from tests.benchmarks.notices import bench_notices

            bench_notices(url_for("bench_notices"), args.notices)
        if args.only in (None, "jobs"):
            from tests.benchmarks.jobs import bench_jobs

            bench_jobs(url_for, args.dogs // 5)
        if args.only in (None, "dunning"):
            from tests.benchmarks.dunning import bench_dunning

            bench_dunning(
                url_for("bench_dunning"), args.dunning_items, persons=args.dunning_persons
            )
        if args.only in (None, "simulator"):
            from tests.benchmarks.realtax_simulator import bench_simulator

            bench_simulator(url_for("bench_simulator"), args.simulator_objects)
        if args.only in (None, "delivery"):
            from tests.benchmarks.delivery import bench_delivery

            bench_delivery(url_for("bench_delivery"), args.delivery_notices, 200)
        if args.only in (None, "property-tax"):
            from tests.benchmarks.property_tax import bench_property_tax

            bench_property_tax(url_for("bench_property_tax"), args.plots)
        if args.only in (None, "payouts"):
            from tests.benchmarks.payouts import bench_payouts

            bench_payouts(url_for("bench_payouts"), args.payout_persons)
        if args.only in (None, "retention"):
            from tests.benchmarks.retention import bench_retention

            bench_retention(url_for("bench_retention"), args.retention_persons)

    if not (args.no_sqlite and args.postgres):
        with tempfile.TemporaryDirectory() as tmp:
            run_all(lambda name: f"sqlite:///{Path(tmp) / (name + '.sqlite3')}", args.dogs)
    if args.postgres:
        with pg.running_server() as base:

            def pg_url(name: str) -> str:
                admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(text(f"CREATE DATABASE {name}"))
                admin.dispose()
                return f"{base}/{name}"

            run_all(pg_url, args.postgres_dogs or args.dogs)


if __name__ == "__main__":
    main()
