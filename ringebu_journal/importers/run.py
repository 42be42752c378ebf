"""The import entry points: one function per input kind, callable from the CLI, tests or a notebook.

Each opens the input safely (``sources.open_inputs``), hands the importer's generator to
``store.run_import`` and returns its :class:`~.store.ImportSummary`.
"""

from __future__ import annotations

import os
from typing import Callable

from ..app import App
from .sources import open_inputs
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


def import_jsonl(app: App, paths: list[str], *, again: bool = False, advance: Advance = None,
                 chunk_size: int = CHUNK_SIZE) -> ImportSummary:
    from . import jsonl

    inputs = open_inputs(paths, zip_allowed=False, accept=lambda n: n.endswith((".jsonl", ".ndjson")))
    try:
        return run_import(app, importer="jsonl", inputs=inputs, items=lambda: jsonl.items(inputs, app.data_dir),
                          chunk_size=chunk_size, again=again, advance=advance)
    finally:
        inputs.close()


def import_facebook_dump(app: App, paths: list[str], *, again: bool = False, advance: Advance = None,
                         chunk_size: int = CHUNK_SIZE) -> ImportSummary:
    from . import graph_dump

    inputs = open_inputs(paths, zip_allowed=False, accept=lambda n: n.endswith((".jsonl", ".json", ".ndjson")))
    try:
        return run_import(app, importer="facebook-dump", inputs=inputs,
                          items=lambda: graph_dump.items(inputs, app.data_dir), chunk_size=chunk_size,
                          again=again, advance=advance)
    finally:
        inputs.close()


def import_x_archive(app: App, path: str, *, again: bool = False, advance: Advance = None,
                     chunk_size: int = CHUNK_SIZE) -> ImportSummary:
    from . import x_archive

    inputs = open_inputs([path])
    try:
        return run_import(app, importer="x-archive", inputs=inputs, items=lambda: x_archive.items(inputs, app.data_dir),
                          chunk_size=chunk_size, again=again, advance=advance)
    finally:
        inputs.close()


def import_facebook_export(app: App, path: str, *, again: bool = False, advance: Advance = None,
                           chunk_size: int = CHUNK_SIZE) -> ImportSummary:
    from . import facebook_export

    inputs = open_inputs([path])
    try:
        return run_import(app, importer="facebook-export", inputs=inputs,
                          items=lambda: facebook_export.items(inputs, app.data_dir), chunk_size=chunk_size,
                          again=again, advance=advance)
    finally:
        inputs.close()
