"""Benchmark of issue 6: a direct-debit run and the import of a camt.053 with 100,000 entries.

Set-up (bulk insert, not measured): one open claim per person, with its ledger postings; a
tenth of the persons have an active mandate and a pre-notification. Measured:

1. the direct-debit run over those items (pain.008 written and XSD-checked, items booked);
2. the import of one statement: the run's credits (one entry each, with its EndToEndId),
   transfers naming the Kassenzeichen (plain or as RF reference), and transfers nobody can
   match (parked in suspense, with suggestions by amount and name), in that mix.
"""

from __future__ import annotations

import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory
from core.kernel.references import make_kassenzeichen, make_rf
from core.ledger.accounts import system_account
from core.ledger.kinds import KINDS, ClaimKind
from core.ledger.models import (
    AccountKind,
    Claim,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    Posting,
)
from core.payments.bank import imports as bank_import
from core.payments.bank.camt import CamtEntry, CamtStatement, CamtTransaction
from core.payments.sepa.models import Mandate, MandateStatus, PreNotification
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Counter, Municipality
from portal.cli.db import alembic_config
from tests import factories
from tests.benchmarks.bank_anchor import raw_sqlite_entries_per_second
from tests.benchmarks.direct_debit import (
    bench_direct_debit,
    copy_database,
    largest_id,
    raw_rewrite,
)
from tests.camt_files import build_camt053

AS_OF = date(2026, 3, 2)
COLLECTION = date(2026, 3, 16)
CHUNK = 10_000
IMPORT_WRITTEN = (  # the tables the import inserts into, in the order of their foreign keys
    "counter",
    "ledger_account",
    "bank_statement_import",
    "payment",
    "journal_entry",
    "posting",
    "audit_event",
    "bank_line",
)


def _bulk(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    for first in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[first : first + CHUNK])


def setup(session: Session, persons: int, with_mandate: int) -> tuple[Municipality, list[Claim]]:
    m = factories.municipality(session)
    factories.sepa_statute(session, m)
    revenue = system_account(session, m.id, KINDS[ClaimKind.PROPERTY_TAX].revenue_account)
    created = clock.now()
    _bulk(
        session,
        Person,
        [
            {
                "municipality_id": m.id,
                "number": n,
                "kind": PersonKind.NATURAL,
                "given_name": "Erika",
                "family_name": f"Zahler{n}",
                "created_at": created,
            }
            for n in range(1, persons + 1)
        ],
    )
    ids = list(
        session.scalars(
            select(Person.id).where(Person.municipality_id == m.id).order_by(Person.number)
        )
    )
    _bulk(
        session,
        LedgerAccount,
        [
            {
                "municipality_id": m.id,
                "code": f"{prefix}{n:08d}",
                "name": f"{name} {n}",
                "kind": kind,
                "person_id": pid,
            }
            for n, pid in enumerate(ids, start=1)
            for prefix, name, kind in (
                ("P", "Forderungen", AccountKind.RECEIVABLE),
                ("G", "Guthaben", AccountKind.CREDIT),
            )
        ],
    )
    receivable = dict(
        session.execute(
            select(LedgerAccount.person_id, LedgerAccount.id).where(
                LedgerAccount.municipality_id == m.id, LedgerAccount.kind == AccountKind.RECEIVABLE
            )
        ).all()
    )
    _bulk(
        session,
        Claim,
        [
            {
                "municipality_id": m.id,
                "person_id": pid,
                "kind": ClaimKind.PROPERTY_TAX,
                "description": "Grundsteuer 2026, Rate 1",
                "amount_cents": 1000 + n % 9000,
                "due_date": date(2026, 2, 15),
                "kassenzeichen": make_kassenzeichen(m.kassenzeichen_prefix, n),
                "created_at": created,
            }
            for n, pid in enumerate(ids, start=1)
        ],
    )
    claims = list(
        session.scalars(select(Claim).where(Claim.municipality_id == m.id).order_by(Claim.id))
    )
    _bulk(
        session,
        JournalEntry,
        [
            {
                "municipality_id": m.id,
                "person_id": c.person_id,
                "kind": EntryKind.CLAIM,
                "value_date": AS_OF,
                "booked_at": created,
                "text": f"Sollstellung {c.id}",
                "actor": "bench",
            }
            for c in claims
        ],
    )
    entry_ids = list(
        session.scalars(
            select(JournalEntry.id)
            .where(JournalEntry.municipality_id == m.id)
            .order_by(JournalEntry.id)
        )
    )
    _bulk(
        session,
        Posting,
        [
            {
                "entry_id": eid,
                "debit_account_id": receivable[c.person_id],
                "credit_account_id": revenue.id,
                "amount_cents": c.amount_cents,
                "claim_id": c.id,
            }
            for eid, c in zip(entry_ids, claims, strict=True)
        ],
    )
    _bulk(
        session,
        Mandate,
        [
            {
                "municipality_id": m.id,
                "person_id": c.person_id,
                "reference": f"{m.kassenzeichen_prefix}-SEPA-{n:07d}",
                "reference_key": f"{m.kassenzeichen_prefix}-SEPA-{n:07d}",
                "account_holder": f"Erika Zahler{n}",
                "iban": "DE02120300000000202051",
                "bic": "BYLADEM1001",
                "signed_on": date(2025, 6, 1),
                "consent_text": "Ich ermächtige … (Benchmark)",
                "status": MandateStatus.ACTIVE,
                "created_at": created,
                "created_by": "bench",
            }
            for n, c in enumerate(claims[:with_mandate], start=1)
        ],
    )
    mandate_of = dict(
        session.execute(
            select(Mandate.person_id, Mandate.id).where(Mandate.municipality_id == m.id)
        ).all()
    )
    _bulk(
        session,
        PreNotification,
        [
            {
                "municipality_id": m.id,
                "person_id": c.person_id,
                "mandate_id": mandate_of[c.person_id],
                "claim_id": c.id,
                "amount_cents": c.amount_cents,
                "collection_date": COLLECTION,
                "sent_on": AS_OF - timedelta(days=1),
                "by_email": False,
                "created_at": created,
            }
            for c in claims[:with_mandate]
        ],
    )
    session.add_all(
        [
            Counter(municipality_id=m.id, name="person", last_value=persons),
            Counter(municipality_id=m.id, name="kassenzeichen", last_value=persons),
            Counter(municipality_id=m.id, name="sepa_mandate", last_value=with_mandate),
        ]
    )
    session.commit()
    return m, claims


