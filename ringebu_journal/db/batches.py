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

:func:`collect_per_batch` pauses the cyclic garbage collector for a bulk job (the import, the
judge) and :func:`batch_done` collects once after each batch instead.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Sequence, TypeVar

ROWS_PER_BATCH = 5000
IN_LIST_MAX = 900

T = TypeVar("T")


def in_lists(values: Sequence[T], n: int = IN_LIST_MAX) -> Iterator[Sequence[T]]:
    """``values`` in slices of at most ``n``, one per ``IN (…)`` statement."""
    for i in range(0, len(values), n):
        yield values[i:i + n]


@contextmanager
def collect_per_batch() -> Iterator[None]:
    """The cyclic garbage collector off during a bulk job, and one collection after each batch
    (:func:`batch_done`) instead.

    A bulk job allocates millions of containers that reference counting frees (parsed items, a
    batch's judgments, rows and audit events); the automatic collector would walk the whole heap
    (the program's modules, a built judge, the batch in hand) over and over while they are made:
    a quarter of an import's time, a third of the judge command's. The heap that exists when the
    job starts is frozen (``gc.freeze``: never walked, still freed normally), so the collection
    after each batch walks only that batch's leftovers: memory stays flat, whatever the input's
    size. Everything is as before when the job returns or fails; jobs running at the same time in
    threads of one process share one such period (the last one out restores the collector)."""
    with _GC_LOCK:
        if _GC_STATE["runs"] == 0:
            _GC_STATE["enabled"] = gc.isenabled()
            gc.disable()
            gc.freeze()
        _GC_STATE["runs"] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_STATE["runs"] -= 1
            if _GC_STATE["runs"] == 0:
                gc.unfreeze()
                if _GC_STATE["enabled"]:
                    gc.enable()


_GC_LOCK = threading.Lock()
_GC_STATE: dict[str, Any] = {"runs": 0, "enabled": True}


def batch_done() -> None:
    """The collection after a batch, while :func:`collect_per_batch` has the collector off.

    What survives it is what the job keeps (caches, data loaded on first use, such as the
    judge's public-suffix list): it is frozen too, so the next batch's collection walks only that
    batch's leftovers instead of those same objects again."""
    if not gc.isenabled():
        gc.collect()
        gc.freeze()
