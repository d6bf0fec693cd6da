"""SQL for thousands of values at once (the Monday pass, the pipeline): one
parameter per column on PostgreSQL, not one per value.

An `IN (…)` of 6,000 plan ids, or a multi-row INSERT of 500 rows of 12 columns,
is a statement with thousands of placeholders: SQLAlchemy renders each, and
psycopg parses the whole text again to number them (too long for its cache), in
Python, every time. On PostgreSQL `= ANY(array)` and `INSERT … SELECT unnest(…)`
carry the same values in one array parameter each, and the statement is short
and the same every time. SQLite's driver binds in C: it keeps the plain forms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.expression import Executable


def is_postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def among(
    s: Session, column: InstrumentedAttribute[Any], values: Iterable[Any]
) -> ColumnElement[bool]:
    """`column IN values`, as one array parameter on PostgreSQL."""
    values = list(values)
    if is_postgres(s):
        array = bindparam(None, values, type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    return column.in_(values)


_UNNESTS: dict[tuple[str, tuple[str, ...]], Executable] = {}


def unnest_insert(
    table: Table, columns: Sequence[str], conflict: Sequence[str], returning: str
) -> Executable:
    """PostgreSQL: `INSERT INTO table (columns) SELECT unnest(:c1), unnest(:c2)…
    ON CONFLICT (conflict) DO NOTHING RETURNING returning`, one array parameter
    per column (named as the column); built once per table and columns."""
    key = (table.name, tuple(columns))
    stmt = _UNNESTS.get(key)
    if stmt is None:
        arrays = [
            func.unnest(bindparam(f"a_{c}", type_=postgresql.ARRAY(table.c[c].type)))
            for c in columns
        ]
        stmt = (
            postgresql.insert(table)
            .from_select(list(columns), select(*arrays))
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(table.c[returning])
        )
        stmt = _UNNESTS.setdefault(key, stmt)
    return stmt


def columns_of(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> dict[str, list[Any]]:
    """The rows as one list per column, keyed as `unnest_insert` binds them."""
    return {f"a_{c}": [r[c] for r in rows] for c in columns}


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)
