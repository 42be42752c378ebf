"""The import entry point: one function for every input kind, callable from the CLI, tests or a notebook.

:func:`import_input` opens the input safely (``sources.open_inputs``, with the kind's own
rules: which file names it reads, whether a zip is accepted), hands the kind's generator
(``items(inputs, data_dir)`` of its module) to ``store.run_import`` and returns its
:class:`~.store.ImportSummary`. ``dry_run=True`` reads and checks everything and stores nothing
(attachment bytes go to a temporary folder, removed after). ``import_jsonl``,
``import_facebook_dump``, ``import_x_archive`` and ``import_facebook_export`` are the same
function with the kind filled in.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Callable

from ..app import App
from .sources import open_inputs
from .store import TRANSACTION_ITEMS, ImportSummary, run_import

Advance = Callable[[int], None] | None


@dataclass(frozen=True)
class Kind:
    """One kind of input: the module whose ``items(inputs, data_dir)`` reads it, and how its
    paths are opened (``suffixes``: the file names read in a folder; ``zip_allowed``)."""

    module: str
    suffixes: tuple[str, ...] | None = None
    zip_allowed: bool = True

    def open(self, paths: list[str]):
        if self.suffixes is None:
            return open_inputs(paths)
        suffixes = self.suffixes
        return open_inputs(paths, zip_allowed=self.zip_allowed, accept=lambda n: n.endswith(suffixes))


KINDS: dict[str, Kind] = {
    "jsonl": Kind("jsonl", (".jsonl", ".ndjson"), zip_allowed=False),
    "facebook-dump": Kind("graph_dump", (".jsonl", ".json", ".ndjson"), zip_allowed=False),
    "x-archive": Kind("x_archive"),
    "facebook-export": Kind("facebook_export"),
}


def _chunk_from_env() -> int:
    """Items per transaction: RINGEBU_JOURNAL_IMPORT_CHUNK (a tuning knob; default
    ``store.TRANSACTION_ITEMS``, 4 × ROWS_PER_BATCH; at most ROWS_PER_BATCH are in hand at a time)."""
    try:
        return max(1, int(os.environ.get("RINGEBU_JOURNAL_IMPORT_CHUNK", TRANSACTION_ITEMS)))
    except ValueError:
        return TRANSACTION_ITEMS


CHUNK_SIZE = _chunk_from_env()


def import_input(importer: str, app: App, paths: str | list[str], *, again: bool = False, advance: Advance = None,
                 chunk_size: int | None = None, dry_run: bool = False) -> ImportSummary:
    """Import ``paths`` (one path or several) as the input kind ``importer`` (a key of KINDS)."""
    app.require("import.run")
    kind = KINDS[importer]
    module = importlib.import_module(f"{__package__}.{kind.module}")
    inputs = kind.open([str(paths)] if isinstance(paths, (str, os.PathLike)) else [str(p) for p in paths])
    chunk = chunk_size or CHUNK_SIZE
    try:
        if not dry_run:
            data_dir = app.data_dir
            return run_import(app, importer=importer, inputs=inputs, items=lambda: module.items(inputs, data_dir),
                              chunk_size=chunk, again=again, advance=advance)
        with tempfile.TemporaryDirectory(prefix="ringebu-journal-dry-run-") as tmp:
            return run_import(app, importer=importer, inputs=inputs, items=lambda: module.items(inputs, Path(tmp)),
                              chunk_size=chunk, advance=advance, dry_run=True)
    finally:
        inputs.close()


import_jsonl = partial(import_input, "jsonl")
import_facebook_dump = partial(import_input, "facebook-dump")
import_x_archive = partial(import_input, "x-archive")
import_facebook_export = partial(import_input, "facebook-export")
