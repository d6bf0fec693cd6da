"""SQL for thousands of values at once (the Monday pass, the pipeline): one
parameter per column on PostgreSQL, not one per value, and thousands of rows
through COPY.

An `IN (…)` of 6,000 plan ids, or a multi-row INSERT of 500 rows of 12 columns,
is a statement with thousands of placeholders: SQLAlchemy renders each, and
psycopg parses the whole text again to number them (too long for its cache), in
Python, every time. On PostgreSQL `= ANY(array)` carries the values in one array
parameter, and `INSERT … SELECT … FROM json_to_recordset(…)` the rows in one JSON
string: the statement is short and the same every time. Thousands of rows go
by COPY instead (`copy_insert`). SQLite's driver binds in C: it keeps the plain
forms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import orjson
from sqlalchemy import ColumnElement, Table, Text, TextClause, any_, bindparam, text
from sqlalchemy import cast as cast_
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute, Session

if TYPE_CHECKING:  # PostgreSQL's driver is an optional install
    import psycopg


def is_postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def among(
    s: Session, column: InstrumentedAttribute[Any], values: Iterable[Any]
) -> ColumnElement[bool]:
    """`column IN values`, as one array parameter on PostgreSQL."""
    values = list(values)
    if is_postgres(s):
        if values and all(type(v) is int for v in values):
            # Ids as the array's text form: psycopg dumps a list element by element
            # in Python, a string at once (6,000 plan ids, a dozen times a pass).
            literal = "{" + ",".join(map(str, values)) + "}"
            ids = cast_(bindparam(None, literal, type_=Text), postgresql.ARRAY(column.type))
            return column == any_(ids)
        array = bindparam(None, values, type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    return column.in_(values)


_RECORDSETS: dict[tuple[str, tuple[str, ...]], TextClause] = {}


def recordset_insert(
    table: Table, columns: Sequence[str], conflict: Sequence[str], returning: str
) -> TextClause:
    """PostgreSQL: `INSERT INTO table (columns) SELECT … FROM
    json_to_recordset(:rows) … ON CONFLICT (conflict) DO NOTHING RETURNING
    returning`: every row in one JSON parameter (`json_rows`), which psycopg
    passes as one string (arrays of long texts it would escape in Python); built
    once per table and columns."""
    key = (table.name, tuple(columns))
    stmt = _RECORDSETS.get(key)
    if stmt is None:
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        typed = ", ".join(f"{c} {table.c[c].type.compile(dialect)}" for c in columns)
        names = ", ".join(columns)
        stmt = text(
            f"INSERT INTO {table.name} ({names}) SELECT {names} "
            f"FROM json_to_recordset(CAST(:rows AS json)) AS r({typed}) "
            f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {returning}"
        )
        stmt = _RECORDSETS.setdefault(key, stmt)
    return stmt


def json_rows(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> dict[str, str]:
    """The rows as `recordset_insert` binds them (dates and instants in ISO 8601,
    which PostgreSQL reads back as the column's type)."""
    # orjson writes dates and instants as isoformat() does (naive ones without an offset)
    return {"rows": orjson.dumps([{c: r[c] for c in columns} for r in rows]).decode()}


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


COPY_AT_LEAST = 1000  # rows; fewer go as one JSON parameter (no temporary table)


def copy_insert(
    s: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    conflict: Sequence[str],
) -> int:
    """PostgreSQL: the rows COPYed into a temporary table, then `INSERT … SELECT …
    ON CONFLICT (conflict) DO NOTHING`; returns how many were new. COPY carries the
    values as they are, with no JSON for the server to decode (10,000 digests: about
    40 % less time than one JSON parameter). The table is dropped at once: a second
    call in the transaction makes its own."""
    names = ", ".join(columns)
    scratch = f"bulk_{table.name}"
    raw = cast("psycopg.Connection[Any]", s.connection().connection.dbapi_connection)
    with raw.cursor() as cur:
        cur.execute(
            f"CREATE TEMPORARY TABLE {scratch} ON COMMIT DROP AS "
            f"SELECT {names} FROM {table.name} WITH NO DATA"
        )
        with cur.copy(f"COPY {scratch} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        cur.execute(
            f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {scratch} "
            f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
        )
        new = int(cur.rowcount)
        cur.execute(f"DROP TABLE {scratch}")
    return new
