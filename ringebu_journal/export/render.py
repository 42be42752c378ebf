"""The archive copy of a message: its thread rendered as PDF/A-2b with Typst, rendered once and cached.

The document shows the message, its thread context (authors, times, platform ids), how and when
it was captured (source, locator without tokens, retrieved_at) and the SHA-256 of the raw payload.
It shows nothing of the decision, so a moderator's later change does not change the full copy.
What the thread context may show (masked, left out and counted) is decided by ``masking.py``;
this module only lays out what it is given.

The content goes to Typst as one JSON document (``sys.inputs.data``, read by ``thread.typ``):
values are set as text and never parsed as markup, so no value can change the layout or inject
anything. Fonts are the ones shipped in ``fonts/`` (Noto Sans, Noto Sans Arabic, DejaVu Sans
symbols, with their licences); system and Typst's own fonts are ignored, so every machine gives
the same bytes. Nothing is fetched: the template reads no file but itself.

Rendering is deterministic: the PDF's dates come from the message (``timestamp`` and the document
date), Typst derives the /ID from the content; the same JSON always gives the same bytes. Files are
cached under ``<data_dir>/render-cache/`` by the SHA-256 of the JSON, the renderer version, the
layout and the fonts, and the missing ones are rendered on two processes.

PDF/A-2b, not PDF/A-3b: the original platform data is archived beside the PDF as its own
document (vedlegg «Originaldata»), not embedded in it; Arkivverket accepts PDF/A-3 only on
application, and an embedded file would be a second copy outside the dokumentobjekt the archive
keeps checksums of.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ringebu_journal.errors import ProblemsFound
from ringebu_journal.organisation import DEFAULTS

RENDER_VERSION = "ringebu-journal-render/3"
PDF_PUID = "fmt/477"        # PDF/A-2b
PDF_STANDARD = "a-2b"
TEXT_PUID = "x-fmt/111"     # plain text (UTF-8)
CACHE_DIR = "render-cache"
WORKERS = 2
POOL_MIN = 6          # fewer documents than this are rendered in-process
HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "thread.typ"
FONT_DIR = HERE / "fonts"

_SECRET_PARAMS = re.compile(r"(token|secret|signature|sig|key|password|appsecret_proof|code)$", re.IGNORECASE)
_PLATFORM = {"facebook": "Facebook", "messenger": "Messenger", "instagram": "Instagram", "x": "X",
             "linkedin": "LinkedIn", "tiktok": "TikTok", "email": "E-post", "other": "Annen kanal"}
_KIND = {"post": "Innlegg", "comment": "Kommentar", "reply": "Svar", "message": "Melding"}
_STATUS = {"active": "synlig", "hidden": "skjult", "deleted": "slettet", "not_retrievable": "ikke lenger hentbar"}
ANONYM = "Anonym / ukjent"

def strip_secrets(locator: str) -> str:
    """The capture locator without access tokens or other secrets in its query string."""
    if not locator:
        return ""
    try:
        parts = urlsplit(locator)
    except ValueError:
        return locator
    if not parts.query:
        return locator
    query = [(k, "…" if _SECRET_PARAMS.search(k) else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="/,:…")))


def _t(dt: datetime | None) -> str:
    if dt is None:
        return "–"
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


# PDF/A allows no missing glyph, so a character outside the shipped fonts (fonts/coverage.txt) is
# named: pictographs (emoji) and scripts the fonts do not cover are printed as, e.g.,
# ⟦CLAPPING HANDS SIGN⟧, so the reader still sees what the writer meant. Invisible format
# characters (joiners, variation selectors, bidi controls) outside the fonts are dropped, controls
# and lone surrogates become U+FFFD. The original characters stay in the «Originaldata» attachment.
def _covered_class() -> re.Pattern:
    parts = []
    for line in (FONT_DIR / "coverage.txt").read_text(encoding="ascii").split():
        a, b = (int(x, 16) for x in line.split("-"))
        parts.append(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}")
    return re.compile("[^\n" + "".join(parts) + "]")


_UNCOVERED = _covered_class()
_DROP = {"Cf", "Mn", "Me"}
_REPLACE = {"Cc", "Cs", "Co", "Cn"}


def _name_uncovered(m: re.Match) -> str:
    ch = m.group(0)
    if ch == "\t":
        return "    "
    cat = unicodedata.category(ch)
    if cat in _DROP:
        return ""
    if cat in _REPLACE:
        return "\ufffd"
    return "⟦" + unicodedata.name(ch, f"U+{ord(ch):04X}") + "⟧"


# A word longer than the line would run off the page: offer a break every 24 characters.
_LONG_WORD = re.compile(r"\S{40,}")


def _break_long(m: re.Match) -> str:
    w = m.group(0)
    return "\u200b".join(w[i:i + 24] for i in range(0, len(w), 24))


def _s(value: Any) -> str:
    """A value as the archive copy shows it: every character printable with the shipped fonts."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _UNCOVERED.search(text):
        text = _UNCOVERED.sub(_name_uncovered, text)
    return _LONG_WORD.sub(_break_long, text)