def _tx(amount: int, remittance: str, **kw: Any) -> CamtTransaction:
    values: dict[str, Any] = dict(
        end_to_end_id=None,
        mandate_id=None,
        acct_svcr_ref=None,
        creditor_reference=None,
        counterparty_name=None,
        counterparty_iban="DE02100100100006820101",
        return_reason=None,
    )
    values.update(kw)
    return CamtTransaction(amount_cents=amount, remittance=remittance, **values)


def statement(
    m: Municipality, claims: list[Claim], items: list[Any], entries: int
) -> CamtStatement:
    """Credits of the run, then transfers: 7 of 8 name their Kassenzeichen (every fourth of those
    as RF reference), 1 of 8 names nothing usable."""
    rows: list[tuple[int, str, tuple[CamtTransaction, ...]]] = []
    for item in items[:entries]:
        rows.append(
            (
                item.amount_cents,
                "PMNT/IDDT/ESDD",
                (_tx(item.amount_cents, "Lastschrift", end_to_end_id=item.end_to_end_id),),
            )
        )
    collected = {i.claim_id for i in items}
    rest = [c for c in claims if c.id not in collected]
    for n in range(entries - len(rows)):
        c = rest[n % len(rest)]
        name = f"Erika Zahler{c.person_id}"
        if n % 8 == 7:
            tx = _tx(c.amount_cents, "Zahlung Grundsteuer", counterparty_name=name)
        elif n % 4 == 0:
            tx = _tx(
                c.amount_cents,
                "",
                creditor_reference=make_rf(c.kassenzeichen),
                counterparty_name=name,
            )
        else:
            tx = _tx(c.amount_cents, f"Grundsteuer KZ {c.kassenzeichen}", counterparty_name=name)
        rows.append((c.amount_cents, "PMNT/RCDT/ESCT", (tx,)))
    return CamtStatement(
        message_id="BENCH-1",
        statement_id="BENCH-2026-03-16",
        sequence_number="1",
        iban=m.iban,
        currency="EUR",
        created_at=None,
        kind="camt.053.001.08",
        entries=tuple(
            CamtEntry(
                index=n,
                amount_cents=amount,
                credit=True,
                reversal=False,
                booking_date=COLLECTION,
                value_date=COLLECTION,
                acct_svcr_ref=f"BANKREF{n:09d}",
                bank_transaction_code=code,
                batch_payment_info_id=None,
                batch_message_id=None,
                batch_count=None,
                transactions=txs,
            )
            for n, (amount, code, txs) in enumerate(rows, start=1)
        ),
    )


