"""Benchmark: append N audit events in batches, then verify the whole chain.

    python bench/audit_verify.py [--events 1000000] [--db URL]

Prints one JSON line: events/s for append and verify (wall clock, and the CPU seconds, which a
busy machine disturbs less), the verifier's peak RSS and how much it grew while verifying, and two loops without any ringebu-journal code over the same rows,
run in the same way (each in a fresh process, like the verifier):

* the floor: plain ``sqlite3`` fetches the same columns and checks the chain over the stored
  record bytes (seq, prev_hash, SHA-256 of the bytes as stored) — the least any verifier of
  this table must do; ``ratio_to_floor`` = our events/s ÷ the floor's. What we do on top is
  proving that every event's columns say what its hashed bytes say.
* the recipe loop: the README's re-encoding recipe over the same columns (what verifying cost
  before the record bytes were stored), for comparison.

Floor and recipe loop read SQLite files only; with ``--db postgresql…`` they are left out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COLUMNS = ('seq, at, actor, role, action, object_type, object_id, "before", "after", reason, identity, '
           "canonical, prev_hash, hash")


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/statm") as fh:
        current = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return current, peak


def child_verify(url: str) -> dict:
    from ringebu_journal import audit
    from ringebu_journal.app import App

    app = App.open(url, actor="bench", data_dir=tempfile.gettempdir())
    with app.db.read() as conn:  # connect and load everything before measuring
        conn.exec_driver_sql("SELECT 1 FROM audit_events LIMIT 1").all()
    start_rss, _ = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    with app.db.read() as conn:
        res = audit.verify(conn)
    s, cpu = time.perf_counter() - t0, time.process_time() - c0
    _, peak = rss_mb()
    app.db.dispose()
    return {"ok": res.ok, "line": res.line(), "events": res.checked, "seconds": s, "cpu_seconds": cpu,
            "rss_start_mb": start_rss, "rss_peak_mb": peak}


def child_floor(db_file: str) -> dict:
    con = sqlite3.connect(db_file)
    t0, c0 = time.perf_counter(), time.process_time()
    cur = con.execute(f"SELECT {COLUMNS} FROM audit_events ORDER BY seq")
    prev, expected = "0" * 64, 1
    sha256 = hashlib.sha256
    while rows := cur.fetchmany(20_000):
        for seq, at, actor, role, action, ot, oid, before, after, reason, ident, canon, ph, h in rows:
            if seq != expected or ph != prev or sha256(prev.encode() + canon).hexdigest() != h:
                raise SystemExit(f"floor: broken at {seq}")
            prev = h
            expected += 1
    s, cpu = time.perf_counter() - t0, time.process_time() - c0
    con.close()
    return {"events": expected - 1, "seconds": s, "cpu_seconds": cpu}


def child_recipe(db_file: str) -> dict:
    con = sqlite3.connect(db_file)
    t0 = time.perf_counter()
    cur = con.execute(f"SELECT {COLUMNS} FROM audit_events ORDER BY seq")
    prev, n = "0" * 64, 0
    for seq, at, actor, role, action, ot, oid, before, after, reason, ident, _canon, ph, h in cur:
        body = {"seq": seq, "at": at, "actor": actor, "role": role, "action": action, "object_type": ot,
                "object_id": oid, "before": json.loads(before), "after": json.loads(after), "reason": reason}
        if ident is not None:
            body["identity"] = ident
        c = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = hashlib.sha256((prev + c).encode("utf-8")).hexdigest()
        if prev != h:
            raise SystemExit(f"recipe: broken at {seq}")
        n += 1
    s = time.perf_counter() - t0
    con.close()
    return {"events": n, "seconds": s}


def in_child(kind: str, target: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, target], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"{kind} failed: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db", default=None)
    ap.add_argument("--child", nargs=2, metavar=("KIND", "TARGET"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, target = args.child
        print(json.dumps({"verify": child_verify, "floor": child_floor, "recipe": child_recipe}[kind](target)))
        return

    from ringebu_journal import audit
    from ringebu_journal.app import App, init_database
    from ringebu_journal.db.batches import ROWS_PER_BATCH

    tmp = tempfile.mkdtemp(prefix="rj-bench-audit-")
    url = args.db or f"sqlite:///{tmp}/audit.db"
    app = App.open(url, actor="bench", data_dir=tmp)
    init_database(app)
    app.role = "admin"
    t0 = time.perf_counter()
    done = 0
    batch = ROWS_PER_BATCH
    while done < args.events:
        n = min(batch, args.events - done)
        evs = [{"actor": "bench", "identity": app.identity, "role": "archivist", "action": "judgment.add", "object_type": "message",
                "object_id": done + i, "before": None,
                "after": {"decision": "journal", "categories": ["klage"], "confidence": 0.93},
                "reason": "klage.uttrykt"} for i in range(n)]
        with app.db.write() as conn:
            audit.append_many(conn, evs)
        done += n
    append_rate = done / (time.perf_counter() - t0)
    db_file = app.db.engine.url.database if app.db.is_sqlite else None
    app.db.dispose()

    v = in_child("verify", url)
    assert v["ok"], v["line"]
    floor = in_child("floor", db_file) if db_file else None
    recipe = in_child("recipe", db_file) if db_file else None
    rate = v["events"] / v["seconds"]
    result = {
        "events": v["events"],
        "append_events_per_s": round(append_rate),
        "verify_events_per_s": round(rate),
        "verify_seconds": round(v["seconds"], 2),
        "verify_cpu_seconds": round(v["cpu_seconds"], 2),
        "floor_verify_events_per_s": round(floor["events"] / floor["seconds"]) if floor else None,
        "floor_seconds": round(floor["seconds"], 2) if floor else None,
        "floor_cpu_seconds": round(floor["cpu_seconds"], 2) if floor else None,
        "ratio_to_floor": round(rate / (floor["events"] / floor["seconds"]), 2) if floor else None,
        "recipe_events_per_s": round(recipe["events"] / recipe["seconds"]) if recipe else None,
        "recipe_seconds": round(recipe["seconds"], 2) if recipe else None,
        "peak_rss_mb": round(v["rss_peak_mb"], 1),
        "rss_growth_mb": round(v["rss_peak_mb"] - v["rss_start_mb"], 1),
    }
    print(json.dumps(result))
    if not args.db:
        for f in Path(tmp).glob("*"):
            f.unlink()
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