@dataclass(frozen=True)
class RenderJob:
    key: str
    data: str           # the document as JSON (thread.typ reads it)
    epoch: int          # the PDF's creation time: the message's time


@dataclass(frozen=True)
class Shown:
    """One message of the thread as a copy shows it (``text`` and ``author`` already masked)."""

    message: Mapping[str, Any]
    text: str
    author: str


LEFT_OUT_NOTE = {
    "excluded": "{n} melding(er) i tråden er avgrenset (ikke arkivverdig) og ikke tatt med.",
    "undecided": "{n} melding(er) i tråden er ikke ferdig vurdert og ikke tatt med.",
    "screened": "{n} melding(er) i tråden er unntatt offentlighet i sin helhet og ikke tatt med her; "
                "de er arkivert som egne registreringer.",
}
MASKED_NOTE = "Opplysninger i tråden som er unntatt offentlighet, er erstattet med ******."


def _rows(pairs: Iterable[tuple[str, Any, bool]]) -> list[list[Any]]:
    return [[_s(k), _s(v), mono] for k, v, mono in pairs if v not in (None, "")]


def thread_document(message: Mapping[str, Any], thread: list[Shown], *, capture: Mapping[str, Any] | None,
                    attachments: list[Mapping[str, Any]], left_out: Mapping[str, int] | None = None,
                    masked: bool = False, focus_text: str | None = None, focus_author: str | None = None,
                    variant_note: str = "", organisation: str = DEFAULTS.name) -> str:
    """The JSON document of one archive copy: ``message`` in its ``thread``, as ``thread.typ`` lays it out.

    ``thread`` lists the messages to show (the focus message among them), in order; ``left_out``
    counts the ones not shown by reason (excluded, undecided, screened). ``focus_text`` and
    ``focus_author`` replace the message's own text and author (the redacted variant), and
    ``variant_note`` says on the first page what the variant is; ``organisation`` (the profile's
    name) heads every page.
    """
    m = message
    platform = _PLATFORM.get(m["platform"], m["platform"])
    kind = _KIND.get(m["kind"], m["kind"])
    author = focus_author if focus_author is not None else (m.get("author_name") or ANONYM)
    redacted = focus_author is not None and focus_author != (m.get("author_name") or ANONYM)
    created = m["created_at"]
    meta = _rows([
        ("Plattform", platform, False),
        ("Type", kind, False),
        ("Meldings-id", m["platform_message_id"], True),
        ("Svar på (id)", m.get("parent_platform_id"), True),
        ("Innlegg (id)", m.get("post_platform_id"), True),
        ("Samtale (id)", m.get("conversation_id"), True),
        ("Konto (id)", m.get("account_platform_id"), True),
        ("Forfatter", author + (" (kommunen)" if m.get("author_is_municipality") else ""), False),
        ("Forfatter-id", "******" if redacted and m.get("author_id") else m.get("author_id"), True),
        ("Tidspunkt", _t(created), False),
        ("Status", _STATUS.get(m.get("status") or "active", m.get("status")), False),
        ("Versjon", m.get("version"), False),
        ("Lenke", m.get("permalink"), True),
    ])
    cap = capture or {}
    provenance = _rows([
        ("Innhentet fra", cap.get("source"), False),
        ("Kilde", strip_secrets(cap.get("locator") or ""), True),
        ("Oppføring", cap.get("entry"), False),
        ("Hentet", _t(cap.get("retrieved_at")) if cap.get("retrieved_at") else None, False),
        ("SHA-256 innhenting", cap.get("sha256"), True),
        ("SHA-256 rådata", m.get("raw_sha256"), True),
        ("Importert", _t(m.get("imported_at")), False),
    ])
    att_rows = [[_s(a.get("kind") or "vedlegg"),
                 _s(" ".join(str(x) for x in (a.get("filename"), a.get("media_type"), a.get("sha256") or a.get("note")) if x)),
                 True] for a in attachments]
    root_ids = {s.message["platform_message_id"] for s in thread if s.message["kind"] == "post"}
    blocks = []
    for s in thread:
        c = s.message
        focus = c["platform_message_id"] == m["platform_message_id"]
        who = (author if focus else s.author) or ANONYM
        if c.get("author_is_municipality"):
            who += " (kommunen)"
        head = f"{who} · {_KIND.get(c['kind'], c['kind'])} · {_t(c['created_at'])}" + (" · DENNE MELDINGEN" if focus else "")
        text = focus_text if focus and focus_text is not None else s.text
        blocks.append({"focus": focus, "head": _s(head), "id": _s(f"id {c['platform_message_id']}"), "text": _s(text),
                       "reply": bool(c.get("parent_platform_id") and c["parent_platform_id"] not in root_ids
                                     and c["kind"] == "reply")})
    notes = [LEFT_OUT_NOTE[r].format(n=n) for r, n in sorted((left_out or {}).items()) if n and r in LEFT_OUT_NOTE]
    if masked:
        notes.append(MASKED_NOTE)
    stamp = (created if created.tzinfo else created.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    doc = {
        "generator": RENDER_VERSION,
        "title": _s(f"{platform}: {kind.lower()} fra {author}, {_t(created)}"),
        "created": [stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second],
        "page_label": "Side",
        "heading": _s(f"{platform}-{kind.lower()} – arkivkopi"),
        "sub": _s(f"{organisation} · arkivkopi laget av ringebu-journal fra innhentede data"),
        "variant_note": _s(variant_note),
        "labels": {"message": "Meldingen", "attachments": "Vedlegg", "thread": "Tråden", "capture": "Innhenting"},
        "text": _s(focus_text if focus_text is not None else (m.get("text") or "")),
        "meta": meta, "attachments": att_rows, "thread": blocks, "notes": notes, "provenance": provenance,
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _layout_digest() -> str:
    """The layout and the fonts: a change to either gives every document a new cache key."""
    h = hashlib.sha256(TEMPLATE.read_bytes())
    for f in sorted(FONT_DIR.glob("*.ttf")):
        h.update(f.name.encode() + hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


_LAYOUT = _layout_digest()


def render_key(data: str) -> str:
    """The cache key of a document: its content, the renderer version, the layout and the fonts."""
    return hashlib.sha256((RENDER_VERSION + "\n" + _LAYOUT + "\n" + data).encode("utf-8")).hexdigest()


def cache_path(data_dir: Path, key: str) -> Path:
    return Path(data_dir) / CACHE_DIR / key[:2] / f"{key}.pdf"


_compiler: Any = None
_compiler_pid: int | None = None


def _typst_compiler() -> Any:
    """One Typst compiler per process, with the shipped fonts loaded once."""
    global _compiler, _compiler_pid
    if _compiler is None or _compiler_pid != os.getpid():
        import typst

        fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(FONT_DIR)])
        _compiler = typst.Compiler(str(TEMPLATE), root=str(HERE), font_paths=fonts, ignore_system_fonts=True)
        _compiler_pid = os.getpid()
    return _compiler


def render_pdf(data: str, key: str, epoch: int, font: Any = None) -> bytes:
    """Render one JSON document (see :func:`thread_document`) to PDF/A-2b bytes, deterministically."""
    import typst

    try:
        pdf = _typst_compiler().compile(format="pdf", sys_inputs={"data": data}, pdf_standards=PDF_STANDARD,
                                        timestamp=max(int(epoch), 315532800))
    except typst.TypstError as exc:
        raise ProblemsFound(f"rendering archive copy {key[:16]} failed: {exc.message} — please report this") from None
    return bytes(pdf)


def _render_pair(arg: tuple[RenderJob, str]) -> str:
    return _render_to_cache(*arg)


def _render_to_cache(job: RenderJob, target: str) -> str:
    path = Path(target)
    data = render_pdf(job.data, job.key, job.epoch)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".render-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def _worker_ignores_interrupt() -> None:
    # Ctrl-C reaches the workers too (the terminal signals the whole process group): the export
    # process decides what an interruption means and ends them; a worker only renders.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass
class RenderStats:
    documents: int = 0
    rendered: int = 0
    cached: int = 0
    seconds: float = 0.0


def render_all(jobs: Iterable[RenderJob], data_dir: Path, *, workers: int = WORKERS,
               advance: Callable[[int], None] | None = None) -> tuple[dict[str, Path], RenderStats]:
    """Make sure every job's PDF is in the cache; return key → cached file, and what was done."""
    import time

    start = time.perf_counter()
    stats = RenderStats()
    paths: dict[str, Path] = {}
    todo: dict[str, RenderJob] = {}
    for job in jobs:
        stats.documents += 1
        path = cache_path(data_dir, job.key)
        paths[job.key] = path
        if path.is_file() and path.stat().st_size > 0:
            stats.cached += 1
            if advance:
                advance(1)
        else:
            todo[job.key] = job
    if todo:
        try:
            # Worker processes are forked; a process that has run Typst itself (whose thread pool
            # a fork would not carry over) renders in-process instead. Few documents are not
            # worth the start of a pool either.
            if len(todo) < POOL_MIN or workers <= 1 or _compiler_pid == os.getpid():
                for job in todo.values():
                    _render_to_cache(job, str(paths[job.key]))
                    stats.rendered += 1
                    if advance:
                        advance(1)
            else:
                pool = get_context("fork").Pool(processes=min(workers, len(todo)),
                                                initializer=_worker_ignores_interrupt)
                try:
                    args = [(job, str(paths[job.key])) for job in todo.values()]
                    chunk = max(1, min(16, len(args) // (4 * workers)))
                    for _done in pool.imap_unordered(_render_pair, args, chunksize=chunk):
                        stats.rendered += 1
                        if advance:
                            advance(1)
                    pool.close()
                except BaseException:
                    pool.terminate()        # interrupted or failed: end the workers now, mid-document
                    raise
                finally:
                    pool.join()
        except OSError as exc:
            raise ProblemsFound(f"rendering the archive copies failed: {exc.strerror or exc} "
                                f"(cache {Path(data_dir) / CACHE_DIR}) — free disk space or fix permissions and export again") from None
    stats.seconds = time.perf_counter() - start
    return paths, stats
