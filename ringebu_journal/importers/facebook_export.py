"""`import facebook-export`: a Facebook "Download your information" export (JSON), zip or folder.

Files are matched by name, not by full path, so the old, ~2022 and 2024+ layouts all work:
posts (``your_posts_1.json``, ``your_posts__check_ins__photos_and_videos_1.json``), comments
(``comments.json`` with ``comments_v2`` or ``comments``), and Messenger threads
(``messages/{inbox,e2ee_cutover,archived_threads,filtered_threads}/<thread>/message_N.json``).

Facebook writes each UTF-8 byte of non-ASCII text as its own ``\\u00XX`` escape ("mojibake").
Every string is repaired where ``s.encode("latin-1").decode("utf-8")`` round-trips and left
alone otherwise; each message records how many strings were repaired in
``extra["mojibake_repairs"]`` and the batch counts the total. The raw payload keeps the
original, unrepaired object.

The export has no platform ids, so stable ids are made from what identifies an item in it:
``fbexport:post:<timestamp>:<hash of text>``, ``fbexport:comment:…`` and
``fbexport:msg:<thread>:<timestamp_ms>:<hash of sender and text>``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

from ..models import AttachmentIn, CaptureIn, MessageIn, MessageKind, MessageStatus, Platform, sha256_hex
from .blobs import TooLarge, store_blob
from .sources import ZIP_READ_ERRORS, DamagedInput, InputFile, InputSet, damaged, read_document
from .store import Item, Record, Rejection
from .textutil import (MAX_JSON_DEPTH, MAX_TEXT_CHARS, TooDeep, as_list, clean_opt, clean_text, deeper_than, fix_tree,
                       from_unix, loads, raw_json, safe_payload)

SOURCE = "facebook-export"
_POSTS = re.compile(r"(^|/)your_posts(__check_ins__photos_and_videos)?_\d+\.json$")
_COMMENTS = re.compile(r"(^|/)comments\.json$")
_MESSAGES = re.compile(r"(^|/)messages/(inbox|e2ee_cutover|archived_threads|filtered_threads|message_requests)/"
                       r"([^/]+)/message_\d+\.json$")
_PROFILE = re.compile(r"(^|/)profile_information\.json$")


def items(inputs: InputSet, data_dir: Path) -> Iterator[Item]:
    ctx = _Ctx(inputs, data_dir)
    ctx.owner = ctx.owner_name()
    seen = False
    for f in inputs.files:
        if _POSTS.search(f.name):
            seen = True
            yield from ctx.posts(f)
        elif _COMMENTS.search(f.name) and "instagram" not in f.name:
            seen = True
            yield from ctx.comments(f)
        elif _MESSAGES.search(f.name):
            seen = True
            yield from ctx.messages(f)
    if not seen:
        yield Rejection(inputs.paths[0], None, "no your_posts_N.json, comments.json or messages/…/message_N.json "
                        "found — is this a Facebook 'Download your information' export in JSON format?")


def _load(f: InputFile) -> tuple[Any, str] | Rejection:
    try:
        data = read_document(f)
    except DamagedInput as exc:
        return Rejection(f.display, None, str(exc))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Rejection(f.display, None, f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}) — "
                         "the export is expected to be JSON in UTF-8")
    try:
        return loads(text, check=False), text       # each entry is checked where it is read
    except TooDeep as exc:
        return Rejection(f.display, None, str(exc))
    except json.JSONDecodeError as exc:
        return Rejection(f.display, f"line {exc.lineno}", f"not valid JSON ({exc.msg} at column {exc.colno}) — truncated?")


def _h(*parts: str) -> str:
    return sha256_hex("\x1f".join(parts))[:16]


class _Ctx:
    def __init__(self, inputs: InputSet, data_dir: Path):
        self.inputs = inputs
        self.data_dir = data_dir
        self.names = inputs.by_name()
        self.owner: str | None = None

    def owner_name(self) -> str | None:
        for f in self.inputs.files:
            if _PROFILE.search(f.name):
                loaded = _load(f)
                if isinstance(loaded, Rejection) or deeper_than(loaded[0], MAX_JSON_DEPTH):
                    return None
                n = [0]
                v = fix_tree(loaded[0], n)
                prof = v.get("profile_v2") or v.get("profile") if isinstance(v, dict) else None
                name = prof.get("name") if isinstance(prof, dict) else None
                if isinstance(name, dict):
                    return name.get("full_name")
        return None

    def _capture(self, f: InputFile, text: str) -> CaptureIn:
        payload = safe_payload(text)
        return CaptureIn(source=SOURCE, locator=f.display, entry=f.name, retrieved_at=f.mtime, payload=payload,
                         sha256=sha256_hex(payload))

    def _file(self, uri: str) -> InputFile | None:
        uri = uri.lstrip("/")
        if uri in self.names:
            return self.names[uri]
        for name, f in self.names.items():
            if name.endswith("/" + uri):
                return f
        return None

    def _attachment(self, uri: str, kind: str) -> AttachmentIn:
        if not isinstance(uri, str) or not uri:
            return AttachmentIn(kind=kind, note="no file named in the export")
        if uri.startswith(("http://", "https://")):
            return AttachmentIn(kind=kind, note=f"link, not a file: {uri}")
        f = self._file(uri)
        name = uri.rsplit("/", 1)[-1]
        if f is None:
            return AttachmentIn(kind=kind, filename=name, note=f"not in the export: {uri}")
        try:
            with f.open() as fh:
                sha, size = store_blob(self.data_dir, fh)
        except ZIP_READ_ERRORS as exc:
            return AttachmentIn(kind=kind, filename=name, note=f"not stored: {damaged(exc)}")
        except TooLarge as exc:
            return AttachmentIn(kind=kind, filename=name, note=f"not stored: too large ({exc})")
        return AttachmentIn(kind=kind, filename=name, sha256=sha, size=size)

    def _message(self, f: InputFile, place: str, **fields: Any) -> Item:
        body = fields.pop("text")
        if len(body) > MAX_TEXT_CHARS:
            return Rejection(f.display, place, f"text longer than {MAX_TEXT_CHARS:,} characters — not imported",
                             fields["platform"].value)
        txt, n = clean_text(body)
        name, n2 = clean_opt(fields.pop("author_name", None))
        if n + n2:
            fields["extra"]["sanitized_chars"] = n + n2
        return MessageIn(text=txt, author_name=name, **fields)

    # posts

    def posts(self, f: InputFile) -> Iterator[Item]:
        loaded = _load(f)
        if isinstance(loaded, Rejection):
            yield loaded
            return
        value, text = loaded
        if not isinstance(value, list):
            yield Rejection(f.display, None, "expected a JSON array of posts")
            return
        cap = self._capture(f, text)
        for i, original in enumerate(value):
            place = f"[{i}]"
            if not isinstance(original, dict):
                yield Rejection(f.display, place, "post is not a JSON object", "facebook")
                continue
            if deeper_than(original, MAX_JSON_DEPTH - 2):
                yield Rejection(f.display, place, str(TooDeep()), "facebook")
                continue
            n = [0]
            p = fix_tree(original, n)
            created = from_unix(p.get("timestamp")) if isinstance(p.get("timestamp"), (int, float)) else None
            if created is None:
                yield Rejection(f.display, place, "post without a timestamp — not imported", "facebook")
                continue
            body = "\n".join(d["post"] for d in as_list(p.get("data")) if isinstance(d, dict) and isinstance(d.get("post"), str))
            atts = []
            for a in as_list(p.get("attachments")):
                for d in as_list(a.get("data")) if isinstance(a, dict) else []:
                    if isinstance(d, dict) and isinstance(d.get("media"), dict):
                        uri = d["media"].get("uri")
                        atts.append(self._attachment(uri, "video" if str(uri).endswith(".mp4") else "photo"))
                    elif isinstance(d, dict) and isinstance(d.get("external_context"), dict):
                        atts.append(AttachmentIn(kind="link", note=f"link: {d['external_context'].get('url')}"))
            pid = f"fbexport:post:{p['timestamp']}:{_h(body)}"
            extra: dict[str, Any] = {"title": p.get("title")} if p.get("title") else {}
            if n[0]:
                extra["mojibake_repairs"] = n[0]
            item = self._message(f, place, platform=Platform.facebook, kind=MessageKind.post, platform_message_id=pid,
                                 post_platform_id=pid, author_name=self.owner, author_is_municipality=True, text=body,
                                 created_at=created, attachments=atts, extra=extra)
            yield item if isinstance(item, Rejection) else Record(item, raw_json(original), cap)

    # comments (the owner's own comments)

    def comments(self, f: InputFile) -> Iterator[Item]:
        loaded = _load(f)
        if isinstance(loaded, Rejection):
            yield loaded
            return
        value, text = loaded
        entries = None
        if isinstance(value, dict):
            entries = value.get("comments_v2") or value.get("comments")
        if not isinstance(entries, list):
            yield Rejection(f.display, None, "expected {\"comments_v2\": [...]} (or \"comments\")")
            return
        cap = self._capture(f, text)
        for i, original in enumerate(entries):
            place = f"comments[{i}]"
            if not isinstance(original, dict):
                yield Rejection(f.display, place, "comment is not a JSON object", "facebook")
                continue
            if deeper_than(original, MAX_JSON_DEPTH - 2):
                yield Rejection(f.display, place, str(TooDeep()), "facebook")
                continue
            n = [0]
            c = fix_tree(original, n)
            inner = {}
            for d in as_list(c.get("data")):
                if isinstance(d, dict) and isinstance(d.get("comment"), dict):
                    inner = d["comment"]
                    break
            ts = inner.get("timestamp") or c.get("timestamp")
            created = from_unix(ts) if isinstance(ts, (int, float)) else None
            body = inner.get("comment") if isinstance(inner.get("comment"), str) else ""
            if created is None:
                yield Rejection(f.display, place, "comment without a timestamp — not imported", "facebook")
                continue
            cid = f"fbexport:comment:{ts}:{_h(body)}"
            extra: dict[str, Any] = {"title": c.get("title")} if c.get("title") else {}
            if n[0]:
                extra["mojibake_repairs"] = n[0]
            item = self._message(f, place, platform=Platform.facebook, kind=MessageKind.comment,
                                 platform_message_id=cid, author_name=inner.get("author") or self.owner,
                                 author_is_municipality=True, text=body, created_at=created, extra=extra)
            yield item if isinstance(item, Rejection) else Record(item, raw_json(original), cap)

    # Messenger threads

    def messages(self, f: InputFile) -> Iterator[Item]:
        thread = _MESSAGES.search(f.name).group(3)  # type: ignore[union-attr]
        loaded = _load(f)
        if isinstance(loaded, Rejection):
            yield loaded
            return
        value, text = loaded
        if not isinstance(value, dict) or not isinstance(value.get("messages"), list):
            yield Rejection(f.display, None, "expected an object with \"messages\": [...]")
            return
        cap = self._capture(f, text)
        n0 = [0]
        head = fix_tree({k: v for k, v in value.items() if k != "messages"}, n0)
        participants = [p.get("name") for p in as_list(head.get("participants")) if isinstance(p, dict)]
        owner = self.owner
        if owner is None and len(participants) == 2 and head.get("title") in participants:
            owner = next(p for p in participants if p != head.get("title"))
        for i, original in enumerate(value["messages"]):
            place = f"messages[{i}]"
            if not isinstance(original, dict):
                yield Rejection(f.display, place, "message is not a JSON object", "messenger")
                continue
            if deeper_than(original, MAX_JSON_DEPTH - 2):
                yield Rejection(f.display, place, str(TooDeep()), "messenger")
                continue
            n = [0]
            m = fix_tree(original, n)
            ms = m.get("timestamp_ms")
            created = from_unix(ms, millis=True) if isinstance(ms, (int, float)) else None
            if created is None:
                yield Rejection(f.display, place, "message without timestamp_ms — not imported", "messenger")
                continue
            sender = m.get("sender_name") if isinstance(m.get("sender_name"), str) else None
            body = m.get("content") if isinstance(m.get("content"), str) else ""
            atts = []
            for key, kind in (("photos", "photo"), ("videos", "video"), ("files", "file"), ("audio_files", "audio"),
                              ("gifs", "photo")):
                for a in m.get(key) or []:
                    if isinstance(a, dict):
                        atts.append(self._attachment(a.get("uri"), kind))
            if isinstance(m.get("sticker"), dict):
                atts.append(self._attachment(m["sticker"].get("uri"), "sticker"))
            mid = f"fbexport:msg:{thread}:{ms}:{_h(sender or '', body)}"
            extra: dict[str, Any] = {"thread_title": head.get("title"), "participants": participants}
            if n[0]:
                extra["mojibake_repairs"] = n[0]
            item = self._message(
                f, place, platform=Platform.messenger, kind=MessageKind.message, platform_message_id=mid,
                conversation_id=f"fbexport:thread:{thread}", author_name=sender,
                author_is_municipality=bool(owner and sender == owner), text=body, created_at=created,
                attachments=atts, status=MessageStatus.deleted if m.get("is_unsent") else MessageStatus.active,
                extra=extra)
            yield item if isinstance(item, Rejection) else Record(item, raw_json(original), cap)
