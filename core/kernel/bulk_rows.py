"""Rows written in bulk: one INSERT of many rows with the values converted column by column
(SQLite: one executemany of the compiled statement; PostgreSQL: one COPY … FROM STDIN), for the
annual runs and the other bulk paths (:mod:`core.ledger.bulk` re-exports :func:`executemany`),
with their primary keys reserved beforehand (:func:`reserve_ids`; core.kernel.audit.record_all
writes audit rows so).

The database sees the rows as any insert: CHECKs, foreign keys and triggers apply.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Dialect, Table, func, insert, select, text
from sqlalchemy.orm import Session

from core.kernel.errors import LedgerError

__all__ = ["executemany", "insert_rows", "reserve_ids"]


def reserve_ids(session: Session, model: Any, count: int) -> list[int]:
    """Primary keys for ``count`` new rows of ``model``, so that the rows go in as one
    executemany: SQLite cannot tie a batch's RETURNING rows to its parameter sets, and
    SQLAlchemy then sends one INSERT per row. On SQLite the transaction holds the write lock
    from its start (core.kernel.db), so the ids after the largest are free; on PostgreSQL
    they are drawn from the table's sequence, looked up once (OFFSET 0 keeps the subquery
    from being folded into the rows, which would look it up again for every id), and come
    back as one array (one row, not one row per id)."""
    table = model.__table__
    if session.get_bind().dialect.name == "postgresql":
        drawn = session.scalar(
            text(
                "SELECT array_agg(nextval(s.seq)) FROM (SELECT pg_get_serial_sequence(:t, 'id')"
                "::regclass AS seq OFFSET 0) AS s, generate_series(1, :n)"
            ),
            {"t": table.name, "n": count},
        )
        return [int(i) for i in drawn or ()]
    first = int(session.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(first, first + count))


def executemany(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT ``rows`` (all with the same keys) in one executemany (:func:`insert_rows`)."""
    keys = list(rows[0])
    values: list[tuple[Any, ...]] = (
        list(map(itemgetter(*keys), rows)) if len(keys) > 1 else [(r[keys[0]],) for r in rows]
    )
    insert_rows(connection, table, keys, values)


def insert_rows(
    connection: Connection,
    table: Table,
    keys: Sequence[str],
    values: list[tuple[Any, ...]],
    *,
    as_text: Collection[str] = (),
) -> None:
    """INSERT ``values`` (tuples in the order of ``keys``) in one executemany, each value
    converted by its column type's bind processor: SQLAlchemy's own executemany rebuilds the
    parameters of every row through the compiled statement, the largest cost of a bulk run.
    The columns named in ``as_text`` (JSON) hold their documents' JSON text already, as the
    column's processor would write it (``json.dumps``), and are passed on unconverted."""
    if not values:
        return
    dialect = connection.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    if compiled.insert_prefetch or set(compiled.binds) != set(keys):
        raise LedgerError(f"Bulk insert into {table.name} must name every column it fills.")
    order = list(compiled.positiontup) if compiled.positional and compiled.positiontup else keys
    converters = [
        (position, convert)
        for position, key in enumerate(keys)
        if key not in as_text and (convert := _processor(table, key, dialect)) is not None
    ]
    if converters:  # column by column: transposed, converted, transposed back (zip is C)
        columns: list[Sequence[Any]] = list(zip(*values, strict=True))
        for position, convert in converters:
            columns[position] = _converted(columns[position], convert)
        values = list(zip(*columns, strict=True))
    if dialect.name == "postgresql":
        _insert_values(connection, table, keys, values)
        return
    if list(order) != list(keys):  # the statement's placeholders in another order
        values = list(map(itemgetter(*[list(keys).index(k) for k in order]), values))
        if len(order) == 1:
            values = [(value,) for value in values]
    params: list[Any] = (
        values if compiled.positional else [dict(zip(order, v, strict=True)) for v in values]
    )
    connection.exec_driver_sql(compiled.string, params)


def _processor(table: Table, key: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column's bind processor; for a JSON column on PostgreSQL the same processor with
    the serialiser itself instead of psycopg's ``Json`` wrapper, which the driver would then
    dump row by row in Python: COPY takes the document's JSON text as it is."""
    column_type = table.c[key].type
    if dialect.name == "postgresql" and isinstance(column_type, JSON):
        serialise = getattr(dialect, "_json_serializer", None) or json.dumps
        return column_type._make_bind_processor(None, serialise)  # type: ignore[no-untyped-call,no-any-return]
    return column_type.dialect_impl(dialect).bind_processor(dialect)


def _insert_values(
    connection: Connection, table: Table, keys: Sequence[str], values: list[tuple[Any, ...]]
) -> None:
    """PostgreSQL: the rows in one COPY … FROM STDIN, in the transaction of ``connection``
    (the server checks constraints and fires triggers as for INSERT); a pipelined INSERT
    per row, or a multi-row INSERT parsed by the driver, is a tenth as fast."""
    quote = connection.dialect.identifier_preparer
    names = ", ".join(quote.quote(table.c[k].name) for k in keys)
    driver: Any = connection.connection.driver_connection  # a psycopg connection
    statement = f"COPY {quote.format_table(table)} ({names}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        write = copy.write_row
        for row in values:
            write(row)


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
