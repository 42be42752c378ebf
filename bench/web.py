"""Speed of the web workspace, measured with a real HTTP client against ``ringebu-journal serve``.

    python -m bench web                       # 100,000 messages on SQLite; 8 moderators, 60 s on PostgreSQL
    python bench/web.py --messages 20000 --seconds 10 --pg-url postgresql+psycopg:///ringebu_test

1. Pages on SQLite: --messages comments under municipal posts (complaints, requests for access,
   questions, thanks, political remarks, scam links in turn; :data:`MIX`) are imported and judged
   into a fresh SQLite database through the library; the
   server runs as its own process; one signed-in ``requests`` session asks, one request at a
   time, for the queue (with its filters), message pages (random messages) and searches (words,
   an author, a number, with platform and decision filters). The first requests of each kind
   warm the server and are not counted. Targets: queue and message p95 ≤ 150 ms, search p95 ≤
   200 ms.
2. Decisions on PostgreSQL: a fresh database on --pg-url (or RINGEBU_JOURNAL_TEST_PG) with
   --pg-messages judged comments, the server on it, and 8 moderators (threads, each its own
   signed-in session) deciding through HTTP for --seconds: open a message's page, read the lock
   version from its decision form, post a decision (confirm, or journal/archive/exclude with a
   reason). The messages are few on purpose, so moderators meet. Every answer is counted: stored
   (200 with the stored notice), conflict (409 with the conflict alert) or other (a failure).
   Afterwards the database must hold every stored decision — each (moderator, message, lock
   version) the server reported — and no other; the decision.* audit events must number the
   same; the audit chain must verify.

Prints one JSON object per part and a summary table (``--markdown`` for docs/benchmarks.md).
Exit 1 when a target is missed or anything is lost.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.web_site import Server, csrf_of, signed_in, users  # noqa: E402

PASSWORD = "et langt passord for benken"
STORED = re.compile(r'data-outcome="stored"[^>]*data-lock-version="(\d+)"')
LOCK = re.compile(r'name="expect_version" value="(\d+)"')


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s))) - 1))]


def timed(session, url: str) -> float:
    t0 = time.perf_counter()
    r = session.get(url, timeout=60)
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise RuntimeError(f"GET {url}: HTTP {r.status_code}")
    return ms


#: what citizens write under the municipality's posts, in the proportions of a busy page: complaints and
#: requests for access (journal), questions (archive, to be answered), thanks and chatter (exclude),
#: political remarks (review), scam links (to be removed); {n} makes each text unique
MIX = (
    "Jeg klager herved på vedtaket om {w} i sak {n}. Begrunnelsen er mangelfull.",
    "Jeg ber om innsyn i dokumentene om {w}, sak {n}.",
    "Når blir det gjort noe med {w}? Spørsmål nr {n} fra en innbygger.",
    "Hvor kan jeg lese mer om {w}? ({n})",
    "Takk for god informasjon om {w}! {n}",
    "Fint bilde fra {w} i dag 😊 {n}",
    "Ordføreren og kommunestyret bør svare for {w}, dette er en skandale. {n}",
    "GRATIS gavekort {n} til de første! Registrer deg på https://gavekort-{n}.click/claim",
    "Samme her, {w} er et problem i vår gate også. {n}",
    "Har dere åpent i {w} i påsken? {n}",
)


def write_mix(path: Path, messages: int, per_post: int = 100) -> Path:
    """A JSON Lines capture: one municipal post per ``per_post`` comments, a few answered by the
    municipality, the comments' texts drawn from :data:`MIX` in turn."""
    from ringebu_journal.importers.synthetic import WORDS

    with open(path, "w", encoding="utf-8") as fh:
        for n in range(messages):
            post = f"bench-post-{n // per_post}"
            day, minute = 1 + (n // per_post) % 28, n % per_post
            if n % per_post == 0:
                fh.write(json.dumps({"platform": "facebook", "kind": "post", "id": post,
                                     "text": f"Informasjon nr. {n // per_post} om {WORDS[n % len(WORDS)]} fra Ringebu kommune.",
                                     "created_at": f"2024-05-{day:02d}T08:00:00Z",
                                     "author": {"id": "kommune", "name": "Ringebu kommune", "is_municipality": True}},
                                    ensure_ascii=False) + "\n")
            w = WORDS[(n * 7) % len(WORDS)]
            fh.write(json.dumps({"platform": "facebook", "kind": "comment", "id": f"bench-{n}", "post_id": post,
                                 "parent_id": post, "text": MIX[n % len(MIX)].format(w=w, n=n),
                                 "created_at": f"2024-05-{day:02d}T{9 + minute // 60:02d}:{minute % 60:02d}:00Z",
                                 "author": {"id": f"c{n % 5000}", "name": f"Innbygger {n % 5000}"}},
                                ensure_ascii=False) + "\n")
    return path


def pages_on_sqlite(messages: int, requests_per_kind: int, work: Path, say) -> dict:
    from ringebu_journal.app import App, add_user, init_database
    from ringebu_journal.importers.run import import_jsonl
    from ringebu_journal.importers.synthetic import WORDS
    from ringebu_journal.judging import judge_stored

    url = f"sqlite:///{work / 'web-bench.db'}"
    data = work / "data"
    capture = write_mix(work / "capture.jsonl", messages)
    admin = App.open(url, actor="admin", data_dir=data)
    init_database(admin)
    admin.role = "admin"
    add_user(admin, "arkiv", "archivist")
    admin.db.dispose()
    t0 = time.perf_counter()
    arkiv = App.open(url, actor="arkiv", data_dir=data)
    arkiv.role = "archivist"
    import_jsonl(arkiv, [str(capture)])
    judge_stored(arkiv)
    arkiv.db.dispose()
    say(f"  {messages:,} messages imported and judged in {time.perf_counter() - t0:.0f} s")
    users(url, data, {"moderator": ("moderator", PASSWORD)})
    with App.open(url, actor="admin", data_dir=data).db.read() as conn:
        from sqlalchemy import func, select

        from ringebu_journal.db.tables import Message
        M = Message.__table__
        low, high, total = conn.execute(select(func.min(M.c.id), func.max(M.c.id), func.count())).one()
        from ringebu_journal.db.tables import Judgment
        J = Judgment.__table__
        mix = dict(conn.execute(select(J.c.decision, func.count()).group_by(J.c.decision)).all())
    say(f"  judged: {mix}")
    rnd = random.Random(16)
    queue_urls = ["/queue", "/queue?decision=journal", "/queue?action=reply", "/queue?since=2024-05-10",
                  "/queue?decision=journal&until=2024-05-20", "/queue?decision=review"]
    search_urls = [f"/search?q={w}" for w in WORDS] + \
                  [f"/search?q={w}&platform=facebook" for w in WORDS[:4]] + \
                  [f"/search?q={w}&decision=review" for w in WORDS[4:8]] + \
                  [f"/search?author=Innbygger+{n}" for n in (7, 42, 4711)] + \
                  [f"/search?q={n}" for n in (12345, 99, 70001)] + \
                  ["/search?q=vann&since=2024-05-03&until=2024-05-09"]
    out: dict = {"messages": int(total), "judged": mix}
    with Server(url, data) as server:
        s = signed_in(server.url, "moderator", PASSWORD)
        for kind, make in (("queue", lambda i: queue_urls[i % len(queue_urls)]),
                           ("message", lambda i: f"/messages/{rnd.randint(low, high)}"),
                           ("search", lambda i: search_urls[i % len(search_urls)])):
            for i in range(10):                             # warm-up, not counted
                timed(s, server.url + make(i))
            asked = [make(i) for i in range(requests_per_kind)]
            times = [timed(s, server.url + u) for u in asked]
            out[kind] = {"requests": len(times), "p50_ms": round(statistics.median(times), 1),
                         "p95_ms": round(pct(times, 95), 1), "max_ms": round(max(times), 1)}
            if kind != "message":                           # which of the page's variants is slow
                by_url: dict[str, list[float]] = {}
                for u, ms in zip(asked, times):
                    by_url.setdefault(u, []).append(ms)
                out[kind]["median_ms_by_url"] = {u: round(statistics.median(v), 1) for u, v in by_url.items()}
            say(f"  {kind}: p50 {out[kind]['p50_ms']} ms, p95 {out[kind]['p95_ms']} ms over {len(times)} requests")
    out["queue_ok"] = out["queue"]["p95_ms"] <= 150
    out["message_ok"] = out["message"]["p95_ms"] <= 150
    out["search_ok"] = out["search"]["p95_ms"] <= 200
    return out


def _pg_database(base: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = "rj_webbench_" + uuid.uuid4().hex[:8]
    eng = create_engine(base, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    eng.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def _drop_pg(base: str, url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    eng = create_engine(base, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                       "AND pid <> pg_backend_pid()"), {"n": name})
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    eng.dispose()


def moderators_on_pg(base: str, seconds: float, pg_messages: int, work: Path, say) -> dict:
    from sqlalchemy import func, select

    from ringebu_journal import audit
    from ringebu_journal.app import App, add_user, init_database
    from ringebu_journal.db.tables import AuditEvent, Message, ModeratorDecision
    from ringebu_journal.importers.run import import_jsonl
    from ringebu_journal.judging import judge_stored

    url = _pg_database(base)
    data = work / "pg-data"
    try:
        admin = App.open(url, actor="admin", data_dir=data)
        init_database(admin)
        admin.role = "admin"
        add_user(admin, "arkiv", "archivist")
        admin.db.dispose()
        f = work / "pg-seed.jsonl"
        with open(f, "w", encoding="utf-8") as fh:
            fh.write(json.dumps({"platform": "facebook", "kind": "post", "id": "web-post", "text": "Høring om parkering",
                                 "created_at": "2026-10-05T08:00:00Z",
                                 "author": {"id": "kommune", "is_municipality": True}}) + "\n")
            for i in range(pg_messages):
                fh.write(json.dumps({"platform": "facebook", "kind": "comment", "id": f"web-{i}", "post_id": "web-post",
                                     "parent_id": "web-post", "text": f"Jeg klager på parkeringsgebyret nr {i}.",
                                     "created_at": "2026-10-05T09:00:00Z",
                                     "author": {"id": f"s{i}", "name": f"Innbygger {i}"}}) + "\n")
        arkiv = App.open(url, actor="arkiv", data_dir=data)
        arkiv.role = "archivist"
        import_jsonl(arkiv, [str(f)])
        judge_stored(arkiv)
        arkiv.db.dispose()
        names = [f"mod{i}" for i in range(8)]
        users(url, data, {n: ("moderator", PASSWORD) for n in names})
        reader = App.open(url, actor="admin", data_dir=data)
        M = Message.__table__
        with reader.db.read() as conn:
            ids = [r[0] for r in conn.execute(select(M.c.id).where(M.c.kind == "comment").order_by(M.c.id))]

        with Server(url, data) as server:
            sessions = {n: signed_in(server.url, n, PASSWORD) for n in names}
            start = threading.Barrier(len(names))
            results: dict[str, dict] = {}

            def moderate(name: str, seed: int) -> None:
                rnd = random.Random(seed)
                s = sessions[name]
                r = {"attempts": 0, "stored": 0, "conflicts": 0, "refused": 0, "other": 0, "latencies": [], "kept": []}
                start.wait()
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    mid = rnd.choice(ids)
                    page = s.get(f"{server.url}/messages/{mid}", timeout=60)
                    if page.status_code != 200:
                        r["other"] += 1
                        continue
                    lock = LOCK.search(page.text)
                    decision = rnd.choice(("confirm", "journal", "archive", "exclude"))
                    form = {"csrf_token": csrf_of(page.text), "decision": decision,
                            "expect_version": lock.group(1) if lock else "",
                            "reason": "" if decision == "confirm" else f"Vurdert av {name}"}
                    t0 = time.perf_counter()
                    ans = s.post(f"{server.url}/messages/{mid}/decide", data=form,
                                 headers={"HX-Request": "true"}, timeout=60)
                    r["latencies"].append((time.perf_counter() - t0) * 1000)
                    r["attempts"] += 1
                    stored = STORED.search(ans.text) if ans.status_code == 200 else None
                    if stored:
                        r["stored"] += 1
                        r["kept"].append((mid, int(stored.group(1))))
                    elif ans.status_code == 409 and 'data-outcome="conflict"' in ans.text:
                        r["conflicts"] += 1
                    elif ans.status_code in (400, 409) and 'role="alert"' in ans.text:
                        r["refused"] += 1                   # refused with a stated reason, nothing stored
                    else:
                        r["other"] += 1
                results[name] = r

            threads = [threading.Thread(target=moderate, args=(n, i)) for i, n in enumerate(names)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        D, A = ModeratorDecision.__table__, AuditEvent.__table__
        with reader.db.read() as conn:
            rows = {(r.actor, r.message_id, r.lock_version)
                    for r in conn.execute(select(D.c.actor, D.c.message_id, D.c.lock_version))}
            n_rows = conn.execute(select(func.count()).select_from(D)).scalar_one()
            events = conn.execute(select(func.count()).select_from(A).where(A.c.action.like("decision.%"))).scalar_one()
            chain = audit.verify(conn)
        reader.db.dispose()
        kept = {(n, mid, lock) for n, r in results.items() for mid, lock in r["kept"]}
        lat = [x for r in results.values() for x in r["latencies"]]
        stored = sum(r["stored"] for r in results.values())
        out = {
            "moderators": len(names), "seconds": seconds, "messages": len(ids),
            "attempts": sum(r["attempts"] for r in results.values()), "stored": stored,
            "conflicts": sum(r["conflicts"] for r in results.values()),
            "refused": sum(r["refused"] for r in results.values()),
            "other": sum(r["other"] for r in results.values()),
            "decisions_per_s": round(stored / seconds, 1),
            "post_p50_ms": round(statistics.median(lat), 1) if lat else None,
            "post_p95_ms": round(pct(lat, 95), 1) if lat else None,
            "decision_rows": n_rows, "decision_events": events,
            "every_stored_decision_in_db": kept <= rows, "nothing_else_in_db": rows <= kept and n_rows == len(kept),
            "audit_events_match": events == stored, "chain": chain.line(), "chain_ok": chain.ok,
        }
        out["nothing_lost"] = bool(out["every_stored_decision_in_db"] and out["nothing_else_in_db"]
                                   and out["audit_events_match"] and out["chain_ok"] and out["other"] == 0)
        say(f"  {out['attempts']} decisions tried by 8 moderators in {seconds:.0f} s: {stored} stored, "
            f"{out['conflicts']} conflicts reported, {out['other']} failures; nothing lost: {out['nothing_lost']}")
        return out
    finally:
        _drop_pg(base, url)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=100_000, help="messages on SQLite (default 100,000)")
    ap.add_argument("--requests", type=int, default=200, help="measured requests per page kind")
    ap.add_argument("--seconds", type=float, default=60.0, help="how long the 8 moderators decide")
    ap.add_argument("--pg-messages", type=int, default=300, help="messages the moderators share on PostgreSQL")
    ap.add_argument("--pg-url", default=os.environ.get("RINGEBU_JOURNAL_TEST_PG"),
                    help="PostgreSQL server (a fresh database is made and dropped); default RINGEBU_JOURNAL_TEST_PG")
    ap.add_argument("--only", choices=("pages", "decisions"), help="run one part")
    ap.add_argument("--markdown", action="store_true", help="print the summary as a Markdown table")
    args = ap.parse_args()

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    machine = (f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
               f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f} at start")
    rows: list[tuple[str, str, str]] = []
    ok = True
    with tempfile.TemporaryDirectory(prefix="rj-web-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "pages"):
            say(f"pages on SQLite, {args.messages:,} messages")
            p = pages_on_sqlite(args.messages, args.requests, work, say)
            print(json.dumps({"part": "pages", **p}), flush=True)
            n = f"{p['messages']:,}"
            rows += [(f"queue page, {n} messages (SQLite): p95", f"{p['queue']['p95_ms']} ms (p50 {p['queue']['p50_ms']})", "≤ 150 ms"),
                     (f"message page, {n} messages (SQLite): p95", f"{p['message']['p95_ms']} ms (p50 {p['message']['p50_ms']})", "≤ 150 ms"),
                     (f"search, {n} messages (SQLite FTS5): p95", f"{p['search']['p95_ms']} ms (p50 {p['search']['p50_ms']})", "≤ 200 ms")]
            ok &= p["queue_ok"] and p["message_ok"] and p["search_ok"]
        if args.only in (None, "decisions"):
            if not args.pg_url:
                say("no PostgreSQL server: give --pg-url or set RINGEBU_JOURNAL_TEST_PG")
                return 2
            say(f"8 moderators deciding through HTTP on PostgreSQL for {args.seconds:.0f} s")
            d = moderators_on_pg(args.pg_url, args.seconds, args.pg_messages, work, say)
            print(json.dumps({"part": "decisions", **d}), flush=True)
            rows += [("8 moderators through HTTP (PostgreSQL): decisions stored/s",
                      f"{d['decisions_per_s']} ({d['stored']} stored, {d['conflicts']} conflicts reported)", "—"),
                     ("decision POST p50 / p95", f"{d['post_p50_ms']} / {d['post_p95_ms']} ms", "—"),
                     ("nothing lost (every stored decision in the table and the audit trail, chain verifies)",
                      "yes" if d["nothing_lost"] else "NO", "yes")]
            ok &= d["nothing_lost"]
    say(f"machine: {machine}")
    if args.markdown:
        print(f"\nMachine: {machine}\n")
        print("| figure | value | target |\n|---|---|---|")
        for r in rows:
            print(f"| {r[0]} | {r[1]} | {r[2]} |")
    else:
        for r in rows:
            print(f"{r[0]:<95} {r[1]:<45} {r[2]}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
