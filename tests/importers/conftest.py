"""Fixtures for the importer tests: a fresh database (SQLite, and for the store tests also
PostgreSQL when RINGEBU_JOURNAL_TEST_PG names a server), an archivist, and a CLI runner that returns exit codes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


PG_URL = os.environ.get("RINGEBU_JOURNAL_TEST_PG")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from imp_helpers import make_archivist_app  # noqa: E402


@pytest.fixture
def app(tmp_path):
    a = make_archivist_app(f"sqlite:///{tmp_path / 'journal.db'}", tmp_path / "data")
    yield a
    a.db.dispose()


@pytest.fixture(params=["sqlite"] + (["postgresql"] if PG_URL else []))
def any_app(request, tmp_path):
    """The store tests run on SQLite and, when configured, on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'journal.db'}"
    else:
        url = request.getfixturevalue("pg_url")     # a fresh database per test (tests/conftest.py)
    a = make_archivist_app(url, tmp_path / "data")
    yield a
    a.db.dispose()


@pytest.fixture
def run_cli(capsys, monkeypatch):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from ringebu_journal.cli.main import main

    def run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        capsys.readouterr()
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def cli_env(app):
    return {"RINGEBU_JOURNAL_ACTOR": "arkiv"}


