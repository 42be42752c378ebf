"""The one place imported messages are written.

Importers are generators: they yield :class:`Record` (one message version with its raw JSON
fragment and its capture), :class:`Rejection` (something that could not be imported, with
file, line or entry and reason), :class:`OwnAccount` (the municipality's account the input
belongs to) and :class:`StatusChange` (an object the platform no longer returns).
:func:`run_import` consumes that stream in chunks, one transaction per chunk (``TRANSACTION_ITEMS``
items by default, read and written in parts of at most ``CHUNK_SIZE``):

* idempotent — a message is keyed by (platform, platform_message_id); the same content again
  is "unchanged"; a changed text, status, author name or attachment set becomes a new version
  (``version+1``, ``previous_id`` → the old row, old row ``is_current=False``);
* limits reject the record, never the batch — ids that cannot be stored, message times
  outside 1990 … tomorrow (``textutil.time_problem``), and, in the importers, JSON nested too
  deep, lines and documents too large;
* one identity — a record whose id is stored but whose account, author, conversation, post or
  kind differ (both known, not equal) is a different message reusing the id: it is rejected
  with a line naming what differs, and the stored message is left as it was;
* crash-safe — an ``import_batches`` row keyed by the input's SHA-256 holds ``position`` (how
  many items were consumed) and the running counts, updated in the same transaction as each
  chunk. A rerun after kill -9 skips exactly the committed items and ends with the same rows
  and the same counts as an uninterrupted run;
* one run per input at a time — a run holds a lock on (importer, input SHA-256) while it
  works: a PostgreSQL session advisory lock, or for SQLite an exclusive ``flock`` on a file
  in ``.NAME.locks/`` beside the database file. Both are released by the operating system or
  the server when the process dies, so a second run of the same input is refused while the
  first is alive and resumes its batch once it is gone;
* audited — one ``import.batch`` event, in the transaction that marks the batch done;
* no batch for a failed attempt — an input of which nothing could be stored (everything
  rejected) leaves no batch (a rerun after fixing it is not "already imported"); the attempt
  is one ``import.rejected`` audit event with the rejections (``import.empty`` if the input
  held nothing at all);
* a dry run (``dry_run=True``) does all of it in one transaction that is rolled back: the
  counts and rejections are exact, nothing is stored;
* flat memory — one part (``CHUNK_SIZE`` = ``ROWS_PER_BATCH`` items, ``db/batches.py``) is in hand
  at a time and freed before the next is read, however many parts a transaction takes; the
  cyclic garbage collector runs once per part instead of during parsing
  (``_collect_per_chunk``), and is as it was when the import returns or fails;
* few large transactions — each transaction writes every index page it touched once more (to
  the SQLite write-ahead log), so a transaction takes ``TRANSACTION_ITEMS`` = 4 × ROWS_PER_BATCH
  items (``_commit_chunk``); the position is committed with them, so a rerun still skips exactly
  what was committed.

Per part, the stored current versions of its ids are read once (one statement per platform and
``IN_LIST_MAX`` ids) and serve both the identity check and the versioning.

Captures are stored once per SHA-256 of their verbatim payload; threads and accounts are
upserted; attachment bytes are stored content-addressed by the importers (``blobs.py``)
before the record is yielded, and linked here.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Union

from sqlalchemy import select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from .. import killpoints
from ..app import App
from ..db.batches import ROWS_PER_BATCH, batch_done, collect_per_batch, in_lists
from ..db.tables import Account, Attachment, Capture, ImportBatch, Message, Thread
from ..accounts import registration_warning
from ..errors import Hint, StepRenderer, UsageError, render_text
from ..models import AccountIn, CaptureIn, MessageIn, MessageStatus, sha256_hex
from .blobs import blob_relpath
from .fastmsg import Message as FastMessage
from .sources import InputSet
from .textutil import MIN_TIME, clean_opt, latest_time, time_problem

MSG = Message.__table__
THR = Thread.__table__
CAP = Capture.__table__
ATT = Attachment.__table__
ACC = Account.__table__
BATCH = ImportBatch.__table__

CHUNK_SIZE = ROWS_PER_BATCH                     # items in hand at a time
TRANSACTION_ITEMS = 4 * ROWS_PER_BATCH          # items per transaction of an import (its chunk_size by default)
CHECKPOINT_EVERY = 4                            # SQLite: a WAL checkpoint after every 4th transaction of an import
SQLITE_CACHE_KIB = 65536
MAX_LISTED = 1000          # rejections and not-retrievable ids kept in counts and the audit event
MAX_SHOWN = 20             # rejections printed by ImportSummary.lines (all MAX_LISTED are in the audit trail)


@dataclass(slots=True)
class Record:
    message: MessageIn | FastMessage   # FastMessage: the same fields, checked by msgspec (fastmsg.py)
    raw: str                   # this message's JSON object, as text
    capture: CaptureIn         # the response, line or file entry it came from
    raw_sha256: str | None = None   # SHA-256 of raw's UTF-8 bytes, where the importer has it


@dataclass(slots=True)
class Rejection:
    file: str
    place: str | None
    reason: str
    platform: str | None = None

    def line(self) -> str:
        where = f"{self.file}:{self.place}" if self.place else self.file
        return f"{where}: {self.reason}"


@dataclass(slots=True)
class OwnAccount:
    account: AccountIn


@dataclass(slots=True)
class StatusChange:
    """The platform says the object cannot be retrieved (Graph API 100/33), or similar."""

    platform: str | None
    platform_message_id: str
    status: MessageStatus
    capture: CaptureIn
    detail: dict[str, Any] = field(default_factory=dict)


Item = Union[Record, Rejection, OwnAccount, StatusChange]


@dataclass
class ImportSummary:
    batch_id: int | None                # None: nothing stored (a dry run, or an input with nothing importable)
    importer: str
    input_sha256: str
    counts: dict[str, Any]
    already: bool = False               # the same input was imported before; nothing done
    warnings: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def rejected(self) -> int:
        return int(self.counts.get("rejected", 0))

    @property
    def stored(self) -> bool:
        """Whether the input held anything importable (messages new, changed or unchanged, or status changes)."""
        return _stored_anything(self.counts)

    def lines(self, shown: int = MAX_SHOWN, renderer: StepRenderer | None = None) -> list[str]:
        """The summary as text; ``renderer`` shows hints the front end's way (see errors.Hint)."""
        c = self.counts
        out: list[str] = []
        if self.already:
            out.append(f"already imported as batch {self.batch_id} (same input, SHA-256 {self.input_sha256[:16]}…); "
                       "nothing done — use --again to read it once more")
        if self.dry_run:
            out.append(f"dry run ({self.importer}), input SHA-256 {self.input_sha256}: nothing was stored; "
                       "an import would give:")
        elif self.batch_id is None:
            out.append(f"nothing imported ({self.importer}), input SHA-256 {self.input_sha256}: no batch recorded; "
                       f"the attempt is in the audit trail ({'import.rejected' if self.rejected else 'import.empty'})")
        else:
            out.append(f"batch {self.batch_id} ({self.importer}), input SHA-256 {self.input_sha256}")
        plats = c.get("platforms", {})
        if not plats:
            out.append("  no messages")
        for p in sorted(plats):
            v = plats[p]
            out.append(f"  {p:<10} new {v.get('new', 0):>8}   new versions {v.get('new_versions', 0):>6}   "
                       f"unchanged {v.get('unchanged', 0):>8}   rejected {v.get('rejected', 0):>6}")
        extras = []
        for key, label in (("not_retrievable", "marked not retrievable"), ("not_retrievable_unknown",
                           "not retrievable but never imported"), ("attachments", "attachments linked"),
                           ("mojibake_repairs", "mojibake repairs"), ("sanitized_chars", "characters replaced in text")):
            if c.get(key):
                extras.append(f"{label}: {c[key]}")
        if extras:
            out.append("  " + " · ".join(extras))
        out.append(f"  rejected: {c.get('rejected', 0)}")
        listed = c.get("rejections", [])
        for r in listed[:shown]:
            where = f"{r['file']}:{r['place']}" if r.get("place") else r["file"]
            out.append(f"    {where}: {render_text(r['reason'], renderer)}")
        more = c.get("rejected", 0) - min(shown, len(listed))
        if more > 0:
            kept = max(0, len(listed) - shown)
            trail = Hint("the first {n} are in the audit trail: {{step}}".format(n=f"{len(listed):,}"),
                         "audit.read:action", action="import.batch" if self.batch_id else "import.rejected")
            where = "" if self.dry_run or not kept else "; " + trail.render(renderer)
            out.append(f"    … and {more:,} more{where}")
        for w in self.warnings:
            out.append(f"warning: {render_text(w, renderer)}")
        return out


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _insert(conn: Connection, table):
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _empty_counts() -> dict[str, Any]:
    return {"platforms": {}, "messages": 0, "rejected": 0, "rejections": [], "not_retrievable": 0,
            "not_retrievable_unknown": 0, "not_retrievable_ids": [], "attachments": 0,
            "mojibake_repairs": 0, "sanitized_chars": 0, "captures": 0, "own_accounts": [], "items": 0}


