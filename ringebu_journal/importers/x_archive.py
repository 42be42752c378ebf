"""`import x-archive`: an X (Twitter) "archive of your data", zipped or unpacked.

Read: ``data/account.js`` (the municipality's own account), tweets (``tweets.js``,
``tweet.js``, ``tweets-partN.js``; ``deleted-tweets.js`` as status *deleted*), direct
messages (``direct-messages.js``, ``direct-messages-group.js`` and their parts; both
directions — the incoming ones are the citizens'), and media from ``tweets_media/`` (or
``tweet_media/``) and ``direct_messages_media/`` / ``direct_messages_group_media/``, whose
file names start with the tweet or message id. The files are JavaScript assignments
(``window.YTD.tweets.part0 = [ … ]``): everything after the first ``=`` is JSON.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import ijson
from pydantic import ValidationError

from ..models import AccountIn, AttachmentIn, CaptureIn, MessageIn, MessageKind, MessageStatus, Platform, sha256_hex
from .blobs import TooLarge, store_blob
from .sources import (MAX_ATTACHMENT_BYTES, ZIP_READ_ERRORS, DamagedInput, InputFile, InputSet, read_document,
                      damaged)
from .store import Item, OwnAccount, Record, Rejection
from .textutil import (MAX_TEXT_CHARS, NotAnArray, TooDeep, TooDeepEntry, as_id, as_list, clean_opt, clean_text, loads,
                       parse_graph_time, raw_json, safe_payload, stream_array)

SOURCE = "x-archive"
_TWEETS = re.compile(r"(^|/)(deleted-)?tweets?(-part\d+)?\.js$")
_DMS = re.compile(r"(^|/)direct-messages(-group)?(-part\d+)?\.js$")
_ACCOUNT = re.compile(r"(^|/)account\.js$")
_MEDIA_DIRS = ("tweets_media/", "tweet_media/", "direct_messages_media/", "direct_messages_group_media/")


def parse_js(data: bytes) -> Any:
    """The JSON value of a ``window.YTD.x.partN = …`` file."""
    text = data.decode("utf-8-sig")
    eq = text.find("=")
    if eq < 0 or not text.lstrip().startswith("window."):
        return loads(text, check=False)
    body = text[eq + 1:].strip()
    if body.endswith(";"):
        body = body[:-1]
    return loads(body, check=False)         # each entry is checked where it is read


class _Reader:
    """A file's bytes after the ``window.YTD… =`` prefix, for the streaming parser."""

    def __init__(self, first: bytes, fh: BinaryIO):
        self.first, self.fh = first, fh

    def read(self, n: int = -1) -> bytes:
        if n == 0:                      # ijson probes the type with read(0)
            return b""
        if self.first:
            out, self.first = self.first, b""
            return out
        return self.fh.read(n if n and n > 0 else 1024 * 1024)


def entries(f: InputFile) -> Iterator[tuple[int, Any] | Rejection]:
    """(index, entry) for each entry of a ``window.YTD… = [ … ]`` file, parsed as a stream.

    Memory stays flat however large the file (a 200 MB tweets.js): one entry is built at a
    time. An entry nested too deep comes as a TooDeepEntry; broken JSON ends the file with one
    rejection after the entries before it.
    """
    i = -1
    try:
        with f.open() as fh:
            head = fh.read(64 * 1024)
            if head.startswith(b"\xef\xbb\xbf"):
                head = head[3:]
            if head.lstrip().startswith(b"window."):
                eq = head.find(b"=")
                if eq < 0:
                    yield Rejection(f.display, None, "no `=` after `window.YTD…` — not an X archive data file")
                    return
                head = head[eq + 1:]
            try:
                for i, entry in enumerate(stream_array(_Reader(head, fh))):
                    yield i, entry
            except NotAnArray:
                yield Rejection(f.display, None, "expected a JSON array after `window.YTD… =`")
            except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
                where = f"after entry [{i}]" if i >= 0 else None
                yield Rejection(f.display, where, f"not valid JSON ({str(exc).splitlines()[0][:120]}) — truncated? "
                                "the entries before it are imported")
    except ZIP_READ_ERRORS as exc:
        yield Rejection(f.display, f"after entry [{i}]" if i >= 0 else None, str(damaged(exc)))


def _load(f: InputFile) -> tuple[Any, str] | Rejection:
    try:
        data = read_document(f)
    except DamagedInput as exc:
        return Rejection(f.display, None, str(exc))
    try:
        value = parse_js(data)
    except UnicodeDecodeError as exc:
        return Rejection(f.display, None, f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})")
    except TooDeep as exc:
        return Rejection(f.display, None, str(exc))
    except json.JSONDecodeError as exc:
        return Rejection(f.display, f"line {exc.lineno}", f"not valid JSON after the `window.YTD… =` prefix "
                         f"({exc.msg} at column {exc.colno}) — truncated?")
    if not isinstance(value, list):
        return Rejection(f.display, None, "expected a JSON array after `window.YTD… =`")
    return value, data.decode("utf-8-sig")


