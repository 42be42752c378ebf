"""The tamper-evident audit trail.

Every state change appends one event through :func:`append`. Events form a SHA-256 hash
chain, so changing, deleting, inserting or reordering any event is detected by
:func:`verify`.

The recipe (anyone can check an exported trail with it, see README "Verify the trail"):

    body = {"seq": seq, "at": at, "actor": actor, "role": role, "action": action,
            "object_type": object_type, "object_id": object_id,
            "before": json.loads(before), "after": json.loads(after), "reason": reason}
    if identity is not None:
        body["identity"] = identity
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    hash = sha256((prev_hash + canonical).encode("utf-8")).hexdigest()

``prev_hash`` of the first event is 64 zeros; ``seq`` runs 1, 2, 3 … without gaps.

``actor`` is the name the event was done under (and whose role was checked); ``identity`` is
who was authenticated when it was done (see ringebu_journal/app.py). Events written before
identities were recorded have no identity (NULL; ``null`` or no key in an export): their record
has no ``identity`` key, so the chains written before keep verifying with the same recipe.
Every new event has one, and then the key is in the hashed record.

Each event stores the hashed bytes themselves (``canonical``, the UTF-8 of the recipe's
``canonical``) next to the columns people query and read (actor, action, object, before,
after, reason, at …). Invariants, checked by :func:`verify` on every event:

* ``hash == sha256(prev_hash + canonical)``: the stored record is the one that was chained;
* the columns say exactly what ``canonical`` says: the record rebuilt from the columns equals
  the stored bytes. Editing a column alone, or the stored bytes alone, is therefore caught.

Rebuilding the record from the columns has a fast path: keys in sorted order are fixed, the
text fields are JSON-quoted by the same encoder ``json.dumps(ensure_ascii=False)`` uses, and
``before``/``after`` are spliced in as stored, because :func:`append` stores them in canonical
form (re-encoding them gives the same text). Splicing raw JSON could be ambiguous: if an
after-value holds a nested ``{"at": …, "before": …}``, the columns after/at/before could be
cut at other places and still concatenate to the same bytes (a forged ``at`` on a genuine
record). The fast path is therefore taken only when ``,"at":`` occurs once in the record:
the quoted fields are self-delimiting (an unescaped ``"`` never occurs inside them), so the
record's head pins ``after``'s start, its tail pins ``before``'s end, and the single
``,"at":`` pins the cut between them. The identity sits between ``before`` and the tail, so
the fast path also needs ``,"identity":`` to occur exactly once when the row has an identity
and never when it has none (a ``before`` column ending in a forged identity key, with the
identity column left empty, takes the slow path and fails there). Otherwise — older events whose before/after text is
equivalent but not canonical, such nested values, or a tampered row — the record is rebuilt
exactly as the recipe does, with ``json.loads``; a row fails only if that also differs. The
one thing the fast path lets through that the recipe would not is a record chained *with*
non-canonical before/after text — which only someone rewriting the chain from that event on
can produce, and such a rewrite is caught by the noted head (``--head``), as any rewrite of
the chain's end is.

Writing, :func:`append_many` (the judge's batches) builds the record of an event whose before and
after hold only plain JSON (strings, numbers, booleans, None, lists, dicts with string keys) in the
fast form directly: their canonical text re-encodes to itself, so the fast form is the recipe's
record; any other event is sealed the long way (:func:`_seal`), as every event used to be.

Appends are serialised so that concurrent writers never fork the chain: on PostgreSQL with a
transaction-scoped advisory lock, on SQLite by the ``BEGIN IMMEDIATE`` write lock that every
write transaction holds (see ``db/engine.py``). The event is written in the same transaction
as the change it records: either both are stored or neither.
"""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring as _quote  # the quoting json.dumps(ensure_ascii=False) uses
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection

from . import killpoints
from .db.batches import ROWS_PER_BATCH
from .db.bulk import insert_rows
from .db.tables import AuditEvent

GENESIS = "0" * 64
# pg_advisory_xact_lock key: "RJAU" as an integer, fixed so every process agrees.
_PG_LOCK_KEY = 0x524A4155

