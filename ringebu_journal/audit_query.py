"""Reading the audit trail: filters for auditors, and export as JSON Lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, TextIO

from sqlalchemy import and_, or_, select

from . import audit
from .app import App
from .errors import UsageError

AUDIT = audit.AUDIT

# actions that change a decision on a message (auditors' "decision changes only")
DECISION_ACTIONS = ("judgment.add", "decision.flag", "decision.confirm", "decision.unflag")


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


def query(app: App, f: AuditFilter) -> Iterator[dict[str, Any]]:
    conds = []
    if f.object_type:
        conds.append(AUDIT.c.object_type == f.object_type)
    if f.object_id:
        conds.append(AUDIT.c.object_id == f.object_id)
    if f.actor:
        conds.append(AUDIT.c.actor == f.actor)
    if f.action:
        if f.action.endswith("*"):
            conds.append(AUDIT.c.action.like(f.action[:-1].replace("%", r"\%") + "%", escape="\\"))
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
        conds.append(AUDIT.c.action.in_(DECISION_ACTIONS))
    if f.export_id:
        conds.append(and_(AUDIT.c.object_type == "export",
                          or_(AUDIT.c.object_id == f.export_id, AUDIT.c.object_id.like(f.export_id + "%"))))
    stmt = select(*audit.SHOWN).where(*conds).order_by(AUDIT.c.seq)
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


def export_trail(app: App, out_path: str, *, stream: TextIO | None = None) -> dict[str, Any]:
    """Write the whole trail as JSON Lines (atomic: a temporary file renamed at the end).

    With ``stream`` (``--out -``: standard output) the lines go there instead of a file.
    """
    if stream is not None:
        n, last_hash = _write_trail(app, stream)
        with app.db.write() as conn:
            app.audit(conn, "audit.export", "file", "-", after={"events": n, "last_hash": last_hash})
        return {"events": n, "last_hash": last_hash, "path": "-"}
    path = Path(out_path)
    if path.is_dir():
        raise UsageError(f"{out_path} is a folder — give a file name for the trail, e.g. {out_path}/audit.jsonl")
    if not path.parent.exists():
        raise UsageError(f"{out_path}: folder {path.parent} does not exist — create it first")
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            n, last_hash = _write_trail(app, fh)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with app.db.write() as conn:
        app.audit(conn, "audit.export", "file", str(path), after={"events": n, "last_hash": last_hash})
    return {"events": n, "last_hash": last_hash, "path": str(path)}


def _write_trail(app: App, fh: TextIO) -> tuple[int, str]:
    n = 0
    last_hash = audit.GENESIS
    with app.db.read() as conn:
        for ev in audit.iter_events(conn):
            fh.write(audit.export_line(ev) + "\n")
            n += 1
            last_hash = ev["hash"]
    return n, last_hash


def verify_file(path: str, head: str | None = None) -> audit.VerifyResult:
    """Verify an exported trail file (the same recipe as README's 20 lines)."""
    def events() -> Iterator[dict[str, Any]]:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UsageError(f"{path}:{n}: not a JSON line ({exc.msg})") from None

    return audit.verify_events(events(), head=head)
