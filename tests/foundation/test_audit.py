"""The audit trail detects every single modification, deletion, insertion and reordering."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timezone

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
        assert audit.verify(conn, head=exported.last_hash).ok
    _tamper(app, "DELETE FROM audit_events WHERE seq >= (SELECT max(seq) - 1 FROM audit_events)")
    with app.db.read() as conn:
        assert audit.verify(conn).ok  # a shorter chain is whole by itself ...
        res = audit.verify(conn, head=exported.last_hash)
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
    forged["canonical"] = audit.record_bytes(forged)
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
    export_lines = out.read_text(encoding="utf-8").splitlines()
    recipe = _readme_recipe()
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
    # the authenticated identity is in the hashed record too: changing it alone is caught
    lines = [json.loads(x) for x in export_lines]
    assert all(x["identity"] == app.identity for x in lines[1:])
    lines[2]["identity"] = "someone else"
    out.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    bad = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True)
    assert bad.returncode != 0 and "broken at event 3" in bad.stderr
    assert not verify_file(str(out)).ok


def _readme_recipe() -> str:
    """The Python block of README's "Verify the trail without this program", as printed there."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Verify the trail without this program", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_contains_the_recipe():
    recipe = _readme_recipe()
    assert 'hashlib.sha256((prev + canonical).encode("utf-8")).hexdigest()' in recipe
    assert 'body["identity"] = e["identity"]' in recipe


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


# --- the stored record bytes and the columns people read must agree --------------------------

def _canonical(app, seq: int) -> bytes:
    with app.db.read() as conn:
        return bytes(conn.execute(text("SELECT canonical FROM audit_events WHERE seq = :s"), {"s": seq}).scalar_one())


def test_every_event_stores_the_bytes_it_hashes(make_app):
    app = make_app("auditor")
    _fill(app)
    with app.db.read() as conn:
        for ev in audit.iter_events(conn):
            canon = _canonical(app, ev["seq"])
            assert canon == audit.record_bytes(ev)
            assert audit.hashlib.sha256(ev["prev_hash"].encode() + canon).hexdigest() == ev["hash"]


