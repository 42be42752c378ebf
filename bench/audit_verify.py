"""Benchmark: append N audit events in batches, then verify the whole chain.

    python bench/audit_verify.py [--events 1000000] [--db URL]

Prints events/s for append and verify, peak RSS, and the floor: a bare loop that computes the
same SHA-256 chain over the same rows fetched with sqlite3 (no ringebu-journal code), so the
ratio shows what the verifier adds on top of hashing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ringebu_journal import audit  # noqa: E402
from ringebu_journal.app import App, init_database  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor_verify(db_file: str) -> float:
    con = sqlite3.connect(db_file)
    t0 = time.perf_counter()
    prev = "0" * 64
    cur = con.execute("SELECT seq, at, actor, role, action, object_type, object_id, before, after, reason, "
                      "prev_hash, hash FROM audit_events ORDER BY seq")
    n = 0
    for seq, at, actor, role, action, ot, oid, before, after, reason, ph, h in cur:
        body = {"seq": seq, "at": at, "actor": actor, "role": role, "action": action, "object_type": ot,
                "object_id": oid, "before": json.loads(before), "after": json.loads(after), "reason": reason}
        c = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        prev = hashlib.sha256((prev + c).encode("utf-8")).hexdigest()
        n += 1
    con.close()
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rj-bench-audit-")
    url = args.db or f"sqlite:///{tmp}/audit.db"
    app = App.open(url, actor="bench", data_dir=tmp)
    init_database(app)
    app.role = "admin"
    t0 = time.perf_counter()
    done = 0
    batch = 5000
    while done < args.events:
        n = min(batch, args.events - done)
        evs = [{"actor": "bench", "role": "archivist", "action": "judgment.add", "object_type": "message",
                "object_id": done + i, "before": None,
                "after": {"decision": "journal", "categories": ["klage"], "confidence": 0.93},
                "reason": "klage.uttrykt"} for i in range(n)]
        with app.db.write() as conn:
            audit.append_many(conn, evs)
        done += n
    append_rate = done / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    with app.db.read() as conn:
        res = audit.verify(conn)
    verify_s = time.perf_counter() - t0
    assert res.ok, res.line()
    verify_rate = res.checked / verify_s
    floor = floor_verify(app.db.engine.url.database) if app.db.is_sqlite else float("nan")
    print(json.dumps({
        "events": res.checked,
        "append_events_per_s": round(append_rate),
        "verify_events_per_s": round(verify_rate),
        "verify_seconds": round(verify_s, 1),
        "floor_verify_events_per_s": round(floor) if floor == floor else None,
        "ratio_to_floor": round(verify_rate / floor, 2) if floor == floor else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }))
    app.db.dispose()
    if not args.db:
        for f in Path(tmp).glob("*"):
            f.unlink()
        os.rmdir(tmp)


if __name__ == "__main__":
    main()
