"""Meta webhooks: Graph API deliveries for the page feed, Instagram comments and Messenger.

:func:`receive` is the whole endpoint, with no web framework: ``receive(app, method, query,
headers, body) -> (status, content_type, body)``; ``ringebu_journal/web/webhooks.py`` mounts it
on Starlette as ``GET``/``POST /webhooks/meta``. :func:`import_files` reads saved deliveries
(``import webhooks FILE|DIR``) through the same parser and the same store.

Invariants:

* **The subscription challenge** (``GET``, ``hub.mode=subscribe``) is answered with
  ``hub.challenge`` only when ``hub.verify_token`` equals ``RINGEBU_JOURNAL_META_VERIFY_TOKEN``
  (compared in constant time). A wrong token is refused (403) and written to the audit trail as
  ``webhook.refused``; the token given is never written anywhere.
* **Signed or refused.** A delivery (``POST``) is read only when ``X-Hub-Signature-256`` is
  ``sha256=`` and the HMAC-SHA256 of the raw body with the app secret
  (``RINGEBU_JOURNAL_META_APP_SECRET``), compared in constant time. A missing, malformed or wrong
  signature is refused (403) before the body is parsed, logged, and audited as
  ``webhook.refused`` with the body's SHA-256 and size — never the secret, never the body.
  Without a secret configured every delivery is refused (503): nothing unsigned is stored.
* **Kept verbatim.** Each signed delivery is stored as one capture before it is imported: the
  raw body as received (text, character for character) and the headers Meta sends with it
  (``Content-Type``, ``User-Agent``, ``X-Hub-Signature``, ``X-Hub-Signature-256``; a proxy's
  own headers, cookies and authorisation are not part of the delivery), with the provenance
  ``signature: verified``. Saved files are captures of source ``meta-webhook-file`` whose
  provenance says the signature was not checked.
* **Through the one store.** New messages, edits (a new version), hiding, unhiding and deletions
  (``StatusChange``) go through ``importers.store.run_import`` like every other import (importer
  ``webhooks``, keyed by the body's SHA-256): identity checks, limits, audit events and
  idempotency are the store's. A repeated delivery (Meta retries until it gets a 200) adds
  nothing: not a capture, not a version, not an audit event.
* **An edit keeps the message's time.** Meta gives an edit's own time; a new version keeps the
  time the message was written (read from the stored message) and records the edit's time as
  ``extra.edited_at``.
* **Not messages:** likes, reactions, read and delivery receipts, mentions on other pages and
  unknown fields are kept in the capture only. A change that should be a message but cannot be
  read (no id, a text that is not text) is a rejection naming the entry and change.
* Messenger deliveries name the two participants, not the conversation: a message received by
  webhook is stored without a conversation id and with the other participant in
  ``extra.participant`` (the harvest's conversation id is not contradicted by it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from . import clock
from .app import App
from .db.tables import Capture, ImportBatch, Message
from .errors import RingebuError
from .importers.sources import DamagedInput, InputFile, open_inputs, read_document
from .importers.store import ImportSummary, Item, OwnAccount, Record, Rejection, StatusChange, run_import
from .importers.textutil import (MAX_JSON_DEPTH, MAX_TEXT_CHARS, as_id, clean_opt, clean_text, deeper_than,
                                 from_unix, parse_graph_time, raw_json)
from .models import AccountIn, AttachmentIn, CaptureIn, MessageIn, MessageKind, MessageStatus, Platform

log = logging.getLogger("ringebu_journal.webhooks")

ENV_VERIFY_TOKEN = "RINGEBU_JOURNAL_META_VERIFY_TOKEN"
ENV_APP_SECRET = "RINGEBU_JOURNAL_META_APP_SECRET"
IMPORTER = "webhooks"
ACTOR = "meta-webhook"                # who the audit trail names for deliveries received
PATH = "/webhooks/meta"
SOURCE_LIVE = "meta-webhook"
SOURCE_FILE = "meta-webhook-file"
MAX_BODY_BYTES = 8 * 1024 * 1024      # a delivery is at most a few hundred kB; larger is refused unread
KEPT_HEADERS = ("content-type", "user-agent", "x-hub-signature", "x-hub-signature-256")
SIGNATURE_HEADER = "x-hub-signature-256"
TEXT = "text/plain; charset=utf-8"
_CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{1,200}")
_HEX64 = re.compile(r"[0-9a-f]{64}")

CAP = Capture.__table__
BATCH = ImportBatch.__table__
MSG = Message.__table__

#: feed items that are messages; the others (like, reaction …) are kept in the capture only
_FEED_POSTS = {"status", "post", "photo", "video", "share", "link", "event", "note", "album"}
_EDIT_VERBS = {"edited", "edit"}


# -- the HTTP endpoint, without a framework ---------------------------------------------------------


def receive(app: App, method: str, query: Mapping[str, Any], headers: Mapping[str, str] | Iterable[tuple[str, str]],
            body: bytes) -> tuple[int, str, bytes]:
    """Answer one request to ``/webhooks/meta``: (HTTP status, content type, response body)."""
    # a fresh App: nothing granted to the caller's App carries over to the webhook's
    wapp = App.for_identity(app.db, ACTOR, via="webhook", data_dir=app.data_dir_given)
    try:
        if method.upper() in ("GET", "HEAD"):
            return _challenge(wapp, query)
        if method.upper() == "POST":
            return _delivery(wapp, _header_map(headers), body)
        return 405, TEXT, b"only GET (subscription) and POST (deliveries)\n"
    except RingebuError as exc:
        # the database is unreachable, or the same delivery is being imported right now: Meta
        # retries a delivery that did not get a 200
        log.warning("webhook delivery not taken now: %s", exc.message)
        return 503, TEXT, b"not stored now; send it again later\n"
    except Exception:  # noqa: BLE001 - the web server must answer; the log has the details
        log.exception("webhook delivery failed")
        return 500, TEXT, b"internal error; send it again later\n"


def _first(v: Any) -> str | None:
    if isinstance(v, (list, tuple)):
        v = v[0] if v else None
    return v if isinstance(v, str) else None


def _header_map(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, list[str]] = {}
    for k, v in pairs:
        k = k.decode("latin-1") if isinstance(k, bytes) else str(k)
        v = v.decode("latin-1") if isinstance(v, bytes) else str(v)
        out.setdefault(k.lower(), []).append(v)
    return out


def _challenge(app: App, query: Mapping[str, Any]) -> tuple[int, str, bytes]:
    mode, token, challenge = (_first(query.get(k)) for k in ("hub.mode", "hub.verify_token", "hub.challenge"))
    expected = os.environ.get(ENV_VERIFY_TOKEN) or ""
    if not expected:
        log.error("webhook subscription refused: %s is not set", ENV_VERIFY_TOKEN)
        return 503, TEXT, f"subscriptions are not configured: set {ENV_VERIFY_TOKEN}\n".encode()
    if mode != "subscribe" or challenge is None or token is None:
        return 400, TEXT, b"expected hub.mode=subscribe, hub.verify_token and hub.challenge\n"
    if not hmac.compare_digest(token.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")):
        _refused(app, "subscribe", "the verify token does not match", None)
        return 403, TEXT, b"verify token does not match\n"
    if not _CHALLENGE.fullmatch(challenge):
        return 400, TEXT, b"hub.challenge is not a plain token\n"
    return 200, TEXT, challenge.encode("ascii")


def signature_problem(secret: str, header: list[str] | None, body: bytes) -> str | None:
    """Why ``X-Hub-Signature-256`` does not sign ``body`` with ``secret``; None when it does."""
    if not header:
        return "no X-Hub-Signature-256 header"
    if len(header) > 1:
        return "more than one X-Hub-Signature-256 header"
    value = header[0].strip()
    if not value.startswith("sha256=") or not _HEX64.fullmatch(value[7:].lower()):
        return "X-Hub-Signature-256 is not sha256=<64 hex digits>"
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, value[7:].lower()):
        return "X-Hub-Signature-256 does not match the body (wrong app secret, or the body was changed)"
    return None


def _refused(app: App, request: str, reason: str, body: bytes | None) -> None:
    """Log and audit a refused request: what was wrong and the body's fingerprint, no secret."""
    after: dict[str, Any] = {"request": request, "path": PATH, "reason": reason}
    if body is not None:
        after.update(body_sha256=hashlib.sha256(body).hexdigest(), body_bytes=len(body))
    log.warning("webhook %s refused: %s%s", request, reason,
                f" (body SHA-256 {after['body_sha256'][:16]}…, {len(body)} bytes)" if body is not None else "")
    try:
        with app.db.write() as conn:
            app.audit(conn, "webhook.refused", "webhook", after.get("body_sha256") or request, after=after,
                      reason=reason)
    except Exception:  # noqa: BLE001 - a refusal is still a refusal when the audit trail cannot be written
        log.exception("webhook refusal could not be written to the audit trail")