def _stored_anything(c: dict[str, Any]) -> bool:
    return bool(c.get("not_retrievable") or c.get("not_retrievable_unknown") or any(
        v.get("new") or v.get("new_versions") or v.get("unchanged") for v in c.get("platforms", {}).values()))


def _plat(counts: dict[str, Any], platform: str) -> dict[str, int]:
    return counts["platforms"].setdefault(platform, {"new": 0, "new_versions": 0, "unchanged": 0, "rejected": 0})


# -- the batch ---------------------------------------------------------------------------------


def run_import(app: App, *, importer: str, inputs: InputSet, items: Callable[[], Iterable[Item]],
               chunk_size: int = TRANSACTION_ITEMS, again: bool = False,
               advance: Callable[[int], None] | None = None,
               input_sha256: str | None = None, dry_run: bool = False) -> ImportSummary:
    """Import the items an importer yields, resuming a crashed run of the same input."""
    app.require("import.run")
    files = inputs.describe()
    sha = input_sha256 or inputs.sha256()

    def all_items() -> Iterable[Item]:
        for p in inputs.problems:
            yield Rejection(p.file, p.place, p.reason)
        yield from items()

    with _collect_per_chunk():
        if dry_run:
            return _dry_run(app, importer, sha, all_items(), chunk_size, advance)
        with input_lock(app, importer, sha):
            return _locked_import(app, importer, sha, files, all_items, chunk_size, again, advance)


# The collector paused for the import, one collection per chunk (shared with the judge).
_collect_per_chunk = collect_per_batch
_chunk_done = batch_done


