"""The tamper-evident audit trail.

Every state change appends one event through :func:`append`. Events form a SHA-256 hash
chain, so changing, deleting, inserting or reordering any event is detected by
:func:`verify`.

The recipe (anyone can check an exported trail with it, see README "Verify the trail"):

    canonical = json.dumps(
        {"seq": seq, "at": at, "actor": actor, "role": role, "action": action,
         "object_type": object_type, "object_id": object_id,
         "before": json.loads(before), "after": json.loads(after), "reason": reason},
        sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    hash = sha256((prev_hash + canonical).encode("utf-8")).hexdigest()

``prev_hash`` of the first event is 64 zeros; ``seq`` runs 1, 2, 3 … without gaps.

Appends are serialised so that concurrent writers never fork the chain: on PostgreSQL with a
transaction-scoped advisory lock, on SQLite by the ``BEGIN IMMEDIATE`` write lock that every
write transaction holds (see ``db/engine.py``). The event is written in the same transaction
as the change it records: either both are stored or neither.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from . import killpoints
from .db.tables import AuditEvent

GENESIS = "0" * 64
# pg_advisory_xact_lock key: "RJAU" as an integer, fixed so every process agrees.
_PG_LOCK_KEY = 0x524A4155

AUDIT = AuditEvent.__table__

FIELDS = ("seq", "at", "actor", "role", "action", "object_type", "object_id", "before", "after", "reason")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def _default(o: Any) -> Any:
    if isinstance(o, datetime):
        return format_time(o)
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if hasattr(o, "model_dump"):
        return o.model_dump(mode="json")
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    return str(o)


def format_time(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_text() -> str:
    return format_time(datetime.now(timezone.utc))


def event_hash(prev_hash: str, ev: dict[str, Any]) -> str:
    body = {
        "seq": ev["seq"],
        "at": ev["at"],
        "actor": ev["actor"],
        "role": ev["role"],
        "action": ev["action"],
        "object_type": ev["object_type"],
        "object_id": ev["object_id"],
        "before": json.loads(ev["before"]),
        "after": json.loads(ev["after"]),
        "reason": ev["reason"],
    }
    return hashlib.sha256((prev_hash + canonical_json(body)).encode("utf-8")).hexdigest()


def append(
    conn: Connection,
    *,
    actor: str,
    role: str,
    action: str,
    object_type: str,
    object_id: str | int,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """Append one event inside the caller's write transaction and return it."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    last = conn.execute(
        select(AUDIT.c.seq, AUDIT.c.hash).order_by(AUDIT.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    ev = {
        "seq": seq,
        "at": now_text(),
        "actor": actor,
        "role": role,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "before": canonical_json(before),
        "after": canonical_json(after),
        "reason": reason,
    }
    ev["prev_hash"] = prev
    ev["hash"] = event_hash(prev, ev)
    conn.execute(AUDIT.insert().values(**ev))
    killpoints.reached("audit.append")          # inside the caller's transaction, not yet committed
    return ev


def append_many(conn: Connection, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Append several events at once (one lock, one read of the chain head, one insert).

    Each dict has the keyword arguments of :func:`append`. Used by batch jobs (judging a
    hundred thousand messages writes one event per judgment without a round trip each).
    """
    if not events:
        return []
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    last = conn.execute(
        select(AUDIT.c.seq, AUDIT.c.hash).order_by(AUDIT.c.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = now_text()
    rows = []
    for e in events:
        ev = {
            "seq": seq, "at": at, "actor": e["actor"], "role": e["role"], "action": e["action"],
            "object_type": e["object_type"], "object_id": str(e["object_id"]),
            "before": canonical_json(e.get("before")), "after": canonical_json(e.get("after")),
            "reason": e.get("reason"),
        }
        ev["prev_hash"] = prev
        ev["hash"] = prev = event_hash(prev, ev)
        rows.append(ev)
        seq += 1
    conn.execute(AUDIT.insert(), rows)
    return rows


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str | None = None
    seq: int | None = None
    head: str | None = None

    def line(self) -> str:
        if self.ok:
            return f"audit trail verified: {self.checked} events, chain intact, head {self.head}"
        return f"audit trail broken at event {self.seq}: {self.problem}"


def verify_events(events: Iterable[dict[str, Any]], head: str | None = None) -> VerifyResult:
    """Recompute the chain over events in stored order and name the first broken one.

    What each failure means:
    * a stored hash that does not match the event's content → the event was modified;
    * a gap in seq → an event was deleted;
    * a prev_hash that does not match the previous event's hash → an event was inserted,
      deleted or the order changed (reordering also breaks the seq sequence).

    Deleting the newest events leaves a shorter chain that is still whole; ``head`` (a hash
    an auditor noted earlier, e.g. from ``audit export``) catches that: it must be in the chain.
    """
    prev = GENESIS
    expected_seq = 1
    n = 0
    for ev in events:
        n += 1
        seq = ev["seq"]
        if seq != expected_seq:
            kind = "missing (deleted)" if seq > expected_seq else "out of order or inserted"
            return VerifyResult(False, n - 1, f"expected event {expected_seq}, found {seq}: {kind}", seq)
        if ev["prev_hash"] != prev:
            return VerifyResult(
                False, n - 1,
                "its prev_hash does not match the previous event: an event before it was "
                "deleted, inserted or reordered", seq,
            )
        if event_hash(prev, ev) != ev["hash"]:
            return VerifyResult(False, n - 1, "its content does not match its hash: the event was modified", seq)
        prev = ev["hash"]
        expected_seq += 1
        if head is not None and prev == head.lower():
            head = None
    if head is not None:
        return VerifyResult(False, n, f"the known head {head[:16]}… is not in the chain: "
                            "events after it were deleted (the trail was truncated)", expected_seq)
    return VerifyResult(True, n, head=prev)


def iter_events(conn: Connection, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """All events in seq order, fetched in batches (flat memory for millions of events)."""
    last = 0
    cols = [AUDIT.c[f] for f in FIELDS] + [AUDIT.c.prev_hash, AUDIT.c.hash]
    while True:
        rows = conn.execute(
            select(*cols).where(AUDIT.c.seq > last).order_by(AUDIT.c.seq).limit(batch)
        ).mappings().all()
        if not rows:
            return
        for r in rows:
            yield dict(r)
        last = rows[-1]["seq"]


def verify(conn: Connection, head: str | None = None) -> VerifyResult:
    # seq is the primary key: ordering by it is the chain order. Deletions show as gaps,
    # reorderings (swapped contents) as hash or prev_hash mismatches.
    return verify_events(iter_events(conn), head=head)


def export_line(ev: dict[str, Any]) -> str:
    """One JSON Lines record of an exported trail (the fields the recipe needs)."""
    out = {k: ev[k] for k in FIELDS}
    out["prev_hash"] = ev["prev_hash"]
    out["hash"] = ev["hash"]
    return json.dumps(out, ensure_ascii=False, sort_keys=True)
