"""Opening the database: SQLite file by default, PostgreSQL through a URL.

All writes go through :meth:`Database.write`, a transaction that on SQLite starts with
``BEGIN IMMEDIATE`` (the write lock is taken at the start, so two writers never interleave
and a reader never has to upgrade its lock), and on PostgreSQL is an ordinary transaction
(the audit trail takes its own advisory lock). Reads use :meth:`Database.read`.
"""

from __future__ import annotations

import os
import re
import unicodedata
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.exc import DatabaseError as SADatabaseError

from ..errors import DatabaseError

DEFAULT_SQLITE_FILE = "ringebu-journal.db"
ENV_DB = "RINGEBU_JOURNAL_DB"


def resolve_url(url: str | None) -> str:
    """The database URL: the option, else $RINGEBU_JOURNAL_DB, else ./ringebu-journal.db.

    A bare file path is accepted and taken as SQLite.
    """
    url = url or os.environ.get(ENV_DB) or DEFAULT_SQLITE_FILE
    if "://" not in url:
        return "sqlite:///" + str(Path(url).expanduser().resolve())
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver we ship
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


#: connection parameters whose value is a secret (libpq's, in a URL's query or a conninfo string)
SECRET_PARAMS = ("password", "sslpassword")
_SECRETS: set[str] = set()
_QUERY_SECRET = re.compile(r"(?i)\b(" + "|".join(SECRET_PARAMS) + r")(\s*=\s*)('[^']*'|[^&\s;,)]*)")
_USERINFO = re.compile(r"(://[^:/@\s]*):([^@\s]*)@")


def url_secrets(url: str) -> set[str]:
    """The secret values a database URL holds: the password of ``user:pw@`` and every
    ``password=``/``sslpassword=`` query parameter (raw and percent-decoded)."""
    from urllib.parse import unquote

    found: set[str] = set()
    m = _USERINFO.search(url)
    if m and m.group(2):
        found.add(m.group(2))
    for m in _QUERY_SECRET.finditer(url):
        value = m.group(3).strip("'")
        if value:
            found.add(value)
    try:
        sa = make_url(url)
        if sa.password:
            found.add(str(sa.password))
        for key, value in sa.query.items():
            if key.lower() in SECRET_PARAMS:
                found.update(v for v in ((value,) if isinstance(value, str) else value) if v)
    except (ArgumentError, ValueError, TypeError):
        pass
    return found | {unquote(v) for v in found}


def remember_secrets(url: str) -> None:
    """Note a URL's secrets, so that :func:`redact` removes them from every line shown or stored."""
    _SECRETS.update(v for v in url_secrets(url) if len(v) >= 3)   # shorter ones: masked by form only
    env = os.environ.get("PGPASSWORD")
    if env:
        _SECRETS.add(env)


def redact(text_: str) -> str:
    """``text_`` with every known secret replaced by ``***`` (longest first, so no part of one is left)."""
    if not text_:
        return text_
    out = _QUERY_SECRET.sub(lambda m: m.group(1) + m.group(2) + "***", text_)
    out = _USERINFO.sub(lambda m: m.group(1) + ":***@", out)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret and secret != "***":
            out = out.replace(secret, "***")
    return out


def safe_url(url: str) -> str:
    """The URL without its password, in no form (``user:pw@``, ``?password=``, ``sslpassword=``):
    for messages, logs and audit events."""
    remember_secrets(url)
    try:
        rendered = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        rendered = url
    return redact(rendered)


class Database:
    def __init__(self, url: str | None = None, *, echo: bool = False):
        self.url = resolve_url(url)
        self.display_url = safe_url(self.url)
        try:
            sa_url = make_url(self.url)
        except (ArgumentError, ValueError):
            raise DatabaseError(
                f"database URL {self.display_url!r} is not valid — use a file path, "
                "sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
            ) from None
        self.dialect = sa_url.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise DatabaseError(
                f"database {self.display_url}: only SQLite and PostgreSQL are supported"
            )
        if self.dialect == "sqlite":
            db_file = sa_url.database
            if db_file and db_file != ":memory:":
                parent = Path(db_file).parent
                if not parent.is_dir():
                    raise DatabaseError(
                        f"database {db_file}: folder {parent} does not exist — create it or choose another --db"
                    )
            self.engine = create_engine(
                self.url, echo=echo, connect_args={"timeout": 60, "check_same_thread": False}
            )
            _install_sqlite_hooks(self.engine)
        else:
            self.engine = create_engine(
                self.url, echo=echo, pool_pre_ping=True,
                connect_args={"connect_timeout": 10, "application_name": "ringebu-journal"},
            )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        with self._translate():
            with self.engine.connect() as conn:
                with conn.begin():
                    yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._translate():
            with self.engine.connect().execution_options(ringebu_readonly=True) as conn:
                with conn.begin():
                    yield conn

    def translate_errors(self):
        """A context in which an unreachable server or a database error becomes a DatabaseError line."""
        return self._translate()

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            raise DatabaseError(_describe(self.display_url, exc)) from None
        except SADatabaseError as exc:
            if _is_unreachable(exc):
                raise DatabaseError(_describe(self.display_url, exc)) from None
            raise

    def check_reachable(self) -> None:
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _is_unreachable(exc: Exception) -> bool:
    msg = str(exc).lower()
    return any(s in msg for s in (
        "connection", "could not connect", "server closed", "terminating",
        "not a database", "file is encrypted", "malformed", "disk i/o", "readonly database",
        "database or disk is full",
    ))


def _describe(display_url: str, exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    if "database is locked" in first:
        hint = "another ringebu-journal process holds the write lock for too long; try again"
    elif "unable to open database file" in first:
        hint = "check that the file's folder exists and is writable, or choose another --db"
    elif "not a database" in first or "file is encrypted" in first or "malformed" in first:
        hint = "this file is not a ringebu-journal database (or it is damaged); choose another --db"
    elif "disk is full" in first:
        hint = "the disk is full; free space and run the command again (nothing was half-written)"
    elif "readonly" in first:
        hint = "the database file is read-only for you; check its permissions"
    else:
        hint = "check --db / RINGEBU_JOURNAL_DB and that the server is running"
    return f"database {display_url}: {first} — {hint}"


def _fold(value: object) -> str | None:
    if value is None:
        return None
    return unicodedata.normalize("NFC", str(value)).casefold()


SQLITE_PAGE_SIZE = 16384


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        # Take transaction control from the sqlite3 module so BEGIN is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # A new database file gets pages of 16 KiB (SQLite ignores this for an existing one):
        # a message row with its raw JSON is about 1 KiB, and larger pages mean fewer B-tree
        # splits and fewer pages rewritten per transaction; an import of 100,000 comments
        # writes its rows and indexes in about 0.2 s less CPU than with 4 KiB pages
        # (docs/benchmarks.md, «Import, third round»). Set before WAL, which fixes the size.
        cur.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()
        # Unicode case folding for search by author (SQLite's lower() folds ASCII letters only)
        dbapi_conn.create_function("rj_fold", 1, _fold, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # noqa: ANN001
        if conn.get_execution_options().get("ringebu_readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