def _delivery(app: App, headers: dict[str, list[str]], body: bytes) -> tuple[int, str, bytes]:
    secret = os.environ.get(ENV_APP_SECRET) or ""
    if not secret:
        log.error("webhook delivery refused: %s is not set", ENV_APP_SECRET)
        return 503, TEXT, f"deliveries are not configured: set {ENV_APP_SECRET}\n".encode()
    if len(body) > MAX_BODY_BYTES:
        _refused(app, "delivery", f"body larger than {MAX_BODY_BYTES:,} bytes", body)
        return 413, TEXT, b"body too large\n"
    problem = signature_problem(secret, headers.get(SIGNATURE_HEADER), body)
    if problem:
        _refused(app, "delivery", problem, body)
        return 403, TEXT, b"signature missing or wrong\n"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        _refused(app, "delivery", f"signed body is not UTF-8 (byte {exc.start})", body)
        return 400, TEXT, b"body is not UTF-8 JSON\n"
    app.grant_service("import.run", "X-Hub-Signature-256 checked")
    kept = {k: v[0] for k, v in sorted(headers.items()) if k in KEPT_HEADERS}
    cap = CaptureIn(source=SOURCE_LIVE, locator=f"POST {PATH}", retrieved_at=clock.now(),
                    payload=capture_payload(text, kept, "verified: X-Hub-Signature-256 (HMAC-SHA256 of the body "
                                                         "with the app secret)"))
    sha = hashlib.sha256(body).hexdigest()
    summary = import_delivery(app, text, cap, sha, f"POST {PATH}", store_capture=True)
    if summary is None:
        return 200, TEXT, b"already received\n"
    return 200, TEXT, ("\n".join(summary.lines()) + "\n").encode("utf-8")


