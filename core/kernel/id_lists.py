"""Id lists as one bound parameter: ``column IN (ids)`` written as ``= ANY(array)`` on
PostgreSQL and ``IN (SELECT value FROM json_each(…))`` on SQLite. An IN list of thousands of
literal values costs SQLAlchemy more to expand than the database to run; a bulk run passes
its chunk's ids this way (the dunning run does, tests/integration/test_dunning_query_plans.py
proves an index serves it)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ARRAY, BigInteger, Boolean, String, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.type_api import TypeEngine
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator

IDS = 20_000  # ids per ids_in parameter (one JSON or array value)


class _IdList(TypeDecorator[list[int]]):
    """A list of ids as one bound parameter: a PostgreSQL array, a JSON array on SQLite."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(BigInteger()))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: list[int] | None, dialect: Dialect) -> Any:
        if value is None or dialect.name == "postgresql":
            return value
        return json.dumps(value)


def ids_in(column: ColumnElement[Any] | InstrumentedAttribute[Any], ids: Iterable[int]) -> Any:
    """``column IN (ids)`` with the ids as one parameter (``= ANY(array)`` on PostgreSQL,
    ``IN (SELECT value FROM json_each(…))`` on SQLite): an IN list of thousands of literal
    values costs SQLAlchemy more to expand than the database to run."""
    values = bindparam(None, [int(i) for i in ids], type_=_IdList(), unique=True)
    return _IdsIn(column, values)


class _IdsIn(ColumnElement[bool]):
    inherit_cache = True
    type = Boolean()
    # a condition of its own: without this, SQLAlchemy renders ``(… IN …) = 1`` on SQLite,
    # which no index serves (SQLite then scans the whole table for every chunk)
    _is_implicitly_boolean = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's own attribute)
        ("column", InternalTraversal.dp_clauseelement),
        ("values", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: Any, values: BindParameter[Any]) -> None:
        self.column = (
            column.__clause_element__() if hasattr(column, "__clause_element__") else column
        )
        self.values = values


@compiles(_IdsIn)
def _ids_in_sqlite(element: _IdsIn, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = compiler.process(element.column, **kw), compiler.process(element.values, **kw)
    return f"{column} IN (SELECT value FROM json_each({values}))"  # noqa: S608 (compiled SQL)


@compiles(_IdsIn, "postgresql")
def _ids_in_postgresql(element: _IdsIn, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = compiler.process(element.column, **kw), compiler.process(element.values, **kw)
    return f"{column} = ANY({values})"
