"""Time, said once: every stored time is an aware UTC ``datetime``.

Invariants: :func:`now` is the only reading of the wall clock outside the audit trail's own
text stamp (``audit.now_text``) and the importers' store; :func:`utc` takes a naive value to be UTC
already (what SQLite hands back for a column written as UTC) and converts an aware one. Days a
person reads are not made here: they are the organisation's local days (``registry.local_day``).
"""

from __future__ import annotations

from datetime import datetime, timezone


def utc(dt: datetime) -> datetime:
    """``dt`` as an aware UTC datetime; a naive value is taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def now() -> datetime:
    """The current time, aware, in UTC (what the timestamp columns take)."""
    return datetime.now(timezone.utc)
