"""`import facebook-dump`: Graph API responses, as written by `harvest facebook` or saved by hand.

Two shapes of file are read:

* a dump: JSON Lines, one response per line —
  ``{"request": {"method": "GET", "url": "…", "retrieved_at": "…Z"}, "status": 200, "body": {…},
  "context": {…}}`` (``context`` is optional: the harvester adds the platform and the account for
  requests whose URL does not name them, such as ``/{conversation-id}/messages``), plus
  ``{"attachment": {…}}`` lines recording media fetched and stored by the harvester;
* a file holding one bare response body (a page ``{"data": [...], "paging": …}``, a single
  node, a top-level array of nodes, or an ``?ids=`` answer keyed by id).

What each body holds is taken from the request URL (``/{page}/feed``, ``/{post}/comments``,
``/{page}/conversations``, ``/{conversation}/messages``, ``/{ig-user}/media``,
``/{media}/comments``, ``/{comment}/replies``), for bare bodies from ``paging.next`` when
present, and otherwise from the shape of each node. The municipality's own account is the
page or Instagram user id in the URL path; any author with that id is the municipality.

Each message's fields are checked by msgspec (``fastmsg.message_in``); what msgspec does not
accept goes to pydantic's ``MessageIn``, whose rejection is the one reported, so a bad record is
rejected with the same line either way. A field of an attachment that has the wrong type (a
number for a MIME type or a URL) is left out; the message is imported and its raw object keeps
what was there. A dump line's bytes give its capture's SHA-256 and each message's raw SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit, urlunsplit

from pydantic import ValidationError

from ..errors import Hint, Note
from ..models import (AccountIn, AttachmentIn, CaptureIn, MessageKind, MessageStatus, Platform,
                      sha256_hex)
from .blobs import blob_path
from .fastmsg import message_in
from .sources import MAX_LINE_BYTES, DamagedInput, InputFile, InputSet, iter_lines, read_document
from .store import Item, OwnAccount, Record, Rejection, StatusChange
from .textutil import (MAX_TEXT_CHARS, TooDeep, as_id, clean_opt, clean_text, loads, loads_noting_numbers,
                       parse_graph_time, raw_json_hashed, safe_payload)

THROTTLE_CODES = {4, 17, 32, 613, 80001}
_VERSION = re.compile(r"^v\d+(\.\d+)?$")
_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\"'\s#]*")


def strip_token(url: str) -> str:
    """The URL without any access_token parameter value (kept as the word REDACTED)."""
    if not url or "access_token" not in url:
        return url
    return _TOKEN_IN_URL.sub(r"\1REDACTED", url)


# -- what a request URL says ---------------------------------------------------------------------


class Context:
    """What the request says about a body: platform, own account, endpoint and object."""

    __slots__ = ("platform", "own", "edge", "object_id", "version", "url")

    def __init__(self, url: str | None = None, extra: dict[str, Any] | None = None):
        self.platform: str | None = None
        self.own: str | None = None
        self.edge: str | None = None
        self.object_id: str | None = None
        self.version: str | None = None
        self.url = url
        if url:
            parts = urlsplit(url)
            segs = [s for s in parts.path.split("/") if s]
            if segs and _VERSION.match(segs[0]):
                self.version = segs.pop(0)
            if segs:
                self.object_id = segs[0]
            if len(segs) > 1:
                self.edge = segs[1]
            q = parse_qs(parts.query)
            if self.edge in ("feed", "posts", "published_posts", "tagged"):
                self.platform, self.own = "facebook", self.object_id
            elif self.edge == "conversations":
                plat = (q.get("platform") or ["messenger"])[0]
                self.platform = "instagram" if plat == "instagram" else "messenger"
                self.own = self.object_id
            elif self.edge == "media":
                self.platform, self.own = "instagram", self.object_id
            elif self.edge == "replies":
                self.platform = "instagram"
            elif self.edge == "comments" and self.object_id:
                if "_" in self.object_id:
                    self.platform = "facebook"
                    self.own = self.object_id.split("_", 1)[0]
                else:
                    self.platform = "instagram"
            elif self.edge == "messages" and self.object_id:
                self.platform = "messenger"
        if extra:
            self.platform = extra.get("platform") or self.platform
            self.own = as_id(extra.get("account_id")) or self.own

    def source(self) -> str:
        return f"graph-api {self.version}" if self.version else "graph-api"


# -- reading files -------------------------------------------------------------------------------


def items(inputs: InputSet, data_dir: Path) -> Iterator[Item]:
    media = _media_map(inputs)
    for f in inputs.files:
        yield from file_items(f, data_dir, media)


def _is_dump(f: InputFile) -> bool:
    """Whether the file is the harvester's dump (JSON Lines of request/status/body, and its
    ``{"attachment": …}`` lines). A saved Graph node may begin with an ``attachment`` field too
    (a comment with a photo): it is a dump only when its first line is that one key alone, or
    the node's message would be skipped as an attachment line and nothing imported."""
    with f.open() as fh:
        head = fh.read(4096)
    s = head.lstrip()
    if s.startswith((b'{"request"', b'{"status"', b'{"body"')):
        return True
    if not s.startswith(b'{"attachment"'):
        return False
    obj = _first_line_object(f)
    return obj is not None and obj.keys() == {"attachment"}


