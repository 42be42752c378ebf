"""Shared fixtures: real databases, never mocks.

* SQLite: a fresh file per test under tmp_path.
* PostgreSQL: the server named by RINGEBU_JOURNAL_TEST_PG (a URL to a database the tests may
  use, e.g. postgresql+psycopg:///ringebu_test). Each test gets its own fresh database cloned
  from nothing (CREATE DATABASE …), dropped afterwards. In CI (CI=true) a missing server is a
  failure, not a skip.

Use ``db_url`` (parametrised over both backends) or ``sqlite_url`` / ``pg_url``, and
``make_app(role)`` for an initialised database with a user of that role.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ringebu_journal.app import App, add_user, init_database

PG_ENV = "RINGEBU_JOURNAL_TEST_PG"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _pg_base() -> str | None:
    return os.environ.get(PG_ENV)


def _pg_available() -> tuple[bool, str]:
    base = _pg_base()
    if not base:
        return False, f"{PG_ENV} is not set"
    try:
        eng = create_engine(base, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text("SELECT 1"))
        eng.dispose()
        return True, ""
    except Exception as exc:  # noqa: BLE001
        return False, f"PostgreSQL at {base} unreachable: {str(exc).splitlines()[0]}"


_PG_STATE: tuple[bool, str] | None = None


def require_pg() -> str:
    global _PG_STATE
    if _PG_STATE is None:
        _PG_STATE = _pg_available()
    ok, why = _PG_STATE
    if not ok:
        if IN_CI:
            pytest.fail(f"PostgreSQL tests must run in CI: {why}")
        pytest.skip(why)
    return _pg_base()  # type: ignore[return-value]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ringebu-journal.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    base = require_pg()
    name = "rj_test_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
            ), {"n": name})
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ringebu-journal.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def make_app(db_url: str, tmp_path: Path) -> Iterator[Callable[..., App]]:
    """make_app(role="archivist", actor=None) → an App on an initialised database."""
    state: dict[str, bool] = {}
    apps: list[App] = []

    def _make(role: str = "archivist", actor: str | None = None) -> App:
        if not state.get("init"):
            admin = App.open(db_url, actor="admin", data_dir=tmp_path / "data")
            init_database(admin)
            admin.role = "admin"
            state["init"] = True
            apps.append(admin)
        actor = actor or role
        admin = App.open(db_url, actor="admin", data_dir=tmp_path / "data")
        admin.role = "admin"
        if role != "admin" or actor != "admin":
            add_user(admin, actor, role)
        admin.db.dispose()
        app = App.open(db_url, actor=actor, data_dir=tmp_path / "data")
        app.role = role
        apps.append(app)
        return app

    yield _make
    for a in apps:
        a.db.dispose()
