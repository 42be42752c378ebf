"""X archive and Facebook export, built by the tests as zip and as folder."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from ringebu_journal.db.tables import Account, Attachment, Message
from ringebu_journal.importers import run


def rows(app):
    with app.db.read() as conn:
        return {r.platform_message_id: r for r in conn.execute(select(Message.__table__).where(
            Message.__table__.c.is_current == True))}  # noqa: E712


def write_tree(root: Path, files: dict[str, bytes | str]) -> None:
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def write_zip(path: Path, files: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def x_archive() -> dict[str, bytes | str]:
    tweets = [{"tweet": {"edit_info": {"initial": {"editTweetIds": ["1790000000000000001"], "editsRemaining": "5"}},
                         "id_str": "1790000000000000001", "created_at": "Tue May 14 08:12:00 +0000 2024",
                         "full_text": "Brøyting: Fv. 27 er stengt ved Frya i natt.", "in_reply_to_status_id_str": None,
                         "extended_entities": {"media": [{"media_url": "http://pbs.twimg.com/media/Frya.jpg", "type": "photo"}]},
                         "lang": "no"}},
              {"tweet": {"id_str": "1790000000000000002", "created_at": "Tue May 14 09:00:00 +0000 2024",
                         "full_text": "@kari Vegen er åpen igjen.", "in_reply_to_status_id_str": "1780000000000000009",
                         "in_reply_to_screen_name": "kari"}}]
    part2 = [{"tweet": {"id_str": "1790000000000000003", "created_at": "Wed May 15 09:00:00 +0000 2024",
                        "full_text": "Del 2"}}]
    dms = [{"dmConversation": {"conversationId": "999-555", "messages": [
        {"messageCreate": {"id": "m1", "senderId": "555", "recipientId": "999", "text": "Hei, når tømmes søpla?",
                           "createdAt": "2024-05-14T10:00:00.000Z", "mediaUrls": []}},
        {"messageCreate": {"id": "m2", "senderId": "999", "recipientId": "555", "text": "På fredag.",
                           "createdAt": "2024-05-14T10:05:00.000Z", "mediaUrls": []}}]}}]
    group = [{"dmConversation": {"conversationId": "g-1", "messages": [
        {"joinConversation": {"initiatingUserId": "555"}},
        {"messageCreate": {"id": "g1", "senderId": "777", "text": "Gruppemelding", "createdAt": "2024-05-16T10:00:00.000Z"}}]}}]
    return {
        "data/account.js": "window.YTD.account.part0 = " + json.dumps([{"account": {"accountId": "999", "username": "ringebukommune",
                                                                                     "accountDisplayName": "Ringebu kommune"}}]),
        "data/tweets.js": "window.YTD.tweets.part0 = " + json.dumps(tweets, ensure_ascii=False, indent=2),
        "data/tweets-part1.js": "window.YTD.tweets.part1 = " + json.dumps(part2) + ";",
        "data/direct-messages.js": "window.YTD.direct_messages.part0 = " + json.dumps(dms, ensure_ascii=False),
        "data/direct-messages-group.js": "window.YTD.direct_messages_group.part0 = " + json.dumps(group),
        "data/tweets_media/1790000000000000001-Frya.jpg": b"\xff\xd8Frya",
        "data/direct_messages_media/m1-sopla.jpg": b"\xff\xd8sopla",
    }


@pytest.mark.parametrize("form", ["zip", "folder"])
def test_x_archive(app, tmp_path, form):
    files = x_archive()
    if form == "zip":
        path = write_zip(tmp_path / "twitter-2024.zip", files)
    else:
        write_tree(tmp_path / "twitter", files)
        path = tmp_path / "twitter"
    s = run.import_x_archive(app, str(path))
    assert s.rejected == 0, s.counts["rejections"]
    assert s.counts["platforms"]["x"]["new"] == 6
    r = rows(app)
    assert r["1790000000000000001"].kind == "post" and r["1790000000000000001"].author_is_municipality
    assert r["1790000000000000001"].extra["edit_info"]["initial"]["editsRemaining"] == "5"
    assert r["1790000000000000002"].kind == "reply" and r["1790000000000000002"].parent_platform_id == "1780000000000000009"
    assert not r["m1"].author_is_municipality and r["m1"].author_id == "555"      # incoming: the citizen's
    assert r["m2"].author_is_municipality and r["m1"].conversation_id == "999-555"
    assert r["g1"].conversation_id == "g-1"
    with app.db.read() as conn:
        atts = {a.filename: a for a in conn.execute(select(Attachment.__table__))}
        own = conn.execute(select(Account.__table__).where(Account.__table__.c.own == True)).all()  # noqa: E712
    assert set(atts) == {"1790000000000000001-Frya.jpg", "m1-sopla.jpg"}
    assert (app.data_dir / atts["m1-sopla.jpg"].stored_path).read_bytes() == b"\xff\xd8sopla"
    assert [(a.platform, a.platform_id) for a in own] == [("x", "999")]
    assert run.import_x_archive(app, str(path)).already


def _moj(s: str) -> str:
    """Facebook's export encoding: each UTF-8 byte as its own \\u00XX escape."""
    return s.encode("utf-8").decode("latin-1")


