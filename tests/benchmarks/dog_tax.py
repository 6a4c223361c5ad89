"""The dog-tax annual run's benchmark (issue 3, issue 12 on PostgreSQL): `python -m
tests.benchmarks.run --only dog-tax [--dogs N] [--render N] [--postgres [--no-sqlite]
[--postgres-dogs N]]`. The annual assessment (Jahresveranlagung) of 100,000 dogs — computation,
notice records and booking — then rendering and archiving the PDFs of a sample of the notices.
Also the set-up the jobs and delivery benchmarks share (owners, addresses and dogs written in
bulk) and the helpers of the benchmarks (statement counter, peak RSS).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Iterator
from datetime import date
from itertools import islice
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Engine, event, func, insert, select, text
from sqlalchemy.orm import Session

from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.kernel.months import add_months
from core.ledger.models import Claim
from core.levies.dog_tax.assessment import assess_all
from core.levies.dog_tax.models import Dog, DogStatus
from core.notices.records import Notice, NoticeSettings, ensure_document
from core.persons.models import Address, Person, PersonKind
from core.tenancy.municipalities import Counter, Municipality
from portal.cli.db import alembic_config
from tests import factories
from tests.benchmarks.anchor import raw_sqlite_claims_per_second

DOG_AS_OF = date(2027, 1, 10)
DOG_YEAR = 2027
BREEDS = ("Labrador Retriever", "Mischling", "Dackel", "Golden Retriever", "Beagle", "Pudel")
SETTINGS = NoticeSettings(
    secret="bench-secret-" + "x" * 32, public_base_url="https://portal.example"
)


def _dog_rows(m: Municipality, owner_ids: list[int], dogs: int) -> Iterator[dict[str, Any]]:
    """``dogs`` dogs, deterministically: every fourth owner has two, the others one; a mix of
    ordinary, listed (dangerous), reduced (benefits) and exempt (assistance) dogs, some taken in
    during the year before the run so that their first instalments are pro rata. Generated
    one by one, so that a set-up of a million dogs holds only one batch of them."""
    n = 0
    for i, owner_id in enumerate(owner_ids):
        for _ in range(2 if i % 4 == 3 else 1):
            if n == dogs:
                return
            acquired = date(2016 + n % 11, 1 + n % 12, 1 + n % 28)
            yield {
                "municipality_id": m.id,
                "person_id": owner_id,
                "name": f"Hund {n + 1}",
                "breed": "Rottweiler" if n % 50 == 7 else BREEDS[n % len(BREEDS)],
                "born_on": add_months(acquired, -(3 + n % 30)),
                "acquired_on": acquired,
                "chip_number": f"276098{n:09d}",
                "dangerous": n % 50 == 7,
                "exemption_code": {13: "benefits", 29: "assistance"}.get(n % 100),
                "tag_number": n + 1,
                "status": DogStatus.ACTIVE,
            }
            n += 1


def owners_for(dogs: int) -> int:
    """Owners needed for ``dogs`` dogs when every fourth owner has two (100,000 → 80,000)."""
    return -(-dogs * 4 // 5)


def dog_tax_setup(session: Session, dogs: int) -> tuple[Municipality, int]:
    """A municipality with the dog-tax statute, its owners (with addresses) and ``dogs`` dogs,
    bulk-inserted and committed; returns the municipality and the number of dogs."""
    m = factories.municipality(session)
    factories.dog_tax_statute(session, m)
    owners = owners_for(dogs)
    created = clock.now()
    for first in range(0, owners, 10_000):
        session.execute(
            insert(Person),
            [
                {
                    "municipality_id": m.id,
                    "number": n,
                    "kind": PersonKind.NATURAL,
                    "given_name": "Erika",
                    "family_name": f"Halter{n}",
                    "created_at": created,
                }
                for n in range(first + 1, min(first + 10_000, owners) + 1)
            ],
        )
    owner_ids = list(
        session.scalars(
            select(Person.id).where(Person.municipality_id == m.id).order_by(Person.number)
        )
    )
    for first in range(0, owners, 10_000):
        session.execute(
            insert(Address),
            [
                {
                    "person_id": pid,
                    "street": "Hundeweg",
                    "house_number": str(n + 1),
                    "postal_code": "12345",
                    "city": m.city,
                    "country": "DE",
                    "valid_from": date(2015, 1, 1),
                }
                for n, pid in enumerate(owner_ids[first : first + 10_000], start=first)
            ],
        )
    rows, made = _dog_rows(m, owner_ids, dogs), 0
    while batch := [{**r, "created_at": created} for r in islice(rows, 10_000)]:
        session.execute(insert(Dog), batch)
        made += len(batch)
    session.add_all(
        [
            Counter(municipality_id=m.id, name="person", last_value=owners),
            Counter(municipality_id=m.id, name="dog_tag", last_value=made),
        ]
    )
    session.commit()
    return m, made


class StatementCounter:
    """Counts the SQL statements an engine sends (round trips; executemany counts once)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        self.count += 1


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def backend_cpu_seconds(session: Session) -> float | None:
    """CPU seconds (user + system) the PostgreSQL backend of ``session`` has used so far, from
    /proc (the test server runs on this machine); None on SQLite or when it cannot be read."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    pid = session.scalar(text("SELECT pg_backend_pid()"))
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_dog_tax(url: str, dogs: int, render: int, *, anchor: bool = True) -> None:
    backend = url.split(":")[0]
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        started = time.perf_counter()
        m, dogs = dog_tax_setup(session, dogs)
        print(
            f"  set-up ({backend}): {owners_for(dogs)} owners, {dogs} dogs in "
            f"{time.perf_counter() - started:.1f} s (bulk insert, not measured)",
            file=sys.stderr,
        )
        rss_before = peak_rss_mib()
        statements = StatementCounter(engine)
        started = time.perf_counter()
        chunks = 0

        def chunk_done(done: int, total: int) -> None:
            nonlocal chunks
            session.commit()
            chunks += 1
            if done % 5000 < 500 or done == total:
                rate = done / (time.perf_counter() - started)
                print(
                    f"  {done}/{total} owners ({rate:,.0f} owners/s, peak RSS "
                    f"{peak_rss_mib():,.0f} MiB)",
                    file=sys.stderr,
                )

        server = backend_cpu_seconds(session)
        cpu = time.process_time()
        stats = assess_all(
            session,
            municipality=m,
            year=DOG_YEAR,
            as_of=DOG_AS_OF,
            actor="bench",
            chunk_done=chunk_done,
        )
        session.commit()
        run_s, cpu = time.perf_counter() - started, time.process_time() - cpu
        after = backend_cpu_seconds(session)
        server_cpu = (
            f", the server backend's CPU {after - server:,.1f} s"
            if server is not None and after is not None
            else ""
        )
        sql = statements.count
        claims = session.scalar(select(func.count(Claim.id)).where(Claim.municipality_id == m.id))
        print(
            f"dog-tax annual run/{backend}: {claims / run_s:,.0f} claims/s, "
            f"{dogs / run_s:,.0f} dogs/s, {stats.persons / run_s:,.0f} owners/s, "
            f"{stats.notices} notices, {claims} claims "
            f"— {dogs} dogs of {stats.persons} owners in {run_s:,.1f} s "
            f"(this process's CPU {cpu:,.1f} s{server_cpu}; load average "
            f"{os.getloadavg()[0]:.1f}; {sql / max(1, stats.persons):.2f} SQL "
            f"statements per owner, {sql / max(1, chunks):.1f} per chunk of 500 owners; "
            f"peak RSS {peak_rss_mib():,.0f} MiB, {rss_before:,.0f} MiB after the set-up)"
        )
        if anchor:
            raw = raw_sqlite_claims_per_second(claims)
            print(
                f"dog-tax anchor: raw sqlite3 writes the same four rows per claim (claim, "
                f"journal entry, posting, audit row; executemany) at {raw:,.0f} claims/s in "
                f"this run — ratio {claims / run_s / raw:.3f} (goal ≥ 0.1 on SQLite)"
            )

        notice_ids = list(
            session.scalars(
                select(Notice.id).where(Notice.municipality_id == m.id).order_by(Notice.id)
            )
        )
        sample = notice_ids[:: max(1, len(notice_ids) // render)][:render] if render else []
        started = time.perf_counter()
        for i, notice_id in enumerate(sample):
            ensure_document(session, session.get_one(Notice, notice_id), SETTINGS, actor="bench")
            if (i + 1) % 50 == 0:
                session.commit()
                print(f"  {i + 1}/{len(sample)} notices rendered", file=sys.stderr)
        session.commit()
        render_s = time.perf_counter() - started
        if sample:
            print(
                f"dog-tax notices/{backend}: {len(sample) / render_s:,.1f} notices/s rendered "
                f"and archived (PDF with two QR codes, SHA-256) — sample of {len(sample)}"
            )
    engine.dispose()
