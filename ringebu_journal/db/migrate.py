"""Schema versions: create, upgrade, and refuse a database newer than the code.

Every command but ``init`` checks that the database's schema is the code's (:func:`check_schema`).
That check is cheap when they match: the head is read from the migration files' ``revision`` and
``down_revision`` lines (:func:`head_from_files`, one linear chain) and the database's revision by
one ``SELECT`` of ``alembic_version``, without importing alembic (a tenth of a second at every
start of the command line). Anything else — no version table, another revision, files that do not
form one chain — takes alembic's own way, which says what is wrong.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from ..errors import DatabaseError, Hint
from .engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"

_REVISION_LINE = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]\s*$", re.M)
_DOWN_LINE = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(None|['\"]([^'\"]+)['\"])\s*$", re.M)


@lru_cache(maxsize=1)
def head_from_files() -> str | None:
    """The head revision read from the version files' ``revision = '…'`` and ``down_revision =
    '…'`` lines when they form one linear chain from a single root; None otherwise (a branch, a
    merge, a file that does not say both plainly: then alembic is asked)."""
    down_of: dict[str, str | None] = {}
    for f in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        text = f.read_text(encoding="utf-8")
        revs, downs = _REVISION_LINE.findall(text), _DOWN_LINE.findall(text)
        if not revs and not downs:
            continue                    # not a version file (__init__.py)
        if len(revs) != 1 or len(downs) != 1 or revs[0] in down_of:
            return None
        down_of[revs[0]] = downs[0][1] or None
    if not down_of:
        return None
    parents = list(down_of.values())
    if parents.count(None) != 1 or len(set(parents)) != len(parents):
        return None                     # several roots, or a revision with two children
    heads = [r for r in down_of if r not in set(parents)]
    if len(heads) != 1 or any(p is not None and p not in down_of for p in parents):
        return None
    return heads[0]


def _stored_revision(db: Database) -> tuple[bool, str | None]:
    """(True, revision) when ``alembic_version`` holds exactly one row; (False, None) otherwise
    — no such table, no server, not a database: alembic's way then says what is wrong."""
    try:
        with db.engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    except SQLAlchemyError:
        return False, None
    return (True, rows[0][0]) if len(rows) == 1 else (False, None)


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(_config()).walk_revisions()}


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

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
    from alembic import command

    with db.write() as conn:
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, head_revision()


def check_schema(db: Database) -> None:
    """Every command but init calls this: the schema must be exactly the code's."""
    head = head_from_files()
    if head is not None:
        one_row, stored = _stored_revision(db)
        if one_row and stored == head:
            return
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