def _locked_import(app: App, importer: str, sha: str, files: list[str], all_items: Callable[[], Iterable[Item]],
                   chunk_size: int, again: bool, advance: Callable[[int], None] | None) -> ImportSummary:
    batch_id, position, counts, status = _open_batch(app, importer, sha, files, again)
    if status == "done":
        return ImportSummary(batch_id, importer, sha, counts, already=True, warnings=_account_warnings(app, counts))

    known_accounts: set[tuple[str, str]] = set()
    checkpointer = _Checkpointer(app) if app.db.is_sqlite else None
    try:
        index = _consume(app, batch_id, all_items(), position, counts, chunk_size, advance, known_accounts,
                         checkpointer.committed if checkpointer else None)
    finally:
        if checkpointer:
            checkpointer.stop()
    stored = _stored_anything(counts)
    with app.db.write() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=1000")
        if stored:
            conn.execute(update(BATCH).where(BATCH.c.id == batch_id).values(
                status="done", finished_at=_now(), counts=counts, position=max(index, position)))
            app.audit(conn, "import.batch", "import", batch_id,
                      after={"importer": importer, "input_sha256": sha, "files": files, "counts": counts})
        else:
            conn.execute(BATCH.delete().where(BATCH.c.id == batch_id))
            app.audit(conn, "import.rejected" if counts["rejected"] else "import.empty", "import", sha,
                      after={"importer": importer, "input_sha256": sha, "files": files, "counts": counts})
        killpoints.reached("import.done")               # the batch's last transaction, not yet committed
    return ImportSummary(batch_id if stored else None, importer, sha, counts,
                         warnings=_account_warnings(app, counts) if stored else [])


def _busy(importer: str, sha: str) -> UsageError:
    return UsageError(f"this input (SHA-256 {sha[:16]}…) is being imported by another `import {importer}` right now "
                      "— wait for it to finish (if it is interrupted, the next run resumes its batch)")


@contextmanager
def input_lock(app: App, importer: str, sha: str) -> Iterator[None]:
    """Hold the lock of one input for a run (see the module docstring); UsageError if another run holds it."""
    key = int.from_bytes(hashlib.sha256(f"{importer}\0{sha}".encode()).digest()[:8], "big", signed=True)
    if not app.db.is_sqlite:
        with app.db.translate_errors():
            conn = app.db.engine.connect()
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                conn.close()
                raise _busy(importer, sha)
            conn.commit()
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
            except SQLAlchemyError:
                pass            # the connection is gone, and its session lock with it
            finally:
                conn.close()
        return
    dbfile = app.db.engine.url.database
    if not dbfile or dbfile == ":memory:":
        yield
        return
    db = Path(dbfile).absolute()
    folder = db.parent / f".{db.name}.locks"
    folder.mkdir(exist_ok=True)
    path = folder / f"{importer}-{sha[:32]}.lock"
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _busy(importer, sha) from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)            # the holder before us removed the file: lock the new one
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
        os.close(fd)


def _dry_run(app: App, importer: str, sha: str, items: Iterable[Item], chunk_size: int,
             advance: Callable[[int], None] | None) -> ImportSummary:
    """Everything an import does, in one transaction that is rolled back."""
    counts = _empty_counts()
    known: set[tuple[str, str]] = set()
    try:
        _dry_write(app, importer, sha, items, chunk_size, advance, counts, known)
    except _RolledBack:
        pass
    return ImportSummary(None, importer, sha, counts, dry_run=True)


class _RolledBack(Exception):
    """Raised at the end of a dry run so that its transaction is rolled back."""


def _dry_write(app: App, importer: str, sha: str, items: Iterable[Item], chunk_size: int,
               advance: Callable[[int], None] | None, counts: dict[str, Any], known: set[tuple[str, str]]) -> None:
    with app.db.write() as conn:
        batch_id = int(conn.execute(BATCH.insert().values(
            importer=importer, input_sha256=sha, input_desc="dry run", status="running", position=0,
            counts=counts, actor=app.actor, started_at=_now())).inserted_primary_key[0])
        for _index, chunk in _chunks(items, min(chunk_size, CHUNK_SIZE)):
            _write_chunk(conn, app, batch_id, chunk, counts, known)
            taken = len(chunk)
            del chunk
            _chunk_done()
            if advance:
                advance(taken)
        raise _RolledBack()


def _consume(app: App, batch_id: int, items: Iterable[Item], position: int, counts: dict[str, Any],
             chunk_size: int, advance: Callable[[int], None] | None, known_accounts: set[tuple[str, str]],
             committed: Callable[[], None] | None = None) -> int:
    """Write the items after ``position``, ``chunk_size`` per transaction and at most
    ``CHUNK_SIZE`` in hand at a time; return the number of items seen."""
    seen = 0

    def counted() -> Iterator[Item]:
        nonlocal seen
        for item in items:
            seen += 1
            yield item

    parts = _chunks(counted(), min(chunk_size, CHUNK_SIZE), skip=position,
                    each=lambda: killpoints.reached("import.item"))
    while True:
        more = _commit_chunk(app, batch_id, parts, chunk_size, counts, known_accounts, advance)
        if committed is not None:
            committed()
        if not more:
            return seen


def _chunks(items: Iterable[Item], size: int, *, skip: int = 0,
            each: Callable[[], None] | None = None) -> Iterator[tuple[int, list[Item]]]:
    """The items after the first ``skip``, ``size`` at a time, each chunk with the 1-based index
    of its last item (the position a resumed run starts after); ``each`` runs per item taken.
    A chunk handed out is not referenced here any more, so it is freed when the caller is done."""
    held: list[list[Item]] = [[]]
    index = 0
    for item in items:
        index += 1
        if index <= skip:
            continue
        if each is not None:
            each()
        held[0].append(item)
        if len(held[0]) >= size:
            yield index, held.pop()
            held.append([])
    if held[0]:
        yield index, held.pop()


