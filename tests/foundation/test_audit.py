"""The audit trail detects every single modification, deletion, insertion and reordering."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from sqlalchemy import text

from ringebu_journal import audit
from ringebu_journal.audit_query import AuditFilter, export_trail, query, verify_file


def _fill(app, n: int = 6) -> None:
    with app.db.write() as conn:
        for i in range(n):
            app.audit(conn, "test.event", "thing", i, before={"v": i}, after={"v": i + 1, "txt": "blåbær ✓"},
                      reason=f"reason {i}")


def _verify(app) -> audit.VerifyResult:
    with app.db.read() as conn:
        return audit.verify(conn)


def _tamper(app, sql: str, **params) -> None:
    """Tamper with the table directly, as an attacker with database access would.

    On PostgreSQL the append-only trigger must be lifted first (that is the point of it).
    """
    with app.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text(sql), params)
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def test_intact_chain_verifies(make_app):
    app = make_app("auditor")
    _fill(app)
    res = _verify(app)
    assert res.ok, res.line()
    assert res.checked >= 6


def test_modified_event_is_named(make_app):
    app = make_app("auditor")
    _fill(app)
    _tamper(app, "UPDATE audit_events SET reason = 'changed' WHERE seq = 5")
    res = _verify(app)
    assert not res.ok and res.seq == 5
    assert "modified" in res.problem


def test_modified_before_after_is_detected(make_app):
    app = make_app("auditor")
    _fill(app)
    _tamper(app, 'UPDATE audit_events SET "after" = :v WHERE seq = 4', v='{"v":99}')
    res = _verify(app)
    assert not res.ok and res.seq == 4


def test_deleted_event_is_named(make_app):
    app = make_app("auditor")
    _fill(app)
    _tamper(app, "DELETE FROM audit_events WHERE seq = 4")
    res = _verify(app)
    assert not res.ok and res.seq == 5
    assert "deleted" in res.problem


def test_deleted_last_event_is_detected_against_exported_head(make_app, tmp_path):
    """Deleting the newest event leaves a valid shorter chain; an exported head catches it."""
    app = make_app("auditor")
    _fill(app)
    out = tmp_path / "trail.jsonl"
    exported = export_trail(app, str(out))
    with app.db.read() as conn:
        assert audit.verify(conn, head=exported["last_hash"]).ok
    _tamper(app, "DELETE FROM audit_events WHERE seq >= (SELECT max(seq) - 1 FROM audit_events)")
    with app.db.read() as conn:
        assert audit.verify(conn).ok  # a shorter chain is whole by itself ...
        res = audit.verify(conn, head=exported["last_hash"])
    assert not res.ok and "truncated" in res.problem  # ... but the noted head is gone


def test_inserted_event_is_named(make_app):
    app = make_app("auditor")
    _fill(app)
    # shift events 4.. up by one and insert a forged event at 4 with a self-consistent hash
    with app.db.read() as conn:
        evs = list(audit.iter_events(conn))
    forged = dict(evs[2])
    forged.update(seq=4, actor="mallory", reason="forged")
    forged["prev_hash"] = evs[2]["hash"]
    forged["hash"] = audit.event_hash(forged["prev_hash"], forged)
    _tamper(app, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= 4")
    _tamper(app, "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000")
    cols = ", ".join(f'"{k}"' for k in forged)
    vals = ", ".join(f":{k}" for k in forged)
    _tamper(app, f"INSERT INTO audit_events ({cols}) VALUES ({vals})", **forged)
    res = _verify(app)
    assert not res.ok and res.seq == 5  # the event after the forgery no longer links
    assert "prev_hash" in res.problem


def test_reordered_events_are_named(make_app):
    app = make_app("auditor")
    _fill(app)
    _tamper(app, "UPDATE audit_events SET seq = -1 WHERE seq = 4")
    _tamper(app, "UPDATE audit_events SET seq = 4 WHERE seq = 5")
    _tamper(app, "UPDATE audit_events SET seq = 5 WHERE seq = -1")
    res = _verify(app)
    assert not res.ok and res.seq == 4


def test_postgres_refuses_update_and_delete(pg_url, tmp_path):
    from sqlalchemy.exc import DBAPIError

    from ringebu_journal.app import App, init_database

    app = App.open(pg_url, actor="admin", data_dir=tmp_path)
    init_database(app)
    with pytest.raises(DBAPIError, match="append-only"):
        with app.db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_events SET actor = 'x'"))
    with pytest.raises(DBAPIError, match="append-only"):
        with app.db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_events"))
    app.db.dispose()


def test_exported_trail_verifies_with_the_readme_recipe(make_app, tmp_path):
    """The 20-line recipe in the README, run on its own, accepts an export and catches a change."""
    app = make_app("auditor")
    _fill(app)
    out = tmp_path / "trail.jsonl"
    export_trail(app, str(out))
    assert verify_file(str(out)).ok
    recipe = textwrap.dedent('''
        import hashlib, json, sys
        prev, seq = "0" * 64, 0
        for line in open(sys.argv[1], encoding="utf-8"):
            e = json.loads(line)
            seq += 1
            body = {k: e[k] for k in ("seq", "at", "actor", "role", "action",
                                       "object_type", "object_id", "reason")}
            body["before"] = json.loads(e["before"])
            body["after"] = json.loads(e["after"])
            canonical = json.dumps(body, sort_keys=True, separators=(",", ":"),
                                   ensure_ascii=False)
            h = hashlib.sha256((prev + canonical).encode("utf-8")).hexdigest()
            if e["seq"] != seq or e["prev_hash"] != prev or e["hash"] != h:
                sys.exit(f"broken at event {e['seq']}")
            prev = h
        print(f"ok: {seq} events, head {prev}")
    ''')
    script = tmp_path / "verify_trail.py"
    script.write_text(recipe, encoding="utf-8")
    ok = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok:")
    lines = out.read_text(encoding="utf-8").splitlines()
    ev = json.loads(lines[3])
    ev["actor"] = "someone else"
    lines[3] = json.dumps(ev, ensure_ascii=False)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True)
    assert bad.returncode != 0 and "broken at event 4" in bad.stderr
    assert not verify_file(str(out)).ok


def test_readme_contains_the_recipe():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert 'hashlib.sha256((prev + canonical).encode("utf-8")).hexdigest()' in readme


def test_query_filters(make_app):
    app = make_app("auditor")
    _fill(app, 3)
    with app.db.write() as conn:
        app.audit(conn, "decision.flag", "message", 7, after={"decision": "journal"}, reason="klage")
    got = list(query(app, AuditFilter(action="decision.*")))
    assert [e["object_id"] for e in got] == ["7"]
    got = list(query(app, AuditFilter(object_type="thing", object_id="1")))
    assert len(got) == 1 and json.loads(got[0]["after"])["v"] == 2
    assert list(query(app, AuditFilter(actor="nobody"))) == []
    assert len(list(query(app, AuditFilter(decisions_only=True)))) == 1


def test_wildcards_in_filters_match_literally(make_app):
    """Issue 15 item 8: `--action '_*'` and `--export %` matched every event."""
    app = make_app("auditor")
    _fill(app, 3)
    with app.db.write() as conn:
        app.audit(conn, "export.noark5", "export", "0fb42748-501f", after={})
        app.audit(conn, "x_y.event", "thing", 99, after={})
    assert list(query(app, AuditFilter(action="_*"))) == []
    assert list(query(app, AuditFilter(action="%*"))) == []
    assert [e["action"] for e in query(app, AuditFilter(action="x_*"))] == ["x_y.event"]
    assert list(query(app, AuditFilter(export_id="%"))) == []
    assert list(query(app, AuditFilter(export_id="_fb"))) == []
    assert [e["object_id"] for e in query(app, AuditFilter(export_id="0fb4"))] == ["0fb42748-501f"]


@pytest.mark.parametrize("content,words", [
    (None, "no such file"),
    (b"", "empty — no audit events"),
    (b"\n\n", "empty — no audit events"),
    (b'{"a": 1}\n', ":1: not an audit event"),
    (b'{"seq": 1,\n', ":1: not a JSON line"),
    (b"\xff\xfe\n", ":1: not UTF-8"),
    (b"[" * 100_000 + b"\n", ":1: not a JSON line"),
])
def test_verify_file_refuses_what_is_not_a_trail(make_app, tmp_path, content, words):
    from ringebu_journal.errors import UsageError

    make_app("auditor")
    f = tmp_path / "trail.jsonl"
    if content is not None:
        f.write_bytes(content)
    with pytest.raises(UsageError, match=words):
        verify_file(str(f))


def test_verify_file_refuses_devices_folders_and_link_loops(tmp_path):
    from ringebu_journal.errors import UsageError

    os.symlink(tmp_path / "b", tmp_path / "a")
    os.symlink(tmp_path / "a", tmp_path / "b")
    for path, words in (("/dev/zero", "a device"), (str(tmp_path), "is a folder"), (str(tmp_path / "a"), "loop")):
        with pytest.raises(UsageError, match=words):
            verify_file(path)


def test_verify_file_from_a_pipe(make_app, tmp_path):
    app = make_app("auditor")
    _fill(app, 4)
    out = tmp_path / "t.jsonl"
    export_trail(app, str(out))
    r, w = os.pipe()
    t = threading.Thread(target=lambda: (os.write(w, out.read_bytes()), os.close(w)))
    t.start()
    try:
        res = verify_file(f"/dev/fd/{r}")
    finally:
        t.join()
        os.close(r)
    assert res.ok and res.checked >= 4
