"""What the benchmarks' set-ups share: rows written straight into the tables (a city's worth of
persons and accounts in seconds, not through the services under measurement), the persons'
and their accounts' rows, and one benchmark run on a temporary SQLite file and, if asked, on a
fresh database of a PostgreSQL server on loopback.

The rows go through :func:`core.ledger.bulk.executemany`, so the database's CHECKs, foreign keys
and triggers see them as any insert; the ids are taken after the highest one present.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from core.kernel.db import make_engine
from core.kernel.name_folding import search_name
from core.ledger.bulk import executemany
from core.ledger.models import AccountKind
from core.persons.models import PersonKind
from tests import pg

CHUNK = 20_000


def first_id(session: Session, model: Any) -> int:
    """The first free id of ``model``'s table (rows written here bring their own ids)."""
    return int(session.scalar(select(func.max(model.__table__.c.id))) or 0) + 1


def write(
    session: Session,
    model: Any,
    rows: Iterable[dict[str, Any]],
    what: str = "",
    *,
    chunk: int = CHUNK,
) -> int:
    """``rows`` into ``model``'s table, ``chunk`` at a time; with ``what``, a progress line on
    stderr every 200,000 rows. Returns how many were written."""
    table = cast(Table, model.__table__)
    rows = iter(rows)
    written = 0
    while batch := list(islice(rows, chunk)):
        executemany(session.connection(), table, batch)
        written += len(batch)
        if what and written % 200_000 < chunk:
            print(f"  set-up: {written:,} {what}", file=sys.stderr)
    return written


def person_rows(
    municipality_id: int,
    first: int,
    count: int,
    *,
    given_name: str,
    family_name: str,
    created_at: datetime,
    email: Callable[[int], str | None] = lambda n: None,
) -> Iterator[dict[str, Any]]:
    """``count`` natural persons with ids from ``first`` and numbers 1…count, named
    ``given_name`` and ``family_name`` followed by their number."""
    for n in range(count):
        family = f"{family_name}{n + 1}"
        yield {
            "id": first + n,
            "municipality_id": municipality_id,
            "number": n + 1,
            "kind": PersonKind.NATURAL,
            "given_name": given_name,
            "family_name": family,
            "company_name": None,
            "email": email(n + 1),
            "search_name": search_name(given_name, family),
            "user_id": None,
            "created_at": created_at,
        }


def person_account_rows(
    municipality_id: int, first_person: int, first_account: int, count: int
) -> Iterator[dict[str, Any]]:
    """Each person's Personenkonto as core.ledger.accounts opens it: receivable at
    ``first_account + 2n``, credit at ``first_account + 2n + 1``."""
    for n in range(count):
        for k, kind, prefix, name in (
            (0, AccountKind.RECEIVABLE, "P", "Forderungen"),
            (1, AccountKind.CREDIT, "G", "Guthaben"),
        ):
            yield {
                "id": first_account + 2 * n + k,
                "municipality_id": municipality_id,
                "code": f"{prefix}{n + 1:08d}",
                "name": f"{name} Personenkonto {n + 1}",
                "kind": kind,
                "person_id": first_person + n,
            }


def on_each_database(
    name: str, bench: Callable[..., None], *, sqlite: bool, postgres: bool, **options: Any
) -> None:
    """``bench(url, **options)`` on a temporary SQLite file (if ``sqlite``) and on a fresh
    database ``name`` of a PostgreSQL server on loopback (if ``postgres``; there without the
    raw-sqlite3 anchor, which only means something beside SQLite)."""
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    if sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            bench(f"sqlite:///{Path(tmp) / f'{name}.sqlite3'}", **options)
    if postgres:
        with pg.running_server() as base:
            admin = make_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE {name}"))
            admin.dispose()
            bench(f"{base}/{name}", **options, anchor=False)
