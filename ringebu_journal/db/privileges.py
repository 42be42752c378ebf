"""Least privilege on PostgreSQL: an owner role, a runtime role, and the audit trail's guard.

The append-only triggers on ``audit_events`` (``audit_events_append_only``: no UPDATE or DELETE;
``audit_events_no_truncate``: no TRUNCATE) stop only roles that cannot remove them, and only
the owner of a table (or a superuser) can ``ALTER TABLE … DISABLE TRIGGER`` or ``DROP TRIGGER``.
So the database is split into two roles (``setup-roles``, run once by a superuser):

* the **owner role** owns every table, sequence and the trigger function; it runs ``init``
  (migrations) and nothing else;
* the **runtime role** is what people's commands connect as: SELECT, INSERT, UPDATE and DELETE
  on the working tables, SELECT and INSERT only on ``audit_events``, SELECT only on
  ``alembic_version``. It owns nothing, so it cannot alter, disable or drop a trigger, and it
  holds no UPDATE, DELETE or TRUNCATE privilege on the trail at all (two locks, not one).

The runtime role's name is recorded in ``settings`` (``db_runtime_role``); ``init`` run as the
owner after an upgrade grants the runtime role its privileges on the tables the upgrade made.

:func:`check_audit_guard` runs before every command on PostgreSQL: a missing or disabled trigger
stops the command with one line (exit 2) — the trail may have been changed while it was gone —
until the owner restores it (``init`` does, and audits it).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from .. import clock
from ..errors import Hint, DatabaseError, UsageError
from .tables import Setting

SETTINGS = Setting.__table__
RUNTIME_KEY = "db_runtime_role"
OWNER_KEY = "db_owner_role"
AUDIT_TABLE = "audit_events"
#: trigger name → what it must do (for the restoring DDL)
TRIGGERS = {
    "audit_events_append_only": "BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW",
    "audit_events_no_truncate": "BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT",
}
FUNCTION = "ringebu_audit_append_only"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_RUNTIME_TABLE_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"


def _ident(name: str, option: str) -> str:
    if not _NAME.match(name or ""):
        raise UsageError(f"{option} {name!r} is not a plain role name — use lower-case letters, digits and _ "
                         "(at most 63, not starting with a digit)")
    return '"' + name + '"'


def guard_problems(conn: Connection) -> list[str]:
    """What is wrong with the audit trail's triggers (empty: both in place and enabled)."""
    rows = conn.execute(text(
        "SELECT t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = :table AND n.nspname = current_schema() AND NOT t.tgisinternal"),
        {"table": AUDIT_TABLE}).all()
    state = {r[0]: (r[1].decode() if isinstance(r[1], bytes) else r[1]) for r in rows}
    problems = []
    for name in TRIGGERS:
        if name not in state:
            problems.append(f"trigger {name} is missing")
        elif state[name] not in ("O", "A"):           # D: disabled; R: fires only on replicas
            problems.append(f"trigger {name} is disabled")
    return problems


def check_audit_guard(db: Any) -> None:
    """Refuse to run (exit 2) when the append-only triggers are not in place (PostgreSQL only)."""
    if db.is_sqlite:
        return
    with db.read() as conn:
        problems = guard_problems(conn)
    if problems:
        raise DatabaseError(
            f"database {db.display_url}: the audit trail is unprotected ({'; '.join(problems)}) and may have been "
            "changed",
            Hint("the owner role restores it with {step}, then an auditor runs {step2}", "database.init",
                 also="audit.verify:against"))


