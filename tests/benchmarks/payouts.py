"""Benchmark of the payout run (Auszahlungslauf, issue 14): credit of N persons paid out by
SEPA credit transfer.

`python -m tests.benchmarks.payouts [--persons N] [--postgres] [--no-sqlite]`, or
`python -m tests.benchmarks.run --only payouts [--payout-persons N]` (not part of the test
suite). Set-up (bulk insert, not measured): ``persons`` persons, each with a transfer of
20–120 € that nothing was owed for (all of it is credit), with its ledger rows; nine in ten have
a payout account (IBAN), every tenth none (listed "no IBAN", not paid). Measured, as the
back office does it: the preview, the run prepared (its items stored) and the second person's
approval (credit offset first, the refunds booked in chunks of core.payments.payouts.bulk.CHUNK
items, the pain.001.001.09 written and validated against its XSD once), then the commit.

Prints payouts per second, CPU seconds and statements of each step (the approval's with its
number of chunks: a constant number of statements each), the peak RSS, the load
average, and the anchor measured in the same run: raw sqlite3 writing four rows per payout
(tests.benchmarks.anchor: item, journal entry, posting, audit row), with the ratio.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from alembic import command
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session

from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.ledger.accounts import CHANNEL_ACCOUNT, system_account
from core.ledger.models import (
    EntryKind,
    JournalEntry,
    LedgerAccount,
    Payment,
    PaymentChannel,
    Posting,
)
from core.payments.payouts import bulk, runs
from core.payments.payouts.models import PayoutAccount, PayoutItem
from core.persons.models import Person
from core.tenancy.municipalities import Counter, Municipality
from portal.cli.db import alembic_config
from tests import factories
from tests.benchmarks.anchor import raw_sqlite_claims_per_second
from tests.benchmarks.setup_rows import (
    first_id,
    on_each_database,
    person_account_rows,
    person_rows,
    write,
)

AS_OF = date(2026, 6, 30)
PAID_ON = date(2026, 5, 4)
IBAN = "DE02120300000000202051"  # a valid test IBAN (checksum), the same for every account
TABLES = (Person, LedgerAccount, Payment, JournalEntry, Posting, PayoutAccount)
T = TypeVar("T")


def setup(session: Session, persons: int) -> Municipality:
    """The municipality and ``persons`` persons with credit (see the module), committed."""
    m = factories.municipality(session)
    bank = system_account(session, m.id, CHANNEL_ACCOUNT[PaymentChannel.BANK_TRANSFER]).id
    session.flush()
    p0, a0, pay0, e0, post0, acc0 = (first_id(session, t) for t in TABLES)
    now = clock.now()
    write(
        session,
        Person,
        person_rows(m.id, p0, persons, given_name="Gustav", family_name="Guthaben", created_at=now),
    )
    write(session, LedgerAccount, person_account_rows(m.id, p0, a0, persons))

    def amount(n: int) -> int:
        return 2000 + (n * 7919) % 10_001

    write(
        session,
        Payment,
        (
            {
                "id": pay0 + n,
                "municipality_id": m.id,
                "person_id": p0 + n,
                "amount_cents": amount(n),
                "received_on": PAID_ON,
                "channel": PaymentChannel.BANK_TRANSFER,
                "reference_text": f"Person {n + 1}",
                "external_ref": None,
                "created_at": now,
                "reversed_by_entry_id": None,
            }
            for n in range(persons)
        ),
    )
    write(
        session,
        JournalEntry,
        (
            {
                "id": e0 + n,
                "municipality_id": m.id,
                "person_id": p0 + n,
                "kind": EntryKind.PAYMENT,
                "value_date": PAID_ON,
                "booked_at": now,
                "text": "Zahlung ohne offene Forderung (Guthaben)",
                "actor": "bench",
                "reverses_entry_id": None,
            }
            for n in range(persons)
        ),
    )
    write(
        session,
        Posting,
        (
            {
                "id": post0 + n,
                "entry_id": e0 + n,
                "debit_account_id": bank,
                "credit_account_id": a0 + 2 * n + 1,
                "amount_cents": amount(n),
                "claim_id": None,
                "payment_id": pay0 + n,
            }
            for n in range(persons)
        ),
    )
    write(
        session,
        PayoutAccount,
        (
            {
                "id": acc0 + n,
                "municipality_id": m.id,
                "person_id": p0 + n,
                "account_holder": f"Gustav Guthaben{n + 1}",
                "iban": IBAN,
                "bic": None,
                "created_at": now,
                "created_by": "bench",
            }
            for n in range(persons)
            if n % 10 != 9
        ),
    )
    session.add(Counter(municipality_id=m.id, name="person", last_value=persons))
    if session.get_bind().dialect.name == "postgresql":
        for model in TABLES:
            name = model.__tablename__
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {name}))"
                )
            )
    session.commit()
    if session.get_bind().dialect.name == "postgresql":
        # the statistics a database in use has (autovacuum gathers them soon after a bulk
        # load): without them the run's set-based queries took seconds, not milliseconds
        session.execute(text("ANALYZE"))
        session.commit()
    return m


def _step(session: Session, what: str, action: Callable[[], T]) -> tuple[T, float, float, int]:
    """``action`` timed: its result, wall and CPU seconds, and the statements it sent."""
    sent = [0]

    def count(*_: Any) -> None:
        sent[0] += 1

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    started, cpu = time.perf_counter(), time.process_time()
    try:
        result = action()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"  {what}: {wall:,.1f} s ({cpu:,.1f} s CPU, {sent[0]:,} statements)", file=sys.stderr)
    return result, wall, cpu, sent[0]


def bench_payouts(url: str, persons: int, *, anchor: bool = True) -> None:
    backend = url.split(":")[0]
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        started = time.perf_counter()
        m = setup(session, persons)
        print(
            f"  set-up ({backend}): {persons:,} persons with credit in "
            f"{time.perf_counter() - started:.1f} s (bulk insert, not measured)",
            file=sys.stderr,
        )
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        planned, p_wall, p_cpu, p_sql = _step(
            session, "preview", lambda: runs.preview(session, m, AS_OF)
        )
        run, o_wall, o_cpu, o_sql = _step(
            session, "prepare", lambda: runs.open_run(session, m, as_of=AS_OF, actor="user:1")
        )
        session.commit()

        def approve() -> int:
            booked = runs.approve(session, run, actor="user:2", as_of=AS_OF)
            session.commit()
            return booked

        booked, a_wall, a_cpu, a_sql = _step(session, "approve", approve)
        not_paid = session.scalar(
            select(func.count(PayoutItem.id)).where(
                PayoutItem.run_id == run.id, PayoutItem.reason.is_not(None)
            )
        )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        chunks = -(-booked // bulk.CHUNK)  # the payable items are taken CHUNK at a time
        print(
            f"payout run/{backend}: preview {len(planned) / p_wall:,.0f} persons/s "
            f"({p_cpu:,.1f} s CPU, {p_sql:,} statements); prepare {len(planned) / o_wall:,.0f} "
            f"persons/s ({o_cpu:,.1f} s CPU, {o_sql:,} statements); approval (offset, book, "
            f"pain.001 with XSD) {booked / a_wall:,.0f} payouts/s ({a_cpu:,.1f} s CPU, "
            f"{a_sql:,} statements; {chunks} chunks of {bulk.CHUNK:,} items) — {booked:,} "
            f"payouts of {len(planned):,} persons with credit, {not_paid:,} not paid (no IBAN), "
            f"file {len(run.xml or b''):,} bytes; peak "
            f"RSS {rss:,.0f} MiB ({rss_before:,.0f} before the run); load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        if anchor and booked:
            raw = raw_sqlite_claims_per_second(booked)
            total, cpu = p_wall + o_wall + a_wall, p_cpu + o_cpu + a_cpu
            print(
                f"payout anchor: raw sqlite3 writes four rows per payout (item, journal entry, "
                f"posting, audit row; executemany) at {raw:,.0f}/s in this run — ratio "
                f"{booked / total / raw:.3f} for the whole run ({booked / total:,.0f} payouts/s; "
                f"by CPU seconds {booked / cpu:,.0f} payouts/s, ratio {booked / cpu / raw:.3f})"
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    on_each_database(
        "bench_payouts",
        bench_payouts,
        sqlite=not (args.no_sqlite and args.postgres),
        postgres=args.postgres,
        persons=args.persons,
    )


if __name__ == "__main__":
    main()