class _Checkpointer:
    """Copies the SQLite write-ahead log into the database from a second connection, in a
    thread, after every ``every``-th commit of the import (:meth:`committed`), while the importer
    parses the next items (sqlite3 releases the GIL): the disk work of checkpoints overlaps the
    CPU work instead of stalling a commit. The import's own connection turns automatic
    checkpoints off (``_commit_chunk``); PASSIVE checkpoints never block the writer, and
    durability is the WAL's as always. Counted, not timed: an index page rewritten by several
    transactions is copied once per checkpoint, so checkpoints every few transactions copy less
    than checkpoints every half second did (the log holds at most ``every`` transactions)."""

    def __init__(self, app: App, every: int = CHECKPOINT_EVERY):
        import sqlite3
        import threading

        self._stop = False
        self._wake = threading.Event()
        self._every = max(1, every)
        self._commits = 0
        path = app.db.engine.url.database
        self._ok = bool(path) and path != ":memory:"
        if not self._ok:
            return
        self._conn = sqlite3.connect(path, timeout=60, check_same_thread=False, isolation_level=None)
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """One more transaction of the import is committed."""
        self._commits += 1
        if self._ok and self._commits % self._every == 0:
            self._wake.set()

    def _run(self) -> None:
        import sqlite3

        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop:
                return
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                continue

    def stop(self) -> None:
        if not self._ok:
            return
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=30)
        self._conn.close()


def _open_batch(app: App, importer: str, sha: str, files: list[str], again: bool) -> tuple[int, int, dict, str]:
    with app.db.write() as conn:
        rows = conn.execute(
            select(BATCH.c.id, BATCH.c.status, BATCH.c.position, BATCH.c.counts)
            .where(BATCH.c.input_sha256 == sha, BATCH.c.importer == importer)
            .order_by(BATCH.c.id.desc())
        ).all()
        for r in rows:
            if r.status == "running":
                return r.id, r.position, _normalise_counts(r.counts), "running"
        if rows and not again:
            r = rows[0]
            return r.id, r.position, _normalise_counts(r.counts), "done"
        counts = _empty_counts()
        res = conn.execute(BATCH.insert().values(
            importer=importer, input_sha256=sha, input_desc="\n".join(files), status="running",
            position=0, counts=counts, actor=app.actor, started_at=_now()))
        return int(res.inserted_primary_key[0]), 0, counts, "running"


def _normalise_counts(c: Any) -> dict[str, Any]:
    base = _empty_counts()
    if isinstance(c, dict):
        base.update(c)
    return base


def _account_warnings(app: App, counts: dict[str, Any]) -> list[str]:
    own = counts.get("own_accounts") or []
    if not own:
        return []
    out = []
    with app.db.read() as conn:
        for key in own:
            platform, pid = key.split(":", 1)
            row = conn.execute(select(ACC.c.registered, ACC.c.closed).where(
                ACC.c.platform == platform, ACC.c.platform_id == pid)).first()
            if row is None or not row.registered:
                out.append(registration_warning(platform, pid))
    return out


# -- one chunk ---------------------------------------------------------------------------------


Part = tuple[int, list[Item]]


def _commit_chunk(app: App, batch_id: int, parts: Iterator[Part], chunk_size: int, counts: dict[str, Any],
                  known_accounts: set[tuple[str, str]], advance: Callable[[int], None] | None) -> bool:
    """One transaction: the next parts until it holds ``chunk_size`` items (or the input ends),
    each part written and freed before the next is read; then the batch's position. No
    transaction when no part is left; False when the input has ended.

    Several parts per transaction: every transaction rewrites each index page it touched, so
    fewer, larger transactions write far less (a 1,000,000-comment import wrote 8.9 GB with
    5,000 items per transaction, 5.5 GB with 20,000) while memory holds one part."""
    nxt = next(parts, None)
    if nxt is None:
        return False
    # Work on a copy so that a failed transaction leaves the in-memory counts as committed.
    work = _copy_counts(counts)
    index, part = nxt
    del nxt
    held = 0
    with app.db.write() as conn:
        if conn.dialect.name == "sqlite":
            # A larger page cache for this connection: index updates of a big import stay in memory.
            conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
        while True:
            _write_chunk(conn, app, batch_id, part, work, known_accounts)
            taken = len(part)
            del part            # freed before the collection, which then has little to walk
            _chunk_done()
            held += taken
            if advance:
                advance(taken)
            if held >= chunk_size:
                break
            nxt = next(parts, None)
            if nxt is None:
                break
            index, part = nxt
            del nxt
        work["items"] = index
        conn.execute(update(BATCH).where(BATCH.c.id == batch_id).values(position=index, counts=work))
        killpoints.reached("import.chunk")              # written, not yet committed
    killpoints.reached("import.committed")
    counts.clear()
    counts.update(work)
    return held >= chunk_size


def _copy_counts(c: dict[str, Any]) -> dict[str, Any]:
    out = dict(c)
    out["platforms"] = {k: dict(v) for k, v in c["platforms"].items()}
    out["rejections"] = list(c["rejections"])
    out["not_retrievable_ids"] = list(c["not_retrievable_ids"])
    out["own_accounts"] = list(c["own_accounts"])
    return out


