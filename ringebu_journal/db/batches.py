"""How many rows and values go to the database at a time: one place for every bulk loop.

* ``ROWS_PER_BATCH`` — rows per transaction of a bulk write (an import chunk, the audit
  trail's migration) and rows per fetch of a bulk read (``audit verify``, audit export). Large
  enough that per-statement and per-commit costs vanish, small enough that a transaction's
  rows and the driver's buffers stay a few megabytes, whatever the input's size.
* ``IN_LIST_MAX`` — values bound in one ``IN (…)`` list. Below 999, the number of variables
  one statement may bind in SQLite builds before 3.32, so a database file works with any
  SQLite the reader has.

The import's chunk can be changed for one run with ``RINGEBU_JOURNAL_IMPORT_CHUNK``
(``importers/run.py``); everything else uses these numbers as they are.
"""

from __future__ import annotations

from typing import Iterator, Sequence, TypeVar

ROWS_PER_BATCH = 5000
IN_LIST_MAX = 900

T = TypeVar("T")


def in_lists(values: Sequence[T], n: int = IN_LIST_MAX) -> Iterator[Sequence[T]]:
    """``values`` in slices of at most ``n``, one per ``IN (…)`` statement."""
    for i in range(0, len(values), n):
        yield values[i:i + n]
