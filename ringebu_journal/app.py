"""The application context a command runs in: database, actor, role, data folder.

Library functions take an ``App`` so that they can be called the same way from the CLI,
from tests and from a notebook. Nothing here knows about click.

The data folder holds attachment bytes (content-addressed), harvest dumps and the render
cache. It is never the current directory: for a SQLite file it defaults to a folder beside
the file; a PostgreSQL database records its folder in the ``settings`` table (key
``data_dir``, written by ``init`` given ``--data-dir``), so every command on every machine
reads the same folder. A PostgreSQL database without one, or a ``--data-dir`` that is not
the recorded folder, is refused with a line saying what to do.

Who is acting (docs/security.md, "Identity"):

* ``App.identity`` is who was *authenticated*: on PostgreSQL the database session user
  (``SELECT session_user``: the role that logged in, whatever ``SET ROLE`` did afterwards); on
  SQLite the operating-system user the process runs as (from its user id, not from ``$USER``);
  for the web workspace the signed-in user the web front end authenticated
  (:meth:`App.for_identity`). It is never taken from an option or an environment variable.
* ``App.actor`` is the name acted under (``--actor``, RINGEBU_JOURNAL_ACTOR; default: the
  identity). Its role in the users table decides what may be done.
* An actor other than the identity is accepted only when a delegation lets that identity act
  under that name (``delegations``: a name, or ``*`` for every name, and an optional end).
  Otherwise the first permission check refuses (exit 3) and audits the refusal with the real
  identity. The identity that creates a database, or upgrades it to identities, receives the
  ``*`` delegation (audited), so that its admin can set the people up; an admin may withdraw it.
* Every audit event records both the identity and the actor.
"""

from __future__ import annotations


import os
import pwd
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import delete, inspect, or_, select, text
from sqlalchemy.engine import Connection

from . import audit, permissions
from .clock import now
from .db import migrate, privileges
from .db.engine import Database
from .db.tables import Delegation, Setting, User
from .errors import Hint, PermissionRefused, UsageError

ENV_ACTOR = "RINGEBU_JOURNAL_ACTOR"
ENV_DATA = "RINGEBU_JOURNAL_DATA"
USERS = User.__table__
DELEGATIONS = Delegation.__table__
#: a delegation under this name lets its identity act under every name
EVERY_NAME = "*"
SETTINGS = Setting.__table__
DATA_DIR_KEY = "data_dir"


def default_actor() -> str:
    """The operating-system user this process runs as (see :func:`os_identity`)."""
    return os_identity()


