"""The thread context of a batch costs the same however long the thread or the table already is.

``judging.context_for`` reads, per batch, the siblings created within the batch's time span and,
under each parent, the latest one created before it. Counted in SQLite virtual-machine steps (a
progress handler called every 100 instructions: deterministic, independent of the machine's
load), the last 100 comments of a thread of 3,000 must cost no more than the last 100 of a thread
of 300. Before, a ``GROUP BY max(created_at)`` read every earlier sibling under the parent, and the
span query of a single parent did not use the parent index (it read every message of the
platform), so the long thread cost about ten times as much.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from ringebu_journal import judging
from ringebu_journal.app import App, add_user, init_database
from ringebu_journal.importers.run import import_jsonl
from ringebu_journal.judging import MSG

BATCH = 100


def _thread_rows(n: int, threads: int = 1) -> list[dict]:
    rows = [{"platform": "facebook", "kind": "post", "id": f"p{p}", "account_id": "104",
             "author": {"id": "104", "name": "Ringebu kommune", "is_municipality": True},
             "text": "Innlegg: les mer på https://www.ringebu.kommune.no/aktuelt",
             "created_at": "2026-10-01T08:00:00Z"} for p in range(threads)]
    for i in range(n):
        p = f"p{i % threads}"
        rows.append({"platform": "facebook", "kind": "comment", "id": f"c{i}", "post_id": p, "parent_id": p,
                     "account_id": "104", "author": {"id": f"u{i % 97}", "name": "Innbygger", "is_municipality": False},
                     "text": f"Kommentar nummer {i}",
                     "created_at": f"2026-10-02T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"})
    return rows


def _last_batch_steps(tmp: Path, n: int, threads: int = 1) -> tuple[int, dict]:
    tmp.mkdir()
    url = f"sqlite:///{tmp}/db.sqlite"
    admin = App.open(url, actor="admin", data_dir=tmp / "data")
    init_database(admin)
    admin.role = "admin"
    add_user(admin, "arkivar", "archivist")
    app = App.open(url, actor="arkivar", data_dir=tmp / "data")
    src = tmp / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in _thread_rows(n, threads)), encoding="utf-8")
    import_jsonl(app, [str(src)])
    with app.db.read() as conn:
        rows = [dict(r) for r in conn.execute(select(*judging._COLS).where(
            MSG.c.is_current.is_(True), MSG.c.parent_platform_id.isnot(None)).order_by(MSG.c.id)).mappings()]
        batch = rows[-BATCH:]
        raw = conn.connection.driver_connection
        steps = [0]

        def count() -> int:
            steps[0] += 1
            return 0

        raw.set_progress_handler(count, 100)
        try:
            ctx = judging.context_for(conn, batch)
        finally:
            raw.set_progress_handler(None, 100)
    app.db.engine.dispose()
    admin.db.engine.dispose()
    return steps[0], {r["id"]: [(c.relation, c.text) for c in ctx[r["id"]]] for r in batch}


def test_the_context_of_a_batch_does_not_grow_with_the_thread(tmp_path):
    short, short_ctx = _last_batch_steps(tmp_path / "short", 300)
    long_, long_ctx = _last_batch_steps(tmp_path / "long", 3000)
    # the context found is right in both: the post, and the comment just before
    for ctx, n in ((short_ctx, 300), (long_ctx, 3000)):
        firsts = sorted(ctx.values(), key=lambda items: int(items[1][1].split()[-1]))
        assert firsts[0] == [("parent", "Innlegg: les mer på https://www.ringebu.kommune.no/aktuelt"),
                             ("sibling", f"Kommentar nummer {n - BATCH - 1}")]
        assert len(ctx) == BATCH and all(len(items) == 2 for items in ctx.values())
    assert short > 0
    assert long_ <= short * 1.5, (short, long_)


def test_the_context_of_a_batch_over_many_threads_does_not_grow_with_the_table(tmp_path):
    """The last 100 comments spread over 25 posts, in a table of 500 and of 5,000 comments: the
    parents and posts are read by their index (a list of (platform, id) pairs made SQLite scan
    the whole table for the posts)."""
    small, small_ctx = _last_batch_steps(tmp_path / "small", 500, threads=25)
    large, large_ctx = _last_batch_steps(tmp_path / "large", 5000, threads=25)
    for ctx in (small_ctx, large_ctx):
        assert len(ctx) == BATCH and all([r for r, _ in items] == ["parent", "sibling"] for items in ctx.values())
    assert large <= small * 1.5, (small, large)
