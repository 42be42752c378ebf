"""Load on PostgreSQL: 8 moderator processes and 2 importers at once for a bounded time.

    python bench/load_pg.py                      # 60 s on a cluster of its own, over TCP 127.0.0.1
    python bench/load_pg.py --seconds 8 --url postgresql+psycopg:///ringebu_test

Without --url (and as root) the script creates a PostgreSQL 15 cluster of its own
(`pg_createcluster 15 rjload --port 5440`, host connections trusted on 127.0.0.1 only), runs
there over TCP and drops it afterwards; with --url it creates a fresh database on that server
and drops it afterwards. The database is seeded with --messages judged comments.

Moderators loop until the deadline: pick a message, half the time read its lock version first
(as `queue`/`show` would), then `flag` or `confirm` it (the library calls the CLI makes); each
call's latency is recorded. Importers loop: write a JSON Lines file of 200 new messages and
import it. At the end the script proves nothing was lost — stored + conflicts == attempts for
every moderator; the decisions table and the decision.* audit events each hold exactly the
stored decisions; every imported message is in the messages table; the audit chain verifies —
and prints one JSON object and a summary: decisions/s, p50/p99 latency of flag, conflicts.
Exit 1 when anything does not add up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLUSTER, PORT = "rjload", 5440


def _wait_for_start(seconds: float) -> float:
    """Tell the parent this worker is ready (imports done, database open); the deadline starts
    when every worker is ready (the parent answers "go" on stdin), so a slow start-up on a loaded
    machine cannot eat the measured time."""
    print("ready", flush=True)
    sys.stdin.readline()
    return time.time() + seconds


def moderator(url: str, actor: str, seconds: float, refs: list[str], seed: int,
              min_attempts: int = 0) -> dict:
    from sqlalchemy import select

    from ringebu_journal import moderation
    from ringebu_journal.app import App
    from ringebu_journal.db.tables import Message

    M = Message.__table__
    rnd = random.Random(seed)
    app = App.open(url, actor=actor, data_dir=tempfile.gettempdir())
    app.require("message.decide")
    deadline = _wait_for_start(seconds)
    attempts = stored = conflicts = 0
    flag_ms: list[float] = []
    while attempts < min_attempts or time.time() < deadline:
        ref = rnd.choice(refs)
        expect = None
        if rnd.random() < 0.5:
            pid = ref.split(":", 1)[1]
            with app.db.read() as conn:
                expect = conn.execute(select(M.c.lock_version).where(M.c.platform_message_id == pid,
                                                                     M.c.is_current.is_(True))).scalar()
        attempts += 1
        t = time.perf_counter()
        if rnd.random() < 0.2:
            [o] = moderation.confirm(app, [ref], expect_version=expect)
        else:
            d = rnd.choice(["journal", "archive", "exclude"])
            [o] = moderation.flag(app, [ref], d, f"{actor}: {d}", expect_version=expect)
            flag_ms.append((time.perf_counter() - t) * 1000)
        if o.stored:
            stored += 1
        else:
            conflicts += 1
    app.db.dispose()
    return {"actor": actor, "attempts": attempts, "stored": stored, "conflicts": conflicts, "flag_ms": flag_ms}


def importer(url: str, actor: str, seconds: float, work: str, min_files: int = 0) -> dict:
    from ringebu_journal.app import App
    from ringebu_journal.importers.run import import_jsonl

    app = App.open(url, actor=actor, data_dir=work)
    app.require("import.run")
    deadline = _wait_for_start(seconds)
    files = imported = 0
    while files < min_files or time.time() < deadline:
        f = Path(work) / f"{actor}-{files}.jsonl"
        with open(f, "w", encoding="utf-8") as fh:
            for i in range(200):
                fh.write(json.dumps({"platform": "facebook", "kind": "comment", "id": f"{actor}-{files}-{i}",
                                     "post_id": "load-post", "parent_id": "load-post",
                                     "text": f"Innspill {i} fra {actor}: jeg klager på brøytingen.",
                                     "created_at": "2026-10-05T08:40:02Z", "author": {"id": f"u{i}", "name": f"Innbygger {i}"}})
                         + "\n")
        s = import_jsonl(app, [str(f)])
        files += 1
        imported += s.counts["platforms"].get("facebook", {}).get("new", 0)
    app.db.dispose()
    return {"actor": actor, "files": files, "imported": imported}


def own_cluster() -> str:
    subprocess.run(["pg_dropcluster", "15", CLUSTER, "--stop"], capture_output=True)
    subprocess.run(["pg_createcluster", "15", CLUSTER, "--port", str(PORT), "--start", "--",
                    "--auth-host=trust", "--auth-local=peer"], check=True, capture_output=True)
    return f"postgresql+psycopg://postgres@127.0.0.1:{PORT}/postgres"


def setup(base: str, messages: int, work: Path) -> tuple[str, list[str]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from ringebu_journal.app import App, add_user, init_database
    from ringebu_journal.importers.run import import_jsonl
    from ringebu_journal.judging import judge_stored

    name = "rj_load_" + uuid.uuid4().hex[:8]
    eng = create_engine(base, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    admin = App.open(url, actor="admin", data_dir=work)
    init_database(admin)
    for i in range(8):
        add_user(admin, f"mod{i}", "moderator")
    for i in range(2):
        add_user(admin, f"arkiv{i}", "archivist")
    add_user(admin, "seed", "archivist")
    admin.db.dispose()
    f = work / "seed.jsonl"
    with open(f, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"platform": "facebook", "kind": "post", "id": "load-post", "text": "Høring om parkering",
                             "created_at": "2026-10-05T08:00:00Z", "author": {"id": "kommune", "is_municipality": True}}) + "\n")
        for i in range(messages):
            fh.write(json.dumps({"platform": "facebook", "kind": "comment", "id": f"seed-{i}", "post_id": "load-post",
                                 "parent_id": "load-post", "text": f"Jeg klager på bøtelegget nr {i}.",
                                 "created_at": "2026-10-05T09:00:00Z", "author": {"id": f"s{i}", "name": f"Innbygger {i}"}})
                     + "\n")
    seed = App.open(url, actor="seed", data_dir=work)
    import_jsonl(seed, [str(f)])
    judge_stored(seed)
    seed.db.dispose()
    return url, [f"facebook:seed-{i}" for i in range(messages)]


def check(url: str, mods: list[dict], imps: list[dict], messages: int) -> dict:
    from sqlalchemy import func, select

    from ringebu_journal import audit
    from ringebu_journal.app import App
    from ringebu_journal.db.tables import AuditEvent, Message, ModeratorDecision

    A, M, D = AuditEvent.__table__, Message.__table__, ModeratorDecision.__table__
    app = App.open(url, actor="x")
    with app.db.read() as conn:
        decisions = conn.execute(select(func.count()).select_from(D)).scalar_one()
        events = conn.execute(select(func.count()).select_from(A).where(A.c.action.like("decision.%"))).scalar_one()
        msgs = conn.execute(select(func.count()).select_from(M)).scalar_one()
        v = audit.verify(conn)
    app.db.dispose()
    stored = sum(m["stored"] for m in mods)
    return {
        "attempts_add_up": all(m["stored"] + m["conflicts"] == m["attempts"] for m in mods),
        "decisions_rows": decisions, "decision_events": events, "stored": stored,
        "decisions_match": decisions == stored == events,
        "messages_rows": msgs, "messages_expected": 1 + messages + sum(i["imported"] for i in imps),
        "imports_match": msgs == 1 + messages + sum(i["imported"] for i in imps)
        and all(i["imported"] == 200 * i["files"] for i in imps),
        "chain": v.line(), "chain_ok": v.ok,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a PostgreSQL server URL (a fresh database is made on it); default: own cluster")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--moderators", type=int, default=8)
    ap.add_argument("--importers", type=int, default=2)
    ap.add_argument("--messages", type=int, default=200, help="seeded messages the moderators decide on")
    ap.add_argument("--min-attempts", type=int, default=0,
                    help="each moderator makes at least this many attempts, however long it takes (the suite's "
                         "short run is bounded by counts, not by the clock)")
    ap.add_argument("--min-files", type=int, default=0, help="each importer imports at least this many files")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--args", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        kw = json.loads(a.args)
        print(json.dumps(moderator(**kw) if a.worker == "moderator" else importer(**kw)))
        return 0
    made_cluster = False
    base = a.url
    if base is None:
        base = own_cluster()
        made_cluster = True
    work = Path(tempfile.mkdtemp(prefix="rj-load-"))
    db_url = None
    try:
        db_url, refs = setup(base, a.messages, work)
        procs = []
        for i in range(a.moderators):
            kw = {"url": db_url, "actor": f"mod{i}", "seconds": a.seconds, "refs": refs, "seed": i,
                  "min_attempts": a.min_attempts}
            procs.append(("m", subprocess.Popen([sys.executable, __file__, "--worker", "moderator", "--args", json.dumps(kw)],
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)))
        for i in range(a.importers):
            kw = {"url": db_url, "actor": f"arkiv{i}", "seconds": a.seconds, "work": str(work), "min_files": a.min_files}
            procs.append(("i", subprocess.Popen([sys.executable, __file__, "--worker", "importer", "--args", json.dumps(kw)],
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)))
        for kind, p in procs:                         # every worker started (imports done) before the clock
            if p.stdout.readline().strip() != "ready":
                raise SystemExit(f"a {kind} worker failed to start")
        start = time.time()
        for _, p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        mods, imps = [], []
        for kind, p in procs:
            p.stdin.close()
            out = p.stdout.read()
            p.wait(timeout=a.seconds + 600)
            if p.returncode != 0:
                raise SystemExit(f"a {kind} worker failed with exit code {p.returncode}")
            (mods if kind == "m" else imps).append(json.loads(out.strip().splitlines()[-1]))
        elapsed = max(time.time() - start, 1e-9)
        lat = sorted(x for m in mods for x in m["flag_ms"])
        proof = check(db_url, mods, imps, a.messages)
        result = {
            "seconds": round(elapsed, 1), "moderators": a.moderators, "importers": a.importers,
            "server": "own cluster over TCP 127.0.0.1" if made_cluster else "given --url",
            "attempts": sum(m["attempts"] for m in mods), "stored": proof["stored"],
            "conflicts": sum(m["conflicts"] for m in mods),
            "decisions_per_s": round(proof["stored"] / elapsed, 1),
            "attempts_per_s": round(sum(m["attempts"] for m in mods) / elapsed, 1),
            "flag_p50_ms": round(statistics.median(lat), 1) if lat else None,
            "flag_p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 1) if lat else None,
            "flags_timed": len(lat),
            "imported_messages": sum(i["imported"] for i in imps), "import_files": sum(i["files"] for i in imps),
            "imported_messages_per_s": round(sum(i["imported"] for i in imps) / elapsed, 1),
            **proof,
        }
        ok = proof["attempts_add_up"] and proof["decisions_match"] and proof["imports_match"] and proof["chain_ok"]
        result["nothing_lost"] = ok
        print(json.dumps(result))
        print(f"{a.moderators} moderators + {a.importers} importers for {result['seconds']} s: "
              f"{result['decisions_per_s']} decisions/s stored ({result['attempts']} attempts, {result['conflicts']} "
              f"conflicts), flag p50 {result['flag_p50_ms']} ms, p99 {result['flag_p99_ms']} ms; imported "
              f"{result['imported_messages']} messages ({result['imported_messages_per_s']}/s); "
              f"{'nothing lost' if ok else 'SOMETHING DOES NOT ADD UP'}; {proof['chain']}")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if made_cluster:
            subprocess.run(["pg_dropcluster", "15", CLUSTER, "--stop"], capture_output=True)
        elif db_url:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            eng = create_engine(base, isolation_level="AUTOCOMMIT")
            with eng.connect() as c:
                name = make_url(db_url).database
                c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                               "AND pid <> pg_backend_pid()"), {"n": name})
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            eng.dispose()


if __name__ == "__main__":
    sys.exit(main())