def items(inputs: InputSet, data_dir: Path) -> Iterator[Item]:
    media: dict[str, list[InputFile]] = {}
    for f in inputs.files:
        for d in _MEDIA_DIRS:
            if f"/{d}" in "/" + f.name:
                base = f.name.rsplit("/", 1)[-1]
                media.setdefault(base.split("-", 1)[0], []).append(f)
    own_id, own_name = None, None
    account_files = [f for f in inputs.files if _ACCOUNT.search(f.name)]
    for f in account_files:
        loaded = _load(f)
        if isinstance(loaded, Rejection):
            yield loaded
            continue
        for entry in loaded[0]:
            acc = entry.get("account") if isinstance(entry, dict) else None
            if isinstance(acc, dict) and as_id(acc.get("accountId")):
                own_id = as_id(acc.get("accountId"))
                own_name = acc.get("accountDisplayName") or acc.get("username")
                yield OwnAccount(AccountIn(platform=Platform.x, platform_id=own_id, name=own_name, own=True))
    if own_id is None:
        yield Rejection(inputs.paths[0], "data/account.js", "no account.js with an accountId — the archive's own "
                        "account is unknown, so incoming and outgoing messages cannot be told apart")
    ctx = _Ctx(own_id, own_name, media, data_dir)
    seen = False
    for f in inputs.files:
        if any(f"/{d}" in "/" + f.name for d in _MEDIA_DIRS):
            continue
        if _TWEETS.search(f.name):
            seen = True
            yield from ctx.tweets(f)
        elif _DMS.search(f.name):
            seen = True
            yield from ctx.dms(f)
    if not seen:
        yield Rejection(inputs.paths[0], None, "no tweets.js, tweet.js or direct-messages.js found — is this an "
                        "X archive (the zip from 'Download an archive of your data')?")


