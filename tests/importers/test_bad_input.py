"""Bad input: each gets a clear message naming file and line or entry; the good rest is imported."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from imp_helpers import PAGE, db_args, dump_line, feed_body
from ringebu_journal.db.tables import AuditEvent, Message
from ringebu_journal.importers import run, sources


def texts(app):
    with app.db.read() as conn:
        return {r.platform_message_id: r.text for r in conn.execute(select(Message.__table__))}


FEED = f"https://graph.facebook.com/v25.0/{PAGE}/feed"


def test_dump_with_every_kind_of_bad_line(app, tmp_path, run_cli):
    good = dump_line(feed_body([("1", "God post", [("11", "God kommentar", None)])]), FEED)
    big = "x" * 2_000_000
    lines = [
        good,
        good[: len(good) // 2],                                                           # 2 truncated JSON
        dump_line({"error": {"message": "(#100) Object does not exist", "type": "OAuthException", "code": 100}},
                  f"https://graph.facebook.com/v25.0/{PAGE}_9/comments", status=400),      # 3 error object
        dump_line(feed_body([("2", big, [])]), FEED),                                     # 4 a 2 MB message
        dump_line({"data": [{"message": "uten id", "created_time": "2024-05-02T08:15:30+0000"}]}, FEED),  # 5 no id
        dump_line(feed_body([("3", "NUL\u0000 og \u0007 bjelle og \ud800 ensom", [])]), FEED, ascii=True),  # 6
        '{"request": "nope"}',                                                              # 7 not a dump line
    ]
    d = tmp_path / "d.jsonl"
    with open(d, "wb") as fh:
        for ln in lines:
            fh.write(ln.encode("utf-8", "surrogatepass") + b"\n")
        fh.write(b'{"request": {"url": "x"}, "body": {"data": [{"id": "\xff\xfe"}]}}\n')   # 8 wrong encoding
    code, out, err = run_cli(db_args(app) + ["import", "facebook-dump", str(d)], env={"RINGEBU_JOURNAL_ACTOR": "arkiv"})
    assert code == 1, err
    assert "Traceback" not in err
    for n, words in ((2, "not valid JSON"), (3, "Graph API error 100"), (4, "limit is 1,000,000"),
                     (5, "without an id"), (7, "not a dump line"), (8, "not UTF-8")):
        assert any(f"d.jsonl:line {n}" in ln and words in ln for ln in out.splitlines()), (n, out)
    t = texts(app)
    assert t[f"{PAGE}_1"] == "God post" and t["1_11"] == "God kommentar"
    assert t[f"{PAGE}_3"] == "NUL\ufffd og \ufffd bjelle og \ufffd ensom"       # stored text is XML-safe
    with app.db.read() as conn:
        raw = conn.execute(select(Message.__table__.c.raw).where(Message.__table__.c.platform_message_id == f"{PAGE}_3")).scalar()
        ev = conn.execute(select(AuditEvent.__table__.c.after).where(AuditEvent.__table__.c.action == "import.batch")).scalar()
    assert "\\u0000" in raw and "\\ud800" in raw                                   # raw keeps them, escaped
    assert json.loads(ev)["counts"]["rejected"] == 6


def test_line_over_the_limit_is_refused_unread(app, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_LINE_BYTES", 1000)
    from ringebu_journal.importers import graph_dump
    monkeypatch.setattr(graph_dump, "MAX_LINE_BYTES", 1000)
    d = tmp_path / "d.jsonl"
    d.write_text(dump_line(feed_body([("1", "y" * 5000, [])]), FEED) + "\n"
                 + dump_line(feed_body([("2", "kort", [])]), FEED) + "\n", encoding="utf-8")
    s = run.import_facebook_dump(app, [str(d)])
    assert s.rejected == 1 and "longer than 1,000 bytes" in s.counts["rejections"][0]["reason"]
    assert texts(app)[f"{PAGE}_2"] == "kort"


def _x_zip(path, extra: dict[str, bytes]):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data/account.js", 'window.YTD.account.part0 = [{"account": {"accountId": "999", "username": "ringebu"}}]')
        z.writestr("data/tweets.js", 'window.YTD.tweets.part0 = [{"tweet": {"id_str": "1", "full_text": "Hei", '
                   '"created_at": "Tue May 14 08:12:00 +0000 2024"}}]')
        for name, data in extra.items():
            z.writestr(name, data)
    return path


def test_zip_slip_absolute_and_bomb_are_refused(app, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_ZIP_RATIO", 50)
    z = _x_zip(tmp_path / "x.zip", {"../../evil.js": b"boom", "/etc/passwd2": b"root",
                                   "data/tweets_media/1-bomb.jpg": b"\0" * (5 * 1024 * 1024)})
    s = run.import_x_archive(app, str(z))
    reasons = [(r["place"], r["reason"]) for r in s.counts["rejections"]]
    assert any(p == "../../evil.js" and "zip slip" in r for p, r in reasons)
    assert any(p == "/etc/passwd2" and "absolute path" in r for p, r in reasons)
    assert any(p == "data/tweets_media/1-bomb.jpg" and "zip bomb" in r for p, r in reasons)
    assert texts(app) == {"1": "Hei"}
    assert not (tmp_path / "evil.js").exists() and not (tmp_path.parent / "evil.js").exists()
    # nothing outside the data folder: the only new files are attachments under data/
    written = [p for p in app.data_dir.rglob("*") if p.is_file()]
    assert all(app.data_dir in p.parents for p in written)


def test_zip_total_size_limit(app, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_ZIP_TOTAL_BYTES", 300)
    z = _x_zip(tmp_path / "x.zip", {"data/tweets_media/1-a.jpg": b"a" * 400})
    s = run.import_x_archive(app, str(z))
    assert any("more than 300 bytes" in r["reason"] for r in s.counts["rejections"])


def test_wrong_encoding_and_truncated_export_file(app, tmp_path):
    root = tmp_path / "export" / "your_facebook_activity"
    (root / "posts").mkdir(parents=True)
    (root / "comments_and_reactions").mkdir(parents=True)
    (root / "posts" / "your_posts__check_ins__photos_and_videos_1.json").write_bytes(
        '[{"timestamp": 1714637730, "data": [{"post": "Brøyting"}]}]'.encode("latin-1"))
    (root / "comments_and_reactions" / "comments.json").write_text('{"comments_v2": [{"timestamp": 1', encoding="utf-8")
    s = run.import_facebook_export(app, str(tmp_path / "export"))
    rs = {r["file"].rsplit("/", 1)[-1]: r["reason"] for r in s.counts["rejections"]}
    assert "not UTF-8" in rs["your_posts__check_ins__photos_and_videos_1.json"]
    assert "not valid JSON" in rs["comments.json"]


def test_jsonl_schema_errors_name_the_field(app, tmp_path):
    f = tmp_path / "m.jsonl"
    f.write_text("\n".join([
        json.dumps({"platform": "tiktok", "kind": "comment", "id": "t1", "text": "ok", "created_at": "2024-05-02T08:00:00Z"}),
        json.dumps({"platform": "myspace", "kind": "comment", "id": "t2", "created_at": "2024-05-02T08:00:00Z"}),
        json.dumps({"platform": "tiktok", "kind": "comment", "text": "uten id", "created_at": "2024-05-02T08:00:00Z"}),
        json.dumps({"platform": "tiktok", "kind": "comment", "id": "t4", "created_at": "2024-05-02T08:00:00Z", "colour": 1}),
    ]) + "\n", encoding="utf-8")
    s = run.import_jsonl(app, [str(f)])
    rs = {r["place"]: r["reason"] for r in s.counts["rejections"]}
    assert "platform" in rs["line 2"] and "myspace" in rs["line 2"]
    assert "'id' is a required property" in rs["line 3"]
    assert "colour" in rs["line 4"]
    assert texts(app) == {"t1": "ok"}


@pytest.mark.parametrize("content", [b"", b"\n\n"])
def test_empty_inputs_are_fine(app, tmp_path, content):
    f = tmp_path / "e.jsonl"
    f.write_bytes(content)
    s = run.import_jsonl(app, [str(f)])
    assert s.rejected == 0 and not s.stored and s.batch_id is None        # no batch for an empty input


@pytest.mark.parametrize("content", [b"", b"\n\n", b" \r\n"])
def test_an_empty_graph_dump_is_nothing_to_import_not_a_bad_line(app, tmp_path, content):
    """An empty dump file was rejected as 'line 1: not valid JSON … truncated?', a line it does not
    have; like an empty JSON Lines file it now holds nothing to import."""
    f = tmp_path / "empty-dump.jsonl"
    f.write_bytes(content)
    s = run.import_facebook_dump(app, [str(f)])
    assert s.rejected == 0 and not s.stored and s.batch_id is None


def test_a_saved_comment_node_that_begins_with_its_attachment_is_imported_not_skipped(app, tmp_path):
    """A single Graph comment node saved as it came (the platform sample, fields in alphabetical
    order, so `attachment` first) was taken for the harvester's dump because its text begins with
    {"attachment", and its one message skipped as an attachment line: 'no messages', nothing lost
    on screen but nothing imported. Truncated, it is a bad document, not an empty one."""
    sample = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "pyfb_comment_object_full.json"
    f = tmp_path / "comment.json"
    f.write_bytes(sample.read_bytes())
    s = run.import_facebook_dump(app, [str(f)])
    assert s.rejected == 0 and s.stored == 1
    cut = tmp_path / "cut.json"
    cut.write_bytes(sample.read_bytes()[:200])
    s = run.import_facebook_dump(app, [str(cut)])
    assert s.rejected == 1 and "not valid JSON" in s.counts["rejections"][0]["reason"]


def test_missing_path_is_a_usage_error(app, run_cli, tmp_path):
    code, _out, err = run_cli(db_args(app) + ["import", "jsonl", str(tmp_path / "nope.jsonl")],
                              env={"RINGEBU_JOURNAL_ACTOR": "arkiv"})
    assert code == 2 and "no such file" in err


def test_ids_with_nul_are_rejected_not_crashing(any_app, tmp_path):
    f = tmp_path / "m.jsonl"
    f.write_text("\n".join([
        json.dumps({"platform": "tiktok", "kind": "comment", "id": "bad\u0000id", "created_at": "2024-05-02T08:00:00Z"}),
        json.dumps({"platform": "tiktok", "kind": "comment", "id": "ok", "text": "a\u0000b", "created_at": "2024-05-02T08:00:00Z"}),
    ]) + "\n", encoding="utf-8")
    s = run.import_jsonl(any_app, [str(f)])
    assert s.rejected == 1 and "platform_message_id contains NUL" in s.counts["rejections"][0]["reason"]
    assert s.counts["rejections"][0]["place"] == "line 1"
    assert texts(any_app) == {"ok": "a\ufffdb"}


def test_account_fields_with_nul_or_lone_surrogates(any_app, tmp_path):
    """An account id PostgreSQL cannot store rejects its records; a broken account name is cleaned."""
    from ringebu_journal.db.tables import Account

    f = tmp_path / "m.jsonl"
    f.write_text("\n".join([
        json.dumps({"platform": "tiktok", "kind": "comment", "id": "c1", "account_id": "acc\u0000nul",
                    "text": "hei", "created_at": "2024-05-02T08:00:00Z"}),
        json.dumps({"platform": "tiktok", "kind": "comment", "id": "c2", "account_id": "acc-ok",
                    "account_name": "Ringebu \ud800 kommune", "text": "hallo", "created_at": "2024-05-02T08:00:00Z"}),
    ]) + "\n", encoding="utf-8")
    s = run.import_jsonl(any_app, [str(f)])
    assert s.rejected == 1 and "account_platform_id contains NUL" in s.counts["rejections"][0]["reason"]
    assert texts(any_app) == {"c2": "hallo"}
    with any_app.db.read() as conn:
        names = {r.platform_id: r.name for r in conn.execute(select(Account.__table__))}
    assert names == {"acc-ok": "Ringebu \ufffd kommune"}


def test_damaged_zip_member_is_a_rejection_not_a_crash(app, tmp_path):
    """A zip whose member data is damaged (an interrupted download) names the member."""
    from test_archives import fb_export

    z = tmp_path / "facebook.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in fb_export("2024").items():
            zf.writestr(name, content if isinstance(content, (bytes, str)) else json.dumps(content))
    data = bytearray(z.read_bytes())
    with zipfile.ZipFile(z) as zf:
        first = zf.infolist()[0]
    start = first.header_offset + 30 + len(first.filename.encode()) + 5
    for i in range(start, start + 20):
        data[i] ^= 0x5A
    z.write_bytes(bytes(data))
    s = run.import_facebook_export(app, str(z))
    assert s.rejected >= 1
    assert any("damaged inside the archive" in r["reason"] and first.filename in r["file"]
               for r in s.counts["rejections"]), s.counts["rejections"]