def _write_chunk(conn: Connection, app: App, batch_id: int, chunk: list[Item], counts: dict[str, Any],
                 known_accounts: set[tuple[str, str]]) -> None:
    now = _now()
    earliest, latest = MIN_TIME, latest_time(now)
    keyed: list[tuple[tuple[str, str], Record]] = []      # ((platform, id), record)
    changes: list[StatusChange] = []
    own: dict[tuple[str, str], AccountIn] = {}
    for it in chunk:
        if type(it) is Record:
            m = it.message
            bad = _unsafe_id(m)
            if not bad and earliest <= m.created_at <= latest:
                keyed.append(((m.platform._value_, m.platform_message_id), it))
                continue
            if bad:
                it = Rejection(*_where(it.capture), f"{bad} contains NUL, a control character or a "
                               "lone surrogate — not imported", m.platform.value)
            else:
                it = Rejection(*_where(it.capture), f"{m.platform.value} id {m.platform_message_id}: "
                               f"{time_problem(m.created_at, latest)}", m.platform.value)
        if isinstance(it, Rejection):
            counts["rejected"] += 1
            if it.platform:
                _plat(counts, it.platform)["rejected"] += 1
            if len(counts["rejections"]) < MAX_LISTED:
                counts["rejections"].append({"file": it.file, "place": it.place, "reason": it.reason})
        elif isinstance(it, OwnAccount):
            acc = it.account
            if _BAD_ID.search(acc.platform_id):
                continue        # the records naming this account are rejected for the same id
            name, _ = clean_opt(acc.name)
            if name != acc.name:
                acc = acc.model_copy(update={"name": name})
            own[(acc.platform.value, acc.platform_id)] = acc
        elif isinstance(it, StatusChange):
            changes.append(it)

    current: dict[tuple[str, str], tuple] = {}
    if keyed:
        current = _current(conn, list(dict.fromkeys([k for k, _r in keyed])))
        keyed = _same_identity(keyed, current, counts)
    records = [r for _k, r in keyed]
    caps = [r.capture for r in records] + [c.capture for c in changes]
    cap_ids = _store_captures(conn, caps, now, counts)
    _store_accounts(conn, records, own, now, counts, known_accounts)
    if records:
        thread_ids = _store_threads(conn, records, now)
        _store_messages(conn, batch_id, keyed, thread_ids, cap_ids, now, counts, current)
    if changes:
        _store_status_changes(conn, batch_id, changes, cap_ids, now, counts)


_BAD_ID = re.compile("[\x00-\x1f\ud800-\udfff]")
_ID_FIELDS = ("platform_message_id", "parent_platform_id", "post_platform_id", "conversation_id",
              "account_platform_id", "author_id", "permalink")


# The identity columns, in the order _current selects them after its first six columns.
_IDENTITY = {"account_platform_id": "account", "author_id": "author", "conversation_id": "conversation",
             "post_platform_id": "post", "kind": "kind"}


def _same_identity(records: list[tuple[tuple[str, str], Record]], current: dict[tuple[str, str], tuple],
                   counts: dict[str, Any]) -> list[tuple[tuple[str, str], Record]]:
    """The records that are the message their id names; the others become rejections.

    A record is compared with the stored current version (``current``, from :func:`_current`),
    or with the first record of this chunk with the same id. A field unknown on one side (None)
    is no contradiction.
    """
    known: dict[tuple[str, str], list] = {}
    kept: list[tuple[tuple[str, str], Record]] = []
    for item in records:
        key, r = item
        m = r.message
        new = [m.account_platform_id, m.author_id, m.conversation_id, m.post_platform_id, m.kind._value_]
        old = known.get(key)
        if old is None:
            row = current.get(key)
            if row is None:
                known[key] = new
                kept.append(item)
                continue
            old = known[key] = list(row[6:11])
        differ = [label for o, n, label in zip(old, new, _IDENTITY.values()) if o and n and o != n]
        if differ:
            file, place = _where(r.capture)
            counts["rejected"] += 1
            _plat(counts, key[0])["rejected"] += 1
            if len(counts["rejections"]) < MAX_LISTED:
                counts["rejections"].append({"file": file, "place": place, "reason": (
                    f"{key[0]} id {m.platform_message_id} is already stored for a different message (another "
                    f"{', another '.join(differ)}) — a new version keeps its account, author and conversation; "
                    "give this message an id of its own")})
            continue
        for i, o in enumerate(old):
            if not o:
                old[i] = new[i]
        kept.append(item)
    return kept


def _where(cap: CaptureIn) -> tuple[str, str | None]:
    """(file, place) of a capture for a rejection: a harvested response names its dump file and
    line in ``entry`` and the request in ``locator``."""
    if cap.locator.startswith(("http://", "https://")) and cap.entry:
        name, sep, line = cap.entry.partition(" line ")
        request = "response to " + cap.locator.split("?", 1)[0]
        return (name, f"line {line}, {request}") if sep else (cap.entry, request)
    return cap.locator, cap.entry


def _unsafe_id(m: MessageIn) -> str | None:
    """Ids and links must be storable everywhere (PostgreSQL refuses NUL) and printable."""
    joined = "".join([m.platform_message_id, m.parent_platform_id or "", m.post_platform_id or "",
                      m.conversation_id or "", m.account_platform_id or "", m.author_id or "", m.permalink or ""])
    if (joined.isascii() and joined.isprintable()) or not _BAD_ID.search(joined):
        return None         # printable ASCII holds no control character and no surrogate
    for f in _ID_FIELDS:
        v = getattr(m, f)
        if v and _BAD_ID.search(v):
            return f
    return None