def _first_line_object(f: InputFile) -> dict[str, Any] | None:
    """The file's first line as a JSON object, or None when it is not one."""
    with f.open() as fh:
        first = fh.readline(MAX_LINE_BYTES)
    try:
        obj = loads(first)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _media_map(inputs: InputSet) -> dict[str, dict[str, Any]]:
    """url → stored media, from the harvester's attachment lines (read first: they follow the page)."""
    out: dict[str, dict[str, Any]] = {}
    for f in inputs.files:
        if not _is_dump(f):
            continue
        with f.open() as fh:
            for _n, line in iter_lines(fh, MAX_LINE_BYTES):
                if line and line.startswith(b'{"attachment"'):
                    try:
                        a = loads(line)["attachment"]
                        out[a["url"]] = a
                    except (ValueError, KeyError, TypeError):
                        continue
    return out


GENERIC_KEYS = frozenset({"platform", "kind", "id", "created_at"})


def _is_generic_jsonl(f: InputFile) -> bool:
    """Whether the file's first line is a record of the generic JSON Lines format (import jsonl)."""
    obj = _first_line_object(f)
    return obj is not None and GENERIC_KEYS <= obj.keys()


def file_items(f: InputFile, data_dir: Path, media: dict[str, dict[str, Any]]) -> Iterator[Item]:
    if _is_dump(f):
        yield from _dump_items(f, data_dir, media)
    elif _is_generic_jsonl(f):
        yield Rejection(f.display, None, Note("this is the generic JSON Lines format (records with platform, kind, "
                                              "id, created_at), not a Graph API dump",
                                              Hint("import it with {step}", "import.run:jsonl")))
    else:
        yield from _bare_items(f, data_dir, media)


def _dump_items(f: InputFile, data_dir: Path, media: dict[str, dict[str, Any]]) -> Iterator[Item]:
    with f.open() as fh:
        for n, line in iter_lines(fh, MAX_LINE_BYTES):
            place = f"line {n}"
            if line is None:
                yield Rejection(f.display, place, f"line longer than {MAX_LINE_BYTES:,} bytes — refused unread")
                continue
            if not line.strip() or line.startswith(b'{"attachment"'):
                continue
            try:
                data = line.rstrip(b"\r\n")
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Rejection(f.display, place, f"not UTF-8 (byte 0x{line[exc.start]:02x} at column {exc.start + 1})")
                continue
            try:
                obj, numbers = loads_noting_numbers(text, data)
            except TooDeep as exc:
                yield Rejection(f.display, place, str(exc))
                continue
            except json.JSONDecodeError as exc:
                yield Rejection(f.display, place, f"not valid JSON ({exc.msg} at column {exc.colno}) — "
                                "truncated dump? the lines before and after are imported")
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("request"), dict) or "body" not in obj:
                yield Rejection(f.display, place, "not a dump line (expected {\"request\": …, \"status\": …, \"body\": …})")
                continue
            if obj.get("retried"):
                continue        # a throttled or failed attempt the harvester retried: kept in the dump only
            req = obj["request"]
            url = strip_token(str(req.get("url") or ""))
            retrieved = parse_graph_time(req.get("retrieved_at")) or f.mtime
            ctx = Context(url, obj.get("context") if isinstance(obj.get("context"), dict) else None)
            # The line decoded as UTF-8, so its text holds no lone surrogate: it is stored as it is
            # unless it holds NUL, and then its bytes are the payload's (hashed without encoding again).
            if b"\x00" in data:
                payload = safe_payload(text)
                payload_sha = sha256_hex(payload)
            else:
                payload, payload_sha = text, hashlib.sha256(data).hexdigest()
            cap = CaptureIn(source=ctx.source(), locator=url or f.display, entry=f"{Path(f.name).name} {place}",
                            retrieved_at=retrieved, payload=payload, sha256=payload_sha)
            yield from body_items(obj["body"], ctx, cap, f.display, place, data_dir, media, status=obj.get("status"),
                                  numbers=numbers, escapes=b"\\ud" in data or b"\\uD" in data)