AUDIT = AuditEvent.__table__

#: the actions that change the decision on a message: the judge's judgment and a moderator's
#: flag, confirm and unflag (an auditor's "decision changes only"; a package's endringslogg)
DECISION_ACTIONS = ("judgment.add", "decision.flag", "decision.confirm", "decision.unflag")

FIELDS = ("seq", "at", "actor", "role", "action", "object_type", "object_id", "before", "after", "reason",
          "identity")
#: what an exported event must have (``identity`` is missing in a trail exported before it existed)
REQUIRED = FIELDS[:-1]
# The columns people query and read (everything but the stored record bytes).
SHOWN = tuple(c for c in AUDIT.c if c.name != "canonical")
# Rows fetched by verify, in this order.
_VERIFY_SQL = ('SELECT seq, at, actor, role, action, object_type, object_id, "before", "after", reason, '
               "identity, canonical, prev_hash, hash FROM audit_events ORDER BY seq")
# The recipe's canonical JSON with its keys in sorted order; before/after are spliced in as stored.
_RECORD = ('{"action":%s,"actor":%s,"after":%s,"at":%s,"before":%s,"object_id":%s,'
           '"object_type":%s,"reason":%s,"role":%s,"seq":%d}')
# the same with an identity (its key sorts between "before" and "object_id")
_RECORD_ID = ('{"action":%s,"actor":%s,"after":%s,"at":%s,"before":%s,"identity":%s,"object_id":%s,'
              '"object_type":%s,"reason":%s,"role":%s,"seq":%d}')
_IDENTITY_KEY = b',"identity":'
#: the columns :func:`append_many` writes
_COLUMNS = FIELDS + ("canonical", "prev_hash", "hash")


def canonical_json(value: Any) -> str:
    # one encoder with the recipe's settings (json.dumps with keyword arguments built a new
    # encoder for every call); encoding is reentrant, so threads share it
    return _CANONICAL.encode(value)


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


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def format_time(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_text() -> str:
    return format_time(datetime.now(timezone.utc))


def record_bytes(ev: dict[str, Any]) -> bytes:
    """The record that is hashed, rebuilt from an event's columns exactly as the recipe does."""
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
    if ev.get("identity") is not None:
        body["identity"] = ev["identity"]
    return canonical_json(body).encode("utf-8")


def _fast_record(seq: Any, at: Any, actor: Any, role: Any, action: Any, object_type: Any, object_id: Any,
                 before: Any, after: Any, reason: Any, identity: Any = None) -> bytes | None:
    """The record rebuilt without decoding before/after (equal to :func:`record_bytes` whenever
    before/after are stored in canonical form); None when a column has a type the recipe would
    encode differently."""
    try:
        if type(seq) is not int or type(before) is not str or type(after) is not str:
            return None
        tail = (_quote(object_id), _quote(object_type), "null" if reason is None else _quote(reason),
                _quote(role), seq)
        if identity is None:
            return (_RECORD % (_quote(action), _quote(actor), after, _quote(at), before, *tail)).encode("utf-8")
        return (_RECORD_ID % (_quote(action), _quote(actor), after, _quote(at), before, _quote(identity),
                              *tail)).encode("utf-8")
    except (TypeError, UnicodeEncodeError):
        return None


def event_hash(prev_hash: str, ev: dict[str, Any]) -> str:
    """The hash of an event rebuilt from its columns (the recipe)."""
    return hashlib.sha256(prev_hash.encode("ascii") + record_bytes(ev)).hexdigest()


def _seal(prev: str, ev: dict[str, Any]) -> None:
    """Give a new event its record bytes, prev_hash and hash.

    before/after are stored in the form the recipe re-encodes them to, so that the verifier's
    fast path reproduces the record (a value such as a dict with integer keys is canonical only
    after one round trip).
    """
    rec = record_bytes(ev)
    if _fast_record(*(ev[f] for f in FIELDS)) != rec:
        ev["before"] = canonical_json(json.loads(ev["before"]))
        ev["after"] = canonical_json(json.loads(ev["after"]))
    ev["canonical"] = rec
    ev["prev_hash"] = prev
    ev["hash"] = hashlib.sha256(prev.encode("ascii") + rec).hexdigest()


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
    identity: str | None = None,
    columns: set[str] | None = None,
) -> dict[str, Any]:
    """Append one event inside the caller's write transaction and return it.

    ``identity``: who was authenticated (``actor`` is the name acted under). ``columns``: write
    only these columns (for a table of an older schema, see :func:`stored_columns_if_outdated`);
    None writes them all. A table without the identity column gets an event without identity.
    """
    if columns is not None and "identity" not in columns:
        identity = None
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
        "identity": identity,
    }
    _seal(prev, ev)
    row = ev if columns is None else {k: v for k, v in ev.items() if k in columns}
    conn.execute(AUDIT.insert().values(**row))
    killpoints.reached("audit.append")          # inside the caller's transaction, not yet committed
    return ev