def _store_captures(conn: Connection, caps: list[CaptureIn], now: datetime, counts: dict[str, Any]) -> dict[str, int]:
    by_sha: dict[str, CaptureIn] = {}
    for c in caps:
        if c.sha256 is None:
            c.sha256 = c.digest()
        by_sha.setdefault(c.sha256, c)
    if not by_sha:
        return {}
    ids: dict[str, int] = {}
    shas = list(by_sha)
    for part in in_lists(shas):
        for row in conn.execute(select(CAP.c.id, CAP.c.sha256).where(CAP.c.sha256.in_(part))):
            ids[row.sha256] = row.id
    missing = [s for s in shas if s not in ids]
    if missing:
        conn.execute(_insert(conn, CAP).on_conflict_do_nothing(index_elements=["sha256"]), [
            {"sha256": s, "source": by_sha[s].source[:100], "locator": by_sha[s].locator,
             "entry": (by_sha[s].entry or None) and by_sha[s].entry[:500], "retrieved_at": by_sha[s].retrieved_at,
             "size": len(by_sha[s].payload.encode("utf-8", "surrogatepass")), "payload": by_sha[s].payload}
            for s in missing])
        counts["captures"] += len(missing)
        for part in in_lists(missing):
            for row in conn.execute(select(CAP.c.id, CAP.c.sha256).where(CAP.c.sha256.in_(part))):
                ids[row.sha256] = row.id
    return ids


def _account_platform(platform: str) -> str:
    # A page's Messenger inbox belongs to the Facebook page.
    return "facebook" if platform == "messenger" else platform


