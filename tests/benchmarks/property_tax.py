"""Benchmark of the property-tax annual run (issue 14): `python -m tests.benchmarks.run --only
property-tax [--plots 250000]`. A town with ``plots`` property-tax objects (every fourth owner
has two), each with a Grundsteuermessbescheid from 2025 (bulk insert: set-up, not measured);
timed: the levy's annual run for 2027 (read the plots and the Messbetrag in force, compute,
notice records, the § 28 GrStG instalment claims booked, audit rows), a commit per chunk of 500
owners, as `openkasse assess property-tax` does it. Then the same run again (it books nothing),
the next year relying on the standing notices (no notice, the claims booked on them), and the
anchor: raw sqlite3 writing the same four rows per claim."""

from __future__ import annotations

import sys
import time
from datetime import date
from typing import Any

from alembic import command
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.ledger.models import Claim
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
from core.levies.property_tax.assessment import PROPERTY_TAX
from core.persons.models import Address, Person, PersonKind
from core.tenancy.municipalities import Counter, Municipality
from core.tenancy.statutes import Statute
from portal.cli.db import alembic_config
from tests import factories
from tests.benchmarks.anchor import raw_sqlite_claims_per_second

YEAR = 2027
AS_OF = date(2027, 1, 10)
BATCH = 10_000