def stored_columns_if_outdated(conn: Connection) -> set[str] | None:
    """The audit table's columns when the database has a schema older than this program's
    (None when it is current): before an upgrade, events can be written only with those."""
    names = {c["name"] for c in inspect(conn).get_columns(AUDIT.name)}
    return None if names >= set(AUDIT.c.keys()) else names


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
    sha256 = hashlib.sha256
    for e in events:
        before, after = e.get("before"), e.get("after")
        ev = {
            "seq": seq, "at": at, "actor": e["actor"], "role": e["role"], "action": e["action"],
            "object_type": e["object_type"], "object_id": str(e["object_id"]),
            "before": canonical_json(before), "after": canonical_json(after),
            "reason": e.get("reason"), "identity": e.get("identity"),
        }
        # plain JSON values re-encode to the same text, so the record built from the columns is
        # the recipe's record without decoding them again (``_seal`` checks that the long way)
        rec = _fast_record(*(ev[f] for f in FIELDS)) if _plain(before) and _plain(after) else None
        if rec is None:
            _seal(prev, ev)
        else:
            ev["canonical"] = rec
            ev["prev_hash"] = prev
            ev["hash"] = sha256(prev.encode("ascii") + rec).hexdigest()
        prev = ev["hash"]
        rows.append(ev)
        seq += 1
    insert_rows(conn, AUDIT, _COLUMNS, [tuple(ev[c] for c in _COLUMNS) for ev in rows])
    return rows


_SCALARS = (str, int, float, bool, type(None))


def _plain(value: Any) -> bool:
    """Whether ``canonical_json(value)`` is text that decodes and re-encodes to itself: only str,
    int, float, bool and None, in lists and in dicts whose keys are str (a dict with integer keys,
    a date or a set is not: their text changes on the way back, see :func:`_seal`)."""
    t = type(value)
    if t in _SCALARS:
        return True
    scalars = _SCALARS
    if t is dict:
        # scalars checked in the loop, containers by recursion (an event's values are mostly
        # flat: one call per event instead of one per value)
        for k, v in value.items():
            if type(k) is not str or type(v) not in scalars and not _plain(v):
                return False
        return True
    if t is list or t is tuple:
        for v in value:
            if type(v) not in scalars and not _plain(v):
                return False
        return True
    return False


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


def iter_events(conn: Connection, batch: int = ROWS_PER_BATCH) -> Iterator[dict[str, Any]]:
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


def verify(conn: Connection, head: str | None = None, batch: int = ROWS_PER_BATCH) -> VerifyResult:
    """Verify the trail in the database: the chain over the stored record bytes, and every
    event's columns against its record (see the module docstring).

    seq is the primary key: ordering by it is the chain order. Deletions show as gaps,
    reorderings (swapped contents) as hash or prev_hash mismatches. Rows are read with the
    driver's own cursor in batches of ``batch`` (a server-side cursor on PostgreSQL), so
    memory stays flat for millions of events and one query sees one consistent snapshot.
    """
    return verify_rows(_stored_batches(conn, batch), head=head)