def fb_export(layout: str) -> dict[str, bytes | str]:
    posts = [{"timestamp": 1714637730,
              "attachments": [{"data": [{"media": {"uri": "posts/media/your_posts/4401_n.jpg", "creation_timestamp": 1714637735,
                                                   "title": "", "description": _moj("Vannledningsbrudd")}}]}],
              "data": [{"post": _moj("Vannledningsbrudd i Sentrumsvegen. Hvornår åpner Rønnaug båthavn? 😠")},
                       {"update_timestamp": 1714637730}],
              "title": "Ringebu kommune updated their status."},
             {"timestamp": 1714640000, "attachments": [{"data": [{"external_context": {"url": "https://www.ringebu.kommune.no/"}}]}],
              "data": [{"post": "Already correct: Ã¸ is kept when it does not round-trip? no — plain ASCII here"}]}]
    comments = {"comments_v2": [{"timestamp": 1714640500, "data": [{"comment": {
        "timestamp": 1714640500, "comment": _moj("Hei Kari, ja – Nedre gate er også berørt."), "author": "Ringebu kommune"}}],
        "title": "Ringebu kommune replied to Kari Nordmann's comment."}]}
    thread = {"participants": [{"name": _moj("Bjørn Ødegård")}, {"name": "Ringebu kommune"}],
              "title": _moj("Bjørn Ødegård"),
              "messages": [{"sender_name": _moj("Bjørn Ødegård"), "timestamp_ms": 1714640600123,
                            "content": _moj("Når kommer brøytebilen?"), "photos": [{"uri": "messages/inbox/bjrnodegard_123/photos/1.jpg"}]},
                           {"sender_name": "Ringebu kommune", "timestamp_ms": 1714640700000, "content": "I natt."},
                           {"sender_name": _moj("Bjørn Ødegård"), "timestamp_ms": 1714640800000, "is_unsent": True}]}
    if layout == "old":
        base = {"posts/your_posts_1.json": posts, "comments/comments.json": comments,
                "messages/inbox/bjrnodegard_123/message_1.json": thread}
        media = {"posts/media/your_posts/4401_n.jpg": b"JPEGpost", "messages/inbox/bjrnodegard_123/photos/1.jpg": b"JPEGmsg"}
    elif layout == "2022":
        base = {"your_activity_across_facebook/posts/your_posts__check_ins__photos_and_videos_1.json": posts,
                "your_activity_across_facebook/messages/inbox/bjrnodegard_123/message_1.json": thread}
        media = {"your_activity_across_facebook/posts/media/your_posts/4401_n.jpg": b"JPEGpost",
                 "your_activity_across_facebook/messages/inbox/bjrnodegard_123/photos/1.jpg": b"JPEGmsg"}
    else:
        base = {"your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json": posts,
                "your_facebook_activity/comments_and_reactions/comments.json": comments,
                "your_facebook_activity/messages/inbox/bjrnodegard_123/message_1.json": thread}
        media = {"your_facebook_activity/posts/media/your_posts/4401_n.jpg": b"JPEGpost",
                 "your_facebook_activity/messages/inbox/bjrnodegard_123/photos/1.jpg": b"JPEGmsg"}
    out: dict[str, bytes | str] = {k: json.dumps(v) for k, v in base.items()}   # ASCII with \u00XX escapes
    out.update(media)
    return out


@pytest.mark.parametrize("layout,form", [("old", "folder"), ("2022", "zip"), ("2024", "zip"), ("2024", "folder")])
def test_facebook_export(app, tmp_path, layout, form):
    files = fb_export(layout)
    if form == "zip":
        path = write_zip(tmp_path / "facebook-ringebu.zip", files)
    else:
        write_tree(tmp_path / "facebook-ringebu", files)
        path = tmp_path / "facebook-ringebu"
    s = run.import_facebook_export(app, str(path))
    assert s.rejected == 0, s.counts["rejections"]
    r = rows(app)
    texts = {m.text for m in r.values()}
    assert "Vannledningsbrudd i Sentrumsvegen. Hvornår åpner Rønnaug båthavn? 😠" in texts
    assert "Når kommer brøytebilen?" in texts
    msg = next(m for m in r.values() if m.text == "Når kommer brøytebilen?")
    assert msg.author_name == "Bjørn Ødegård" and not msg.author_is_municipality and msg.platform == "messenger"
    assert msg.extra["mojibake_repairs"] >= 2
    assert "\\u00c3\\u00b8" in msg.raw or "Ã¸" in msg.raw                      # raw keeps the original
    reply = next(m for m in r.values() if m.text == "I natt.")
    assert reply.author_is_municipality
    assert any(m.status == "deleted" for m in r.values())                      # is_unsent
    assert s.counts["mojibake_repairs"] >= 4
    if layout != "2022":
        assert "Hei Kari, ja – Nedre gate er også berørt." in texts
    with app.db.read() as conn:
        atts = conn.execute(select(Attachment.__table__).where(Attachment.__table__.c.sha256 != None)).all()  # noqa: E711
    assert len(atts) == 2


def test_mojibake_repair_only_where_it_round_trips():
    from ringebu_journal.importers.textutil import fix_mojibake
    assert fix_mojibake(_moj("Bjørn Ødegård")) == "Bjørn Ødegård"
    assert fix_mojibake("Bjørn") == "Bjørn"               # a real ø alone does not decode as UTF-8: kept
    assert fix_mojibake("Ringebu – 😠") == "Ringebu – 😠"   # above U+00FF: kept
