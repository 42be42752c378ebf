"""Sign-in for the web workspace: passwords, sessions and CSRF tokens (no web framework here).

Invariants:

* A password is kept only as an argon2id hash (``users.password_hash``); the password itself is
  never stored, logged, audited or put in an error. ``set_password`` audits ``user.password``
  with ``{"password_set": true}`` and nothing else about it.
* A session is a random 256-bit token in the browser's cookie; the database keeps only its
  SHA-256 (``web_sessions.token_hash``), so a copy of the database signs nobody in. Each session
  has its own CSRF token, compared in constant time. Signing out deletes the row; an expired row
  or a user who was deactivated (or lost their role) signs nobody in.
* Every sign-in attempt that fails is audited as ``web.signin.failed`` with the name that was
  typed (cut to 200 characters), the reason and the client address — never the password. A
  successful sign-in is ``web.signin``, signing out ``web.signout``.
* After ``MAX_FAILURES`` failed attempts for one name, or from one client address, within
  ``FAILURE_WINDOW`` seconds, further attempts are refused without looking at the password
  (:class:`FailedSignIns`, per server process) and audited with the reason
  ``too many failed attempts``.
* Checking a wrong password for an unknown user costs as much as for a known one (a hash is
  verified against a fixed dummy), so the answer time does not tell which names exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select

from .. import audit, clock
from ..app import App
from ..db.tables import User, WebSession
from ..errors import Hint, UsageError

USERS = User.__table__
SESSIONS = WebSession.__table__

#: how long a session lasts without signing in again
SESSION_HOURS = 10
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_NAME = 200

_HASHER = PasswordHasher()          # argon2id with the library's current recommended cost
_DUMMY_HASH = _HASHER.hash("ringebu-journal: no such user")


def _now() -> datetime:
    return clock.now()


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two tokens (False when either is missing)."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


# -- passwords ------------------------------------------------------------------------------


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password is shorter than {MIN_PASSWORD} characters — choose a longer one "
                         "(a few words make a good one)")
    if len(password) > MAX_PASSWORD:
        raise UsageError(f"the password is longer than {MAX_PASSWORD} characters — choose a shorter one")
    if password.strip() != password:
        raise UsageError("the password starts or ends with a space — leave those out")


def set_password(app: App, name: str, password: str) -> dict[str, Any]:
    """Give the registered user ``name`` a password for the web workspace (argon2id hash)."""
    app.require("user.manage")
    check_password_rules(password)
    hashed = _HASHER.hash(password)
    with app.db.write() as conn:
        row = conn.execute(select(USERS.c.id, USERS.c.active, USERS.c.password_hash)
                           .where(USERS.c.name == name)).first()
        if row is None:
            raise UsageError(f"no user named {name!r}", Hint("add the user first with {step}", "user.manage:add",
                                                              name=name))
        at = _now()
        conn.execute(USERS.update().where(USERS.c.id == row.id).values(password_hash=hashed, password_changed_at=at))
        # every session of the user ends: a new password signs the old browsers out
        ended = conn.execute(delete(SESSIONS).where(SESSIONS.c.user_name == name)).rowcount
        app.audit(conn, "user.password", "user", name,
                  before={"password_set": row.password_hash is not None},
                  after={"password_set": True, "sessions_ended": int(ended or 0)})
    return {"name": name, "active": bool(row.active), "sessions_ended": int(ended or 0)}


# -- sessions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    id: int
    user: str
    role: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class SignIn:
    """A new session: the cookie's token (given to the browser once) and its session."""

    token: str
    session: Session


MAX_FAILURES = 10
FAILURE_WINDOW = 15 * 60


