"""Finding messages by the ids users type.

Everywhere a command takes MESSAGE it accepts the internal id (``42`` or ``id:42``), the
platform's own message id when it is unique (``871234567890123_1122334455667788``), or
``platform:platform-id`` (``facebook:871234567890123_1122334455667788``).

A bare number is an internal id only when it can be one (ASCII digits, at most
``MAX_INTERNAL_ID``, the largest value of the id column on PostgreSQL); a longer number —
every Instagram and X id — is only looked up as a platform id, so it never reaches the
database as an out-of-range integer.
"""

from __future__ import annotations

from sqlalchemy import select

from .app import App
from .db.tables import Message
from .errors import Hint, UsageError
from .models import Platform

MSG = Message.__table__
PLATFORMS = {p.value for p in Platform}
MAX_INTERNAL_ID = 2 ** 31 - 1       # messages.id is INTEGER on PostgreSQL


def internal_id(text: str) -> int | None:
    """The internal id ``text`` can be, or None (not ASCII digits, or too large for the column)."""
    if not (text.isascii() and text.isdigit()):
        return None
    n = int(text)
    return n if n <= MAX_INTERNAL_ID else None


def resolve(app: App, ref: str) -> int:
    """The internal id of the current version of the message ``ref`` names."""
    ref = ref.strip()
    if not ref:
        raise UsageError("empty message id — give an internal id, a platform id or platform:id")
    with app.db.read() as conn:
        if ref.startswith("id:"):
            return _by_internal(conn, ref[3:], ref)
        head, sep, tail = ref.partition(":")
        if sep and head in PLATFORMS:
            rows = conn.execute(
                select(MSG.c.id).where(MSG.c.platform == head, MSG.c.platform_message_id == tail,
                                       MSG.c.is_current.is_(True))
            ).all()
            if not rows:
                raise UsageError(f"no {head} message with id {tail!r}", Hint("check the id with {step}", "message.read:queue"))
            return rows[0][0]
        rows = conn.execute(
            select(MSG.c.id, MSG.c.platform).where(MSG.c.platform_message_id == ref, MSG.c.is_current.is_(True))
        ).all()
        internal = None
        if (n := internal_id(ref)) is not None:
            internal = conn.execute(select(MSG.c.id).where(MSG.c.id == n)).scalar()
        if rows and internal is not None and (len(rows) > 1 or rows[0][0] != internal):
            raise UsageError(
                f"{ref!r} is both an internal id and a platform id — write id:{ref} or "
                f"{rows[0][1]}:{ref}"
            )
        if len(rows) > 1:
            options = ", ".join(f"{r[1]}:{ref}" for r in rows)
            raise UsageError(f"{ref!r} names messages on several platforms — write one of: {options}")
        if rows:
            return rows[0][0]
        if internal is not None:
            return _current_of(conn, internal)
    raise UsageError(f"no message {ref!r} — give an internal id, a platform id or platform:id")


def _by_internal(conn, value: str, ref: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise UsageError(f"{ref!r}: an internal id is a number")
    n = internal_id(value)
    found = conn.execute(select(MSG.c.id).where(MSG.c.id == n)).scalar() if n is not None else None
    if found is None:
        raise UsageError(f"no message with internal id {value}")
    return _current_of(conn, found)


def _current_of(conn, message_id: int) -> int:
    """An older version's id resolves to the current version of the same message."""
    row = conn.execute(select(MSG.c.platform, MSG.c.platform_message_id).where(MSG.c.id == message_id)).first()
    cur = conn.execute(
        select(MSG.c.id).where(MSG.c.platform == row.platform, MSG.c.platform_message_id == row.platform_message_id,
                               MSG.c.is_current.is_(True))
    ).scalar()
    return cur or message_id


def resolve_all_versions(app: App, ref: str) -> list[int]:
    """Internal ids of every version of the message ``ref`` names."""
    current = resolve(app, ref)
    with app.db.read() as conn:
        row = conn.execute(select(MSG.c.platform, MSG.c.platform_message_id).where(MSG.c.id == current)).first()
        return [r[0] for r in conn.execute(
            select(MSG.c.id).where(MSG.c.platform == row.platform,
                                   MSG.c.platform_message_id == row.platform_message_id).order_by(MSG.c.version)
        )]
