"""Bulk booking: a chunk of claims (Sollstellungen) with their journal entries, postings and
audit rows in a handful of statements (one executemany per table, the ids reserved up front),
for the annual runs.

Each claim is booked exactly as :func:`core.ledger.claims.post_claim` books it, row for row:
a claim, one journal entry with one posting (person's receivable ← the levy's revenue), the
audit row ``claim.posted`` with the same actor and content. The rows are only inserted, never
updated, so the append-only guards (session hook, database triggers) and the CHECKs see them
as any other insert. Credit is offset afterwards only for the persons who have credit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Connection, Table, func, insert, select, union_all
from sqlalchemy.orm import Session

from core.kernel import clock
from core.kernel.audit import AuditEvent
from core.kernel.errors import LedgerError, ValidationError
from core.ledger.accounts import Payer, system_account
from core.ledger.credit import apply_credit
from core.ledger.kinds import KINDS, ClaimKind
from core.ledger.models import AccountKind, Claim, EntryKind, JournalEntry, LedgerAccount, Posting
from core.persons.models import Person
from core.tenancy.municipalities import Municipality, reserve_ids


class NewClaim(NamedTuple):
    """One claim to book, with what :func:`core.ledger.claims.post_claim` takes for it (a
    tuple: made by the hundred thousand in an annual run)."""

    person: Payer  # a Person, or a run's plain copy of one
    kind: ClaimKind
    amount_cents: int
    due_date: date
    description: str
    kassenzeichen: str
    period_start: date | None = None
    period_end: date | None = None
    assessment_key: str | None = None
    notice_id: int | None = None


def post_claims(
    session: Session,
    claims: Sequence[NewClaim],
    *,
    municipality: Municipality,
    as_of: date,
    actor: str,
) -> list[int]:
    """Book ``claims`` (a chunk) at once; returns the new claims' ids in their order.

    The same rows as one :func:`~core.ledger.claims.post_claim` per claim, in four INSERTs
    (plus the one of the person accounts opened now); then credit is offset for the persons who
    have any (Verrechnung), as after each single claim."""
    for new in claims:
        _check(new, municipality)
    if not claims:
        return []
    session.flush()  # what the session holds goes first, as it would before a single claim
    now = clock.now()  # one instant for the chunk's rows (one transaction)
    persons = {new.person.id: new.person for new in claims}
    receivable = receivable_accounts(session, list(persons.values()))
    revenue = {kind: _revenue(session, municipality.id, kind) for kind in {c.kind for c in claims}}
    claim_ids = _insert_claims(session, claims, municipality, now)
    entry_ids = _insert_entries(session, claims, as_of, actor, now)
    _insert(
        session,
        Posting,
        [
            {
                "entry_id": entry_id,
                "debit_account_id": receivable[new.person.id],
                "credit_account_id": revenue[new.kind],
                "amount_cents": new.amount_cents,
                "claim_id": claim_id,
                "payment_id": None,
            }
            for new, claim_id, entry_id in zip(claims, claim_ids, entry_ids, strict=True)
        ],
    )
    _insert(session, AuditEvent, _audit_rows(claims, claim_ids, municipality, actor, now))
    for person_id in with_credit(session, persons):
        apply_credit(session, session.get_one(Person, person_id), as_of=as_of, actor=actor)
    return claim_ids


def _check(new: NewClaim, municipality: Municipality) -> None:
    """The checks of post_claim, for every claim before anything is written."""
    if new.person.municipality_id != municipality.id:
        raise LedgerError("Person und Kommune passen nicht zusammen.")
    amount = new.amount_cents
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError("Der Betrag einer Forderung muss positiv sein (in Cent).")


def _revenue(session: Session, municipality_id: int, kind: ClaimKind) -> int:
    return system_account(session, municipality_id, KINDS[kind].revenue_account).id


def _insert_claims(
    session: Session, claims: Sequence[NewClaim], municipality: Municipality, now: datetime
) -> list[int]:
    rows = [
        {
            "municipality_id": municipality.id,
            "person_id": new.person.id,
            "kind": new.kind,
            "description": new.description[:200],
            "period_start": new.period_start,
            "period_end": new.period_end,
            "amount_cents": new.amount_cents,
            "due_date": new.due_date,
            "kassenzeichen": new.kassenzeichen,
            "assessment_key": new.assessment_key,
            "notice_id": new.notice_id,
            "created_at": now,
            "cancelled_by_entry_id": None,
        }
        for new in claims
    ]
    return _insert(session, Claim, rows)


def _insert_entries(
    session: Session, claims: Sequence[NewClaim], as_of: date, actor: str, now: datetime
) -> list[int]:
    rows = [
        {
            "municipality_id": new.person.municipality_id,
            "person_id": new.person.id,
            "kind": EntryKind.CLAIM,
            "value_date": as_of,
            "booked_at": now,
            "text": f"Sollstellung {KINDS[new.kind].label}: {new.description[:200]}"[:200],
            "actor": actor,
            "reverses_entry_id": None,
        }
        for new in claims
    ]
    return _insert(session, JournalEntry, rows)


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """``rows`` as new rows of ``model`` with reserved ids, in one executemany; their ids."""
    ids = reserve_ids(session, model, len(rows))
    for row, row_id in zip(rows, ids, strict=True):
        row["id"] = row_id  # the rows are this module's own, made for this insert
    executemany(session.connection(), model.__table__, rows)
    return ids


def executemany(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (all with the same keys) in one executemany, each value converted by its
    column type's bind processor: SQLAlchemy's own executemany rebuilds the parameters of every
    row through the compiled statement, the largest cost of a bulk run."""
    keys = list(rows[0])
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    if compiled.insert_prefetch or set(compiled.binds) != set(keys):
        raise LedgerError(f"Bulk insert into {table.name} must name every column it fills.")
    order = list(compiled.positiontup) if compiled.positional and compiled.positiontup else keys
    values: list[tuple[Any, ...]] = list(map(itemgetter(*order), rows))
    if len(order) == 1:
        values = [(value,) for value in values]
    converters = [
        (position, convert)
        for position, key in enumerate(order)
        if (convert := table.c[key].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    if converters:  # column by column: transposed, converted, transposed back (zip is C)
        columns: list[Sequence[Any]] = list(zip(*values, strict=True))
        for position, convert in converters:
            columns[position] = _converted(columns[position], convert)
        values = list(zip(*columns, strict=True))
    if dialect.name == "postgresql":
        _insert_values(connection, table, order, values)
        return
    params: list[Any] = (
        values if compiled.positional else [dict(zip(order, v, strict=True)) for v in values]
    )
    connection.exec_driver_sql(compiled.string, params)


def _insert_values(
    connection: Connection, table: Table, keys: list[str], values: list[tuple[Any, ...]]
) -> None:
    """PostgreSQL: the rows in one COPY … FROM STDIN, in the transaction of ``connection``
    (the server checks constraints and fires triggers as for INSERT); a pipelined INSERT
    per row, or a multi-row INSERT parsed by the driver, is a tenth as fast."""
    quote = connection.dialect.identifier_preparer
    names = ", ".join(quote.quote(table.c[k].name) for k in keys)
    driver: Any = connection.connection.driver_connection  # a psycopg connection
    statement = f"COPY {quote.format_table(table)} ({names}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in values:
            copy.write_row(row)


def _converted(column: Sequence[Any], convert: Callable[[Any], Any]) -> list[Any]:
    """One column converted; a value repeated in the column (the chunk's instant, its dates,
    an enum) is converted once, as the processors are pure."""
    done: dict[Any, Any] = {}
    result = []
    for value in column:
        try:
            result.append(done[value])
        except KeyError:
            result.append(done.setdefault(value, convert(value)))
        except TypeError:  # unhashable (a JSON document)
            result.append(convert(value))
    return result


def _audit_rows(
    claims: Sequence[NewClaim],
    claim_ids: list[int],
    municipality: Municipality,
    actor: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """The rows audit.record writes for ``claim.posted`` in post_claim, with the same content."""
    return [
        {
            "occurred_at": now,
            "actor": actor,
            "action": "claim.posted",
            "object_type": Claim.__tablename__,
            "object_id": claim_id,
            "municipality_id": municipality.id,
            "before": None,
            "after": {
                "amount_cents": new.amount_cents,
                "kind": new.kind.value,
                "due_date": new.due_date.isoformat(),
                "kassenzeichen": new.kassenzeichen,
            },
        }
        for new, claim_id in zip(claims, claim_ids, strict=True)
    ]


def receivable_accounts(session: Session, persons: Sequence[Payer]) -> dict[int, int]:
    """The receivable account id per person; the Personenkonto (receivable and credit) of a
    person who has none yet is opened as :func:`core.ledger.accounts.person_accounts` opens it,
    for all of them in one INSERT."""
    found = {
        (person_id, kind): account_id
        for account_id, person_id, kind in session.execute(
            select(LedgerAccount.id, LedgerAccount.person_id, LedgerAccount.kind).where(
                LedgerAccount.person_id.in_([p.id for p in persons])
            )
        )
    }
    missing: list[dict[str, Any]] = [
        {
            "municipality_id": person.municipality_id,
            "code": f"{prefix}{person.number:08d}",
            "name": f"{name} Personenkonto {person.number}",
            "kind": kind,
            "person_id": person.id,
        }
        for person in persons
        for kind, prefix, name in (
            (AccountKind.RECEIVABLE, "P", "Forderungen"),
            (AccountKind.CREDIT, "G", "Guthaben"),
        )
        if (person.id, kind) not in found
    ]
    if missing:
        ids = _insert(session, LedgerAccount, missing)
        for row, account_id in zip(missing, ids, strict=True):
            found[(int(row["person_id"]), AccountKind(row["kind"]))] = account_id
    return {p.id: found[(p.id, AccountKind.RECEIVABLE)] for p in persons}


def with_credit(session: Session, person_ids: Collection[int]) -> list[int]:
    """The persons (of ``person_ids``) whose credit account holds credit, in one query (the
    credit accounts' postings on either side, each found by its own index)."""
    if not person_ids:
        return []
    accounts = select(LedgerAccount.id).where(
        LedgerAccount.person_id.in_(list(person_ids)), LedgerAccount.kind == AccountKind.CREDIT
    )
    signed = union_all(
        select(
            Posting.credit_account_id.label("account_id"), Posting.amount_cents.label("cents")
        ).where(Posting.credit_account_id.in_(accounts)),
        select(Posting.debit_account_id, -Posting.amount_cents).where(
            Posting.debit_account_id.in_(accounts)
        ),
    ).subquery()
    rows = session.execute(
        select(LedgerAccount.person_id, func.sum(signed.c.cents))
        .join(signed, signed.c.account_id == LedgerAccount.id)
        .group_by(LedgerAccount.person_id)
    )
    return sorted(pid for pid, credit in rows if credit and credit > 0)
