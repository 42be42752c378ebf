"""`import jsonl`: the project's own format, one message per line (schemas/generic-import.schema.json)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import jsonschema
from pydantic import ValidationError

from ..errors import Hint, Note
from ..models import AccountIn, AttachmentIn, CaptureIn, MessageIn, MessageKind, MessageStatus, Platform, sha256_hex
from .blobs import TooLarge, store_blob
from ringebu_journal.schemas import GENERIC_IMPORT_SCHEMA

from .sources import MAX_LINE_BYTES, InputFile, InputSet, iter_lines
from .store import Item, OwnAccount, Record, Rejection
from .textutil import MAX_TEXT_CHARS, TooDeep, clean_opt, clean_text, loads, parse_graph_time, safe_payload

SCHEMA_PATH = GENERIC_IMPORT_SCHEMA
SOURCE = "jsonl"


@lru_cache(maxsize=1)
def validator() -> jsonschema.Draft202012Validator:
    with open(SCHEMA_PATH, encoding="utf-8") as fh:
        schema = json.load(fh)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(obj: Any) -> list[str]:
    out = []
    for e in sorted(validator().iter_errors(obj), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in e.absolute_path) or "(line)"
        msg = e.message if len(e.message) < 200 else e.message[:200] + "…"
        out.append(f"{where}: {msg}")
    return out


def items(inputs: InputSet, data_dir: Path) -> Iterator[Item]:
    for f in inputs.files:
        yield from _file_items(f, data_dir)


def _file_items(f: InputFile, data_dir: Path) -> Iterator[Item]:
    base = f.folder
    seen_accounts: set[tuple[str, str]] = set()
    first = True
    with f.open() as fh:
        for n, line in iter_lines(fh, MAX_LINE_BYTES):
            place = f"line {n}"
            if line is None:
                yield Rejection(f.display, place, f"line longer than {MAX_LINE_BYTES:,} bytes — refused unread; "
                                "split the message or keep it as an attachment")
                continue
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Rejection(f.display, place, f"not UTF-8 (byte 0x{line[exc.start]:02x} at column {exc.start + 1}) "
                                "— save the file as UTF-8")
                continue
            text = text.rstrip("\r\n")
            if text.startswith("\ufeff"):
                text = text[1:]
            try:
                obj = loads(text)
            except json.JSONDecodeError as exc:
                yield Rejection(f.display, place, f"not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            except TooDeep as exc:
                yield Rejection(f.display, place, str(exc))
                continue
            if first and isinstance(obj, dict) and (("request" in obj and "body" in obj) or set(obj) == {"attachment"}):
                yield Rejection(f.display, None, Note("this is a Graph API dump (written by the harvest), not the "
                                                      "generic JSON Lines format",
                                                      Hint("import it with {step}", "import.run:facebook-dump")))
                return
            first = False
            errors = schema_errors(obj)
            if errors:
                yield Rejection(f.display, place, "does not follow schemas/generic-import.schema.json: " + "; ".join(errors[:5]),
                                platform=obj.get("platform") if isinstance(obj, dict) and isinstance(obj.get("platform"), str) else None)
                continue
            yield from _record(f, place, text, obj, base, data_dir, seen_accounts)


def _record(f: InputFile, place: str, line: str, obj: dict[str, Any], base: Path | None, data_dir: Path,
            seen_accounts: set[tuple[str, str]]) -> Iterator[Item]:
    platform = obj["platform"]
    created = parse_graph_time(obj["created_at"])
    if created is None or "T" not in obj["created_at"] and " " not in obj["created_at"]:
        yield Rejection(f.display, place, f"created_at {obj['created_at']!r} is not an ISO 8601 date and time "
                        "(write e.g. 2024-05-02T08:15:30Z)", platform)
        return
    captured = parse_graph_time(obj["captured_at"]) if obj.get("captured_at") else f.mtime
    if captured is None:
        yield Rejection(f.display, place, f"captured_at {obj['captured_at']!r} is not an ISO 8601 date and time", platform)
        return
    raw_text = obj.get("text") or ""
    if len(raw_text) > MAX_TEXT_CHARS:
        yield Rejection(f.display, place, f"text is {len(raw_text):,} characters; the limit is {MAX_TEXT_CHARS:,} "
                        "— keep a document this long as an attachment", platform)
        return
    text, n1 = clean_text(raw_text)
    author = obj.get("author") or {}
    author_name, n2 = clean_opt(author.get("name"))
    attachments: list[AttachmentIn] = []
    for i, a in enumerate(obj.get("attachments") or []):
        res = _attachment(a, base, data_dir)
        if isinstance(res, str):
            yield Rejection(f.display, place, f"attachments/{i}: {res}", platform)
            return
        attachments.append(res)
    extra = dict(obj.get("extra") or {})
    if n1 or n2:
        extra["sanitized_chars"] = n1 + n2
    account = obj.get("account_id")
    if account and (platform, account) not in seen_accounts:
        seen_accounts.add((platform, account))
        yield OwnAccount(AccountIn(platform=Platform(platform), platform_id=account, name=obj.get("account_name"), own=True))
    payload = safe_payload(line)
    cap = CaptureIn(source=SOURCE, locator=f.display, entry=place, retrieved_at=captured, payload=payload,
                    sha256=sha256_hex(payload))
    try:
        msg = MessageIn(
            platform=Platform(platform), kind=MessageKind(obj["kind"]), platform_message_id=obj["id"],
            parent_platform_id=obj.get("parent_id"), post_platform_id=obj.get("post_id"),
            conversation_id=obj.get("conversation_id"), account_platform_id=account,
            author_id=author.get("id"), author_name=author_name,
            author_is_municipality=bool(author.get("is_municipality", False)), text=text, created_at=created,
            permalink=obj.get("permalink"), attachments=attachments,
            status=MessageStatus(obj.get("status") or "active"), extra=extra)
    except ValidationError as exc:
        yield Rejection(f.display, place, "; ".join(f"{'/'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()), platform)
        return
    yield Record(msg, payload, cap)


def _attachment(a: dict[str, Any], base: Path | None, data_dir: Path) -> AttachmentIn | str:
    rel = a["path"]
    if base is None:
        return ("attachments can only be read beside a JSON Lines file on disk, not inside an archive or from "
                "standard input — import the file by its path")
    if rel.startswith(("/", "\\")) or (len(rel) > 1 and rel[1] == ":") or ".." in Path(rel.replace("\\", "/")).parts:
        return f"path {rel!r} must be relative to the file's folder and stay inside it"
    p = (base / rel).resolve()
    try:
        p.relative_to(base)
    except ValueError:
        return f"path {rel!r} leads outside the file's folder (symbolic link?) — refused"
    if not p.is_file():
        return f"file {rel!r} not found next to the JSON Lines file"
    try:
        with open(p, "rb") as fh:
            sha, size = store_blob(data_dir, fh)
    except TooLarge as exc:
        return f"file {rel!r} is too large: {exc}"
    except OSError as exc:
        return f"file {rel!r} cannot be read ({exc.strerror})"
    return AttachmentIn(media_type=a.get("media_type"), kind=a.get("kind"), filename=Path(rel).name, sha256=sha,
                        size=size, note=a.get("note"))