def _stored_batches(conn: Connection, batch: int) -> Iterator[list[tuple]]:
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cur = raw.cursor(name="ringebu_audit_verify")
        cur.itersize = batch
    else:
        cur = raw.cursor()
    try:
        cur.execute(_VERIFY_SQL)
        while rows := cur.fetchmany(batch):
            yield rows
    finally:
        cur.close()


def verify_rows(batches: Iterable[Iterable[tuple]], head: str | None = None) -> VerifyResult:
    """Verify stored rows ``(seq, at, actor, role, action, object_type, object_id, before,
    after, reason, identity, canonical, prev_hash, hash)``, given in batches in seq order; the first
    broken one is named.

    Besides what :func:`verify_events` reports, an event is "modified" when its stored record
    bytes do not match its hash, or when its columns do not say what those bytes say.
    """
    sha256 = hashlib.sha256
    fast = _fast_record
    prev = GENESIS
    prev_b = prev.encode("ascii")
    expected_seq = 1
    want = head.lower() if head is not None else None
    for rows in batches:
        for row in rows:
            seq, at, actor, role, action, object_type, object_id, before, after, reason, ident, canon, ph, h = row
            if seq != expected_seq:
                kind = "missing (deleted)" if seq > expected_seq else "out of order or inserted"
                return VerifyResult(False, expected_seq - 1, f"expected event {expected_seq}, found {seq}: {kind}", seq)
            if ph != prev:
                return VerifyResult(
                    False, expected_seq - 1,
                    "its prev_hash does not match the previous event: an event before it was "
                    "deleted, inserted or reordered", seq,
                )
            try:
                sealed = sha256(prev_b + canon).hexdigest() == h
            except TypeError:  # no record bytes at all, or text where bytes belong
                sealed = False
            if not sealed:
                return VerifyResult(False, expected_seq - 1,
                                    "its stored record does not match its hash: the event was modified", seq)
            if (fast(seq, at, actor, role, action, object_type, object_id, before, after, reason, ident) != canon
                    or canon.count(b',"at":') != 1 or canon.count(_IDENTITY_KEY) != (ident is not None)):
                differ = _differing_columns(row)
                if differ:
                    return VerifyResult(False, expected_seq - 1,
                                        f"its columns ({', '.join(differ)}) do not say what its hashed record "
                                        "says: the event was modified", seq)
            prev = h
            prev_b = h.encode("ascii")
            expected_seq += 1
            if want is not None and h == want:
                want = None
    if want is not None:
        return VerifyResult(False, expected_seq - 1, f"the known head {want[:16]}… is not in the chain: "
                            "events after it were deleted (the trail was truncated)", expected_seq)
    return VerifyResult(True, expected_seq - 1, head=prev)


def _differing_columns(row: tuple) -> list[str]:
    """The columns of a stored row that disagree with its record bytes (empty: they agree).

    The slow path of the column check: the record is rebuilt exactly as the recipe does; only
    if that differs are the record's fields decoded to name the columns that changed.
    """
    ev = dict(zip(FIELDS, row[:11]))
    canon = row[11]
    try:
        if record_bytes(ev) == canon:
            return []
    except (TypeError, ValueError):
        pass
    try:
        stored = json.loads(canon)
    except (TypeError, ValueError):
        return ["canonical"]
    if not isinstance(stored, dict):
        return ["canonical"]
    differ = []
    for f in FIELDS:
        value = ev[f]
        if f in ("before", "after"):
            try:
                value = json.loads(value)
            except (TypeError, ValueError):
                differ.append(f)
                continue
        if f == "identity" and value is None and f not in stored:
            continue
        if f not in stored or canonical_json(stored[f]) != canonical_json(value):
            differ.append(f)
    if set(stored) - set(FIELDS):
        differ.append("canonical")
    return differ or ["canonical"]


def export_line(ev: dict[str, Any]) -> str:
    """One JSON Lines record of an exported trail (the fields the recipe needs)."""
    out = {k: ev[k] for k in FIELDS}
    out["prev_hash"] = ev["prev_hash"]
    out["hash"] = ev["hash"]
    return json.dumps(out, ensure_ascii=False, sort_keys=True)
