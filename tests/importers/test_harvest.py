"""Harvest against a local Graph API stand-in: pagination, back-off, token expiry, 100/33."""

from __future__ import annotations

import json

from sqlalchemy import select

from imp_helpers import db_args
from graph_server import IG, PAGE, GraphServer
from ringebu_journal.db.tables import Attachment, AuditEvent, Capture, ImportBatch, Message
from ringebu_journal.importers import graph, run

TOKEN = "EAAG-secret-test-token-0123456789"
FAST = {"RINGEBU_JOURNAL_FB_TOKEN": TOKEN, "RINGEBU_JOURNAL_ACTOR": "arkiv"}


def fast_config(base: str) -> graph.HarvestConfig:
    slept: list[float] = []
    cfg = graph.HarvestConfig(base_url=base, timeout=5, backoff_base=0.001, backoff_max=0.01, usage_pause=0.001,
                              sleep=slept.append)
    cfg.slept = slept  # type: ignore[attr-defined]
    return cfg


def all_text(app) -> str:
    """Everything the database holds, as text (to look for the token)."""
    parts = []
    with app.db.read() as conn:
        for t in (Message.__table__, Capture.__table__, AuditEvent.__table__, ImportBatch.__table__):
            for row in conn.execute(select(t)):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_harvest_paginates_backs_off_and_imports(app, tmp_path):
    out = tmp_path / "dump.jsonl"
    with GraphServer(TOKEN) as srv:
        cfg = fast_config(srv.base)
        res = graph.harvest(app, token=TOKEN, page_id=PAGE, instagram_user_id=IG, out=out, config=cfg)
    assert res.stopped is None
    assert res.retried == 3                      # 400/code 4, 429 and 500 were each retried once
    assert res.not_retrievable == 1              # t_999 messages: 100/33
    assert res.attachments == 4
    assert len(cfg.slept) >= 3                   # backed off (and slowed down at 85 % usage)
    # every request carried the token in the header only
    assert all(r["auth"] == f"Bearer {TOKEN}" for r in srv.requests if not r["path"].startswith("/media/"))
    assert all("access_token" not in r["query"] for r in srv.requests)
    dump = out.read_text(encoding="utf-8")
    assert TOKEN not in dump
    assert "access_token=REDACTED" in dump       # the echoed paging.next was scrubbed, not dropped
    lines = [json.loads(x) for x in dump.splitlines()]
    reqs = [x for x in lines if "request" in x]
    assert all(x["request"]["retrieved_at"].endswith("Z") for x in reqs)
    assert sum(1 for x in reqs if x.get("retried")) == 3
    paths = [x["request"]["url"].split("?")[0].rsplit("/", 2)[-2:] for x in reqs]
    assert ["104123456789012_871234567890123", "comments"] in paths    # nested paging followed
    assert [PAGE, "feed"] in paths

    summary = run.import_facebook_dump(app, [str(out)])
    plats = summary.counts["platforms"]
    assert plats["facebook"]["new"] == 8          # 3 posts + 5 comments/replies over both feed pages
    assert plats["messenger"]["new"] == 3
    assert plats["instagram"]["new"] == 4         # media, comment, reply, DM
    assert summary.rejected == 0
    assert summary.counts["not_retrievable_unknown"] == 1      # t_999 was never stored before
    with app.db.read() as conn:
        rows = {r.platform_message_id: r for r in conn.execute(select(Message.__table__))}
        atts = conn.execute(select(Attachment.__table__)).all()
    reply = rows["871234567890123_1122334455669999"]
    assert reply.kind == "reply" and reply.author_is_municipality
    assert reply.parent_platform_id == "871234567890123_1122334455667788"
    assert reply.post_platform_id == "104123456789012_871234567890123"
    assert rows["871234567890777_2000000000000001"].author_id is None       # from withheld
    assert rows["m_AbC124"].author_is_municipality and not rows["m_AbC123"].author_is_municipality
    assert rows["17890000000000002"].kind == "reply" and rows["17890000000000002"].author_is_municipality
    assert len(atts) == 4 and all(a.sha256 and (app.data_dir / a.stored_path).is_file() for a in atts)
    assert TOKEN not in all_text(app)


def test_harvest_cli_expired_token_stops_keeps_what_was_fetched(app, tmp_path, run_cli):
    out = tmp_path / "dump.jsonl"
    with GraphServer(TOKEN, expired_token_on_inbox=True) as srv:
        code, stdout, stderr = run_cli(db_args(app) + [
            "harvest", "facebook", "--page-id", PAGE, "--out", str(out), "--import", "--base-url", srv.base,
            "--backoff", "0.001"],
            env={**FAST, "RINGEBU_JOURNAL_GRAPH_URL": srv.base})
    assert code == 2
    assert "expired" in stderr and "RINGEBU_JOURNAL_FB_TOKEN" in stderr
    assert TOKEN not in stdout + stderr
    assert "Traceback" not in stderr
    dump = out.read_text(encoding="utf-8")
    assert TOKEN not in dump
    with app.db.read() as conn:
        n = conn.execute(select(Message.__table__.c.id).where(Message.__table__.c.platform == "facebook")).all()
    assert len(n) == 8                                  # the feed was fetched and imported before the stop
    assert TOKEN not in all_text(app)


def test_harvest_without_token_is_a_usage_error(app, run_cli, monkeypatch):
    monkeypatch.delenv("RINGEBU_JOURNAL_FB_TOKEN", raising=False)
    code, _out, err = run_cli(db_args(app) + ["harvest", "facebook", "--page-id", PAGE],
                              env={"RINGEBU_JOURNAL_ACTOR": "arkiv"})
    assert code == 2 and "RINGEBU_JOURNAL_FB_TOKEN" in err


def test_not_retrievable_recorded_for_known_object(app, tmp_path):
    """A stored message that later answers 100/33 gets a new version 'not_retrievable', never 'deleted'."""
    dump = tmp_path / "d.jsonl"
    ok = {"request": {"method": "GET", "url": f"https://graph.facebook.com/v25.0/{PAGE}/feed",
                      "retrieved_at": "2024-05-02T10:00:00Z"}, "status": 200,
          "body": {"data": [{"id": f"{PAGE}_1", "message": "Hei", "created_time": "2024-05-02T08:00:00+0000",
                             "from": {"id": PAGE, "name": "Ringebu kommune"}}]}}
    gone = {"request": {"method": "GET", "url": f"https://graph.facebook.com/v25.0/{PAGE}_1",
                        "retrieved_at": "2024-05-03T10:00:00Z"}, "status": 400,
            "body": {"error": {"message": "Unsupported get request.", "type": "GraphMethodException", "code": 100,
                               "error_subcode": 33}}, "context": {"platform": "facebook", "account_id": PAGE}}
    dump.write_text(json.dumps(ok) + "\n" + json.dumps(gone) + "\n", encoding="utf-8")
    s = run.import_facebook_dump(app, [str(dump)])
    assert s.counts["not_retrievable"] == 1 and s.rejected == 0
    with app.db.read() as conn:
        rows = conn.execute(select(Message.__table__).order_by(Message.__table__.c.version)).all()
    assert [(r.version, r.status, r.is_current) for r in rows] == [(1, "active", False), (2, "not_retrievable", True)]
    assert rows[1].previous_id == rows[0].id and rows[1].text == "Hei"