def _bare_items(f: InputFile, data_dir: Path, media: dict[str, dict[str, Any]]) -> Iterator[Item]:
    try:
        data = read_document(f, what=" for a single response body (a dump should be JSON Lines)")
    except DamagedInput as exc:
        yield Rejection(f.display, None, str(exc))
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield Rejection(f.display, None, f"not UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})")
        return
    if not text.strip():
        return          # an empty file holds nothing to import, as an empty JSON Lines file (not a bad line 1)
    try:
        body, numbers = loads_noting_numbers(text)
    except TooDeep as exc:
        yield Rejection(f.display, None, str(exc))
        return
    except json.JSONDecodeError as exc:
        yield Rejection(f.display, f"line {exc.lineno}", f"not valid JSON ({exc.msg} at column {exc.colno}) — truncated?")
        return
    hint = None
    if isinstance(body, dict) and isinstance(body.get("paging"), dict):
        hint = body["paging"].get("next") or body["paging"].get("previous")
    ctx = Context(strip_token(hint) if isinstance(hint, str) else None)
    payload = safe_payload(text)
    cap = CaptureIn(source=ctx.source() + " (saved response)", locator=f.display, entry=None,
                    retrieved_at=f.mtime, payload=payload, sha256=sha256_hex(payload))
    yield from body_items(body, ctx, cap, f.display, None, data_dir, media, status=None, numbers=numbers)


# -- bodies --------------------------------------------------------------------------------------


def body_items(body: Any, ctx: Context, cap: CaptureIn, file: str, place: str | None, data_dir: Path,
               media: dict[str, dict[str, Any]], status: Any = None, numbers: bool = True,
               escapes: bool | None = None) -> Iterator[Item]:
    """The items of one response body; ``numbers=False`` when its text held no fraction,
    exponent or NaN (each message's raw object is then encoded by orjson, see ``raw_json``);
    ``escapes``: whether the text holds a ``\\uD…`` escape (a possible lone surrogate), when the
    caller has looked (else it is looked for in the capture's payload)."""
    p = _Parser(ctx, cap, file, place, data_dir, media, numbers, escapes)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        yield from p.error(body["error"], status)
        return
    if status not in (None, 200) and not isinstance(body, (dict, list)):
        yield Rejection(file, place, f"HTTP status {status} without a Graph API body")
        return
    if ctx.own and ctx.platform:
        yield OwnAccount(AccountIn(platform=Platform(ctx.platform), platform_id=ctx.own, own=True))
    yield from p.body(body)


def _entry(place: str | None, i: str) -> str:
    return f"{place} {i}" if place else i


