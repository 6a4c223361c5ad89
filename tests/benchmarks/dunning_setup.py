"""Set-up of the dunning benchmark (tests/benchmarks/dunning.py), not measured: ``items`` open
property-tax claims of ``persons`` persons (with their Personenkonten), each claim with its
journal entry and posting as the ledger books it, written in bulk — the rows generated chunk by
chunk and written with the driver's executemany (SQLite) or COPY (PostgreSQL) through
core.ledger.bulk.executemany, never as ORM objects — so a million items take a minute or two.

Each person has ``items // persons`` claims (the first ``items % persons`` one more), due on
four quarterly dates from 15.11.2025 to 15.02.2026 (so the surcharges count one to four months
by the first run) with amounts of 10–100 € (a little more than half bear a surcharge: 50 € and
more). Every tenth claim was paid in part (5 €, by transfer, before its due date), so the
surcharges read a payment history.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import islice
from typing import Any, cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from core.kernel import clock
from core.kernel.name_folding import search_name
from core.kernel.references import make_kassenzeichen
from core.ledger.accounts import CHANNEL_ACCOUNT, system_account
from core.ledger.bulk import executemany
from core.ledger.kinds import KINDS, ClaimKind
from core.ledger.models import (
    AccountKind,
    Claim,
    EntryKind,
    JournalEntry,
    LedgerAccount,
    Payment,
    PaymentChannel,
    Posting,
)
from core.persons.models import Person, PersonKind
from core.tenancy.municipalities import Counter, Municipality
from tests import factories

DUE_DATES = (date(2025, 11, 15), date(2025, 12, 15), date(2026, 1, 15), date(2026, 2, 15))
BOOKED_ON = date(2025, 10, 1)
PAID_ON = date(2025, 11, 3)
CHUNK = 50_000
TABLES = (Person, LedgerAccount, Claim, JournalEntry, Posting, Payment)


def _first_id(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.max(model.__table__.c.id))) or 0) + 1


def _write(session: Session, model: Any, rows: Iterator[dict[str, Any]], what: str) -> int:
    table = cast(Table, model.__table__)
    written = 0
    while batch := list(islice(rows, CHUNK)):
        executemany(session.connection(), table, batch)
        written += len(batch)
        if written % 200_000 < CHUNK:
            print(f"  set-up: {written:,} {what}", file=sys.stderr)
    return written


def open_items(session: Session, persons: int, items: int) -> Municipality:
    """The municipality with its dunning statute, ``persons`` persons and ``items`` open
    claims (see the module), committed."""
    started = time.perf_counter()
    m = factories.municipality(session)
    statute = factories.dunning_statute(session, m)
    revenue = system_account(session, m.id, KINDS[ClaimKind.PROPERTY_TAX].revenue_account).id
    bank = system_account(session, m.id, CHANNEL_ACCOUNT[PaymentChannel.BANK_TRANSFER]).id
    session.flush()
    first = {model: _first_id(session, model) for model in TABLES}
    now = clock.now()
    # the journal and the statute as a town's on the day of a run: written days before (the
    # booking's recheck computes again only claims with entries since the preview and every
    # claim after a new statute, core.dunning.recheck.changed)
    written = now - timedelta(days=2)
    statute.created_at = written
    p0, a0, c0, e0, pay0 = (first[t] for t in (Person, LedgerAccount, Claim, JournalEntry, Payment))
    _write(
        session,
        Person,
        (
            {
                "id": p0 + n,
                "municipality_id": m.id,
                "number": n + 1,
                "kind": PersonKind.NATURAL,
                "given_name": "Erika",
                "family_name": f"Säumig{n + 1}",
                "company_name": None,
                "email": None,
                "search_name": search_name("Erika", f"Säumig{n + 1}"),
                "user_id": None,
                "created_at": now,
            }
            for n in range(persons)
        ),
        "persons",
    )
    # accounts: receivable a0 + 2n, credit a0 + 2n + 1
    _write(
        session,
        LedgerAccount,
        (
            {
                "id": a0 + 2 * n + k,
                "municipality_id": m.id,
                "code": f"{prefix}{n + 1:08d}",
                "name": f"{name} Personenkonto {n + 1}",
                "kind": kind,
                "person_id": p0 + n,
            }
            for n in range(persons)
            for k, (prefix, name, kind) in enumerate(
                (
                    ("P", "Forderungen", AccountKind.RECEIVABLE),
                    ("G", "Guthaben", AccountKind.CREDIT),
                )
            )
        ),
        "accounts",
    )

    def person_of(i: int) -> int:  # claim i → person index (claims of a person adjacent)
        return i % persons

    def amount(i: int) -> int:
        return 1000 + (i * 7919) % 9001

    _write(
        session,
        Claim,
        (
            {
                "id": c0 + i,
                "municipality_id": m.id,
                "person_id": p0 + person_of(i),
                "kind": ClaimKind.PROPERTY_TAX,
                "description": f"Grundsteuer, Rate {i // persons % 4 + 1}",
                "period_start": None,
                "period_end": None,
                "amount_cents": amount(i),
                "due_date": DUE_DATES[i // persons % 4],
                "kassenzeichen": make_kassenzeichen(m.kassenzeichen_prefix, i + 1),
                "assessment_key": None,
                "notice_id": None,
                "created_at": now,
                "cancelled_by_entry_id": None,
            }
            for i in range(items)
        ),
        "claims",
    )
    paid = range(0, items, 10)
    entry = {
        "municipality_id": m.id,
        "booked_at": written,
        "actor": "bench",
        "reverses_entry_id": None,
    }
    _write(
        session,
        JournalEntry,
        (
            {
                **entry,
                "id": e0 + i,
                "person_id": p0 + person_of(i),
                "kind": EntryKind.CLAIM,
                "value_date": BOOKED_ON,
                "text": "Sollstellung Grundsteuer",
            }
            for i in range(items)
        ),
        "claim entries",
    )
    _write(
        session,
        Payment,
        (
            {
                "id": pay0 + k,
                "municipality_id": m.id,
                "person_id": p0 + person_of(i),
                "amount_cents": 500,
                "received_on": PAID_ON,
                "channel": PaymentChannel.BANK_TRANSFER,
                "reference_text": make_kassenzeichen(m.kassenzeichen_prefix, i + 1),
                "external_ref": None,
                "created_at": now,
                "reversed_by_entry_id": None,
            }
            for k, i in enumerate(paid)
        ),
        "payments",
    )
    _write(
        session,
        JournalEntry,
        (
            {
                **entry,
                "id": e0 + items + k,
                "person_id": p0 + person_of(i),
                "kind": EntryKind.PAYMENT,
                "value_date": PAID_ON,
                "text": "Zahlung",
            }
            for k, i in enumerate(paid)
        ),
        "payment entries",
    )
    posting0 = _first_id(session, Posting)
    receivable = a0  # + 2 * person index
    _write(
        session,
        Posting,
        (
            {
                "id": posting0 + i,
                "entry_id": e0 + i,
                "debit_account_id": receivable + 2 * person_of(i),
                "credit_account_id": revenue,
                "amount_cents": amount(i),
                "claim_id": c0 + i,
                "payment_id": None,
            }
            for i in range(items)
        ),
        "claim postings",
    )
    _write(
        session,
        Posting,
        (
            {
                "id": posting0 + items + k,
                "entry_id": e0 + items + k,
                "debit_account_id": bank,
                "credit_account_id": receivable + 2 * person_of(i),
                "amount_cents": 500,
                "claim_id": c0 + i,
                "payment_id": pay0 + k,
            }
            for k, i in enumerate(paid)
        ),
        "payment postings",
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
    print(
        f"  set-up: {persons:,} persons, {items:,} open items ({len(paid):,} paid in part) in "
        f"{time.perf_counter() - started:.1f} s (bulk insert, not measured)",
        file=sys.stderr,
    )
    return m