def bench_bank(url: str, entries: int) -> None:
    backend = url.split(":")[0]
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    persons, with_mandate = entries, max(1, entries // 10)
    with make_session_factory(engine)() as session:
        started = time.perf_counter()
        m, claims = setup(session, persons, with_mandate)
        print(
            f"  set-up ({backend}): {persons} persons with an open claim, {with_mandate} "
            f"mandates in {time.perf_counter() - started:.1f} s (bulk insert, not measured)",
            file=sys.stderr,
        )
        items = bench_direct_debit(session, m, url, collection=COLLECTION, as_of=AS_OF)
        started = time.perf_counter()
        xml = build_camt053(statement(m, claims, items, entries))
        print(
            f"  camt.053 with {entries} entries: {len(xml) / 1e6:.1f} MB, built in "
            f"{time.perf_counter() - started:.1f} s (not measured)",
            file=sys.stderr,
        )
        path = url.removeprefix("sqlite:///") if backend == "sqlite" else None
        since = {t: largest_id(session, t) for t in IMPORT_WRITTEN}
        copy = copy_database(path) if path else None  # the database before the import
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            if done % 10_000 == 0 or done == total:
                rate = done / (time.perf_counter() - started)
                print(f"  {done}/{total} entries ({rate:,.0f}/s)", file=sys.stderr)

        cpu = time.process_time()
        parsed = bank_import.read_bank_file(xml)
        parse_s = time.perf_counter() - started
        del xml
        report = bank_import.import_statements(
            session,
            m,
            parsed,
            filename="bench.xml",
            as_of=COLLECTION,
            actor="bench",
            progress=progress,
        )
        session.commit()
        import_s, cpu = time.perf_counter() - started, time.process_time() - cpu
        transfers = report.credits_matched - report.cleared
        print(
            f"camt.053 import/{backend}: {entries / import_s:,.0f} entries/s — {entries} entries "
            f"in {import_s:,.1f} s (parse {parse_s:,.1f} s, then match, book, commit; this "
            f"process's CPU {cpu:,.1f} s); match "
            f"rate {report.match_rate_text()} ({report.cleared} direct debits cleared, "
            f"{transfers} transfers booked, {report.queued} to clerks); peak RSS "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB; "
            f"{entries / cpu:,.0f} entries per CPU second; load average "
            f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
        )
        if path is not None and copy is not None:
            _real_schema_anchor(path, copy, since, entries, cpu)
        raw = raw_sqlite_entries_per_second(transfers, report.cleared, report.queued)
        print(
            "camt.053 anchor: raw sqlite3 writes the same rows per entry (bank line, payment, "
            "journal entry, posting, audit row / item update; executemany) at "
            f"{raw:,.0f} entries/s in this run — ratio {entries / import_s / raw:.3f} "
            "(goal: >= 20,000 entries/s parsed, matched and booked)"
        )
    engine.dispose()


def _real_schema_anchor(
    path: str, copy: str, since: dict[str, int], entries: int, cpu: float
) -> None:
    """Raw sqlite3 writing the very rows the import wrote (bank lines, payments, journal entries,
    postings, audit rows, accounts, counters; the items credited) into a copy of the database
    taken just before it: the real schema's indexes, triggers and foreign keys. Its CPU seconds
    are the floor of the import's (sqlite3 runs in this process; parsing and matching are not
    in them)."""
    counters = ("SELECT last_value, id FROM counter WHERE id <= ?", (since["counter"],))
    credited = (
        "SELECT i.status, i.credited_on, i.id FROM sepa_item i JOIN bank_line l "
        "ON l.item_id = i.id WHERE l.id > ?",
        (since["bank_line"],),
    )
    raw_s, raw_cpu = raw_rewrite(
        path,
        copy,
        since,
        before=[(counters, "UPDATE counter SET last_value = ? WHERE id = ?")],
        after=[(credited, "UPDATE sepa_item SET status = ?, credited_on = ? WHERE id = ?")],
    )
    Path(copy).unlink()
    print(
        "camt.053 anchor on the real schema (same run): raw sqlite3 writing the very rows the "
        f"import wrote into a copy taken before it: {entries / raw_s:,.0f} entries/s "
        f"({raw_s:.2f} s; CPU {raw_cpu:.2f} s = {entries / raw_cpu:,.0f} entries per CPU "
        f"second); the import took {cpu / raw_cpu:.1f} × that CPU (ratio {raw_cpu / cpu:.3f})"
    )
