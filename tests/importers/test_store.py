"""The store: idempotent, versioned, threads, captures, accounts, audit — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import select

from imp_helpers import PAGE, canonical, write_feed_dump
from ringebu_journal.cli.operations import command_line
from ringebu_journal import audit
from ringebu_journal.db.tables import Account, AuditEvent, Capture, Message, Thread
from ringebu_journal.importers import run
from ringebu_journal.importers.sources import InputSet
from ringebu_journal.importers.store import OwnAccount, Record, Rejection, run_import
from ringebu_journal.models import AccountIn, CaptureIn, MessageIn, MessageKind, Platform

POSTS = [("1", "Vannledningsbrudd i Sentrumsvegen.", [("11", "Gjelder dette Nedre gate?", None),
                                                       ("12", "Ja, også Nedre gate.", "11")]),
         ("2", "Kommunestyremøte torsdag.", [("21", "Takk!", None)])]


def messages(app):
    with app.db.read() as conn:
        return conn.execute(select(Message.__table__).order_by(Message.__table__.c.id)).all()


def test_same_dump_twice_adds_nothing(any_app, tmp_path):
    d = write_feed_dump(tmp_path / "d.jsonl", POSTS)
    s1 = run.import_facebook_dump(any_app, [str(d)])
    assert s1.counts["platforms"]["facebook"]["new"] == 5
    before = canonical(any_app)
    s2 = run.import_facebook_dump(any_app, [str(d)])
    assert s2.already and canonical(any_app) == before
    s3 = run.import_facebook_dump(any_app, [str(d)], again=True)
    assert s3.counts["platforms"]["facebook"] == {"new": 0, "new_versions": 0, "unchanged": 5, "rejected": 0}
    after = canonical(any_app)
    assert after["messages"] == before["messages"] and after["captures"] == before["captures"]
    # a second harvest (another capture time) of the same content: nothing new either
    d2 = write_feed_dump(tmp_path / "d2.jsonl", POSTS, when="2024-05-03T10:00:00Z")
    s4 = run.import_facebook_dump(any_app, [str(d2)])
    assert s4.counts["platforms"]["facebook"]["unchanged"] == 5 and len(messages(any_app)) == 5


def test_edit_becomes_new_version(any_app, tmp_path):
    run.import_facebook_dump(any_app, [str(write_feed_dump(tmp_path / "a.jsonl", POSTS))])
    edited = [("1", "Vannledningsbrudd i Sentrumsvegen.", [("11", "Gjelder dette Nedre gate? (rettet: nr 14)", None),
                                                          ("12", "Ja, også Nedre gate.", "11")]),
              ("2", "Kommunestyremøte torsdag.", [("21", "Takk!", None)])]
    s = run.import_facebook_dump(any_app, [str(write_feed_dump(tmp_path / "b.jsonl", edited, "2024-05-04T10:00:00Z"))])
    assert s.counts["platforms"]["facebook"]["new_versions"] == 1
    rows = [r for r in messages(any_app) if r.platform_message_id == "1_11"]
    assert [(r.version, r.is_current) for r in rows] == [(1, False), (2, True)]
    assert rows[1].previous_id == rows[0].id and "rettet" in rows[1].text and "rettet" not in rows[0].text
    assert rows[0].capture_id != rows[1].capture_id


def test_threads_captures_accounts_and_audit(any_app, tmp_path):
    d = write_feed_dump(tmp_path / "d.jsonl", POSTS)
    s = run.import_facebook_dump(any_app, [str(d)])
    with any_app.db.read() as conn:
        threads = conn.execute(select(Thread.__table__)).all()
        caps = conn.execute(select(Capture.__table__)).all()
        accs = {(a.platform_id, a.own) for a in conn.execute(select(Account.__table__))}
        events = conn.execute(select(AuditEvent.__table__).where(AuditEvent.__table__.c.action == "import.batch")).all()
    assert sorted(t.thread_key for t in threads) == [f"{PAGE}_1", f"{PAGE}_2"]
    assert len(caps) == 1 and caps[0].payload == d.read_text(encoding="utf-8").rstrip("\n")
    assert caps[0].locator == f"https://graph.facebook.com/v25.0/{PAGE}/feed" and caps[0].source == "graph-api v25.0"
    assert (PAGE, True) in accs and ("611", False) in accs
    assert len(events) == 1
    after = json.loads(events[0].after)
    assert after["input_sha256"] == s.input_sha256 and after["counts"]["platforms"]["facebook"]["new"] == 5
    assert any("accounts add facebook" in w.render(command_line) for w in s.warnings)   # the CLI's spelling
    assert any("is not in the registry of official profiles — run the account registration" in w for w in s.warnings)
    rows = {r.platform_message_id: r for r in messages(any_app)}
    assert rows["1_12"].kind == "reply" and rows["1_12"].parent_platform_id == "1_11"
    assert rows[f"{PAGE}_1"].author_is_municipality and not rows["1_11"].author_is_municipality
    assert json.loads(rows["1_11"].raw)["message"] == "Gjelder dette Nedre gate?"
    with any_app.db.read() as conn:
        assert audit.verify_events(conn.execute(select(AuditEvent.__table__).order_by(AuditEvent.__table__.c.seq))
                                   .mappings()).ok


def test_registered_own_account_gives_no_warning(any_app, tmp_path):
    with any_app.db.write() as conn:
        conn.execute(Account.__table__.insert().values(platform="facebook", platform_id=PAGE, own=True, registered=True,
                                                       closed=False, created_at=datetime.now(timezone.utc)))
    s = run.import_facebook_dump(any_app, [str(write_feed_dump(tmp_path / "d.jsonl", POSTS))])
    assert s.warnings == []


def test_repeats_within_one_chunk_and_small_chunks(any_app):
    """The same id twice in one chunk, with different text: two versions, in order."""
    cap = CaptureIn(source="test", locator="mem", retrieved_at=datetime(2024, 1, 1, tzinfo=timezone.utc), payload="x")

    def msg(i: str, text: str) -> Record:
        return Record(MessageIn(platform=Platform.other, kind=MessageKind.post, platform_message_id=i, text=text,
                                created_at=datetime(2024, 1, 1, tzinfo=timezone.utc)), json.dumps({"t": text}), cap)

    for chunk in (1, 2, 100):
        items = [OwnAccount(AccountIn(platform=Platform.other, platform_id="me", own=True)),
                 msg(f"a{chunk}", "1"), msg(f"a{chunk}", "2"), msg(f"a{chunk}", "2"), msg(f"b{chunk}", "x"),
                 Rejection("mem", "5", "test reason")]
        s = run_import(any_app, importer="test", inputs=InputSet(paths=[]), items=lambda: items,
                       chunk_size=chunk, input_sha256=f"{chunk:064d}")
        assert s.rejected == 1
        assert s.counts["platforms"]["other"] == {"new": 2, "new_versions": 1, "unchanged": 1, "rejected": 0}
        rows = sorted((r.platform_message_id, r.version, r.text, r.is_current) for r in messages(any_app)
                      if r.platform_message_id.endswith(str(chunk)))
        assert rows == [(f"a{chunk}", 1, "1", False), (f"a{chunk}", 2, "2", True), (f"b{chunk}", 1, "x", True)]
