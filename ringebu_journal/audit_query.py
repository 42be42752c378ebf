"""Reading the audit trail: filters for auditors, and export as JSON Lines.

Filters match literally: ``--action 'import_*'`` is a prefix in which ``_`` and ``%`` are
ordinary characters (they are escaped for LIKE). ``verify_file`` accepts only a file written
by ``audit export``: a missing, empty, non-trail, malformed or non-regular file is one line
naming the file and the line, never "0 events, chain intact".
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, TextIO

from sqlalchemy import and_, or_, select

from . import audit
from .app import App
from .errors import Hint, UsageError
from .files import replacing

AUDIT = audit.AUDIT

#: where a trail file comes from, for the errors about one
TRAIL_HINT = Hint("give the file {step} wrote", "audit.read:export")


@dataclass
class AuditFilter:
    object_type: str | None = None
    object_id: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    message_ids: list[int] | None = None   # internal message ids (all versions)
    decisions_only: bool = False
    export_id: str | None = None           # package id of an export
    limit: int | None = None
    newest_first: bool = False             # the web trail lists the latest events first


def like_prefix(text: str) -> str:
    """A LIKE pattern (escape character ``\\``) matching the strings that start with ``text``."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def query(app: App, f: AuditFilter) -> Iterator[dict[str, Any]]:
    app.require("audit.read")
    conds = []
    if f.object_type:
        conds.append(AUDIT.c.object_type == f.object_type)
    if f.object_id:
        conds.append(AUDIT.c.object_id == f.object_id)
    if f.actor:
        conds.append(AUDIT.c.actor == f.actor)
    if f.action:
        if f.action.endswith("*"):
            conds.append(AUDIT.c.action.like(like_prefix(f.action[:-1]), escape="\\"))
        else:
            conds.append(AUDIT.c.action == f.action)
    if f.since:
        conds.append(AUDIT.c.at >= audit.format_time(f.since))
    if f.until:
        conds.append(AUDIT.c.at < audit.format_time(f.until))
    if f.message_ids is not None:
        ids = [str(i) for i in f.message_ids]
        conds.append(and_(AUDIT.c.object_type == "message", AUDIT.c.object_id.in_(ids)))
    if f.decisions_only:
        conds.append(AUDIT.c.action.in_(audit.DECISION_ACTIONS))
    if f.export_id:
        conds.append(and_(AUDIT.c.object_type == "export",
                          or_(AUDIT.c.object_id == f.export_id,
                              AUDIT.c.object_id.like(like_prefix(f.export_id), escape="\\"))))
    stmt = select(*audit.SHOWN).where(*conds).order_by(AUDIT.c.seq.desc() if f.newest_first else AUDIT.c.seq)
    if f.limit:
        stmt = stmt.limit(f.limit)
    with app.db.read() as conn:
        for row in conn.execute(stmt).mappings():
            yield dict(row)


def readable(ev: dict[str, Any]) -> dict[str, Any]:
    """An event with before/after decoded, for table and JSON output."""
    out = dict(ev)
    out["before"] = json.loads(ev["before"])
    out["after"] = json.loads(ev["after"])
    return out


@dataclass(frozen=True)
class TrailExport:
    """What :func:`export_trail` wrote: how many events, the chain's last hash (the head to verify
    against later) and where ("-" for standard output)."""

    events: int
    last_hash: str
    path: str


def export_trail(app: App, out_path: str, *, stream: TextIO | None = None) -> TrailExport:
    """Write the whole trail as JSON Lines (atomic: a temporary file renamed at the end).

    With ``stream`` (``--out -``: standard output) the lines go there instead of a file.
    """
    app.require("audit.read")
    if stream is not None:
        n, last_hash = _write_trail(app, stream)
        with app.db.write() as conn:
            app.audit(conn, "audit.export", "file", "-", after={"events": n, "last_hash": last_hash})
        return TrailExport(n, last_hash, "-")
    path = Path(out_path)
    if path.is_dir():
        raise UsageError(f"{out_path} is a folder — give a file name for the trail, e.g. {out_path}/audit.jsonl")
    if not path.parent.exists():
        raise UsageError(f"{out_path}: folder {path.parent} does not exist — create it first")
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        n, last_hash = _write_trail(app, fh)
    with app.db.write() as conn:
        app.audit(conn, "audit.export", "file", str(path), after={"events": n, "last_hash": last_hash})
    return TrailExport(n, last_hash, str(path))


def _write_trail(app: App, fh: TextIO) -> tuple[int, str]:
    n = 0
    last_hash = audit.GENESIS
    with app.db.read() as conn:
        for ev in audit.iter_events(conn):
            fh.write(audit.export_line(ev) + "\n")
            n += 1
            last_hash = ev["hash"]
    return n, last_hash


MAX_TRAIL_LINE = 64 * 1024 * 1024
_EVENT_KEYS = frozenset(audit.REQUIRED) | {"prev_hash", "hash"}


def _trail_path(path: str) -> None:
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UsageError(f"{path}: a loop of symbolic links — give the exported trail file") from None
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            raise UsageError(f"{path}: no such file", TRAIL_HINT) from None
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{path} is a folder", TRAIL_HINT)
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        raise UsageError(f"{path}: not a file (a device)", TRAIL_HINT)


def verify_trail(app: App, head: str | None = None) -> audit.VerifyResult:
    """Verify the database's hash chain (``head``: a head hash noted earlier must still be in it)."""
    app.require("audit.verify")
    with app.db.read() as conn:
        return audit.verify(conn, head=head)


def verify_file(path: str, head: str | None = None) -> audit.VerifyResult:
    """Verify an exported trail file (the same recipe as README's 20 lines)."""
    from .importers.sources import iter_lines

    _trail_path(path)

    def events() -> Iterator[dict[str, Any]]:
        with open(path, "rb") as fh:
            for n, raw in iter_lines(fh, MAX_TRAIL_LINE):
                if raw is None:
                    raise UsageError(f"{path}:{n}: line longer than {MAX_TRAIL_LINE:,} bytes — not an audit trail", TRAIL_HINT)
                if not raw.strip():
                    continue
                try:
                    ev = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    raise UsageError(f"{path}:{n}: not UTF-8 — not an audit trail", TRAIL_HINT) from None
                except (json.JSONDecodeError, RecursionError) as exc:
                    why = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deep"
                    raise UsageError(f"{path}:{n}: not a JSON line ({why})", TRAIL_HINT) from None
                if not isinstance(ev, dict) or not _EVENT_KEYS <= ev.keys():
                    raise UsageError(f"{path}:{n}: not an audit event (it needs {', '.join(sorted(_EVENT_KEYS))})", TRAIL_HINT)
                if not isinstance(ev["seq"], int) or not all(isinstance(ev[k], str) for k in ("prev_hash", "hash")):
                    raise UsageError(f"{path}:{n}: not an audit event (seq must be a number, the hashes text)", TRAIL_HINT)
                yield ev

    try:
        res = audit.verify_events(events(), head=head)
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror})") from None
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{path}: an event has a value of the wrong type ({exc})", TRAIL_HINT) from None
    if res.ok and res.checked == 0:
        raise UsageError(f"{path}: empty — no audit events in it, so nothing is verified", TRAIL_HINT)
    return res