def os_identity() -> str:
    """The operating-system user of the process, from its effective user id (``$USER``,
    ``$LOGNAME`` and the like are not consulted: anyone can set them). A user id without a
    passwd entry (some containers) is ``uid:N``."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def session_identity(db: Database) -> str:
    """The PostgreSQL session user (the role that logged in), or the OS user for SQLite."""
    if db.is_sqlite:
        return os_identity()
    with db.read() as conn:
        return conn.execute(text("SELECT session_user")).scalar_one()


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
    via: str = "cli"                        # how the identity was authenticated: cli (database/OS), web …
    _identity: str | None = field(default=None, repr=False)
    _actor_checked: bool = field(default=False, repr=False)         # actor/identity checked (delegation)

    @classmethod
    def open(cls, db_url: str | None = None, actor: str | None = None, data_dir: str | Path | None = None) -> "App":
        """The App of a command: the identity is the database session user or the OS user;
        ``actor`` (or RINGEBU_JOURNAL_ACTOR) names another name to act under, checked at the
        first permission check."""
        db = Database(db_url)
        actor = actor or os.environ.get(ENV_ACTOR) or None
        if data_dir is None:
            data_dir = os.environ.get(ENV_DATA) or None
        app = cls(db=db, actor=actor or "", data_dir_given=Path(data_dir).absolute() if data_dir is not None else None)
        if not actor:
            app.actor = app.identity
        return app

    @classmethod
    def for_identity(cls, db: Database | str, identity: str, *, via: str = "web", actor: str | None = None,
                     data_dir: str | Path | None = None) -> "App":
        """The App of a front end that authenticated its user itself (the web workspace's sign-in):
        ``identity`` is that user and, unless ``actor`` is given, also the name acted under. Its
        events record the identity as the CLI's do; acting under another name needs a delegation
        here too. The caller vouches for ``identity``: only an authenticating front end calls this.
        """
        identity = identity.strip()
        if not identity:
            raise UsageError("the signed-in identity is empty")
        if not isinstance(db, Database):
            db = Database(db)
        return cls(db=db, actor=(actor or identity).strip(), via=via, _identity=identity,
                   data_dir_given=Path(data_dir).absolute() if data_dir is not None else None)

    @property
    def identity(self) -> str:
        """Who was authenticated (see the module docstring)."""
        if self._identity is None:
            self._identity = session_identity(self.db)
        return self._identity

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
        self._actor_checked = True
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
        if not self._actor_checked:
            self._check_actor(asked_by, operation, check_schema)
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
                reason="role not permitted", identity=self.identity, columns=stored,
            )
        what = f"`{asked_by}` ({operation})" if asked_by else operation
        if self.role is None:
            raise PermissionRefused(f"permission refused: {who} may not run {what}",
                                    Hint("ask an admin to run {step}", "user.manage:add", name=self.actor))
        raise PermissionRefused(f"permission refused: {who} may not run {what} — "
                                f"{operation} is for: {permissions.roles_for(operation)}")

    def _check_actor(self, asked_by: str | None, operation: str, check_schema: bool) -> None:
        """Refuse (exit 3, audited with the real identity) an actor the identity may not act as."""
        if self.actor != self.identity:
            with self.db.read() as conn:
                if not check_schema and not inspect(conn).has_table(DELEGATIONS.name):
                    # a schema from before identities (only `init` gets here, to upgrade it): nothing
                    # to check against; the upgrade gives this identity the "*" delegation
                    self._actor_checked = True
                    return
                found = delegation_for(conn, self.identity, self.actor)
            if not found:
                self._refuse_actor(asked_by, operation, check_schema)
        self._actor_checked = True

    def _refuse_actor(self, asked_by: str | None, operation: str, check_schema: bool) -> None:
        after = {"operation": operation, "identity": self.identity, "actor": self.actor, "via": self.via}
        if asked_by:
            after["asked_by"] = asked_by
        with self.db.write() as conn:
            stored = None if check_schema else audit.stored_columns_if_outdated(conn)
            audit.append(conn, actor=self.actor, role="none", action="actor.refused", object_type="user",
                         object_id=self.actor, after=after, identity=self.identity, columns=stored,
                         reason="acting under another name without a delegation")
        raise PermissionRefused(
            f"refused: {self.identity} may not act as {self.actor} (no delegation)",
            Hint("act under your own name, or ask an admin to run {step}", "user.manage:delegate",
                 name=self.actor, identity=self.identity))

    def forget_role(self) -> None:
        """Read the role again at the next check (after the App's own actor changed role)."""
        self._granted.clear()
        self._looked_up = False

    def audit(self, conn: Connection, action: str, object_type: str, object_id: str | int, *,
              before: Any = None, after: Any = None, reason: str | None = None) -> dict[str, Any]:
        return audit.append(
            conn, actor=self.actor, role=self.role or "none", action=action,
            object_type=object_type, object_id=object_id, before=before, after=after, reason=reason,
            identity=self.identity,
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
    for admins; a database newer than this program is refused untouched. The identity that
    creates the database, or upgrades it to one with identities, may act under every name (the
    ``*`` delegation, audited): someone has to register the people and their delegations.
    """
    before_rev = migrate.current_revision(app.db)
    if before_rev is not None:
        if before_rev not in migrate.known_revisions():
            migrate.check_schema(app.db)          # raises: newer than the code
        app.authorize("database.init", check_schema=False)
    had_delegations = before_rev is not None and _has_delegations(app.db)
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
        if not had_delegations:
            _grant(app, conn, EVERY_NAME, app.identity, None,
                   "the identity that set the database up registers the people and their delegations")
            app._actor_checked = True
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


def _has_delegations(db: Database) -> bool:
    with db.read() as conn:
        return inspect(conn).has_table(DELEGATIONS.name)


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


# -- delegations -------------------------------------------------------------------------------


def delegation_for(conn: Connection, identity: str, name: str) -> dict[str, Any] | None:
    """The delegation in force that lets ``identity`` act under ``name`` (its own or ``*``)."""
    row = conn.execute(select(DELEGATIONS).where(
        DELEGATIONS.c.identity == identity,
        DELEGATIONS.c.name.in_([name, EVERY_NAME]),
        or_(DELEGATIONS.c.until.is_(None), DELEGATIONS.c.until > now()),
    ).order_by(DELEGATIONS.c.id).limit(1)).mappings().first()
    return dict(row) if row is not None else None


def _grant(app: App, conn: Connection, name: str, identity: str, until: datetime | None, reason: str | None) -> dict:
    old = conn.execute(select(DELEGATIONS).where(DELEGATIONS.c.name == name,
                                                 DELEGATIONS.c.identity == identity)).mappings().first()
    values = {"until": until, "created_at": now(), "created_by": app.actor,
              "created_identity": app.identity}
    if old is None:
        conn.execute(DELEGATIONS.insert().values(name=name, identity=identity, **values))
    else:
        conn.execute(DELEGATIONS.update().where(DELEGATIONS.c.id == old["id"]).values(**values))
    after = {"name": name, "identity": identity, "until": until}
    app.audit(conn, "user.delegate", "delegation", f"{name} -> {identity}",
              before=({"until": old["until"]} if old is not None else None), after=after, reason=reason)
    return after


def delegate(app: App, name: str, identity: str, until: datetime | None = None,
             reason: str | None = None) -> dict[str, Any]:
    """Let ``identity`` act under ``name`` (``*``: every name) until ``until`` (naive: UTC;
    None: until withdrawn). Admins only (user.manage); audited; granting again replaces the end."""
    app.require("user.manage")
    name, identity = name.strip(), identity.strip()
    if not name or not identity:
        raise UsageError("a delegation needs a name to act under and the identity that may use it")
    if name == identity:
        raise UsageError(f"{identity} acts under its own name without a delegation — give another name")
    if until is not None:
        until = until.astimezone(timezone.utc) if until.tzinfo else until.replace(tzinfo=timezone.utc)
        if until <= now():
            raise UsageError(f"--until {until:%Y-%m-%d %H:%M} is in the past — give a later date")
    with app.db.write() as conn:
        if name != EVERY_NAME and conn.execute(select(USERS.c.id).where(USERS.c.name == name)).first() is None:
            raise UsageError(f"no user named {name!r} to act under", Hint("add them first with {step}",
                                                                           "user.manage:add", name=name))
        return _grant(app, conn, name, identity, until, reason)


def undelegate(app: App, name: str, identity: str) -> bool:
    """Withdraw a delegation (admins only, audited). False when there was none.

    The delegation the admin is acting through right now is not withdrawn (usage error, nothing
    changed): that would lock out the admin who withdrew it; another admin withdraws it.
    """
    app.require("user.manage")
    with app.db.write() as conn:
        old = conn.execute(select(DELEGATIONS).where(DELEGATIONS.c.name == name,
                                                     DELEGATIONS.c.identity == identity)).mappings().first()
        if old is None:
            return False
        conn.execute(delete(DELEGATIONS).where(DELEGATIONS.c.id == old["id"]))
        if app.actor != app.identity and identity == app.identity and delegation_for(conn, identity, app.actor) is None:
            raise UsageError(f"{identity} acts as {app.actor} through this delegation — withdrawing it would lock "
                             "you out; act under your own name, or have another admin withdraw it")
        app.audit(conn, "user.undelegate", "delegation", f"{name} -> {identity}",
                  before={"name": name, "identity": identity, "until": old["until"]}, after=None)
    if identity == app.identity and name in (app.actor, EVERY_NAME):
        app._actor_checked = False      # checked again at the next permission check
        app._granted.clear()
    return True


def list_delegations(app: App) -> list[dict[str, Any]]:
    app.require("user.read")
    with app.db.read() as conn:
        rows = conn.execute(select(DELEGATIONS).order_by(DELEGATIONS.c.name, DELEGATIONS.c.identity)).mappings().all()
    return [dict(r) for r in rows]