class _Parser:
    def __init__(self, ctx: Context, cap: CaptureIn, file: str, place: str | None, data_dir: Path,
                 media: dict[str, dict[str, Any]], numbers: bool = True, escapes: bool | None = None):
        self.ctx, self.cap, self.file, self.place = ctx, cap, file, place
        self.data_dir, self.media, self.numbers = data_dir, media, numbers
        if escapes is None:
            p = cap.payload
            escapes = "\\ud" in p or "\\uD" in p
        self.may_have_surrogates = escapes

    # structure

    def body(self, body: Any) -> Iterator[Item]:
        if isinstance(body, list):
            for i, node in enumerate(body):
                yield from self.node(node, f"[{i}]")
        elif isinstance(body, dict) and isinstance(body.get("data"), list):
            for i, node in enumerate(body["data"]):
                yield from self.node(node, f"data[{i}]")
        elif isinstance(body, dict) and "id" not in body and body and all(
                isinstance(v, dict) and str(v.get("id")) == k for k, v in body.items()):
            for k, node in body.items():          # an ?ids= answer keyed by id
                yield from self.node(node, k)
        elif isinstance(body, dict) and "entry" in body and "object" in body:
            yield Rejection(self.file, self.place, "a webhook delivery (object/entry), not a Graph API response — "
                            "not read by import facebook-dump")
        elif isinstance(body, dict):
            yield from self.node(body, "(object)")
        else:
            yield Rejection(self.file, self.place, "response body is not a JSON object or array")

    def node(self, node: Any, where: str) -> Iterator[Item]:
        if not isinstance(node, dict):
            yield self.reject(where, "entry is not a JSON object")
            return
        kind = self.classify(node)
        if kind == "fb_post":
            yield from self.fb_post(node, where)
        elif kind == "fb_comment":
            yield from self.fb_comment(node, where, post_id=self._post_from_ctx(), parent=None)
        elif kind == "conversation":
            yield from self.conversation(node, where)
        elif kind == "message":
            yield from self.message(node, where, conv=None)
        elif kind == "ig_media":
            yield from self.ig_media(node, where)
        elif kind == "ig_comment":
            media_id = self.ctx.object_id if self.ctx.edge == "comments" else None
            parent = self.ctx.object_id if self.ctx.edge in ("comments", "replies") else None
            yield from self.ig_comment(node, where, media_id=media_id, parent=parent,
                                       reply=self.ctx.edge == "replies")
        else:
            yield self.reject(where, "cannot tell what this entry is (no id, text or time the importer knows)")

    def classify(self, n: dict[str, Any]) -> str:
        edge, plat = self.ctx.edge, self.ctx.platform
        if edge in ("feed", "posts", "published_posts", "tagged"):
            return "fb_post"
        if edge == "conversations":
            return "conversation"
        if edge == "messages":
            return "message"
        if edge == "media":
            return "ig_media"
        if edge == "replies" or (edge == "comments" and plat == "instagram"):
            return "ig_comment"
        if edge == "comments":
            return "fb_comment"
        nid = str(n.get("id") or "")
        if "media_type" in n or "caption" in n or "media_url" in n:
            return "ig_media"
        if "text" in n or "username" in n or ("timestamp" in n and "created_time" not in n):
            return "ig_comment"
        if nid.startswith("t_") or "participants" in n or "senders" in n or isinstance(n.get("messages"), dict):
            return "conversation"
        if nid.startswith("m_") or "to" in n or "tags" in n or (
                "attachments" in n and "created_time" not in n and "message" not in n):
            return "message"
        if "parent" in n or "comment_id=" in str(n.get("permalink_url") or "") or "can_comment" in n:
            return "fb_comment"
        if nid or "created_time" in n or "message" in n:
            return "fb_post"
        return "unknown"

    def reject(self, where: str, reason: str) -> Rejection:
        return Rejection(self.file, _entry(self.place, where), reason, self.ctx.platform)

    # errors

    def error(self, err: dict[str, Any], status: Any) -> Iterator[Item]:
        code, sub = err.get("code"), err.get("error_subcode")
        msg = str(err.get("message") or "")[:300]
        if code == 100 and sub == 33 and self.ctx.object_id:
            yield StatusChange(self.ctx.platform, self.ctx.object_id, MessageStatus.not_retrievable, self.cap,
                               {"code": 100, "error_subcode": 33, "message": msg,
                                "meaning": "deleted or no longer permitted; the platform does not say which"})
            return
        what = f"Graph API error {code}" + (f"/{sub}" if sub is not None else "")
        if code == 190:
            hint = "the access token has expired or was revoked"
        elif code in THROTTLE_CODES:
            hint = "rate limited; harvest again later"
        elif code == 100:
            hint = "object does not exist or permission is missing"
        else:
            hint = None
        reason = f"{what} ({err.get('type', 'error')}): {msg}" + (f" — {hint}" if hint else "")
        if status not in (None, 200, 400):
            reason = f"HTTP {status}, {reason}"
        yield Rejection(self.file, self.place, reason, self.ctx.platform)

    # shared

    def _post_from_ctx(self) -> str | None:
        if self.ctx.edge == "comments" and self.ctx.object_id and "_" in self.ctx.object_id:
            oid = self.ctx.object_id
            if self.ctx.own and oid.startswith(self.ctx.own + "_"):
                return oid
        return None

    def _text(self, s: Any, where: str) -> tuple[str, int] | Rejection:
        if s is None:
            return "", 0
        if not isinstance(s, str):
            return self.reject(where, "message text is not a string")
        if len(s) > MAX_TEXT_CHARS:
            return self.reject(where, f"text is {len(s):,} characters; the limit is {MAX_TEXT_CHARS:,} — not imported")
        return clean_text(s)

    def _time(self, n: dict[str, Any], *keys: str) -> tuple[datetime, bool]:
        for k in keys:
            t = parse_graph_time(n.get(k))
            if t is not None:
                return t, True
        return self.cap.retrieved_at, False

    def _attachment(self, url: str | None, kind: str | None, media_type: str | None = None,
                    name: str | None = None, size: Any = None) -> AttachmentIn:
        # A field of the wrong type (a number for a MIME type or a URL) loses that field, not the
        # message: the raw object keeps what was there.
        url = strip_token(url) if url and isinstance(url, str) else None
        kind = kind if isinstance(kind, str) else None
        media_type = media_type if isinstance(media_type, str) else None
        name = name if isinstance(name, str) else None
        stored = self.media.get(url) if url else None
        if stored and isinstance(stored.get("sha256"), str) and blob_path(self.data_dir, stored["sha256"]).exists():
            stored_type, stored_size = stored.get("media_type"), stored.get("size")
            return AttachmentIn(kind=kind, media_type=(stored_type if isinstance(stored_type, str) else None) or media_type,
                                source_url=url, filename=name, sha256=stored["sha256"],
                                size=stored_size if type(stored_size) is int else None)
        note = "not fetched" if stored is None else f"not fetched: {stored.get('error') or 'bytes not in this data folder'}"
        # Without the bytes, the signed CDN URL changes on every harvest: keep it in the note, so
        # that it does not make a new version of the message each time.
        return AttachmentIn(kind=kind, media_type=media_type, filename=name,
                            size=size if type(size) is int else None, note=f"{note}: {url}" if url else note)

    def _record(self, where: str, raw_node: dict[str, Any], **fields: Any) -> Item:
        author_name, n2 = clean_opt(fields.pop("author_name", None))
        extra = fields.pop("extra", None) or {}
        sanitized = fields.pop("sanitized", 0) + n2
        if sanitized:
            extra["sanitized_chars"] = sanitized
        fields.setdefault("account_platform_id", self.ctx.own)
        fields["author_name"] = author_name
        fields["extra"] = extra
        try:
            msg = message_in(fields)
        except ValidationError as exc:
            return self.reject(where, "; ".join(f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        raw, raw_sha = raw_json_hashed(raw_node, self.may_have_surrogates, self.numbers)
        return Record(msg, raw, self.cap, raw_sha)

    def _author(self, n: dict[str, Any]) -> tuple[str | None, str | None]:
        fr = n.get("from")
        if isinstance(fr, dict):
            return as_id(fr.get("id")), fr.get("name") or fr.get("username")
        user = n.get("user")
        if isinstance(user, dict):
            return as_id(user.get("id")), n.get("username")
        return None, n.get("username") if isinstance(n.get("username"), str) else None

    # Facebook page posts and comments

    def fb_post(self, n: dict[str, Any], where: str) -> Iterator[Item]:
        pid = as_id(n.get("id"))
        if not pid:
            yield self.reject(where, "post without an id — not imported")
            return
        own = self.ctx.own or _page_from(n, pid)
        txt = self._text(n.get("message") if n.get("message") is not None else n.get("story"), where)
        if isinstance(txt, Rejection):
            yield txt
        else:
            author_id, author_name = self._author(n)
            if author_id is None and own and self.ctx.edge in ("posts", "published_posts"):
                author_id = own
            created, known = self._time(n, "created_time")
            atts = self._post_attachments(n)
            extra: dict[str, Any] = {}
            if n.get("updated_time"):
                extra["updated_time"] = n["updated_time"]
            if not known:
                extra["created_at_source"] = "capture time (no created_time in the response)"
            yield self._record(
                where, _without(n, "comments"), platform=Platform.facebook, kind=MessageKind.post,
                platform_message_id=pid, post_platform_id=pid, account_platform_id=own, author_id=author_id,
                author_name=author_name, author_is_municipality=bool(own and author_id == own), text=txt[0],
                sanitized=txt[1], created_at=created, permalink=n.get("permalink_url"), attachments=atts,
                status=MessageStatus.hidden if n.get("is_hidden") else MessageStatus.active, extra=extra)
        comments = n.get("comments")
        if isinstance(comments, dict) and isinstance(comments.get("data"), list):
            saved_own = self.ctx.own
            self.ctx.own = own
            for i, c in enumerate(comments["data"]):
                if isinstance(c, dict):
                    yield from self.fb_comment(c, f"{where}.comments[{i}]", post_id=pid, parent=None)
            self.ctx.own = saved_own

    def _post_attachments(self, n: dict[str, Any]) -> list[AttachmentIn]:
        out = []
        atts = n.get("attachments")
        if isinstance(atts, dict) and isinstance(atts.get("data"), list):
            for a in atts["data"]:
                if not isinstance(a, dict):
                    continue
                subs = a.get("subattachments", {}).get("data") if isinstance(a.get("subattachments"), dict) else None
                for s in (subs or [a]):
                    if isinstance(s, dict):
                        url, kind = _story_media(s)
                        if url:
                            out.append(self._attachment(url, kind))
        elif n.get("full_picture"):
            out.append(self._attachment(n["full_picture"], "photo"))
        return out

    def fb_comment(self, c: dict[str, Any], where: str, *, post_id: str | None, parent: str | None) -> Iterator[Item]:
        cid = as_id(c.get("id"))
        perm = c.get("permalink_url") if isinstance(c.get("permalink_url"), str) else None
        page = self.ctx.own
        par = c.get("parent")
        # The permalink is only parsed when it has something to add (it is slow to parse 10^6 times).
        if perm and (not cid or post_id is None or page is None or ("reply_comment_id=" in perm and parent is None
                                                                     and not isinstance(par, dict))):
            pg, post_part, com, rep = _from_permalink(perm)
            page = page or pg
            if not cid and post_part and (rep or com):
                cid = f"{post_part}_{rep or com}"
            if post_id is None and pg and post_part:
                post_id = f"{pg}_{post_part}"
            if rep and com and parent is None and not isinstance(par, dict):
                parent = f"{post_part}_{com}"
        if not cid:
            yield self.reject(where, "comment without an id (and no permalink to take it from) — not imported")
            return
        if post_id is None and page and "_" in cid:
            post_id = f"{page}_{cid.split('_', 1)[0]}"
        if isinstance(par, dict) and as_id(par.get("id")):
            parent = as_id(par.get("id"))
        parent = parent or post_id
        is_reply = parent is not None and parent != post_id
        txt = self._text(c.get("message"), where)
        if isinstance(txt, Rejection):
            yield txt
        else:
            author_id, author_name = self._author(c)
            created, known = self._time(c, "created_time")
            atts = []
            a = c.get("attachment")
            if isinstance(a, dict):
                url, kind = _story_media(a)
                if url:
                    atts.append(self._attachment(url, kind))
            extra: dict[str, Any] = {}
            if not known:
                extra["created_at_source"] = "capture time (no created_time in the response)"
            if "from" not in c and "user" not in c:
                extra["author_withheld"] = True
            yield self._record(
                where, _without(c, "comments"), platform=Platform.facebook,
                kind=MessageKind.reply if is_reply else MessageKind.comment, platform_message_id=cid,
                parent_platform_id=parent, post_platform_id=post_id, account_platform_id=page,
                author_id=author_id, author_name=author_name, author_is_municipality=bool(page and author_id == page),
                text=txt[0], sanitized=txt[1], created_at=created, permalink=perm, attachments=atts,
                status=MessageStatus.hidden if c.get("is_hidden") else MessageStatus.active, extra=extra)
        sub = c.get("comments")
        if isinstance(sub, dict) and isinstance(sub.get("data"), list):
            for i, r in enumerate(sub["data"]):
                if isinstance(r, dict):
                    yield from self.fb_comment(r, f"{where}.comments[{i}]", post_id=post_id, parent=cid)

    # conversations (Messenger and Instagram)

    def conversation(self, n: dict[str, Any], where: str) -> Iterator[Item]:
        conv = as_id(n.get("id"))
        msgs = n.get("messages")
        if not conv:
            yield self.reject(where, "conversation without an id — its messages are not imported")
            return
        if isinstance(msgs, dict) and isinstance(msgs.get("data"), list):
            for i, m in enumerate(msgs["data"]):
                yield from self.message(m, f"{where}.messages[{i}]", conv=conv)

    def message(self, m: Any, where: str, conv: str | None) -> Iterator[Item]:
        if not isinstance(m, dict):
            yield self.reject(where, "message is not a JSON object")
            return
        mid = as_id(m.get("id"))
        if not mid:
            yield self.reject(where, "message without an id — not imported")
            return
        if conv is None and self.ctx.edge == "messages":
            conv = self.ctx.object_id
        platform = Platform.instagram if self.ctx.platform == "instagram" else Platform.messenger
        txt = self._text(m.get("message"), where)
        if isinstance(txt, Rejection):
            yield txt
            return
        author_id, author_name = self._author(m)
        text_absent = "message" not in m
        own = self.ctx.own
        created, known = self._time(m, "created_time")
        atts = []
        a = m.get("attachments")
        if isinstance(a, dict) and isinstance(a.get("data"), list):
            for x in a["data"]:
                if not isinstance(x, dict):
                    continue
                url = None
                kind = "file"
                if isinstance(x.get("image_data"), dict):
                    url, kind = x["image_data"].get("url"), "photo"
                elif isinstance(x.get("video_data"), dict):
                    url, kind = x["video_data"].get("url"), "video"
                elif x.get("file_url"):
                    url = x["file_url"]
                atts.append(self._attachment(url, kind, x.get("mime_type"), x.get("name"), x.get("size")))
        extra: dict[str, Any] = {}
        to = m.get("to")
        if isinstance(to, dict) and isinstance(to.get("data"), list):
            extra["to"] = [{"id": as_id(t.get("id")), "name": t.get("name")} for t in to["data"] if isinstance(t, dict)]
        if not known:
            extra["created_at_source"] = "capture time (no created_time in the response)"
        if text_absent:
            extra["text_absent"] = True   # the field was not requested: not an empty message
        status = MessageStatus.deleted if m.get("is_unsent") or m.get("is_deleted") else MessageStatus.active
        yield self._record(
            where, m, platform=platform, kind=MessageKind.message, platform_message_id=mid, conversation_id=conv,
            author_id=author_id, author_name=author_name, author_is_municipality=bool(own and author_id == own),
            text=txt[0], sanitized=txt[1], created_at=created, attachments=atts, status=status, extra=extra)

    # Instagram media and comments

    def ig_media(self, n: dict[str, Any], where: str) -> Iterator[Item]:
        mid = as_id(n.get("id"))
        if not mid:
            yield self.reject(where, "media without an id — not imported")
            return
        owner = n.get("owner")
        own = self.ctx.own or (as_id(owner.get("id")) if isinstance(owner, dict) else None)
        txt = self._text(n.get("caption"), where)
        if isinstance(txt, Rejection):
            yield txt
        else:
            created, known = self._time(n, "timestamp")
            atts = []
            children = n.get("children", {}).get("data") if isinstance(n.get("children"), dict) else None
            for ch in (children or [n]):
                if isinstance(ch, dict) and ch.get("media_url"):
                    kind = "video" if ch.get("media_type") == "VIDEO" else "photo"
                    atts.append(self._attachment(ch["media_url"], kind))
            extra = {} if known else {"created_at_source": "capture time (no timestamp in the response)"}
            yield self._record(
                where, _without(n, "comments"), platform=Platform.instagram, kind=MessageKind.post,
                platform_message_id=mid, post_platform_id=mid, account_platform_id=own, author_id=own,
                author_name=n.get("username"), author_is_municipality=bool(own), text=txt[0], sanitized=txt[1],
                created_at=created, permalink=n.get("permalink"), attachments=atts, extra=extra)
        comments = n.get("comments")
        if isinstance(comments, dict) and isinstance(comments.get("data"), list):
            saved = self.ctx.own
            self.ctx.own = own
            for i, c in enumerate(comments["data"]):
                yield from self.ig_comment(c, f"{where}.comments[{i}]", media_id=mid, parent=mid, reply=False)
            self.ctx.own = saved

    def ig_comment(self, c: Any, where: str, *, media_id: str | None, parent: str | None,
                   reply: bool) -> Iterator[Item]:
        if not isinstance(c, dict):
            yield self.reject(where, "comment is not a JSON object")
            return
        cid = as_id(c.get("id"))
        if not cid:
            yield self.reject(where, "comment without an id — not imported")
            return
        med = c.get("media")
        if isinstance(med, dict) and as_id(med.get("id")):
            media_id = as_id(med.get("id"))
        if as_id(c.get("parent_id")):
            parent, reply = as_id(c.get("parent_id")), True
        parent = parent or media_id
        txt = self._text(c.get("text"), where)
        if isinstance(txt, Rejection):
            yield txt
        else:
            author_id, author_name = self._author(c)
            own = self.ctx.own
            created, known = self._time(c, "timestamp", "created_time")
            extra = {} if known else {"created_at_source": "capture time (no timestamp in the response)"}
            if c.get("username"):
                extra["username"] = c["username"]
            yield self._record(
                where, _without(c, "replies"), platform=Platform.instagram,
                kind=MessageKind.reply if reply else MessageKind.comment, platform_message_id=cid,
                parent_platform_id=parent, post_platform_id=media_id, author_id=author_id, author_name=author_name,
                author_is_municipality=bool(own and author_id == own), text=txt[0], sanitized=txt[1],
                created_at=created, status=MessageStatus.hidden if c.get("hidden") else MessageStatus.active,
                extra=extra)
        replies = c.get("replies")
        if isinstance(replies, dict) and isinstance(replies.get("data"), list):
            for i, r in enumerate(replies["data"]):
                yield from self.ig_comment(r, f"{where}.replies[{i}]", media_id=media_id, parent=cid, reply=True)


def _without(n: dict[str, Any], key: str) -> dict[str, Any]:
    """The node without a nested edge (each nested message keeps its own raw object)."""
    if key not in n:
        return n
    return {k: v for k, v in n.items() if k != key}


_PERMALINK = re.compile(r"facebook\.com/(\d+)/posts/(\d+)")


def _from_permalink(url: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(page id, post id part, comment id, reply comment id) from a Facebook permalink."""
    m = _PERMALINK.search(url)
    page, post = (m.group(1), m.group(2)) if m else (None, None)
    q = parse_qs(urlsplit(url).query)
    com = (q.get("comment_id") or [None])[0]
    rep = (q.get("reply_comment_id") or [None])[0]
    return page, post, com, rep


def _page_from(n: dict[str, Any], pid: str) -> str | None:
    perm = n.get("permalink_url")
    if isinstance(perm, str):
        page, _post, _c, _r = _from_permalink(perm)
        if page:
            return page
    if "_" in pid:
        return pid.split("_", 1)[0]
    return None


def _story_media(a: dict[str, Any]) -> tuple[str | None, str | None]:
    """The fetchable media URL of a story attachment and its kind."""
    kind = a.get("media_type") or a.get("type")
    media = a.get("media")
    if isinstance(media, dict):
        if media.get("source"):
            return media["source"], "video"
        img = media.get("image")
        if isinstance(img, dict) and img.get("src"):
            return img["src"], kind or "photo"
    return None, kind


def node_media_urls(body: Any) -> list[tuple[str, str | None]]:
    """Every media URL in a response body (for the harvester to fetch), in document order."""
    out: list[tuple[str, str | None]] = []

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            if isinstance(o.get("media"), dict):
                url, kind = _story_media(o)
                if url:
                    out.append((url, kind))
            for key, kind in (("image_data", "photo"), ("video_data", "video")):
                if isinstance(o.get(key), dict) and o[key].get("url"):
                    out.append((o[key]["url"], kind))
            if isinstance(o.get("media_url"), str):
                out.append((o["media_url"], "video" if o.get("media_type") == "VIDEO" else "photo"))
            if isinstance(o.get("file_url"), str):
                out.append((o["file_url"], "file"))
            for k, v in o.items():
                if k != "paging":
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(body)
    seen: set[str] = set()
    uniq = []
    for u, k in out:
        if u not in seen:
            seen.add(u)
            uniq.append((u, k))
    return uniq


def canonical_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
