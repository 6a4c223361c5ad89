"""Throughput benchmarks (not part of `make test`): `make bench` or
`python -m tests.benchmarks.run [--claims N] [--postgres]`.

Ledger: post claims and book payments with § 225 allocation, the core of every batch run.
Prints claims/s and payments/s with a progress line; records nothing, asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from alembic import command

from core.db import make_engine, make_session_factory
from core.ledger import service as ledger
from core.ledger.kinds import ClaimKind
from core.ledger.models import PaymentChannel
from portal.cli import alembic_config
from tests import factories, pg

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
            made.append(ledger.post_claim(
                session, person=people[i % len(people)], municipality=m,
                kind=ClaimKind.PROPERTY_TAX, amount_cents=7200,
                due_date=AS_OF + timedelta(days=36 + i % 300), description="Grundsteuer",
                as_of=AS_OF, actor="bench"))
            if (i + 1) % 1000 == 0:
                print(f"  {i + 1}/{claims} claims", file=sys.stderr)
        session.commit()
        claim_s = time.perf_counter() - started
        started = time.perf_counter()
        for i, claim in enumerate(made):
            ledger.record_payment(
                session, person=people[i % len(people)], amount_cents=7200,
                received_on=AS_OF, channel=PaymentChannel.BANK_TRANSFER, as_of=AS_OF,
                actor="bench", kassenzeichen=claim.kassenzeichen)
            if (i + 1) % 1000 == 0:
                print(f"  {i + 1}/{claims} payments", file=sys.stderr)
        session.commit()
        pay_s = time.perf_counter() - started
    backend = url.split(":")[0]
    print(f"ledger/{backend}: {claims / claim_s:,.0f} claims/s, {claims / pay_s:,.0f} "
          f"payments/s (allocated by § 225 AO) for {claims} claims of {len(people)} persons")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=5000)
    parser.add_argument("--postgres", action="store_true", help="also on a PostgreSQL server")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
          f"Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        bench_ledger(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args.claims)
    if args.postgres:
        with pg.running_server() as base:
            from sqlalchemy import text

            admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("CREATE DATABASE bench"))
            admin.dispose()
            bench_ledger(f"{base}/bench", args.claims)


if __name__ == "__main__":
    main()
