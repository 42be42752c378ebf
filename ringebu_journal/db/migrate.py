"""Schema versions: create, upgrade, and refuse a database newer than the code."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from ..errors import DatabaseError, Hint
from .engine import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def known_revisions() -> set[str]:
    return {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}


def current_revision(db: Database) -> str | None:
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_empty(db: Database) -> bool:
    with db.read() as conn:
        return not inspect(conn).get_table_names()


def upgrade(db: Database) -> tuple[str | None, str]:
    """Create or upgrade the schema to head. Returns (before, after) revisions."""
    before = current_revision(db)
    if before is not None and before not in known_revisions():
        raise _newer(db, before)
    if before == head_revision():
        return before, before
    with db.write() as conn:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, head_revision()


def check_schema(db: Database) -> None:
    """Every command but init calls this: the schema must be exactly the code's."""
    rev = current_revision(db)
    head = head_revision()
    if rev == head:
        return
    if rev is None:
        raise DatabaseError(f"database {db.display_url} is not initialised", Hint("run {step} first", "database.init"))
    if rev not in known_revisions():
        raise _newer(db, rev)
    raise DatabaseError(f"database {db.display_url} has schema {rev}, this program needs {head}",
                        Hint("run {step} to upgrade it", "database.init"))


def _newer(db: Database, rev: str) -> DatabaseError:
    return DatabaseError(
        f"database {db.display_url} has schema {rev}, newer than this ringebu-journal "
        f"(knows up to {head_revision()}) — upgrade the program; the database was not touched"
    )
