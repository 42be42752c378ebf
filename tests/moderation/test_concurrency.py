"""Several moderators deciding the same messages at the same moment: nothing is lost.

8 real processes × 200 decisions on 20 overlapping messages, on SQLite and on PostgreSQL. Every
decision is either stored or reported as a conflict; the stored ones are exactly the rows in
``moderator_decisions`` and the ``decision.*`` audit events; every message's lock went up by
exactly one per stored decision (no two decisions were based on the same view); the audit chain
verifies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, insert, select

from ringebu_journal import audit
from ringebu_journal.app import add_user
from ringebu_journal.db.tables import AuditEvent, Message, ModeratorDecision, Thread

from .seed import T0, _message_row, add_judgment

MSG = Message.__table__
DEC = ModeratorDecision.__table__
AUD = AuditEvent.__table__
THR = Thread.__table__

PROCESSES = 8
DECISIONS = 200
MESSAGES = 20

WORKER = textwrap.dedent('''
    import json, random, sys
    from ringebu_journal import moderation
    from ringebu_journal.app import App
    from ringebu_journal.db.tables import Message
    from sqlalchemy import select

    url, actor, n, ids = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    rnd = random.Random(actor)
    app = App.open(url, actor=actor, data_dir="/tmp")
    app.require("message.decide")             # the role comes from the users table, as in the CLI
    M = Message.__table__
    stored, conflicts, decision_ids, lines = 0, 0, [], []
    for i in range(n):
        mid = rnd.choice(ids)
        expect = None
        if rnd.random() < 0.5:
            # what `queue`/`show` printed a moment ago
            with app.db.read() as conn:
                expect = conn.execute(select(M.c.lock_version).where(M.c.id == mid)).scalar()
        if rnd.random() < 0.25:
            [o] = moderation.confirm(app, [str(mid)], expect_version=expect)
        else:
            d = rnd.choice(["journal", "archive", "exclude"])
            [o] = moderation.flag(app, [str(mid)], d, f"{actor} vurdering {i}: {d}", expect_version=expect,
                                  screen=rnd.choice([None, True, False]))
        if o.stored:
            stored += 1
            decision_ids.append(o.decision_id)
        else:
            conflicts += 1
            lines.append(o.conflict)
    app.db.dispose()
    print(json.dumps({"stored": stored, "conflicts": conflicts, "ids": decision_ids, "lines": lines[:20]}))
''')


def _seed_comments(app) -> list[int]:
    ids = []
    with app.db.write() as conn:
        tid = conn.execute(insert(THR).values(platform="facebook", thread_key="871234567890123_500", kind="post",
                                              created_at=T0)).inserted_primary_key[0]
        spec = ("facebook", "871234567890123_500", "post", None, None, None, "Ringebu kommune", True, 0,
                "Høring: forslag til ny parkeringsordning ved Ringebu stasjon. Si din mening!")
        conn.execute(insert(MSG).values(**_message_row("post", spec, tid)))
        for i in range(MESSAGES):
            spec = ("facebook", f"871234567890123_500_{600 + i}", "comment", "871234567890123_500",
                    "871234567890123_500", None, f"Innbygger {i}", False, 10 + i,
                    f"Innspill {i}: jeg ber kommunen vurdere gratis parkering for pendlere, og klager på "
                    f"bøtelegget jeg fikk {i + 1}. mars.")
            row = _message_row(f"c{i}", spec, tid)
            row["created_at"] = T0 + timedelta(minutes=10 + i)
            mid = int(conn.execute(insert(MSG).values(**row)).inserted_primary_key[0])
            add_judgment(conn, mid, "journal", 0.8, ["klage"], ["refer_post"],
                         reasons=[{"rule": "klage", "description": "complaint about a fine", "matched": "klager",
                                   "effect": "journal"}])
            ids.append(mid)
    return ids


def test_parallel_moderators_lose_nothing(make_app, tmp_path):
    archivist = make_app("archivist", actor="arkivar")
    ids = _seed_comments(archivist)
    admin = make_app("admin", actor="admin")
    actors = [f"moderator{i}" for i in range(PROCESSES)]
    for a in actors:
        add_user(admin, a, "moderator")
    url = archivist.db.engine.url.render_as_string(hide_password=False)
    script = tmp_path / "moderator.py"
    script.write_text(WORKER, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, str(script), url, a, str(DECISIONS), json.dumps(ids)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for a in actors]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    elapsed = time.monotonic() - started

    stored = sum(r["stored"] for r in results)
    conflicts = sum(r["conflicts"] for r in results)
    assert stored + conflicts == PROCESSES * DECISIONS
    assert conflicts > 0, "the test did not provoke a single conflict"
    for r in results:
        for line in r["lines"]:
            assert "\n" not in line and line.startswith("conflict on message") and " at " in line, line

    with archivist.db.read() as conn:
        rows = conn.execute(select(DEC.c.id, DEC.c.message_id, DEC.c.lock_version, DEC.c.actor)).all()
        events = conn.execute(select(AUD.c.object_id, AUD.c.after, AUD.c.actor).where(
            AUD.c.action.in_(["decision.flag", "decision.confirm", "decision.unflag"]))).all()
        locks = dict(conn.execute(select(MSG.c.id, MSG.c.lock_version).where(MSG.c.id.in_(ids))).all())
        verified = audit.verify(conn)
    # none vanishes, none is invented
    assert len(rows) == stored
    assert sorted(i for r in results for i in r["ids"]) == sorted(r.id for r in rows)
    assert len(events) == stored
    assert sorted(json.loads(e.after)["decision_id"] for e in events) == sorted(r.id for r in rows)
    # every stored decision moved its message's lock by one, each from a different view
    per_message = Counter(r.message_id for r in rows)
    for mid in ids:
        assert locks[mid] == per_message[mid]
        produced = sorted(r.lock_version for r in rows if r.message_id == mid)
        assert produced == list(range(1, per_message[mid] + 1))
    assert verified.ok, verified.line()
    # per moderator: what each process says it stored is what the table holds for that actor
    by_actor = Counter(r.actor for r in rows)
    for a, r in zip(actors, results):
        assert by_actor[a] == r["stored"]
    assert elapsed < 120, f"took {elapsed:.1f}s (the design target is under 40 s)"
    print(f"\n{archivist.db.dialect}: {stored} stored, {conflicts} conflicts in {elapsed:.1f}s")