class _Ctx:
    def __init__(self, own_id: str | None, own_name: str | None, media: dict[str, list[InputFile]], data_dir: Path):
        self.own_id, self.own_name, self.media, self.data_dir = own_id, own_name, media, data_dir

    def _media(self, object_id: str) -> list[AttachmentIn]:
        out = []
        for mf in sorted(self.media.get(object_id, []), key=lambda x: x.name):
            name = mf.name.rsplit("/", 1)[-1]
            try:
                with mf.open() as fh:
                    sha, size = store_blob(self.data_dir, fh, max_bytes=MAX_ATTACHMENT_BYTES)
            except ZIP_READ_ERRORS as exc:
                out.append(AttachmentIn(filename=name, note=f"not stored: {damaged(exc)}"))
                continue
            except TooLarge as exc:
                out.append(AttachmentIn(filename=name, note=f"not stored: too large ({exc})"))
                continue
            kind = "video" if name.lower().endswith((".mp4", ".mov")) else "photo"
            out.append(AttachmentIn(filename=name, kind=kind, sha256=sha, size=size,
                                    media_type="video/mp4" if kind == "video" else _image_type(name)))
        return out

    def _entry_capture(self, f: InputFile, place: str, raw: str) -> CaptureIn:
        payload = safe_payload(raw)
        return CaptureIn(source=SOURCE, locator=f.display, entry=f"{f.name}{place}", retrieved_at=f.mtime,
                         payload=payload, sha256=sha256_hex(payload))

    def tweets(self, f: InputFile) -> Iterator[Item]:
        deleted = "deleted-" in f.name.rsplit("/", 1)[-1]
        for got in entries(f):
            if isinstance(got, Rejection):
                yield got
                continue
            i, entry = got
            place = f"[{i}]"
            if isinstance(entry, TooDeepEntry):
                yield Rejection(f.display, place, str(TooDeep()), "x")
                continue
            tw = entry.get("tweet") if isinstance(entry, dict) and "tweet" in entry else entry
            if not isinstance(tw, dict):
                yield Rejection(f.display, place, "entry is not a tweet object", "x")
                continue
            tid = as_id(tw.get("id_str")) or as_id(tw.get("id"))
            if not tid:
                yield Rejection(f.display, place, "tweet without id_str — not imported", "x")
                continue
            created = _x_time(tw.get("created_at"))
            if created is None:
                yield Rejection(f.display, place, f"tweet {tid}: created_at {tw.get('created_at')!r} is not a date", "x")
                continue
            body = tw.get("full_text") if tw.get("full_text") is not None else tw.get("text")
            if isinstance(body, str) and len(body) > MAX_TEXT_CHARS:
                yield Rejection(f.display, place, f"tweet {tid}: text longer than {MAX_TEXT_CHARS:,} characters", "x")
                continue
            txt, n = clean_text(body if isinstance(body, str) else "")
            parent = as_id(tw.get("in_reply_to_status_id_str")) or as_id(tw.get("in_reply_to_status_id"))
            extra: dict[str, Any] = {}
            for k in ("in_reply_to_screen_name", "in_reply_to_user_id_str", "lang", "source"):
                if tw.get(k):
                    extra[k] = tw[k]
            ei = tw.get("edit_info")
            if isinstance(ei, dict):
                extra["edit_info"] = ei
            if n:
                extra["sanitized_chars"] = n
            atts = self._media(tid)
            ee = tw.get("extended_entities")
            for m in as_list(ee.get("media")) if isinstance(ee, dict) else []:
                if isinstance(m, dict) and isinstance(m.get("media_url", ""), str) and not any(
                        a.filename and m.get("media_url", "").rsplit("/", 1)[-1] in a.filename for a in atts):
                    atts.append(AttachmentIn(kind=m.get("type"), note=f"not in the archive: {m.get('media_url')}"))
            try:
                msg = MessageIn(platform=Platform.x, kind=MessageKind.reply if parent else MessageKind.post,
                                platform_message_id=tid, parent_platform_id=parent,
                                post_platform_id=None if parent else tid, account_platform_id=self.own_id,
                                author_id=self.own_id, author_name=self.own_name, author_is_municipality=True,
                                text=txt, created_at=created,
                                permalink=f"https://x.com/i/web/status/{tid}",
                                attachments=atts, status=MessageStatus.deleted if deleted else MessageStatus.active,
                                extra=extra)
            except ValidationError as exc:
                yield Rejection(f.display, place, str(exc.errors()[0]["msg"]), "x")
                continue
            raw = raw_json(entry)
            yield Record(msg, raw, self._entry_capture(f, place, raw))

    def dms(self, f: InputFile) -> Iterator[Item]:
        for got in entries(f):
            if isinstance(got, Rejection):
                yield got
                continue
            i, entry = got
            if isinstance(entry, TooDeepEntry):
                yield Rejection(f.display, f"[{i}]", str(TooDeep()), "x")
                continue
            cap = self._entry_capture(f, f"[{i}]", raw_json(entry))
            conv = entry.get("dmConversation") if isinstance(entry, dict) else None
            if not isinstance(conv, dict):
                yield Rejection(f.display, f"[{i}]", "entry is not a dmConversation", "x")
                continue
            cid = as_id(conv.get("conversationId"))
            for j, m in enumerate(as_list(conv.get("messages"))):
                place = f"[{i}].messages[{j}]"
                mc = m.get("messageCreate") if isinstance(m, dict) else None
                if not isinstance(mc, dict):
                    continue          # joins, leaves, name changes: not messages
                mid = as_id(mc.get("id"))
                created = parse_graph_time(mc.get("createdAt"))
                if not mid or not cid or created is None:
                    yield Rejection(f.display, place, "direct message without id, conversationId or createdAt", "x")
                    continue
                body = mc.get("text") or ""
                if not isinstance(body, str):
                    yield Rejection(f.display, place, f"message {mid}: text is a {type(body).__name__}, not a string "
                                    "— not imported", "x")
                    continue
                if len(body) > MAX_TEXT_CHARS:
                    yield Rejection(f.display, place, f"message {mid}: text longer than {MAX_TEXT_CHARS:,} characters", "x")
                    continue
                txt, n = clean_text(body)
                sender = as_id(mc.get("senderId"))
                extra: dict[str, Any] = {"recipient_id": as_id(mc.get("recipientId"))} if mc.get("recipientId") else {}
                if n:
                    extra["sanitized_chars"] = n
                atts = self._media(mid)
                name, _ = clean_opt(self.own_name if sender == self.own_id else None)
                yield Record(MessageIn(platform=Platform.x, kind=MessageKind.message, platform_message_id=mid,
                                       conversation_id=cid, account_platform_id=self.own_id, author_id=sender,
                                       author_name=name, author_is_municipality=bool(sender and sender == self.own_id),
                                       text=txt, created_at=created, attachments=atts, extra=extra),
                             raw_json(m), cap)


def _x_time(v: Any) -> datetime | None:
    if not isinstance(v, str):
        return None
    try:
        dt = datetime.strptime(v, "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        return parse_graph_time(v)
    try:
        return dt.astimezone(timezone.utc)
    except OverflowError:       # year 1 or 9999 with an offset: the range check names it
        return dt.replace(tzinfo=timezone.utc)


def _image_type(name: str) -> str | None:
    ext = name.lower().rsplit(".", 1)[-1]
    return {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif",
            "webp": "image/webp"}.get(ext)
