"""The application context a command runs in: database, actor, role, data folder.

Library functions take an ``App`` so that they can be called the same way from the CLI,
from tests and from a notebook. Nothing here knows about click.

The data folder holds attachment bytes (content-addressed), harvest dumps and the render
cache. It is never the current directory: for a SQLite file it defaults to a folder beside
the file; a PostgreSQL database records its folder in the ``settings`` table (key
``data_dir``, written by ``init`` given ``--data-dir``), so every command on every machine
reads the same folder. A PostgreSQL database without one, or a ``--data-dir`` that is not
the recorded folder, is refused with a line saying what to do.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from . import audit, permissions
from .clock import now
from .db import migrate, privileges
from .db.engine import Database
from .db.tables import Setting, User
from .errors import Hint, PermissionRefused, UsageError

ENV_ACTOR = "RINGEBU_JOURNAL_ACTOR"
ENV_DATA = "RINGEBU_JOURNAL_DATA"
USERS = User.__table__
SETTINGS = Setting.__table__
DATA_DIR_KEY = "data_dir"


def default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return os.environ.get("USER") or "unknown"


@dataclass
class App:
    db: Database
    actor: str
    data_dir_given: Path | None = None      # --data-dir / RINGEBU_JOURNAL_DATA, absolute
    role: str | None = None
    asked_by: str | None = None             # the command or route this App serves (kept in refusals)
    _data_dir: Path | None = field(default=None, repr=False)
    _granted: set[str] = field(default_factory=set, repr=False)     # operations checked and allowed
    _looked_up: bool = field(default=False, repr=False)             # role read from the users table

    @classmethod
    def open(cls, db_url: str | None = None, actor: str | None = None, data_dir: str | Path | None = None) -> "App":
        db = Database(db_url)
        actor = actor or os.environ.get(ENV_ACTOR) or default_actor()
        if data_dir is None:
            data_dir = os.environ.get(ENV_DATA) or None
        return cls(db=db, actor=actor, data_dir_given=Path(data_dir).absolute() if data_dir is not None else None)

    @property
    def data_dir(self) -> Path:
        """The data folder (see the module docstring); UsageError if a PostgreSQL database has none."""
        if self._data_dir is None:
            self._data_dir = self._resolve_data_dir()
        return self._data_dir

    def _sqlite_file(self) -> Path | None:
        name = self.db.engine.url.database if self.db.is_sqlite else None
        return Path(name).absolute() if name not in (None, "", ":memory:") else None

    def _resolve_data_dir(self) -> Path:
        file = self._sqlite_file()
        if file is not None:
            return self.data_dir_given or file.parent / (file.stem + "-data")
        recorded = self.recorded_data_dir()
        if recorded is None:
            if self.data_dir_given is not None and (self.db.is_sqlite or migrate.current_revision(self.db) is None):
                return self.data_dir_given          # in-memory SQLite; or init of a new database records it
            raise UsageError("this database has no data folder for attachments recorded",
                             Hint("an admin runs {step} once, with DIR a folder every user of the database reaches",
                                  "database.init:data-dir", dir="DIR"))
        if self.data_dir_given is not None and self.data_dir_given != recorded:
            raise UsageError(f"the database keeps its attachments in {recorded}, not in {self.data_dir_given}",
                             Hint("leave out --data-dir (and RINGEBU_JOURNAL_DATA), or have an admin move the folder "
                                  "and run {step}", "database.init:data-dir", dir="NEW"))
        return recorded

    def recorded_data_dir(self) -> Path | None:
        try:
            with self.db.read() as conn:
                value = conn.execute(select(SETTINGS.c.value).where(SETTINGS.c.key == DATA_DIR_KEY)).scalar()
        except Exception:  # noqa: BLE001 - no schema yet: nothing recorded
            return None
        return Path(value) if value else None

    # -- roles ---------------------------------------------------------------------------

    def lookup_role(self) -> str | None:
        with self.db.read() as conn:
            row = conn.execute(
                select(USERS.c.role, USERS.c.active).where(USERS.c.name == self.actor)
            ).first()
        if row is None or not row.active:
            return None
        return row.role

    def require(self, operation: str, *, asked_by: str | None = None) -> None:
        """Check ``operation`` once for this App (cheap when repeated): every domain entry point
        that reads or writes protected data calls it, whoever the caller is.

        The actor's role is read from the users table the first time and kept for the App's
        life (an App serves one command or one request); a role set on the App by hand is not
        trusted. A refusal is audited and raised (exit 3).
        """
        if operation in self._granted:
            return
        self.authorize(operation, asked_by=asked_by)

    def grant_service(self, operation: str, proof: str) -> None:
        """Allow ``operation`` to a service (``permissions.SERVICES``) that has just proved itself by
        ``proof`` (e.g. a checked signature); its events record role "service". Anything else raises:
        the actor must be that service and the table must grant it the operation."""
        allowed_ops = permissions.SERVICES.get(self.actor)
        if allowed_ops is None or operation not in allowed_ops:
            raise PermissionRefused(f"{self.actor} is not a service that may {operation}")
        if not self._looked_up:
            migrate.check_schema(self.db)
            privileges.check_audit_guard(self.db)
        self.role = permissions.SERVICE_ROLE
        self._looked_up = True
        self.asked_by = proof
        self._granted.add(operation)

    def authorize(self, operation: str, *, asked_by: str | None = None, check_schema: bool = True) -> None:
        """Check the permission table for ``operation``; a refusal is audited and raised (exit 3).

        ``asked_by`` (default: the App's) names the command or route that asked; it is kept in
        the refusal's audit event and line. ``permissions.OPEN`` passes without touching the database.
        """
        asked_by = asked_by or self.asked_by
        if operation == permissions.OPEN:
            return
        if not permissions.known(operation):
            raise KeyError(f"unknown operation {operation!r}: not in ringebu_journal.permissions")
        file = self._sqlite_file()
        if file is not None and not file.exists():
            # connecting would create an empty database file: a read on a mistyped path must not
            raise UsageError(f"no database at {file} (not initialised)",
                             Hint("create it with {step}, or give the right --db (or RINGEBU_JOURNAL_DB)", "database.init"))
        if check_schema and not self._looked_up:
            migrate.check_schema(self.db)
            privileges.check_audit_guard(self.db)
        if not self._looked_up:
            self.role = self.lookup_role()
            self._looked_up = True
        if permissions.allowed(operation, self.role):
            self._granted.add(operation)
            return
        who = f"{self.actor} ({self.role})" if self.role else f"{self.actor} (not a registered user)"
        after = {"operation": operation, "allowed_roles": permissions.roles_for(operation)}
        if asked_by:
            after["asked_by"] = asked_by
        with self.db.write() as conn:
            # `init` is authorised before upgrading: on an older schema the refusal is written
            # with the audit columns that schema has (the upgrade completes the row later).
            stored = None if check_schema else audit.stored_columns_if_outdated(conn)
            audit.append(
                conn, actor=self.actor, role=self.role or "none", action="command.refused",
                object_type="operation", object_id=operation, after=after,
                reason="role not permitted", columns=stored,
            )
        what = f"`{asked_by}` ({operation})" if asked_by else operation
        if self.role is None:
            raise PermissionRefused(f"permission refused: {who} may not run {what}",
                                    Hint("ask an admin to run {step}", "user.manage:add", name=self.actor))
        raise PermissionRefused(f"permission refused: {who} may not run {what} — "
                                f"{operation} is for: {permissions.roles_for(operation)}")

    def forget_role(self) -> None:
        """Read the role again at the next check (after the App's own actor changed role)."""
        self._granted.clear()
        self._looked_up = False

    def audit(self, conn: Connection, action: str, object_type: str, object_id: str | int, *,
              before: Any = None, after: Any = None, reason: str | None = None) -> dict[str, Any]:
        return audit.append(
            conn, actor=self.actor, role=self.role or "none", action=action,
            object_type=object_type, object_id=object_id, before=before, after=after, reason=reason,
        )

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir


# -- init and users --------------------------------------------------------------------------


@dataclass(frozen=True)
class InitResult:
    """What `init` did: the schema before (None: a new database) and after, whether the actor
    became the first admin, and the data folder recorded (PostgreSQL) or None."""

    before: str | None
    after: str
    made_admin: bool
    actor: str
    data_dir: str | None


@dataclass(frozen=True)
class UserInfo:
    """One user as `users list` shows it."""

    name: str
    role: str
    active: bool
    created_at: datetime
    created_by: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class UserChange:
    """The outcome of :func:`add_user`: the user's role now, and whether anything changed."""

    name: str
    role: str
    changed: bool


def init_database(app: App) -> InitResult:
    """Create or upgrade the schema. On an empty database the current actor becomes admin.

    Anyone may create a new database; upgrading or re-running init on an existing one is
    for admins; a database newer than this program is refused untouched.
    """
    before_rev = migrate.current_revision(app.db)
    if before_rev is not None:
        if before_rev not in migrate.known_revisions():
            migrate.check_schema(app.db)          # raises: newer than the code
        app.authorize("database.init", check_schema=False)
    before, after = migrate.upgrade(app.db)
    made_admin = False
    with app.db.write() as conn:
        has_users = conn.execute(select(USERS.c.id).limit(1)).first() is not None
        if not has_users:
            conn.execute(USERS.insert().values(
                name=app.actor, role="admin", active=True, created_at=now(), created_by=app.actor,
            ))
            app.role = "admin"
            made_admin = True
            app.audit(conn, "user.add", "user", app.actor, after={"name": app.actor, "role": "admin"},
                      reason="first actor on an empty database")
        if before != after:
            app.audit(conn, "database.upgrade" if before else "database.create", "database",
                      app.db.display_url, before={"schema": before}, after={"schema": after})
        if not app.db.is_sqlite:
            _restore_guard(app, conn, upgraded=before != after)
        data_dir = _record_data_dir(app, conn)
    return InitResult(before=before, after=after, made_admin=made_admin, actor=app.actor, data_dir=data_dir)


def _restore_guard(app: App, conn: Connection, *, upgraded: bool) -> None:
    """On PostgreSQL: put back missing or disabled audit triggers, and after an upgrade give the
    runtime role (if ``setup-roles`` recorded one) its privileges on the new tables. Both need
    the owner role; anyone else gets one line saying so."""
    from sqlalchemy.exc import ProgrammingError

    try:
        with conn.begin_nested():
            fixed = privileges.restore_guard(conn)
            runtime = privileges.recorded_runtime(conn)
            if upgraded and runtime:
                privileges.grant_runtime(conn, runtime)
    except ProgrammingError:
        owner = conn.execute(select(SETTINGS.c.value).where(SETTINGS.c.key == privileges.OWNER_KEY)).scalar()
        raise UsageError(f"database {app.db.display_url}: restoring the audit triggers or granting the runtime role "
                         "needs the owner role",
                         Hint(f"run {{step}} connected as {owner or 'the tables owner'}", "database.init")) from None
    if fixed:
        app.audit(conn, "database.guard_restored", "database", app.db.display_url, after={"fixed": fixed},
                  reason="the audit trail's triggers were missing or disabled")


def _record_data_dir(app: App, conn: Connection) -> str | None:
    """Record --data-dir as the database's data folder (not for a SQLite file: beside it by default)."""
    if app._sqlite_file() is not None:
        return None
    old = conn.execute(select(SETTINGS.c.value).where(SETTINGS.c.key == DATA_DIR_KEY)).scalar()
    new = str(app.data_dir_given) if app.data_dir_given is not None else None
    if new is None or new == old:
        return old
    if old is None:
        conn.execute(SETTINGS.insert().values(key=DATA_DIR_KEY, value=new, updated_at=now(), updated_by=app.actor))
    else:
        conn.execute(SETTINGS.update().where(SETTINGS.c.key == DATA_DIR_KEY).values(
            value=new, updated_at=now(), updated_by=app.actor))
    app.audit(conn, "setting.change", "setting", DATA_DIR_KEY, before={"value": old}, after={"value": new})
    app._data_dir = None
    return new


class _LastAdmin(Exception):
    """Leaves the write transaction without a change; the refusal is audited afterwards."""


def _is_last_admin(conn: Connection, user_id: int) -> bool:
    """Whether ``user_id`` is the only active admin. The active admins' rows are locked (PostgreSQL;
    SQLite's write lock serialises anyway), so two admins demoting each other at once cannot both
    pass: the second one sees that only one admin is left."""
    ids = [r.id for r in conn.execute(
        select(USERS.c.id).where(USERS.c.role == "admin", USERS.c.active.is_(True)).with_for_update())]
    return ids == [user_id]


def _refuse_last_admin(app: App, name: str, change: dict[str, Any]) -> PermissionRefused:
    """Audit the refused change (its own transaction: the change itself was rolled back)."""
    with app.db.write() as conn:
        app.audit(conn, "user.refused", "user", name, after=change,
                  reason="the last active admin cannot lose the admin role")
    return PermissionRefused(f"refused: {name} is the last active admin — the database would have nobody to manage "
                            f"its users", Hint("make another user admin first with {step}", "user.manage:add",
                                               name="NAME"))


def add_user(app: App, name: str, role: str) -> UserChange:
    """Add a user, or change an existing user's role (and activate them).

    The last active admin keeps the admin role: such a change is refused (exit 3) and audited.
    """
    app.require("user.manage")
    if role not in permissions.ROLES:
        raise UsageError(f"unknown role {role!r} — choose one of: {', '.join(permissions.ROLES)}")
    name = name.strip()
    if not name:
        raise UsageError("user name is empty — give the name the user runs as (--actor)")
    try:
        with app.db.write() as conn:
            row = conn.execute(select(USERS.c.id, USERS.c.role, USERS.c.active).where(USERS.c.name == name)).first()
            if row is None:
                conn.execute(USERS.insert().values(name=name, role=role, active=True, created_at=now(),
                                                   created_by=app.actor))
                app.audit(conn, "user.add", "user", name, after={"name": name, "role": role})
                return UserChange(name, role, changed=True)
            if row.role == role and row.active:
                return UserChange(name, role, changed=False)
            if row.role == "admin" and role != "admin" and row.active and _is_last_admin(conn, row.id):
                raise _LastAdmin()
            conn.execute(USERS.update().where(USERS.c.id == row.id).values(role=role, active=True))
            app.audit(conn, "user.change", "user", name,
                      before={"role": row.role, "active": row.active}, after={"role": role, "active": True})
        if name == app.actor:
            app.forget_role()           # the App's own actor changed role: the next check reads it again
        return UserChange(name, role, changed=True)
    except _LastAdmin:
        raise _refuse_last_admin(app, name, {"role": role}) from None


def deactivate_user(app: App, name: str, reason: str) -> None:
    """Deactivate a user (never oneself; never the last active admin: refused, exit 3, audited)."""
    app.require("user.manage")
    try:
        with app.db.write() as conn:
            row = conn.execute(select(USERS.c.id, USERS.c.role, USERS.c.active).where(USERS.c.name == name)).first()
            if row is None:
                raise UsageError(f"no user named {name!r}", Hint("see {step}", "user.read"))
            if name == app.actor:
                raise UsageError("you cannot deactivate yourself — ask another admin")
            if row.role == "admin" and row.active and _is_last_admin(conn, row.id):
                raise _LastAdmin()
            conn.execute(USERS.update().where(USERS.c.id == row.id).values(active=False))
            app.audit(conn, "user.deactivate", "user", name, before={"active": row.active},
                      after={"active": False}, reason=reason)
    except _LastAdmin:
        raise _refuse_last_admin(app, name, {"active": False}) from None


def list_users(app: App) -> list[UserInfo]:
    app.require("user.read")
    with app.db.read() as conn:
        rows = conn.execute(select(USERS).order_by(USERS.c.name)).mappings().all()
    return [UserInfo(name=r["name"], role=r["role"], active=r["active"], created_at=r["created_at"],
                 created_by=r["created_by"]) for r in rows]