def capture_payload(body: str, headers: Mapping[str, str], signature: str) -> str:
    """The stored form of one delivery: the body as received, its headers and how it was checked."""
    return json.dumps({"body": body, "headers": dict(headers), "signature": signature}, ensure_ascii=False,
                      sort_keys=True, separators=(",", ":"))


# -- one delivery into the store ------------------------------------------------------------------


@dataclass
class _OneInput:
    """What ``run_import`` asks of its input, for a delivery that is not a file."""

    desc: str
    sha: str
    problems: list = field(default_factory=list)

    def describe(self) -> list[str]:
        return [self.desc]

    def sha256(self) -> str:
        return self.sha


def import_delivery(app: App, body: str, cap: CaptureIn, sha: str, desc: str, *,
                    store_capture: bool = False) -> ImportSummary | None:
    """Import one delivery body; None when it was received before and there is nothing to do."""
    items = list(delivery_items(body, cap, desc))
    with app.db.read() as conn:
        _keep_first_times(conn, items)
    new_capture = _store_capture(app, cap) if store_capture else True
    messages = any(isinstance(i, (Record, StatusChange)) for i in items)
    if not new_capture:
        with app.db.read() as conn:
            done = conn.execute(select(BATCH.c.id).where(BATCH.c.importer == IMPORTER, BATCH.c.input_sha256 == sha,
                                                         BATCH.c.status == "done")).first()
        if done is not None or not messages:
            return None
    if not messages and not any(isinstance(i, Rejection) for i in items):
        return None                     # likes, receipts …: kept in the capture, nothing to import
    return run_import(app, importer=IMPORTER, inputs=_OneInput(desc, sha),  # type: ignore[arg-type]
                      items=lambda: items, input_sha256=sha)


