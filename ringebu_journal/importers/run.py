"""The import entry points: one function per input kind, callable from the CLI, tests or a notebook.

Each opens the input safely (``sources.open_inputs``), hands the importer's generator to
``store.run_import`` and returns its :class:`~.store.ImportSummary`. ``dry_run=True`` reads and
checks everything and stores nothing (attachment bytes go to a temporary folder, removed after).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable

from ..app import App
from .sources import InputSet, open_inputs
from .store import ImportSummary, run_import
from .store import CHUNK_SIZE as _DEFAULT_CHUNK

Advance = Callable[[int], None] | None


def _chunk_from_env() -> int:
    """Messages per transaction: RINGEBU_JOURNAL_IMPORT_CHUNK (a tuning knob; default 5,000)."""
    try:
        return max(1, int(os.environ.get("RINGEBU_JOURNAL_IMPORT_CHUNK", _DEFAULT_CHUNK)))
    except ValueError:
        return _DEFAULT_CHUNK


CHUNK_SIZE = _chunk_from_env()


def _run(app: App, importer: str, inputs: InputSet, items: Callable[[Path], Iterable], *, again: bool,
         advance: Advance, chunk_size: int, dry_run: bool) -> ImportSummary:
    """Run one import; a dry run stores attachment bytes in a temporary folder that is removed."""
    try:
        if not dry_run:
            data_dir = app.data_dir
            return run_import(app, importer=importer, inputs=inputs, items=lambda: items(data_dir),
                              chunk_size=chunk_size, again=again, advance=advance)
        with tempfile.TemporaryDirectory(prefix="ringebu-journal-dry-run-") as tmp:
            return run_import(app, importer=importer, inputs=inputs, items=lambda: items(Path(tmp)),
                              chunk_size=chunk_size, advance=advance, dry_run=True)
    finally:
        inputs.close()


def import_jsonl(app: App, paths: list[str], *, again: bool = False, advance: Advance = None,
                 chunk_size: int = CHUNK_SIZE, dry_run: bool = False) -> ImportSummary:
    app.require("import.run")
    from . import jsonl

    inputs = open_inputs(paths, zip_allowed=False, accept=lambda n: n.endswith((".jsonl", ".ndjson")))
    return _run(app, "jsonl", inputs, lambda d: jsonl.items(inputs, d), again=again, advance=advance,
                chunk_size=chunk_size, dry_run=dry_run)


def import_facebook_dump(app: App, paths: list[str], *, again: bool = False, advance: Advance = None,
                         chunk_size: int = CHUNK_SIZE, dry_run: bool = False) -> ImportSummary:
    app.require("import.run")
    from . import graph_dump

    inputs = open_inputs(paths, zip_allowed=False, accept=lambda n: n.endswith((".jsonl", ".json", ".ndjson")))
    return _run(app, "facebook-dump", inputs, lambda d: graph_dump.items(inputs, d), again=again, advance=advance,
                chunk_size=chunk_size, dry_run=dry_run)


def import_x_archive(app: App, path: str, *, again: bool = False, advance: Advance = None,
                     chunk_size: int = CHUNK_SIZE, dry_run: bool = False) -> ImportSummary:
    app.require("import.run")
    from . import x_archive

    inputs = open_inputs([path])
    return _run(app, "x-archive", inputs, lambda d: x_archive.items(inputs, d), again=again, advance=advance,
                chunk_size=chunk_size, dry_run=dry_run)


def import_facebook_export(app: App, path: str, *, again: bool = False, advance: Advance = None,
                           chunk_size: int = CHUNK_SIZE, dry_run: bool = False) -> ImportSummary:
    app.require("import.run")
    from . import facebook_export

    inputs = open_inputs([path])
    return _run(app, "facebook-export", inputs, lambda d: facebook_export.items(inputs, d), again=again,
                advance=advance, chunk_size=chunk_size, dry_run=dry_run)
