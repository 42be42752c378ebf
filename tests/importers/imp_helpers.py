"""Helpers shared by the importer tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ringebu_journal.app import App, add_user, init_database
from ringebu_journal.db.tables import Attachment, Capture, ImportBatch, Message, Thread

PAGE = "104123456789012"


def db_args(app: App) -> list[str]:
    return ["--db", app.db.url, "--data-dir", str(app.data_dir), "--quiet"]


def dump_line(body: Any, url: str, when: str = "2024-05-02T10:00:00Z", status: int = 200,
              context: dict | None = None, ascii: bool = False) -> str:
    obj: dict[str, Any] = {"request": {"method": "GET", "url": url, "retrieved_at": when}, "status": status, "body": body}
    if context:
        obj["context"] = context
    return json.dumps(obj, ensure_ascii=ascii)


def feed_body(posts: list[tuple[str, str, list[tuple[str, str, str | None]]]]) -> dict:
    """posts: (post suffix, text, [(comment suffix, text, parent suffix or None)])."""
    data = []
    for pid, text, comments in posts:
        cs = []
        for cid, ctext, parent in comments:
            c = {"id": f"{pid}_{cid}", "message": ctext, "created_time": "2024-05-02T08:40:02+0000",
                 "from": {"name": f"Innbygger {cid}", "id": f"6{cid}"}}
            if parent:
                c["parent"] = {"id": f"{pid}_{parent}"}
            cs.append(c)
        data.append({"id": f"{PAGE}_{pid}", "message": text, "created_time": "2024-05-02T08:15:30+0000",
                     "from": {"name": "Ringebu kommune", "id": PAGE}, "comments": {"data": cs}})
    return {"data": data}


def write_feed_dump(path: Path, posts, when: str = "2024-05-02T10:00:00Z") -> Path:
    path.write_text(dump_line(feed_body(posts), f"https://graph.facebook.com/v25.0/{PAGE}/feed", when) + "\n",
                    encoding="utf-8")
    return path


def canonical(app: App) -> dict[str, Any]:
    """The imported content, independent of row ids and import times."""
    with app.db.read() as conn:
        caps = {r.id: r.sha256 for r in conn.execute(select(Capture.__table__.c.id, Capture.__table__.c.sha256))}
        thr = {r.id: (r.platform, r.thread_key) for r in conn.execute(select(Thread.__table__))}
        msgs_raw = conn.execute(select(Message.__table__)).mappings().all()
        by_id = {m["id"]: m for m in msgs_raw}
        msgs = sorted(
            (m["platform"], m["platform_message_id"], m["version"], m["is_current"], m["kind"], m["text"], m["status"],
             m["author_id"], m["author_is_municipality"], m["parent_platform_id"], m["post_platform_id"],
             m["conversation_id"], str(m["created_at"]), m["content_hash"], m["raw_sha256"],
             caps.get(m["capture_id"]), thr.get(m["thread_id"]),
             (by_id[m["previous_id"]]["platform_message_id"], by_id[m["previous_id"]]["version"]) if m["previous_id"] else None,
             json.dumps(m["extra"], sort_keys=True))
            for m in msgs_raw)
        atts = sorted((by_id[a.message_id]["platform_message_id"], by_id[a.message_id]["version"], a.sha256 or "",
                       a.kind or "", a.note or "") for a in conn.execute(select(Attachment.__table__)))
        batches = [(b.importer, b.input_sha256, b.status, b.position, json.dumps(b.counts, sort_keys=True))
                   for b in conn.execute(select(ImportBatch.__table__).order_by(ImportBatch.__table__.c.id))]
        captures = sorted(r.sha256 for r in conn.execute(select(Capture.__table__.c.sha256)))
    return {"messages": msgs, "attachments": atts, "threads": sorted(thr.values()), "captures": captures,
            "batches": batches}


def make_archivist_app(db_url: str, data_dir: Path) -> App:
    boot = App.open(db_url, actor="admin", data_dir=data_dir)
    init_database(boot)
    add_user(boot, "arkiv", "archivist")
    boot.db.dispose()
    app = App.open(db_url, actor="arkiv", data_dir=data_dir)
    app.require("import.run")
    return app