def _store_capture(app: App, cap: CaptureIn) -> bool:
    """Store the delivery's capture (once per payload); whether it is new."""
    cap.sha256 = cap.digest()
    with app.db.write() as conn:
        ins = (postgresql.insert(CAP) if conn.dialect.name == "postgresql" else sqlite.insert(CAP))
        res = conn.execute(ins.on_conflict_do_nothing(index_elements=["sha256"]).values(
            sha256=cap.sha256, source=cap.source, locator=cap.locator, entry=cap.entry, retrieved_at=cap.retrieved_at,
            size=len(cap.payload.encode("utf-8")), payload=cap.payload))
        return bool(res.rowcount)


def _keep_first_times(conn, items: list[Item], seen: dict[tuple[str, str], datetime] | None = None) -> None:
    """An edit's new version keeps the time the message was written (see the module docstring):
    the time of an earlier record of the same run (``seen``), else of the stored message."""
    seen = {} if seen is None else seen
    for i, it in enumerate(items):
        if not isinstance(it, Record):
            continue
        m = it.message
        key = (m.platform.value, m.platform_message_id)
        if "edited_at" not in m.extra:
            seen.setdefault(key, m.created_at)
            continue
        first = seen.get(key)
        if first is None:
            first = conn.execute(select(MSG.c.created_at).where(
                MSG.c.platform == key[0], MSG.c.platform_message_id == key[1], MSG.c.is_current.is_(True))).scalar()
            if first is not None and first.tzinfo is None:
                first = first.replace(tzinfo=timezone.utc)
        if first is not None:
            items[i] = Record(m.model_copy(update={"created_at": first}), it.raw, it.capture)
            seen.setdefault(key, first)


# -- saved deliveries ---------------------------------------------------------------------------


def import_files(app: App, paths: list[str], *, again: bool = False, dry_run: bool = False,
                 advance: Callable[[int], None] | None = None) -> ImportSummary:
    """`import webhooks FILE|DIR`: saved deliveries, one JSON file each (``*.json``).

    A file is a delivery body as Meta sends it (``{"object": …, "entry": […]}``), or an object
    ``{"headers": {…}, "body": …}`` holding the body (as text, or as JSON) with the headers it
    came with. The signature is not checked (the app secret signs the body in transit, not a
    file); the capture says so.
    """
    inputs = open_inputs(paths, zip_allowed=False, accept=lambda n: n.endswith(".json"))

    def items() -> Iterator[Item]:
        seen: dict[tuple[str, str], datetime] = {}
        for f in inputs.files:
            got = list(_file_items(f))
            with app.db.read() as conn:
                _keep_first_times(conn, got, seen)
            yield from got

    try:
        return run_import(app, importer=IMPORTER, inputs=inputs, items=items, again=again, advance=advance,
                          dry_run=dry_run)
    finally:
        inputs.close()


def _file_items(f: InputFile) -> Iterator[Item]:
    try:
        data = read_document(f, MAX_BODY_BYTES, " (the limit for one delivery)")
    except DamagedInput as exc:
        yield Rejection(f.display, None, str(exc))
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        yield Rejection(f.display, None, f"not UTF-8 (byte {exc.start}) — save the delivery body as it was received")
        return
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        yield Rejection(f.display, f"line {exc.lineno} column {exc.colno}",
                        f"not JSON ({exc.msg}) — a saved delivery is one JSON document")
        return
    headers: dict[str, str] = {}
    body_text = text
    if isinstance(doc, dict) and "body" in doc and "entry" not in doc:
        saved = doc.get("headers")
        if saved is not None and not (isinstance(saved, dict) and all(isinstance(v, str) for v in saved.values())):
            yield Rejection(f.display, "headers", "saved headers are not an object of strings — write them as "
                            '{"Header-Name": "value", …}')
            return
        headers = {k.lower(): v for k, v in (saved or {}).items() if k.lower() in KEPT_HEADERS}
        body_text = doc["body"] if isinstance(doc["body"], str) else json.dumps(doc["body"], ensure_ascii=False)
    cap = CaptureIn(source=SOURCE_FILE, locator=f.display, retrieved_at=f.mtime,
                    payload=capture_payload(body_text, headers, "not checked: read from a saved file"))
    yield from delivery_items(body_text, cap, f.display)


