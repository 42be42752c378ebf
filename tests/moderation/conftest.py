"""Fixtures for the moderation tests: a seeded database and the CLI run in-process."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

import pytest

from ringebu_journal.app import App

from .seed import seed


@dataclass
class Seeded:
    url: str
    moderator: App
    ids: dict[str, int]


@pytest.fixture
def seeded(make_app, db_url) -> Seeded:
    """An initialised database with the conversations and judgments, and a moderator 'kari'."""
    archivist = make_app("archivist", actor="arkivar")
    ids = seed(archivist)
    mod = make_app("moderator", actor="kari")
    return Seeded(db_url, mod, ids)


def run_argv(*argv: str) -> tuple[int, str, str]:
    """Run `ringebu-journal ARGV…` in this process: (exit code, stdout, stderr)."""
    from ringebu_journal.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(list(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def run_cli(url: str, actor: str, *args: str) -> tuple[int, str, str]:
    """Run `ringebu-journal --db URL --actor ACTOR ARGS…` in this process: (exit code, stdout, stderr)."""
    return run_argv("--db", url, "--actor", actor, *args)
