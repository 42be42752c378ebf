"""Rows inserted in bulk at the driver level, stored exactly as SQLAlchemy Core stores them.

``conn.execute(table.insert(), rows)`` processes every value of every row through SQLAlchemy's
per-statement machinery (parameter construction, type processing, on PostgreSQL the batching
into multi-row VALUES). For the judge's hot path (a judgment and an audit event per message) that
cost more than the inserts themselves. :func:`insert_rows` compiles the INSERT once per dialect,
table and column list, takes each column's bind processor from the same dialect (the JSON
serialiser, the UTC time conversion …) and hands the converted rows to the driver's executemany.

Invariants:
- the statement is SQLAlchemy's own compilation of ``table.insert()`` for the connection's dialect
  (on PostgreSQL with its casts), and each value goes through that column type's own bind
  processor: what is stored is what ``conn.execute(table.insert(), rows)`` stores (a test compares
  both on SQLite and PostgreSQL);
- every column of the statement is given by the caller: a column left to its default would be
  filled by Core but not here, so a column list that leaves one out is refused when it is compiled;
- within one call, a value object given in several rows (the judge's shared "not screened" and
  category lists) goes through its column's processor once: a processor is a function of the
  value, and nothing changes the rows while they are inserted.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

from sqlalchemy import Table
from sqlalchemy.engine import Connection

_Plan = tuple[str, tuple[int, ...], tuple[Callable[[Any], Any] | None, ...], tuple[str, ...] | None]
# per dialect object (an engine's own: its JSON serialiser, its settings), gone with the engine
_plans: "weakref.WeakKeyDictionary[Any, dict[tuple[str, tuple[str, ...]], _Plan]]" = weakref.WeakKeyDictionary()


def _plan(conn: Connection, table: Table, columns: tuple[str, ...]) -> _Plan:
    dialect = conn.dialect
    plans = _plans.setdefault(dialect, {})
    key = (table.fullname, columns)
    plan = plans.get(key)
    if plan is not None:
        return plan
    compiled = table.insert().inline().compile(dialect=dialect, column_keys=list(columns))
    names = tuple(compiled.positiontup) if compiled.positional else tuple(compiled.binds)
    if set(names) != set(columns):
        raise ValueError(f"insert into {table.name}: the rows must give every column the statement "
                         f"writes ({', '.join(sorted(set(names) - set(columns)))} missing)")
    where = {c: i for i, c in enumerate(columns)}
    order = tuple(where[n] for n in names)
    processors = tuple(table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
    plan = (str(compiled), order, processors, None if compiled.positional else names)
    plans[key] = plan
    return plan


def _processed(process: Callable[[Any], Any], column: Sequence[Any]) -> list[Any]:
    """``process`` applied to each value of a column, once per distinct value object."""
    done: dict[int, Any] = {}
    out = []
    for v in column:
        k = id(v)
        r = done.get(k, done)
        if r is done:
            r = done[k] = process(v)
        out.append(r)
    return out


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (each a sequence of values in ``columns`` order) with one executemany."""
    if not rows:
        return
    sql, order, processors, named = _plan(conn, table, tuple(columns))
    # column by column: each column's values through its processor in one map
    given = list(zip(*rows))
    values = [given[i] if p is None else _processed(p, given[i]) for i, p in zip(order, processors)]
    params: list[Any] = list(zip(*values)) if named is None else [dict(zip(named, v)) for v in zip(*values)]
    conn.exec_driver_sql(sql, params)