# -- the body: what Meta sends --------------------------------------------------------------------


def delivery_items(body: str, cap: CaptureIn, file: str) -> Iterator[Item]:
    """The store's items for one delivery body (see the module docstring for what becomes what)."""
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as exc:
        yield Rejection(file, f"line {exc.lineno} column {exc.colno}", f"delivery body is not JSON ({exc.msg})")
        return
    except RecursionError:
        yield Rejection(file, None, f"delivery body nests deeper than {MAX_JSON_DEPTH} levels — not imported")
        return
    if deeper_than(doc, MAX_JSON_DEPTH):
        yield Rejection(file, None, f"delivery body nests deeper than {MAX_JSON_DEPTH} levels — not imported")
        return
    if not isinstance(doc, dict) or not isinstance(doc.get("entry"), list):
        yield Rejection(file, None, 'not a Meta webhook delivery (expected {"object": …, "entry": […]}) — '
                        "give the body Meta sent")
        return
    obj = doc.get("object")
    if obj not in ("page", "instagram"):
        yield Rejection(file, "object", f"object {str(obj)[:40]!r} is not a page or instagram delivery — not imported")
        return
    parser = _Parser(cap, file, Platform.instagram if obj == "instagram" else Platform.facebook)
    for i, entry in enumerate(doc["entry"]):
        if not isinstance(entry, dict):
            yield Rejection(file, f"entry[{i}]", "entry is not a JSON object — not imported")
            continue
        yield from parser.entry(entry, f"entry[{i}]")


