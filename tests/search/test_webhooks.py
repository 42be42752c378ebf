"""Meta webhooks over the real HTTP route (Starlette's TestClient), on both databases: the
subscription challenge, signatures, deliveries stored verbatim and imported through the store
(new, repeated, edited, hidden, deleted), saved deliveries and the shared samples."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from ringebu_journal import webhooks
from ringebu_journal.app import App
from ringebu_journal.db.tables import AuditEvent, Capture, ImportBatch, Message
from ringebu_journal.search import search
from ringebu_journal.web import webhooks as web_webhooks

from test_search import _cli

MSG = Message.__table__
CAP = Capture.__table__
AUDIT = AuditEvent.__table__
BATCH = ImportBatch.__table__

SECRET = "s3cret-app-secret-for-tests"
TOKEN = "verify-token-for-tests"
PAGE = "871234567890123"
SAMPLES = Path("/work/shared/samples/platforms")


@pytest.fixture
def hook(make_app, db_url, monkeypatch):
    """(TestClient on the webhook route, an archivist's App) on an initialised database."""
    monkeypatch.setenv(webhooks.ENV_APP_SECRET, SECRET)
    monkeypatch.setenv(webhooks.ENV_VERIFY_TOKEN, TOKEN)
    archivist = make_app("archivist")
    server_app = App.open(db_url, actor="web")
    with TestClient(web_webhooks.application(server_app)) as client:
        yield client, archivist
    server_app.db.dispose()


def _sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _post(client, body: bytes, signature: str | None = "auto", **headers):
    h = {"Content-Type": "application/json", "User-Agent": "facebookexternalua", **headers}
    if signature == "auto":
        h["X-Hub-Signature-256"] = _sign(body)
    elif signature is not None:
        h["X-Hub-Signature-256"] = signature
    return client.post(webhooks.PATH, content=body, headers=h)


def _feed(verb: str, *, cid: str = f"{PAGE}_100_201", message: str | None = None, t: int = 1772438400,
          item: str = "comment", author=("u_kari", "Kari Haugen")) -> bytes:
    value = {"item": item, "verb": verb, "post_id": f"{PAGE}_100", "parent_id": f"{PAGE}_100",
             "from": {"id": author[0], "name": author[1]}, "created_time": t}
    if item == "comment":
        value["comment_id"] = cid
    if message is not None:
        value["message"] = message
    doc = {"object": "page", "entry": [{"id": PAGE, "time": t, "changes": [{"field": "feed", "value": value}]}]}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


def _count(app, table) -> int:
    with app.db.read() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def _versions(app, pid: str) -> list[dict]:
    with app.db.read() as conn:
        return [dict(r) for r in conn.execute(select(MSG).where(MSG.c.platform_message_id == pid)
                                              .order_by(MSG.c.version)).mappings()]


def _audit(app, action: str) -> list[dict]:
    with app.db.read() as conn:
        return [dict(r) for r in conn.execute(select(AUDIT).where(AUDIT.c.action == action)).mappings()]


# -- the subscription challenge ------------------------------------------------------------------


def test_challenge_good_and_bad_token(hook, caplog):
    client, app = hook
    r = client.get(webhooks.PATH, params={"hub.mode": "subscribe", "hub.verify_token": TOKEN,
                                          "hub.challenge": "1158201444"})
    assert r.status_code == 200 and r.text == "1158201444" and r.headers["content-type"].startswith("text/plain")
    caplog.set_level(logging.WARNING, logger="ringebu_journal.webhooks")
    r = client.get(webhooks.PATH, params={"hub.mode": "subscribe", "hub.verify_token": "guessed-token",
                                          "hub.challenge": "1158201444"})
    assert r.status_code == 403 and "1158201444" not in r.text
    refused = _audit(app, "webhook.refused")
    assert len(refused) == 1 and "verify token" in refused[0]["reason"]
    assert "guessed-token" not in json.dumps(refused, default=str) and TOKEN not in json.dumps(refused, default=str)
    assert "guessed-token" not in caplog.text and TOKEN not in caplog.text
    assert client.get(webhooks.PATH, params={"hub.mode": "unsubscribe", "hub.verify_token": TOKEN,
                                             "hub.challenge": "1"}).status_code == 400
    assert client.get(webhooks.PATH, params={"hub.mode": "subscribe", "hub.verify_token": TOKEN,
                                             "hub.challenge": "<script>"}).status_code == 400


def test_not_configured_refuses_everything(hook, monkeypatch):
    client, app = hook
    monkeypatch.delenv(webhooks.ENV_APP_SECRET)
    monkeypatch.delenv(webhooks.ENV_VERIFY_TOKEN)
    body = _feed("add", message="Hei")
    assert _post(client, body).status_code == 503
    assert client.get(webhooks.PATH, params={"hub.mode": "subscribe", "hub.verify_token": "",
                                             "hub.challenge": "1"}).status_code == 503
    assert _count(app, MSG) == 0 and _count(app, CAP) == 0


# -- signatures -----------------------------------------------------------------------------------


def test_signature_good_bad_missing(hook, caplog):
    client, app = hook
    caplog.set_level(logging.WARNING, logger="ringebu_journal.webhooks")
    body = _feed("add", message="Når blir veien til Venabygd brøytet?")
    for sig, why in ((None, "no X-Hub-Signature-256"), (_sign(body, "another-secret"), "does not match"),
                     ("sha1=" + "0" * 40, "not sha256="), (_sign(body + b" "), "does not match")):
        r = _post(client, body, signature=sig)
        assert r.status_code == 403, why
    twice = client.post(webhooks.PATH, content=body, headers=[
        ("X-Hub-Signature-256", _sign(body)), ("X-Hub-Signature-256", _sign(body))])
    assert twice.status_code == 403
    assert _count(app, MSG) == 0 and _count(app, CAP) == 0
    refused = _audit(app, "webhook.refused")
    assert len(refused) == 5
    reasons = [e["reason"] for e in refused]
    assert any("no X-Hub-Signature-256" in x for x in reasons) and any("does not match" in x for x in reasons)
    sha = hashlib.sha256(body).hexdigest()
    assert all(json.loads(e["after"])["body_sha256"] in (sha, hashlib.sha256(body + b" ").hexdigest())
               for e in refused)
    everything = json.dumps(refused, default=str) + caplog.text
    assert SECRET not in everything and "Venabygd" not in everything     # neither the secret nor the body

    r = _post(client, body)
    assert r.status_code == 200, r.text
    [row] = [v for v in _versions(app, f"{PAGE}_100_201")]
    assert row["text"] == "Når blir veien til Venabygd brøytet?" and row["account_platform_id"] == PAGE
    with app.db.read() as conn:
        cap = conn.execute(select(CAP).where(CAP.c.id == row["capture_id"])).mappings().one()
    stored = json.loads(cap["payload"])
    assert cap["source"] == "meta-webhook" and stored["body"].encode("utf-8") == body    # verbatim
    assert stored["headers"]["x-hub-signature-256"] == _sign(body)
    assert stored["headers"]["content-type"] == "application/json" and "host" not in stored["headers"]
    assert stored["signature"].startswith("verified")


def test_body_too_large_is_refused_unread(hook, monkeypatch):
    client, app = hook
    monkeypatch.setattr(webhooks, "MAX_BODY_BYTES", 200)
    monkeypatch.setattr(web_webhooks, "MAX_BODY_BYTES", 200)
    body = _feed("add", message="x" * 500)
    assert _post(client, body).status_code == 413
    assert _count(app, MSG) == 0 and "larger than" in _audit(app, "webhook.refused")[0]["reason"]


# -- deliveries through the store -----------------------------------------------------------------


def test_repeated_delivery_adds_nothing(hook):
    client, app = hook
    body = _feed("add", message="Takk for god brøyting i dag!")
    assert _post(client, body).status_code == 200
    counts = [_count(app, t) for t in (MSG, CAP, AUDIT, BATCH)]
    for _ in range(2):
        r = _post(client, body)
        assert r.status_code == 200 and "already" in r.text
        assert [_count(app, t) for t in (MSG, CAP, AUDIT, BATCH)] == counts
    # the same delivery saved to a file and imported adds no message either
    like = json.dumps({"object": "page", "entry": [{"id": PAGE, "time": 1772438500, "changes": [
        {"field": "feed", "value": {"item": "reaction", "verb": "add", "post_id": f"{PAGE}_100",
                                    "reaction_type": "like", "from": {"id": "u9", "name": "Ola"}}}]}]}).encode()
    assert _post(client, like).status_code == 200          # not a message: kept as a capture only
    after_like = [_count(app, t) for t in (MSG, CAP, AUDIT, BATCH)]
    assert after_like == [counts[0], counts[1] + 1, counts[2], counts[3]]
    assert _post(client, like).status_code == 200
    assert [_count(app, t) for t in (MSG, CAP, AUDIT, BATCH)] == after_like


def test_edit_hide_unhide_delete(hook):
    client, app = hook
    pid = f"{PAGE}_100_201"
    assert _post(client, _feed("add", message="Veien er ikke brøytet.", t=1772438400)).status_code == 200
    assert _post(client, _feed("edited", message="Veien er ikke brøytet, og bussen kom ikke.",
                               t=1772442000)).status_code == 200
    v = _versions(app, pid)
    assert [x["version"] for x in v] == [1, 2] and v[1]["text"].endswith("bussen kom ikke.")
    assert v[0]["created_at"] == v[1]["created_at"]                      # the message keeps its time
    assert v[1]["extra"]["edited_at"].startswith("2026-03-02T09:00:00")
    assert [h.version for h in search(app, "bussen").hits] == [2]
    assert _post(client, _feed("hide", message="Veien er ikke brøytet, og bussen kom ikke.")).status_code == 200
    assert _versions(app, pid)[-1]["status"] == "hidden"
    assert _post(client, _feed("unhide", message="Veien er ikke brøytet, og bussen kom ikke.")).status_code == 200
    assert _versions(app, pid)[-1]["status"] == "active"
    assert _post(client, _feed("remove", t=1772449200)).status_code == 200
    v = _versions(app, pid)
    assert [x["status"] for x in v] == ["active", "active", "hidden", "active", "deleted"]
    assert v[-1]["text"] == v[-2]["text"]                                # the record keeps what was said
    hit = search(app, "bussen").hits
    assert [(h.status, h.version) for h in hit] == [("deleted", 5)]


def test_messenger_and_instagram(hook):
    client, app = hook
    msg = {"object": "page", "entry": [{"id": PAGE, "time": 1772438400123, "messaging": [
        {"sender": {"id": "5551"}, "recipient": {"id": PAGE}, "timestamp": 1772438400000,
         "message": {"mid": "m_AAA1", "text": "Hei! Når åpner biblioteket?"}},
        {"sender": {"id": PAGE}, "recipient": {"id": "5551"}, "timestamp": 1772438460000,
         "message": {"mid": "m_AAA2", "text": "Klokka ti.", "is_echo": True}},
        {"sender": {"id": "5551"}, "recipient": {"id": PAGE}, "timestamp": 1772438470000,
         "read": {"watermark": 1772438460000}}]}]}
    assert _post(client, json.dumps(msg).encode()).status_code == 200
    a1, a2 = _versions(app, "m_AAA1")[0], _versions(app, "m_AAA2")[0]
    assert (a1["platform"], a1["author_id"], a1["author_is_municipality"]) == ("messenger", "5551", False)
    assert (a2["author_is_municipality"], a2["extra"]["participant"]) == (True, "5551")
    edit = {"object": "page", "entry": [{"id": PAGE, "time": 1772438500000, "messaging": [
        {"sender": {"id": "5551"}, "recipient": {"id": PAGE}, "timestamp": 1772438500000,
         "message_edit": {"mid": "m_AAA1", "text": "Hei! Når åpner biblioteket på lørdag?", "num_edit": 1}}]}]}
    assert _post(client, json.dumps(edit).encode()).status_code == 200
    v = _versions(app, "m_AAA1")
    assert [x["text"] for x in v][-1].endswith("på lørdag?") and v[0]["created_at"] == v[1]["created_at"]
    gone = {"object": "page", "entry": [{"id": PAGE, "time": 1772438600000, "messaging": [
        {"sender": {"id": "5551"}, "recipient": {"id": PAGE}, "timestamp": 1772438600000,
         "message": {"mid": "m_AAA1", "is_deleted": True}}]}]}
    assert _post(client, json.dumps(gone).encode()).status_code == 200
    assert _versions(app, "m_AAA1")[-1]["status"] == "deleted"
    ig = {"object": "instagram", "entry": [{"id": "17841400000000000", "time": 1772438700, "changes": [
        {"field": "comments", "value": {"id": "17900000000000001", "text": "Fin tur til Kvitfjell!",
                                        "from": {"id": "17800000000000009", "username": "hytteeier"},
                                        "media": {"id": "17890000000000000"}}}]}]}
    assert _post(client, json.dumps(ig).encode()).status_code == 200
    row = _versions(app, "17900000000000001")[0]
    assert (row["platform"], row["kind"], row["post_platform_id"]) == ("instagram", "comment", "17890000000000000")


def test_signed_but_broken_delivery_is_rejected_in_the_audit_trail(hook):
    client, app = hook
    body = b'{"object": "page", "entry": [ {"id": '
    r = _post(client, body)
    assert r.status_code == 200 and "rejected: 1" in r.text and "not JSON" in r.text
    assert _count(app, MSG) == 0 and len(_audit(app, "import.rejected")) == 1
    r = _post(client, b"\xff\xfe not utf-8")
    assert r.status_code == 400 and "UTF-8" in _audit(app, "webhook.refused")[-1]["reason"]
    r = _post(client, json.dumps({"object": "page", "entry": [{"id": PAGE, "changes": [
        {"field": "feed", "value": {"item": "comment", "verb": "add", "message": "uten id"}}]}]}).encode())
    assert r.status_code == 200 and "without comment_id" in r.text


# -- saved deliveries ------------------------------------------------------------------------------


def test_import_webhooks_reads_the_samples(make_app, db_url, tmp_path):
    make_app("archivist", actor="arkivar")
    make_app("auditor", actor="revisor")
    folder = tmp_path / "deliveries"
    shutil.copytree(SAMPLES / "fb_webhooks", folder)
    shutil.copy(SAMPLES / "instagram_graph" / "restfb_wh-comments.json", folder)
    code, out, err = _cli(db_url, "arkivar", "import", "webhooks", str(folder))
    # the samples reuse one comment id under two posts: the store refuses the second (hide and unhide)
    assert code == 1, err
    assert "facebook   new        7   new versions      3" in out and "instagram  new        1" in out
    assert "messenger  new        3" in out and out.count("is already stored for a different message") == 2
    assert "restfb_feed-comment-hide.json" in out and err.count("\n") == 1
    app = App.open(db_url, actor="revisor")
    try:
        assert {h.ref for h in search(app, "edited test message").hits} == {"facebook:1234567890321_949560725137650"}
        post = _versions(app, "1234567890321_7293787835232")
        # the edit repeats the text under another author name: a new version, at the post's own time
        assert [(p["version"], p["author_name"], p["text"]) for p in post] == [
            (1, "John Doe", "Let's check this"), (2, "Joe", "Let's check this")]
        assert post[0]["created_at"] == post[1]["created_at"]
        with app.db.read() as conn:
            sources = {r[0] for r in conn.execute(select(CAP.c.source))}
            payload = json.loads(conn.execute(select(CAP.c.payload).limit(1)).scalar())
        assert sources == {"meta-webhook-file"} and payload["signature"].startswith("not checked")
    finally:
        app.db.dispose()
    code, out, _ = _cli(db_url, "arkivar", "import", "webhooks", str(folder))
    assert code == 0 and "already imported" in out


def test_import_webhooks_saved_with_headers_and_bad_files(make_app, db_url, tmp_path):
    make_app("archivist", actor="arkivar")
    body = _feed("add", message="Hei fra en lagret levering")
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps({"headers": {"Content-Type": "application/json", "X-Hub-Signature-256": _sign(body),
                                             "Cookie": "session=abc"}, "body": body.decode()}), encoding="utf-8")
    code, out, err = _cli(db_url, "arkivar", "import", "webhooks", str(saved))
    assert code == 0 and "facebook   new        1" in out, err
    app = App.open(db_url, actor="arkivar")
    try:
        with app.db.read() as conn:
            payload = json.loads(conn.execute(select(CAP.c.payload)).scalar())
        assert payload["body"].encode() == body and "cookie" not in payload["headers"]
        assert payload["headers"]["x-hub-signature-256"] == _sign(body)
    finally:
        app.db.dispose()
    broken = tmp_path / "broken.json"
    broken.write_text('{"object": "page", "entry": [', encoding="utf-8")
    other = tmp_path / "other.json"
    other.write_text('{"data": []}', encoding="utf-8")
    code, out, err = _cli(db_url, "arkivar", "import", "webhooks", str(broken), str(other))
    assert code == 1 and f"{broken}:line 1 column" in out and f"{other}: not a Meta webhook delivery" in out
    assert err.count("\n") == 1 and "Traceback" not in err + out
    code, out, err = _cli(db_url, "arkivar", "import", "webhooks", str(tmp_path / "missing.json"))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