def restore_guard(conn: Connection) -> list[str]:
    """Re-create or re-enable missing or disabled triggers (run by the owner); returns what was fixed."""
    problems = guard_problems(conn)
    if not problems:
        return []
    exists = conn.execute(text("SELECT 1 FROM pg_proc WHERE proname = :f"), {"f": FUNCTION}).first()
    if exists is None:
        conn.execute(text(
            f"CREATE FUNCTION {FUNCTION}() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege'; "
            "END; $$ LANGUAGE plpgsql"))
    for name, when in TRIGGERS.items():
        if f"trigger {name} is missing" in problems:
            conn.execute(text(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {FUNCTION}()"))
        elif f"trigger {name} is disabled" in problems:
            conn.execute(text(f"ALTER TABLE {AUDIT_TABLE} ENABLE TRIGGER {name}"))
    return problems


def _tables(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"))]


def _sequences(conn: Connection) -> list[str]:
    return [r[0] for r in conn.execute(text(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() ORDER BY sequencename"))]


def grant_runtime(conn: Connection, runtime: str) -> None:
    """Give the runtime role exactly its privileges on every table and sequence now present."""
    r = _ident(runtime, "--runtime")
    db = conn.execute(text("SELECT current_database()")).scalar()
    conn.execute(text(f'GRANT CONNECT ON DATABASE "{db}" TO {r}'))
    conn.execute(text(f"GRANT USAGE ON SCHEMA {_schema(conn)} TO {r}"))
    for table in _tables(conn):
        conn.execute(text(f'REVOKE ALL ON TABLE "{table}" FROM {r}'))
        if table == AUDIT_TABLE:
            conn.execute(text(f'GRANT SELECT, INSERT ON TABLE "{table}" TO {r}'))
        elif table == "alembic_version":
            conn.execute(text(f'GRANT SELECT ON TABLE "{table}" TO {r}'))
        else:
            conn.execute(text(f'GRANT {_RUNTIME_TABLE_RIGHTS} ON TABLE "{table}" TO {r}'))
    for seq in _sequences(conn):
        conn.execute(text(f'GRANT USAGE, SELECT, UPDATE ON SEQUENCE "{seq}" TO {r}'))
    conn.execute(text(f"REVOKE ALL ON TABLE {AUDIT_TABLE} FROM PUBLIC"))


def _schema(conn: Connection) -> str:
    return '"' + conn.execute(text("SELECT current_schema()")).scalar() + '"'


def _ensure_role(conn: Connection, name: str, option: str) -> bool:
    quoted = _ident(name, option)
    if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first():
        conn.execute(text(f"ALTER ROLE {quoted} NOSUPERUSER NOBYPASSRLS"))
        return False
    conn.execute(text(f"CREATE ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"))
    return True


def setup_roles(conn: Connection, owner: str, runtime: str) -> dict[str, Any]:
    """Create (or bring into line) the owner and runtime roles on an initialised database.

    Run as a superuser (or a role that may create roles and owns the tables). Every table,
    sequence and the trigger function pass to the owner; the runtime role gets its grants; a
    runtime role that owned anything or was a member of the owner is refused."""
    if owner == runtime:
        raise UsageError("--owner and --runtime must be two different roles — the runtime role must not own the tables")
    o, r = _ident(owner, "--owner"), _ident(runtime, "--runtime")
    su = conn.execute(text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")).scalar()
    if not su:
        raise UsageError("setup-roles needs a PostgreSQL role that may create roles — connect as a superuser "
                         "(e.g. postgres) with --db")
    created = [n for n, opt in ((owner, "--owner"), (runtime, "--runtime")) if _ensure_role(conn, n, opt)]
    if conn.execute(text("SELECT pg_has_role(:r, :o, 'MEMBER')"), {"r": runtime, "o": owner}).scalar():
        raise UsageError(f"role {runtime} is a member of {owner}, so it could act as the owner — "
                         f"run `REVOKE {owner} FROM {runtime}` first")
    schema = _schema(conn)
    conn.execute(text(f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {o}"))
    db = conn.execute(text("SELECT current_database()")).scalar()
    conn.execute(text(f'GRANT CONNECT, TEMPORARY ON DATABASE "{db}" TO {o}'))
    conn.execute(text(f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC"))
    for table in _tables(conn):
        conn.execute(text(f'ALTER TABLE "{table}" OWNER TO {o}'))
    for seq in _sequences(conn):
        conn.execute(text(f'ALTER SEQUENCE "{seq}" OWNER TO {o}'))
    if conn.execute(text("SELECT 1 FROM pg_proc WHERE proname = :f"), {"f": FUNCTION}).first():
        conn.execute(text(f"ALTER FUNCTION {FUNCTION}() OWNER TO {o}"))
    owns = conn.execute(text(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND pg_get_userbyid(c.relowner) = :r"), {"r": runtime}).scalar()
    if owns:
        raise UsageError(f"role {runtime} still owns {owns} object(s) in the schema — it cannot be the runtime role")
    grant_runtime(conn, runtime)
    _record(conn, RUNTIME_KEY, runtime)
    _record(conn, OWNER_KEY, owner)
    return {"owner": owner, "runtime": runtime, "created": created, "tables": len(_tables(conn))}


def _record(conn: Connection, key: str, value: str) -> None:
    now = clock.now()
    if conn.execute(select(SETTINGS.c.key).where(SETTINGS.c.key == key)).first():
        conn.execute(SETTINGS.update().where(SETTINGS.c.key == key).values(value=value, updated_at=now,
                                                                            updated_by="setup-roles"))
    else:
        conn.execute(SETTINGS.insert().values(key=key, value=value, updated_at=now, updated_by="setup-roles"))


def recorded_runtime(conn: Connection) -> str | None:
    return conn.execute(select(SETTINGS.c.value).where(SETTINGS.c.key == RUNTIME_KEY)).scalar()