class _Parser:
    def __init__(self, cap: CaptureIn, file: str, platform: Platform):
        self.cap = cap
        self.file = file
        self.platform = platform          # of the account the delivery is for
        self.own: str | None = None
        self.time: datetime | None = None

    def reject(self, where: str, reason: str, platform: Platform | None = None) -> Rejection:
        return Rejection(self.file, where, reason, (platform or self.platform).value)

    def entry(self, entry: dict[str, Any], where: str) -> Iterator[Item]:
        self.own = as_id(entry.get("id"))
        t = entry.get("time")
        # page entries give seconds, Messenger entries milliseconds
        self.time = (from_unix(t, millis=t > 10 ** 11) if isinstance(t, (int, float)) and not isinstance(t, bool)
                     else None) or self.cap.retrieved_at
        if self.own and self.own != "0":
            yield OwnAccount(AccountIn(platform=self.platform, platform_id=self.own, own=True))
        for j, ch in enumerate(entry.get("changes") or []):
            if isinstance(ch, dict):
                yield from self.change(ch, f"{where}.changes[{j}]")
        for j, ev in enumerate(entry.get("messaging") or []):
            if isinstance(ev, dict):
                yield from self.messaging(ev, f"{where}.messaging[{j}]")

    # -- helpers ----------------------------------------------------------------------------

    def _text(self, value: Any, where: str) -> tuple[str, int] | Rejection:
        if value is None:
            return "", 0
        if not isinstance(value, str):
            return self.reject(where, "message text is not a string — not imported")
        if len(value) > MAX_TEXT_CHARS:
            return self.reject(where, f"text is {len(value):,} characters; the limit is {MAX_TEXT_CHARS:,} — not imported")
        return clean_text(value)

    def _when(self, value: Any, millis: bool = False) -> datetime:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            t = from_unix(value, millis=millis)
        else:
            t = parse_graph_time(value)
        return t or self.time or self.cap.retrieved_at

    def _record(self, where: str, raw: Any, **fields: Any) -> Item:
        name, n = clean_opt(fields.pop("author_name", None))
        extra = fields.pop("extra", None) or {}
        sanitized = fields.pop("sanitized", 0) + n
        if sanitized:
            extra["sanitized_chars"] = sanitized
        extra["webhook"] = True
        try:
            msg = MessageIn(author_name=name, extra=extra, **fields)
        except ValidationError as exc:
            return self.reject(where, "; ".join(f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        return Record(msg, raw_json(raw), self.cap)

    @staticmethod
    def _author(v: dict[str, Any]) -> tuple[str | None, str | None]:
        fr = v.get("from")
        if isinstance(fr, dict):
            return as_id(fr.get("id")), fr.get("name") or fr.get("username")
        return as_id(v.get("sender_id")), v.get("sender_name")

    @staticmethod
    def _media(v: dict[str, Any]) -> list[AttachmentIn]:
        # The bytes are not fetched; the signed CDN address changes, so it is kept in the note
        # (it does not make a new version when the same media comes again with another address).
        out = []
        for key, kind in (("photo", "photo"), ("video", "video"), ("link", "link")):
            url = v.get(key)
            if isinstance(url, str) and url and not (key == "link" and v.get("item") == "share"):
                out.append(AttachmentIn(kind=kind, note=f"not fetched (webhook): {url}"))
        return out

    def _status_change(self, platform: Platform, pid: str, status: MessageStatus, detail: dict[str, Any]) -> StatusChange:
        return StatusChange(platform.value, pid, status, self.cap, detail)

    # -- page feed and Instagram comments -----------------------------------------------------

    def change(self, ch: dict[str, Any], where: str) -> Iterator[Item]:
        fieldname = ch.get("field")
        v = ch.get("value")
        if not isinstance(v, dict):
            return
        if self.platform == Platform.facebook and fieldname == "feed":
            yield from self.feed(v, where)
        elif self.platform == Platform.instagram and fieldname in ("comments", "live_comments"):
            yield from self.ig_comment(v, where)
        # other fields (mention, likes, ratings …) are not messages of the municipality's pages

    def feed(self, v: dict[str, Any], where: str) -> Iterator[Item]:
        item, verb = v.get("item"), v.get("verb")
        if item == "comment":
            pid = as_id(v.get("comment_id"))
            post = as_id(v.get("post_id"))
            parent = as_id(v.get("parent_id")) or post
            kind = MessageKind.reply if parent and post and parent != post else MessageKind.comment
        elif item in _FEED_POSTS:
            pid = post = as_id(v.get("post_id"))
            parent, kind = None, MessageKind.post
        else:
            return                      # like, reaction …
        if not pid:
            yield self.reject(where, f"feed {item} {verb} without {'comment_id' if item == 'comment' else 'post_id'}"
                              " — not imported", Platform.facebook)
            return
        detail = {"item": item, "verb": verb, "received": "webhook"}
        if verb == "remove":
            yield self._status_change(Platform.facebook, pid, MessageStatus.deleted, detail)
            return
        if verb in ("hide", "unhide") and "message" not in v:
            status = MessageStatus.hidden if verb == "hide" else MessageStatus.active
            yield self._status_change(Platform.facebook, pid, status, detail)
            return
        if verb not in ("add", "edited", "edit", "hide", "unhide"):
            return
        txt = self._text(v.get("message"), where)
        if isinstance(txt, Rejection):
            yield txt
            return
        author_id, author_name = self._author(v)
        when = self._when(v.get("created_time"))
        extra: dict[str, Any] = {"webhook_verb": verb}
        if verb in _EDIT_VERBS:
            extra["edited_at"] = when.isoformat()
        if "created_time" not in v:
            extra["created_at_source"] = "delivery time (no created_time in the delivery)"
        if "message" not in v:
            extra["text_absent"] = True     # e.g. a photo added without words: not an empty edit
        status = MessageStatus.hidden if (verb == "hide" or v.get("is_hidden") is True) else MessageStatus.active
        yield self._record(
            where, v, platform=Platform.facebook, kind=kind, platform_message_id=pid, parent_platform_id=parent,
            post_platform_id=post, account_platform_id=self.own, author_id=author_id, author_name=author_name,
            author_is_municipality=bool(self.own and author_id == self.own), text=txt[0], sanitized=txt[1],
            created_at=when, attachments=self._media(v), status=status, extra=extra)

    def ig_comment(self, v: dict[str, Any], where: str) -> Iterator[Item]:
        cid = as_id(v.get("id"))
        if not cid:
            yield self.reject(where, "Instagram comment without an id — not imported")
            return
        txt = self._text(v.get("text"), where)
        if isinstance(txt, Rejection):
            yield txt
            return
        media = v.get("media")
        media_id = as_id(media.get("id")) if isinstance(media, dict) else None
        parent = as_id(v.get("parent_id"))
        author_id, author_name = self._author(v)
        own = self.own if self.own and self.own != "0" else None
        extra: dict[str, Any] = {}
        if isinstance(v.get("from"), dict) and v["from"].get("username"):
            extra["username"] = v["from"]["username"]
        if "timestamp" not in v and "created_time" not in v:
            extra["created_at_source"] = "delivery time (Instagram comment deliveries carry no time of their own)"
        yield self._record(
            where, v, platform=Platform.instagram, kind=MessageKind.reply if parent else MessageKind.comment,
            platform_message_id=cid, parent_platform_id=parent or media_id, post_platform_id=media_id,
            account_platform_id=own, author_id=author_id, author_name=author_name,
            author_is_municipality=bool(own and author_id == own), text=txt[0], sanitized=txt[1],
            created_at=self._when(v.get("timestamp") or v.get("created_time")), extra=extra)

    # -- Messenger (and Instagram messaging) --------------------------------------------------

    def messaging(self, ev: dict[str, Any], where: str) -> Iterator[Item]:
        platform = Platform.instagram if self.platform == Platform.instagram else Platform.messenger
        sender = as_id((ev.get("sender") or {}).get("id")) if isinstance(ev.get("sender"), dict) else None
        recipient = as_id((ev.get("recipient") or {}).get("id")) if isinstance(ev.get("recipient"), dict) else None
        msg, edit = ev.get("message"), ev.get("message_edit")
        if isinstance(msg, dict):
            mid = as_id(msg.get("mid"))
            if not mid:
                yield self.reject(where, "message without mid — not imported", platform)
                return
            if msg.get("is_deleted") is True:
                yield self._status_change(platform, mid, MessageStatus.deleted,
                                          {"event": "message.is_deleted", "received": "webhook"})
                return
            yield from self._message(platform, mid, msg.get("text"), msg, ev, sender, recipient, where,
                                     echo=msg.get("is_echo") is True, attachments=msg.get("attachments"))
        elif isinstance(edit, dict):
            mid = as_id(edit.get("mid"))
            if not mid:
                yield self.reject(where, "message_edit without mid — not imported", platform)
                return
            yield from self._message(platform, mid, edit.get("text"), edit, ev, sender, recipient, where,
                                     echo=bool(self.own and sender == self.own), attachments=None, edited=True)
        # delivery, read, reaction, postback …: not messages

    def _message(self, platform: Platform, mid: str, text: Any, node: dict[str, Any], ev: dict[str, Any],
                 sender: str | None, recipient: str | None, where: str, *, echo: bool, attachments: Any,
                 edited: bool = False) -> Iterator[Item]:
        txt = self._text(text, where)
        if isinstance(txt, Rejection):
            yield txt
            return
        page = recipient if not echo else sender
        own = self.own if self.own and self.own != "0" else page
        participant = sender if not echo else recipient
        when = self._when(ev.get("timestamp"), millis=True)
        extra: dict[str, Any] = {"participant": participant}
        if edited:
            extra["edited_at"] = when.isoformat()
            if node.get("num_edit") is not None:
                extra["num_edit"] = node["num_edit"]
        if echo:
            extra["echo"] = True
        atts: list[AttachmentIn] = []
        for a in attachments if isinstance(attachments, list) else []:
            if isinstance(a, dict):
                payload = a.get("payload") if isinstance(a.get("payload"), dict) else {}
                kind = "sticker" if payload.get("sticker_id") else (a.get("type") if isinstance(a.get("type"), str)
                                                                     else "file")
                url = payload.get("url")
                atts.append(AttachmentIn(kind=kind[:30], note=f"not fetched (webhook): {url}" if url else "not fetched"))
        yield self._record(
            where, ev, platform=platform, kind=MessageKind.message, platform_message_id=mid,
            account_platform_id=own, author_id=sender, author_is_municipality=bool(echo),
            text=txt[0], sanitized=txt[1], created_at=when, attachments=atts, extra=extra)


__all__ = ["receive", "signature_problem", "import_files", "import_delivery", "delivery_items", "capture_payload",
           "ENV_VERIFY_TOKEN", "ENV_APP_SECRET", "PATH", "ACTOR"]