class FailedSignIns:
    """Failed sign-ins per name and per client address in the last ``window`` seconds (in memory)."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW):
        self.limit = limit
        self.window = window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._seen.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, name: str, client: str | None) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.limit for k in self._keys(name, client))

    def failed(self, name: str, client: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            for k in self._keys(name, client):
                self._recent(k, now).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._seen.pop("name:" + name.strip().casefold(), None)

    @staticmethod
    def _keys(name: str, client: str | None) -> list[str]:
        keys = ["name:" + (name or "").strip().casefold()]
        if client:
            keys.append("client:" + client)
        return keys


def refuse(app: App, name: str, reason: str, client: str | None) -> None:
    """Audit a refused sign-in (never the password)."""
    _failed(app, (name or "").strip(), reason, client)


def _failed(app: App, name: str, reason: str, client: str | None) -> None:
    with app.db.write() as conn:
        audit.append(conn, actor="anonymous", role="none", action="web.signin.failed",
                     object_type="user", object_id=name[:MAX_NAME] or "(empty)",
                     after={"reason": reason, "client": client}, reason="sign-in refused")


def _start(app: App, name: str, role: str, method: str, client: str | None) -> SignIn:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    at = _now()
    expires = at + timedelta(hours=SESSION_HOURS)
    with app.db.write() as conn:
        # sessions that ran out are cleared as new ones start
        conn.execute(delete(SESSIONS).where(SESSIONS.c.expires_at < at))
        sid = int(conn.execute(SESSIONS.insert().values(
            token_hash=token_hash(token), user_name=name, csrf_token=csrf, created_at=at,
            expires_at=expires)).inserted_primary_key[0])
        audit.append(conn, actor=name, identity=name, role=role, action="web.signin", object_type="user", object_id=name,
                     after={"method": method, "client": client, "session": sid})
    return SignIn(token, Session(sid, name, role, csrf, expires))


def sign_in(app: App, name: str, password: str, *, client: str | None = None) -> SignIn | None:
    """Check a name and password; a new session, or None (the failure is audited)."""
    name = (name or "").strip()
    password = password or ""
    with app.db.read() as conn:
        row = conn.execute(select(USERS.c.name, USERS.c.role, USERS.c.active, USERS.c.password_hash)
                           .where(USERS.c.name == name)).first() if name else None
    stored = row.password_hash if row is not None and row.password_hash else None
    try:
        good = _HASHER.verify(stored or _DUMMY_HASH, password[:MAX_PASSWORD]) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        good = False
    if row is None:
        _failed(app, name, "unknown user", client)
        return None
    if not good:
        _failed(app, name, "no password set" if stored is None else "wrong password", client)
        return None
    if not row.active:
        _failed(app, name, "user deactivated", client)
        return None
    if stored is not None and _HASHER.check_needs_rehash(stored):
        with app.db.write() as conn:
            conn.execute(USERS.update().where(USERS.c.name == name).values(password_hash=_HASHER.hash(password)))
    return _start(app, row.name, row.role, "password", client)


def sign_in_trusted(app: App, name: str, *, header: str, client: str | None = None) -> SignIn | None:
    """Single sign-on: the reverse proxy vouches for ``name`` in a trusted header."""
    name = (name or "").strip()
    with app.db.read() as conn:
        row = conn.execute(select(USERS.c.name, USERS.c.role, USERS.c.active)
                           .where(USERS.c.name == name)).first() if name else None
    if row is None or not row.active:
        _failed(app, name, f"{header}: {'unknown user' if row is None else 'user deactivated'}", client)
        return None
    return _start(app, row.name, row.role, f"trusted header {header}", client)


def session_for(app: App, token: str | None) -> Session | None:
    """The live session a cookie's token belongs to, with the user's role as it is now."""
    if not token or len(token) > 200:
        return None
    with app.db.read() as conn:
        row = conn.execute(
            select(SESSIONS.c.id, SESSIONS.c.user_name, SESSIONS.c.csrf_token, SESSIONS.c.expires_at,
                   USERS.c.role, USERS.c.active)
            .select_from(SESSIONS.join(USERS, USERS.c.name == SESSIONS.c.user_name))
            .where(SESSIONS.c.token_hash == token_hash(token))).first()
    if row is None or not row.active or _aware(row.expires_at) <= _now():
        return None
    return Session(row.id, row.user_name, row.role, row.csrf_token, _aware(row.expires_at))


def sign_out(app: App, session: Session, *, client: str | None = None) -> None:
    with app.db.write() as conn:
        conn.execute(delete(SESSIONS).where(SESSIONS.c.id == session.id))
        audit.append(conn, actor=session.user, identity=session.user, role=session.role, action="web.signout", object_type="user",
                     object_id=session.user, after={"client": client, "session": session.id})


def end_sessions(app: App, name: str) -> int:
    """End every session of a user (e.g. after deactivation); returns how many."""
    with app.db.write() as conn:
        return int(conn.execute(delete(SESSIONS).where(SESSIONS.c.user_name == name)).rowcount or 0)


__all__ = ["FailedSignIns", "refuse", "Session", "SignIn", "set_password", "sign_in", "sign_in_trusted", "session_for", "sign_out",
           "end_sessions", "same", "check_password_rules"]