def _store_accounts(conn: Connection, records: list[Record], own: dict[tuple[str, str], AccountIn],
                    now: datetime, counts: dict[str, Any], known: set[tuple[str, str]]) -> None:
    """Upsert the own accounts and the authors; ``known`` remembers authors already stored in
    this run (a failed chunk aborts the run, so it never remembers a rolled-back insert)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for (platform, pid), acc in own.items():
        platform = _account_platform(platform)
        rows[(platform, pid)] = {"platform": platform, "platform_id": pid[:200], "name": acc.name,
                                 "unit": acc.unit, "own": True, "registered": False, "closed": False,
                                 "created_at": now}
        key = f"{platform}:{pid}"
        if key not in counts["own_accounts"]:
            counts["own_accounts"].append(key)
    rows = {k: v for k, v in rows.items() if k not in known or k in own}
    for r in records:
        m = r.message
        author = m.author_id
        if author and not m.author_is_municipality:
            k = (m.platform._value_, author if len(author) <= 200 else author[:200])
            if k not in known and k not in rows:
                rows[k] = {"platform": k[0], "platform_id": k[1], "name": m.author_name, "unit": None,
                           "own": False, "registered": False, "closed": False, "created_at": now}
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO accounts (platform, platform_id, name, unit, own, registered, closed, created_at) "
            "VALUES (?, ?, ?, ?, ?, 0, 0, ?)",
            [(r["platform"], r["platform_id"], r["name"], r["unit"], 1 if r["own"] else 0, _sqlite_time(now))
             for r in rows.values()])
    else:
        conn.execute(_insert(conn, ACC).on_conflict_do_nothing(index_elements=["platform", "platform_id"]),
                     list(rows.values()))
    known.update(rows)
    for (platform, pid) in own:
        platform = _account_platform(platform)
        conn.execute(update(ACC).where(ACC.c.platform == platform, ACC.c.platform_id == pid[:200],
                                       ACC.c.own == False).values(own=True))  # noqa: E712


def _store_threads(conn: Connection, records: list[Record], now: datetime) -> dict[tuple[str, str], int]:
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    for r in records:
        m = r.message
        tkey = m.thread_key()
        key = (m.platform._value_, tkey if len(tkey) <= 300 else tkey[:300])
        if key not in wanted:
            wanted[key] = {"platform": key[0], "thread_key": key[1],
                           "kind": "conversation" if m.conversation_id else "post",
                           "account_platform_id": m.account_platform_id, "created_at": m.created_at}
    ids = _thread_ids(conn, list(wanted))
    missing = [k for k in wanted if k not in ids]
    if missing:
        conn.execute(_insert(conn, THR).on_conflict_do_nothing(index_elements=["platform", "thread_key"]),
                     [wanted[k] for k in missing])
        ids.update(_thread_ids(conn, missing))
    return ids


def _thread_ids(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    by_platform: dict[str, list[str]] = {}
    for p, k in keys:
        by_platform.setdefault(p, []).append(k)
    for p, ks in by_platform.items():
        for part in in_lists(ks):
            for row in conn.execute(select(THR.c.id, THR.c.thread_key).where(
                    THR.c.platform == p, THR.c.thread_key.in_(part))):
                out[(p, row.thread_key)] = row.id
    return out


_CURRENT_COLUMNS = ("id, platform_message_id, version, content_hash, status, lock_version, "
                    "account_platform_id, author_id, conversation_id, post_platform_id, kind")


def _current(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple]:
    """The stored current version of each (platform, id): a tuple of ``_CURRENT_COLUMNS``.

    One statement per platform and IN_LIST_MAX ids on SQLite; one per platform on PostgreSQL
    (``= ANY`` of an array). Driver SQL: this runs once per chunk on every import."""
    out: dict[tuple[str, str], tuple] = {}
    by_platform: dict[str, list[str]] = {}
    for p, k in keys:
        by_platform.setdefault(p, []).append(k)
    sqlite_mode = conn.dialect.name == "sqlite"
    for p, ks in by_platform.items():
        if sqlite_mode:
            for part in in_lists(ks):
                rows = conn.exec_driver_sql(
                    f"SELECT {_CURRENT_COLUMNS} FROM messages WHERE platform = ? AND is_current = 1 "
                    f"AND platform_message_id IN ({','.join('?' * len(part))})", (p, *part)).fetchall()
                for row in rows:
                    out[(p, row[1])] = tuple(row)
        else:
            rows = conn.exec_driver_sql(
                f"SELECT {_CURRENT_COLUMNS} FROM messages WHERE platform = %s AND is_current "
                "AND platform_message_id = ANY(%s)", (p, ks)).fetchall()
            for row in rows:
                out[(p, row[1])] = tuple(row)
    return out


def _store_messages(conn: Connection, batch_id: int, records: list[tuple[tuple[str, str], Record]], thread_ids: dict,
                    cap_ids: dict[str, int], now: datetime, counts: dict[str, Any],
                    current: dict[tuple[str, str], tuple]) -> None:
    """Write the records (each with its (platform, id)); ``current`` holds the stored versions read for this chunk."""
    pending = records
    first = True
    while pending:
        # Take the first occurrence of each message in this wave; repeats of the same id within
        # the chunk wait for the next wave so that they are compared with what was just written.
        seen: set[tuple[str, str]] = set()
        wave: list[tuple[tuple[str, str], Record]] = []
        later: list[tuple[tuple[str, str], Record]] = []
        for item in pending:
            k = item[0]
            if k in seen:
                later.append(item)
            else:
                seen.add(k)
                wave.append(item)
        if not first:
            current = _current(conn, [k for k, _r in wave])
        _store_wave(conn, batch_id, wave, thread_ids, cap_ids, now, counts, current)
        pending = later
        first = False


def _store_wave(conn: Connection, batch_id: int, wave: list[tuple[tuple[str, str], Record]], thread_ids: dict,
                cap_ids: dict[str, int], now: datetime, counts: dict[str, Any],
                current: dict[tuple[str, str], tuple]) -> None:
    rows: list[tuple] = []
    retire: list[int] = []
    with_attachments: list[tuple[tuple[str, str, int], MessageIn]] = []
    sqlite_mode = conn.dialect.name == "sqlite"
    imported = _sqlite_time(now) if sqlite_mode else now
    dumps = json.dumps
    sha256 = hashlib.sha256
    utc = timezone.utc
    plats: dict[str, dict[str, int]] = {}
    repairs = sanitized = 0
    for key, r in wave:
        m = r.message
        # MessageIn.content_hash (models.sha256_hex of the parts), without its sort when there are no attachments
        h = sha256(f"{m.text}\x1f{m.status._value_}\x1f{m.author_name or ''}".encode("utf-8", "surrogatepass")
                   ).hexdigest() if not m.attachments else m.content_hash()
        cur = current.get(key)
        pc = plats.get(key[0])
        if pc is None:
            pc = plats[key[0]] = _plat(counts, key[0])
        extra = m.extra
        if extra:
            repairs += int(extra.get("mojibake_repairs", 0) or 0)
            sanitized += int(extra.get("sanitized_chars", 0) or 0)
        if cur is not None and (cur[3] == h or extra.get("text_absent")):
            # Same content; or a response that did not carry the text field at all (not an edit).
            pc["unchanged"] += 1
            continue
        if cur is None:
            version, previous, lock = 1, None, 0
            pc["new"] += 1
        else:
            # A new version continues the lock count, so a moderator who decided on what
            # they saw of the old version gets a conflict instead of deciding blind.
            version, previous, lock = cur[2] + 1, cur[0], cur[5] + 1
            retire.append(cur[0])
            pc["new_versions"] += 1
        pmid = key[1] if len(key[1]) <= 300 else key[1][:300]
        tkey = m.thread_key()
        created = m.created_at
        raw = r.raw
        rows.append((
            key[0], pmid, version, previous, True, thread_ids.get((key[0], tkey if len(tkey) <= 300 else tkey[:300])),
            m.kind._value_, m.parent_platform_id, m.post_platform_id, m.conversation_id, m.account_platform_id,
            m.author_id, m.author_name, m.author_is_municipality, m.text,
            ((created.isoformat(" ", "microseconds")[:26] if created.tzinfo is utc else _sqlite_time(created))
             if sqlite_mode else created), m.permalink, m.status._value_, h, raw,
            r.raw_sha256 or sha256(raw.encode("utf-8", "surrogatepass")).hexdigest(), cap_ids.get(r.capture.sha256),
            batch_id,
            (dumps(extra) if extra else "{}") if sqlite_mode else extra, imported, lock))
        if m.attachments:
            with_attachments.append(((key[0], key[1], version), m))
    counts["messages"] += len(wave)
    counts["mojibake_repairs"] += repairs
    counts["sanitized_chars"] += sanitized
    if retire:
        for part in in_lists(retire):
            conn.execute(update(MSG).where(MSG.c.id.in_(part)).values(is_current=False))
    if rows:
        _insert_messages(conn, rows)
    if with_attachments:
        ids = _ids_of(conn, [k for k, _ in with_attachments])
        att_rows = []
        for k, m in with_attachments:
            mid = ids[k]
            for a in m.attachments:
                att_rows.append(_attachment_row(mid, a))
        conn.execute(ATT.insert(), att_rows)
        counts["attachments"] += len(att_rows)


_MSG_COLUMNS = ("platform", "platform_message_id", "version", "previous_id", "is_current", "thread_id", "kind",
                "parent_platform_id", "post_platform_id", "conversation_id", "account_platform_id", "author_id",
                "author_name", "author_is_municipality", "text", "created_at", "permalink", "status", "content_hash",
                "raw", "raw_sha256", "capture_id", "batch_id", "extra", "imported_at", "lock_version")
_SQLITE_INSERT = (f"INSERT INTO messages ({', '.join(_MSG_COLUMNS)}) "
                  f"VALUES ({', '.join('?' for _ in _MSG_COLUMNS)})")


def _sqlite_time(dt: datetime) -> str:
    # What SQLAlchemy's SQLite DateTime stores for UTCDateTime: naive UTC text with microseconds.
    d = dt if dt.tzinfo is timezone.utc else dt.astimezone(timezone.utc)
    return d.isoformat(" ", "microseconds")[:26]       # YYYY-MM-DD HH:MM:SS.ffffff, without +00:00


def _insert_messages(conn: Connection, rows: list[tuple]) -> None:
    """executemany of the new message rows (tuples in ``_MSG_COLUMNS`` order). On SQLite the
    values are already in the driver's form (times as text, JSON as text) and go to the driver
    directly: SQLAlchemy's per-row parameter processing costs more than the insert itself at a
    million rows. PostgreSQL takes the Core path (insertmanyvalues)."""
    if conn.dialect.name != "sqlite":
        conn.execute(MSG.insert(), [dict(zip(_MSG_COLUMNS, r)) for r in rows])
        return
    conn.exec_driver_sql(_SQLITE_INSERT, rows)


def _attachment_row(mid: int, a: Any) -> dict[str, Any]:
    return {"message_id": mid, "sha256": a.sha256, "media_type": (a.media_type or None) and a.media_type[:100],
            "kind": (a.kind or None) and a.kind[:30], "filename": a.filename, "source_url": a.source_url,
            "size": a.size, "stored_path": blob_relpath(a.sha256) if a.sha256 else None, "note": a.note}


def _ids_of(conn: Connection, keys: list[tuple[str, str, int]]) -> dict[tuple[str, str, int], int]:
    out: dict[tuple[str, str, int], int] = {}
    by_platform: dict[str, list[str]] = {}
    for p, k, _v in keys:
        by_platform.setdefault(p, []).append(k)
    wanted = set(keys)
    for p, ks in by_platform.items():
        for part in in_lists(ks):
            for row in conn.execute(select(MSG.c.id, MSG.c.platform_message_id, MSG.c.version).where(
                    MSG.c.platform == p, MSG.c.platform_message_id.in_(part))):
                k = (p, row.platform_message_id, row.version)
                if k in wanted:
                    out[k] = row.id
    return out


def _store_status_changes(conn: Connection, batch_id: int, changes: list[StatusChange], cap_ids: dict[str, int],
                          now: datetime, counts: dict[str, Any]) -> None:
    for ch in changes:
        q = select(MSG).where(MSG.c.platform_message_id == ch.platform_message_id, MSG.c.is_current == True)  # noqa: E712
        if ch.platform:
            q = q.where(MSG.c.platform == ch.platform)
        rows = conn.execute(q).mappings().all()
        if not rows:
            counts["not_retrievable_unknown"] += 1
            if len(counts["not_retrievable_ids"]) < MAX_LISTED:
                counts["not_retrievable_ids"].append(ch.platform_message_id)
            continue
        for old in rows:
            if old["status"] == ch.status.value:
                _plat(counts, old["platform"])["unchanged"] += 1
                continue
            atts = conn.execute(select(ATT).where(ATT.c.message_id == old["id"])).mappings().all()
            parts = [old["text"], ch.status.value, old["author_name"] or ""]
            parts += sorted((a["sha256"] or a["source_url"] or a["filename"] or "") for a in atts)
            new = dict(old)
            new.pop("id")
            raw = ch.capture.payload
            extra = dict(old["extra"] or {})
            extra["status_reason"] = ch.detail
            new.update(version=old["version"] + 1, previous_id=old["id"], is_current=True, status=ch.status.value,
                       content_hash=sha256_hex("\x1f".join(parts)), raw=raw, raw_sha256=sha256_hex(raw),
                       capture_id=cap_ids.get(ch.capture.sha256), batch_id=batch_id, extra=extra,
                       imported_at=now, lock_version=old["lock_version"] + 1)
            conn.execute(update(MSG).where(MSG.c.id == old["id"]).values(is_current=False))
            res = conn.execute(MSG.insert().values(**new))
            new_id = int(res.inserted_primary_key[0])
            if atts:
                conn.execute(ATT.insert(), [dict({k: v for k, v in a.items() if k != "id"}, message_id=new_id)
                                            for a in atts])
            counts["not_retrievable"] += 1
            _plat(counts, old["platform"])["new_versions"] += 1


__all__ = ["Record", "Rejection", "OwnAccount", "StatusChange", "Item", "ImportSummary", "run_import",
           "CHUNK_SIZE"]