def test_editing_a_column_only_is_caught(make_app):
    """The chain over the stored bytes is untouched; only the column people read says otherwise."""
    app = make_app("auditor")
    _fill(app)
    _tamper(app, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 4")
    res = _verify(app)
    assert not res.ok and res.seq == 4
    assert "columns (actor)" in res.problem and "modified" in res.problem


def test_editing_each_shown_column_is_caught_and_named(make_app):
    app = make_app("auditor")
    _fill(app)
    with app.db.read() as conn:
        seq = conn.execute(text("SELECT seq FROM audit_events WHERE reason = 'reason 0'")).scalar_one()
    edits = {"at": "2020-01-01T00:00:00.000000Z", "role": "admin", "action": "test.other",
             "object_type": "other", "object_id": "99", '"before"': '{"v":42}', '"after"': "null",
             "reason": None, "identity": "someone-else"}
    for column, value in edits.items():
        with app.db.read() as conn:
            original = conn.execute(text(f"SELECT {column} FROM audit_events WHERE seq = :s"), {"s": seq}).scalar_one()
        _tamper(app, f"UPDATE audit_events SET {column} = :v WHERE seq = :s", v=value, s=seq)
        res = _verify(app)
        assert not res.ok and res.seq == seq, column
        assert f"columns ({column.strip(chr(34))})" in res.problem, res.problem
        _tamper(app, f"UPDATE audit_events SET {column} = :v WHERE seq = :s", v=original, s=seq)
        assert _verify(app).ok, column
    # emptying the identity column is an edit too (the record says who it was)
    _tamper(app, "UPDATE audit_events SET identity = NULL WHERE seq = :s", s=seq)
    res = _verify(app)
    assert not res.ok and res.seq == seq and "columns (identity)" in res.problem


def test_editing_the_stored_bytes_only_is_caught(make_app):
    """The columns still say what was chained, but the stored record no longer matches its hash."""
    app = make_app("auditor")
    _fill(app)
    with app.db.read() as conn:
        seq = conn.execute(text("SELECT seq FROM audit_events WHERE reason = 'reason 1'")).scalar_one()
    canon = _canonical(app, seq)
    forged = canon.replace(b'"reason":"reason 1"', b'"reason":"reason X"')
    assert forged != canon
    _tamper(app, "UPDATE audit_events SET canonical = :c WHERE seq = :s", c=forged, s=seq)
    res = _verify(app)
    assert not res.ok and res.seq == seq
    assert "stored record does not match its hash" in res.problem


def test_missing_stored_bytes_are_caught(make_app):
    app = make_app("auditor")
    _fill(app)
    _tamper(app, "UPDATE audit_events SET canonical = :c WHERE seq = 2", c=b"")
    res = _verify(app)
    assert not res.ok and res.seq == 2 and "modified" in res.problem


def test_editing_columns_and_bytes_together_is_caught(make_app):
    """Rewriting one event consistently (columns and bytes) still breaks its hash."""
    app = make_app("auditor")
    _fill(app)
    _tamper(app, "UPDATE audit_events SET reason = 'changed' WHERE seq = 6")
    with app.db.read() as conn:
        ev = next(e for e in audit.iter_events(conn) if e["seq"] == 6)
    _tamper(app, "UPDATE audit_events SET canonical = :c WHERE seq = 6", c=audit.record_bytes(ev))
    res = _verify(app)
    assert not res.ok and res.seq == 6 and "does not match its hash" in res.problem


def test_shifting_the_cut_between_after_at_and_before_is_caught(make_app):
    """A value holding a nested {"at": …, "before": …} lets forged columns concatenate to the
    genuine record's bytes (here: a back-dated ``at``); verify must not accept that."""
    app = make_app("auditor")
    with app.db.write() as conn:
        ev = app.audit(conn, "test.nested", "thing", 1, after={"x": {"a": 1, "at": "2020-01-01", "before": 5}})
    seq = ev["seq"]
    with app.db.read() as conn:
        row = conn.execute(text('SELECT at, "before", "after" FROM audit_events WHERE seq = :s'), {"s": seq}).one()
    assert row.after == '{"x":{"a":1,"at":"2020-01-01","before":5}}'
    forged_after = '{"x":{"a":1'
    forged_at = "2020-01-01"
    forged_before = f'5}}}},"at":"{row.at}","before":{row.before}'
    joined = lambda a, t, b: f'{a},"at":{json.dumps(t)},"before":{b}'  # noqa: E731
    assert joined(forged_after, forged_at, forged_before) == joined(row.after, row.at, row.before)
    _tamper(app, 'UPDATE audit_events SET "after" = :a, at = :t, "before" = :b WHERE seq = :s',
            a=forged_after, t=forged_at, b=forged_before, s=seq)
    res = _verify(app)
    assert not res.ok and res.seq == seq and "modified" in res.problem


def test_equivalent_column_text_verifies_like_the_recipe(make_app):
    """before/after text that decodes to the same value (as the recipe reads it) is not a change."""
    app = make_app("auditor")
    _fill(app)
    _tamper(app, 'UPDATE audit_events SET "before" = :v WHERE reason = :r', v='{ "v" : 1 }', r="reason 1")
    res = _verify(app)
    assert res.ok, res.line()


def test_values_canonical_only_after_a_round_trip_verify(make_app):
    """A dict with integer keys sorts differently once its keys are text: stored as re-encoded."""
    app = make_app("auditor")
    with app.db.write() as conn:
        ev = app.audit(conn, "test.keys", "thing", 1, after={2: "b", 10: "a"})
    assert ev["after"] == '{"10":"a","2":"b"}'
    assert _verify(app).ok


def test_verify_reads_in_batches(make_app):
    app = make_app("auditor")
    _fill(app, 12)
    with app.db.read() as conn:
        whole = audit.verify(conn)
        small = audit.verify(conn, batch=5)
    assert whole.ok and small.ok and whole.head == small.head and whole.checked == small.checked
    _tamper(app, "UPDATE audit_events SET object_id = '77' WHERE seq = 11")
    with app.db.read() as conn:
        res = audit.verify(conn, batch=5)
    assert not res.ok and res.seq == 11 and "object_id" in res.problem


def test_upgrade_fills_the_stored_bytes_without_changing_a_hash(db_url, tmp_path):
    """A database of schema 0001 (no stored bytes) upgrades; every hash stays, verify passes,
    and an event changed before the upgrade is still named after it."""
    from alembic import command

    from ringebu_journal.app import App, init_database
    from ringebu_journal.db import migrate
    from ringebu_journal.db.engine import Database
    from ringebu_journal.db.tables import User
    from ringebu_journal.errors import PermissionRefused

    db = Database(db_url)
    with db.write() as conn:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    prev = audit.GENESIS
    old = []
    for seq in range(1, 8):
        ev = {"seq": seq, "at": audit.now_text(), "actor": "kari", "role": "archivist", "action": "test.old",
              "object_type": "thing", "object_id": str(seq), "before": audit.canonical_json({"n": seq}),
              "after": audit.canonical_json({"n": seq + 1, "txt": "blåbær ✓", "k": {2: "b", 10: "a"}}),
              "reason": None if seq % 2 else f"grunn {seq}"}
        ev["prev_hash"] = prev
        ev["hash"] = prev = audit.event_hash(prev, ev)
        old.append(ev)
    with db.write() as conn:
        for ev in old:
            cols = ", ".join(f'"{k}"' for k in ev)
            conn.execute(text(f"INSERT INTO audit_events ({cols}) VALUES ({', '.join(':' + k for k in ev)})"), ev)
        conn.execute(User.__table__.insert().values(name="admin", role="admin", active=True,
                                                   created_at=datetime.now(timezone.utc), created_by="admin"))
    db.dispose()

    # someone who may not upgrade is refused, and the refusal is audited on the old schema
    with pytest.raises(PermissionRefused):
        init_database(App.open(db_url, actor="kari", data_dir=tmp_path / "data"))
    app = App.open(db_url, actor="admin", data_dir=tmp_path / "data")
    init_database(app)  # upgrades to head and appends its own events
    with app.db.read() as conn:
        after_upgrade = {e["seq"]: e["hash"] for e in audit.iter_events(conn)}
        res = audit.verify(conn)
    assert res.ok, res.line()
    assert all(after_upgrade[ev["seq"]] == ev["hash"] for ev in old)
    assert res.checked > len(old) + 1
    refusal = list(query(app, AuditFilter(action="command.refused")))
    assert [e["actor"] for e in refusal] == ["kari"]
    app.db.dispose()


def test_upgrade_keeps_an_earlier_change_visible(db_url, tmp_path):
    from alembic import command

    from ringebu_journal.app import App, init_database
    from ringebu_journal.db import migrate
    from ringebu_journal.db.engine import Database
    from ringebu_journal.db.tables import User

    db = Database(db_url)
    with db.write() as conn:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    prev = audit.GENESIS
    with db.write() as conn:
        for seq in range(1, 5):
            ev = {"seq": seq, "at": audit.now_text(), "actor": "kari", "role": "archivist", "action": "test.old",
                  "object_type": "thing", "object_id": str(seq), "before": "null", "after": '{"n":1}',
                  "reason": None}
            ev["prev_hash"] = prev
            ev["hash"] = prev = audit.event_hash(prev, ev)
            cols = ", ".join(f'"{k}"' for k in ev)
            conn.execute(text(f"INSERT INTO audit_events ({cols}) VALUES ({', '.join(':' + k for k in ev)})"), ev)
        conn.execute(User.__table__.insert().values(name="admin", role="admin", active=True,
                                                   created_at=datetime.now(timezone.utc), created_by="admin"))
    db.dispose()

    app = App.open(db_url, actor="admin", data_dir=tmp_path / "data")
    _tamper(app, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    _tamper(app, 'UPDATE audit_events SET "after" = :v WHERE seq = 3', v="not json")
    init_database(app)
    res = _verify(app)
    assert not res.ok and res.seq == 2 and "does not match its hash" in res.problem
    assert _canonical(app, 3) == b""  # not JSON: nothing that could match a hash
    app.db.dispose()


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
