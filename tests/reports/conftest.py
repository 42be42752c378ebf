"""Fixtures for the report tests.

The scenario is built once per module and backend (``world``): the tests only read it, so
sharing it keeps the suite fast. Tests that change the registry use ``make_app`` instead.
"""

from __future__ import annotations

import io
import os
import uuid
from contextlib import redirect_stderr, redirect_stdout
from datetime import timedelta
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ringebu_journal.app import App, add_user, init_database

from . import scenario
from .world import World, utcnow

PG_ENV = "RINGEBU_JOURNAL_TEST_PG"


def _module_pg_url() -> Iterator[str]:
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"PostgreSQL tests must run in CI: {PG_ENV} is not set")
        pytest.skip(f"{PG_ENV} is not set")
    name = "rj_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world_url(request, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('reports') / 'ringebu-journal.db'}"
    else:
        yield from _module_pg_url()


@pytest.fixture(scope="module")
def world(world_url, tmp_path_factory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("data")
    admin = App.open(world_url, actor="admin", data_dir=data)
    init_database(admin)
    add_user(admin, "arkivar", "archivist")
    add_user(admin, "revisor", "auditor")
    add_user(admin, "kari", "moderator")
    admin.db.dispose()
    app = App.open(world_url, actor="arkivar", data_dir=data)
    app.role = "archivist"
    w = World(app, base=utcnow().replace(minute=0, second=0) - timedelta(days=20))
    scenario.build(w)
    scenario.close_youth_council(w)
    yield w
    app.db.dispose()


def run_cli(url: str, actor: str, *args: str) -> tuple[int, str, str]:
    """Run `ringebu-journal --db URL --actor ACTOR ARGS…` in this process: (exit code, stdout, stderr)."""
    from ringebu_journal.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(["--db", url, "--actor", actor, *args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return code, out.getvalue(), err.getvalue()