def owners_for(plots: int) -> int:
    """Owners of ``plots`` plots when every fourth owner has two (250,000 → 200,000)."""
    return -(-plots * 4 // 5)


def _insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    for first in range(0, len(rows), BATCH):
        session.execute(insert(table), rows[first : first + BATCH])


def setup(session: Session, plots: int) -> Municipality:
    m = factories.municipality(session)
    session.add(
        Statute(
            municipality_id=m.id,
            levy="property_tax",
            valid_from=date(2025, 1, 1),
            source="Hebesatzsatzung (Benchmark)",
            data={
                "hebesatz_percent": {"A": 290, "B_residential": 595, "B_non_residential": 1080},
                "differentiation_basis": "NRW-Gesetz über differenzierte Hebesätze (2024)",
                "small_amounts": True,
                "legal_basis": "Hebesatzsatzung (Benchmark), §§ 25, 27 bis 31 GrStG",
                "remedy": "Klage innerhalb eines Monats (Benchmark).",
            },
        )
    )
    created = clock.now()
    owners = owners_for(plots)
    _insert(
        session,
        Person,
        [
            {
                "municipality_id": m.id,
                "number": n,
                "kind": PersonKind.NATURAL,
                "given_name": "Erika",
                "family_name": f"Eigner{n}",
                "created_at": created,
            }
            for n in range(1, owners + 1)
        ],
    )
    ids = list(
        session.scalars(
            select(Person.id).where(Person.municipality_id == m.id).order_by(Person.number)
        )
    )
    _insert(
        session,
        Address,
        [
            {
                "person_id": pid,
                "street": "Lindenweg",
                "house_number": str(n + 1),
                "postal_code": "12345",
                "city": m.city,
                "country": "DE",
                "valid_from": date(2015, 1, 1),
            }
            for n, pid in enumerate(ids)
        ],
    )
    objects = []
    for i, pid in enumerate(ids):
        for k in range(2 if i % 4 == 3 else 1):
            n = len(objects)
            if n == plots:
                break
            objects.append(
                {
                    "municipality_id": m.id,
                    "person_id": pid,
                    "tax": TaxKind.PROPERTY_TAX,
                    "reference": f"3150/{n // 10_000:03d}/{n % 10_000:04d}{k}",
                    "street": "Lindenweg",
                    "house_number": str(i + 1),
                    "postal_code": "12345",
                    "city": m.city,
                    "property_class": PropertyClass.A if n % 97 == 5 else PropertyClass.B,
                    "land_use": LandUse.NON_RESIDENTIAL if n % 7 == 3 else LandUse.RESIDENTIAL,
                    "created_at": created,
                }
            )
    _insert(session, TaxObject, objects)
    delivered = BasisNoticeImport(
        municipality_id=m.id,
        filename="benchmark.xml",
        sha256="0" * 64,
        reader="benchmark",
        records=len(objects),
        applied=len(objects),
        queued=0,
        known=0,
        imported_by="bench",
    )
    session.add(delivered)
    session.flush()
    object_ids = list(
        session.scalars(
            select(TaxObject.id).where(TaxObject.municipality_id == m.id).order_by(TaxObject.id)
        )
    )
    _insert(
        session,
        BasisNotice,
        [
            {
                "municipality_id": m.id,
                "tax_object_id": oid,
                "import_id": delivered.id,
                "kind": NoticeKind.NEW,
                "document": NoticeDocument.MEASUREMENT,
                "year_from": 2025,
                "messbetrag_cents": 200 + (n * 1373) % 30_000,  # 2 € to 302 €: all § 28 cases
                "notice_date": date(2024, 11, 15),
                "record_key": f"bench-{n}",
                "digest": f"{n:064d}",
                "created_at": created,
            }
            for n, oid in enumerate(object_ids)
        ],
    )
    session.add(Counter(municipality_id=m.id, name="person", last_value=owners))
    session.commit()
    return m


def bench_property_tax(url: str, plots: int, *, anchor: bool = True) -> None:
    backend = url.split(":")[0]
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        started = time.perf_counter()
        m = setup(session, plots)
        print(
            f"  set-up ({backend}): {owners_for(plots)} owners, {plots} plots with basis "
            f"notices in {time.perf_counter() - started:.1f} s (bulk insert, not measured)",
            file=sys.stderr,
        )
        started = time.perf_counter()

        def chunk_done(done: int, total: int) -> None:
            session.commit()
            if done % 10_000 < 500 or done == total:
                rate = done / (time.perf_counter() - started)
                print(f"  {done}/{total} owners ({rate:,.0f} owners/s)", file=sys.stderr)

        cpu = time.process_time()
        stats = PROPERTY_TAX.assess_all(
            session, municipality=m, year=YEAR, as_of=AS_OF, actor="bench", chunk_done=chunk_done
        )
        session.commit()
        run_s, cpu = time.perf_counter() - started, time.process_time() - cpu
        claims = session.scalar(select(func.count(Claim.id)).where(Claim.municipality_id == m.id))
        claims = claims or 0
        print(
            f"property-tax annual run/{backend}: {claims / run_s:,.0f} claims/s, "
            f"{stats.objects / run_s:,.0f} plots/s, {stats.persons / run_s:,.0f} owners/s — "
            f"{stats.objects} plots of {stats.persons} owners, {stats.notices} notices, "
            f"{claims} claims in {run_s:,.1f} s (this process's CPU {cpu:,.1f} s)"
        )
        started = time.perf_counter()
        again = PROPERTY_TAX.assess_all(
            session,
            municipality=m,
            year=YEAR,
            as_of=AS_OF,
            actor="bench",
            chunk_done=lambda _d, _t: session.commit(),
        )
        session.commit()
        rerun_s = time.perf_counter() - started
        after = session.scalar(select(func.count(Claim.id)).where(Claim.municipality_id == m.id))
        print(
            f"property-tax rerun/{backend}: {again.objects / rerun_s:,.0f} plots/s checked, "
            f"{again.notices} notices, {(after or 0) - claims} claims booked, in {rerun_s:,.1f} s"
        )
        started = time.perf_counter()
        later = PROPERTY_TAX.assess_all(
            session,
            municipality=m,
            year=YEAR + 1,
            as_of=date(YEAR + 1, 1, 10),
            actor="bench",
            chunk_done=lambda _d, _t: session.commit(),
        )
        session.commit()
        later_s = time.perf_counter() - started
        booked = session.scalar(select(func.count(Claim.id)).where(Claim.municipality_id == m.id))
        booked = (booked or 0) - (after or 0)
        print(
            f"property-tax next year on the standing notices/{backend}: "
            f"{booked / later_s:,.0f} claims/s, {later.notices} notices, {booked} claims "
            f"booked on the notices of {YEAR} in {later_s:,.1f} s"
        )
        if anchor and claims:
            raw = raw_sqlite_claims_per_second(claims)
            print(
                f"property-tax anchor: raw sqlite3 writes the same four rows per claim (claim, "
                f"journal entry, posting, audit row; executemany) at {raw:,.0f} claims/s in "
                f"this run — ratio {claims / run_s / raw:.3f} for the annual run, "
                f"{booked / later_s / raw:.3f} for the next year on the standing notices"
            )
    engine.dispose()
