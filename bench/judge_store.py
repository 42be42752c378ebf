"""Benchmark the `judge` command end to end: reading stored messages, thread context, judging,
storing judgments and audit events, on SQLite.

    python bench/judge_store.py [--messages 15000] [--threads 150]

Imports the messages first (not timed), then times ``judge_stored`` twice on fresh databases:
the messages as comments spread over ``--threads`` posts, and the same messages as comments on
one post (one thread). Prints one JSON object per layout and the per-message ratio of the one
thread to the spread threads (≥ 0.5 means the context lookup stays linear in thread size),
and where the time goes: the judge alone on the same messages and contexts (no database), and
the share of the command's CPU time that is judging rather than reading and storing. The judge
alone judges as the command does: ``Judge.judge_many`` per batch of ``judging.BATCH``, the
collector paused and run once per batch (``db.batches.collect_per_batch``).

Each layout also prints ``stored_sha256``: the SHA-256 of what the command stored (every judgment,
the audit events it wrote and the case and journal numbers it gave, without the times and dates
of the run and the hashes that cover them). A change meant only to make the command faster must
leave it as it was: compare the line before and after, with the same policy and model.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ringebu_journal.app import App, init_database  # noqa: E402
from ringebu_journal.importers.run import import_jsonl  # noqa: E402
from ringebu_journal.judging import judge_stored  # noqa: E402

HERE = Path(__file__).resolve().parent


def _mix(n: int, seed: int) -> list[str]:
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_judge", HERE / "judge.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return [t for t, muni, _ in mod.make_mix(n * 2, seed) if not muni][:n]


def _rows(texts: list[str], threads: int) -> list[dict]:
    rows = []
    for p in range(threads):
        rows.append({"platform": "facebook", "kind": "post", "id": f"p{p}", "account_id": "104",
                     "author": {"id": "104", "name": "Ringebu kommune", "is_municipality": True},
                     "text": f"Innlegg nummer {p}: les mer på https://www.ringebu.kommune.no/aktuelt",
                     "created_at": "2026-10-01T08:00:00Z"})
    for i, t in enumerate(texts):
        p = i % threads
        rows.append({"platform": "facebook", "kind": "comment", "id": f"c{i}", "post_id": f"p{p}",
                     "parent_id": f"p{p}", "account_id": "104",
                     "author": {"id": f"u{i % 997}", "name": "Innbygger", "is_municipality": False},
                     "text": t, "created_at": f"2026-10-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"})
    return rows


def run(texts: list[str], threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        admin = App.open(db, actor="admin", data_dir=Path(tmp) / "data")
        init_database(admin)
        from ringebu_journal.app import add_user
        add_user(admin, "arkivar", "archivist")
        app = App.open(db, actor="arkivar", data_dir=Path(tmp) / "data")
        src = Path(tmp) / "in.jsonl"
        src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in _rows(texts, threads)),
                       encoding="utf-8")
        import_jsonl(app, [str(src)])
        with app.db.read() as conn:
            seq = conn.exec_driver_sql("SELECT coalesce(max(seq), 0) FROM audit_events").scalar()
        start, cpu = time.perf_counter(), time.process_time()
        s = judge_stored(app)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        stored = stored_sha256(app, seq)
        engine_cpu = _engine_alone(app)
        admin.db.engine.dispose()
        app.db.engine.dispose()
    return {"figure": "judge end to end", "threads": threads, "messages": s.judged,
            "per_s_cpu": round(s.judged / cpu), "per_s_wall": round(s.judged / wall), "cpu_s": round(cpu, 2),
            "judge_alone_per_s_cpu": round(s.judged / engine_cpu), "judging_share": round(engine_cpu / cpu, 3),
            "stored_sha256": stored}


#: what differs from run to run however the judgments are made: times, dates, and the hashes and
#: records that cover the audit events' times
_RUN_COLUMNS = {"judged_at", "at", "hash", "prev_hash", "canonical", "assigned_at", "saksdato", "journaldato"}


def stored_sha256(app: App, after_seq: int) -> str:
    """The SHA-256 of what the judge run stored: every judgment, the audit events after
    ``after_seq`` and the case and journal numbers, each row without ``_RUN_COLUMNS``."""
    import hashlib
    h = hashlib.sha256()
    queries = (("judgments", "SELECT * FROM judgments ORDER BY id"),
               ("audit_events", f"SELECT * FROM audit_events WHERE seq > {int(after_seq)} ORDER BY seq"),
               ("case_numbers", "SELECT * FROM case_numbers ORDER BY id"),
               ("journal_numbers", "SELECT * FROM journal_numbers ORDER BY id"))
    with app.db.read() as conn:
        for table, sql in queries:
            for row in conn.exec_driver_sql(sql).mappings():
                kept = {k: str(v) for k, v in row.items() if k not in _RUN_COLUMNS}
                h.update((table + json.dumps(kept, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
    return h.hexdigest()


def _engine_alone(app: App) -> float:
    """CPU seconds the judge alone takes for the same messages with the same thread context
    (read first, not timed): the part of the command that is judging."""
    from sqlalchemy import select

    from ringebu_journal.db.batches import batch_done, collect_per_batch
    from ringebu_journal.judging import BATCH, MSG, context_for, make_judge
    with app.db.read() as conn:
        rows = [dict(r) for r in conn.execute(select(
            MSG.c.id, MSG.c.platform, MSG.c.platform_message_id, MSG.c.thread_id, MSG.c.text,
            MSG.c.author_is_municipality, MSG.c.parent_platform_id, MSG.c.post_platform_id,
            MSG.c.conversation_id, MSG.c.created_at).where(MSG.c.is_current.is_(True)).order_by(MSG.c.id)).mappings()]
        ctx = {}
        for i in range(0, len(rows), 1000):
            ctx.update(context_for(conn, rows[i:i + 1000]))
    cpu = time.process_time()
    judge = make_judge(app)
    with collect_per_batch():
        for i in range(0, len(rows), BATCH):
            judge.judge_many([(r["text"], r["author_is_municipality"], ctx.get(r["id"], [])) for r in rows[i:i + BATCH]])
            batch_done()
    return time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=15_000)
    ap.add_argument("--threads", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    texts = _mix(args.messages, args.seed)
    spread = run(texts, args.threads)
    print(json.dumps(spread))
    one = run(texts, 1)
    print(json.dumps(one))
    print(json.dumps({"figure": "one thread / spread threads, per message", "ratio":
                      round(one["per_s_cpu"] / spread["per_s_cpu"], 3)}))


if __name__ == "__main__":
    main()
