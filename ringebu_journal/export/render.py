"""The archive copy of a message: its thread rendered as PDF/A-2b, rendered once and cached.

The document shows the message, its thread context (authors, times, platform ids), how and when
it was captured (source, locator without tokens, retrieved_at) and the SHA-256 of the raw payload.
It shows nothing of the decision, so a moderator's later change does not change the document.

Rendering is deterministic: the PDF's dates come from the message, its /ID from the content hash
and the embedded font subsets' timestamps from ``SOURCE_DATE_EPOCH``; the same HTML always gives
the same bytes. Files are cached under ``<data_dir>/render-cache/`` by the SHA-256 of the HTML,
and the missing ones are rendered on two processes. Ctrl-C reaches the workers too (the terminal
signals the whole process group): they ignore it and the export process ends them, so an
interrupted export leaves neither a worker nor a traceback, only the files already cached. Nothing is fetched: the url_fetcher refuses
everything but ``data:`` URIs; fonts come from the system (DejaVu).
"""

from __future__ import annotations

import hashlib
import html as htmlmod
import os
import re
import signal
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ringebu_journal.errors import ProblemsFound

RENDER_VERSION = "ringebu-journal-render/2"
PDF_PUID = "fmt/477"        # PDF/A-2b
TEXT_PUID = "x-fmt/111"     # plain text (UTF-8)
CACHE_DIR = "render-cache"
WORKERS = 2

_SECRET_PARAMS = re.compile(r"(token|secret|signature|sig|key|password|appsecret_proof|code)$", re.IGNORECASE)
_PLATFORM = {"facebook": "Facebook", "messenger": "Messenger", "instagram": "Instagram", "x": "X",
             "linkedin": "LinkedIn", "tiktok": "TikTok", "email": "E-post", "other": "Annen kanal"}
_KIND = {"post": "Innlegg", "comment": "Kommentar", "reply": "Svar", "message": "Melding"}
_STATUS = {"active": "synlig", "hidden": "skjult", "deleted": "slettet", "not_retrievable": "ikke lenger hentbar"}

# One font face only (DejaVu Sans, regular): subsetting each embedded face costs ~0.25 s, so
# headings differ by size and colour, not by weight, and ids are not set in a monospace face.
CSS = """
* { font-family: "Ringebu Archive Sans", "DejaVu Sans", sans-serif; font-weight: normal; font-style: normal; }
@page { size: A4; margin: 18mm 16mm 18mm 16mm;
        @bottom-right { content: "Side " counter(page) " av " counter(pages); font-size: 8pt; color: #555; } }
body { font-family: "Ringebu Archive Sans", "DejaVu Sans", sans-serif; font-size: 9.5pt; line-height: 1.35; color: #111; }
h1 { font-size: 14pt; margin: 0 0 2mm 0; }
h2 { font-size: 11pt; margin: 6mm 0 2mm 0; border-bottom: 0.4pt solid #888; }
.sub { color: #444; font-size: 8.5pt; margin-bottom: 4mm; }
table.meta { border-collapse: collapse; width: 100%; }
table.meta td { padding: 0.6mm 2mm 0.6mm 0; vertical-align: top; }
table.meta td.k { color: #444; width: 38mm; white-space: nowrap; }
.msg { border: 0.4pt solid #aaa; padding: 2mm 3mm; margin: 0 0 2.5mm 0; page-break-inside: avoid; }
.msg.focus { border: 1.4pt solid #000; background: #f3f3f3; }
.msg .head { font-size: 8.5pt; color: #333; margin-bottom: 1mm; }
.msg .text { white-space: pre-wrap; word-wrap: break-word; }
.msg.reply { margin-left: 8mm; }
.ids { font-size: 7.5pt; color: #444; word-break: break-all; }
.mono { font-size: 7.5pt; word-break: break-all; }
.note { color: #444; }
.who { color: #000; text-decoration: underline; }
"""


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


# Pictographs (emoji) are outside every font on the archive machines: printed as a box they would
# lose what the writer meant, so the archive copy names them, e.g. ⟦CLAPPING HANDS SIGN⟧. The
# original characters stay in the «Originaldata» attachment.
_PICTOGRAPH = re.compile("[\U0001F000-\U0001FAFF\U0001FC00-\U0001FFFF]")
_INVISIBLE = re.compile("[\uFE00-\uFE0F\u200D]")


def _name_pictograph(m: re.Match) -> str:
    import unicodedata

    return "⟦" + unicodedata.name(m.group(0), f"U+{ord(m.group(0)):04X}") + "⟧"


def _e(value: Any) -> str:
    text = "" if value is None else str(value)
    if _PICTOGRAPH.search(text):
        text = _PICTOGRAPH.sub(_name_pictograph, _INVISIBLE.sub("", text))
    return htmlmod.escape(text, quote=True)


def _rows(pairs: Iterable[tuple[str, Any]]) -> str:
    return "".join(f'<tr><td class="k">{_e(k)}</td><td>{v}</td></tr>' for k, v in pairs if v not in (None, ""))


@dataclass(frozen=True)
class RenderJob:
    key: str
    html: str
    epoch: int          # SOURCE_DATE_EPOCH for the font subsets: the message's time


def thread_html(message: dict[str, Any], context: list[dict[str, Any]], *, capture: dict[str, Any] | None,
                attachments: list[dict[str, Any]], hidden_ids: set[int]) -> str:
    """The HTML of one archive copy: ``message`` in its thread ``context``.

    ``hidden_ids`` are context messages left out (excluded from the archive); their number is shown.
    """
    m = message
    platform = _PLATFORM.get(m["platform"], m["platform"])
    kind = _KIND.get(m["kind"], m["kind"])
    author = m.get("author_name") or "Anonym / ukjent"
    created = m["created_at"]
    ids = _rows([
        ("Plattform", _e(platform)),
        ("Type", _e(kind)),
        ("Meldings-id", f'<span class="ids">{_e(m["platform_message_id"])}</span>'),
        ("Svar på (id)", f'<span class="ids">{_e(m.get("parent_platform_id"))}</span>' if m.get("parent_platform_id") else None),
        ("Innlegg (id)", f'<span class="ids">{_e(m.get("post_platform_id"))}</span>' if m.get("post_platform_id") else None),
        ("Samtale (id)", f'<span class="ids">{_e(m.get("conversation_id"))}</span>' if m.get("conversation_id") else None),
        ("Konto (id)", f'<span class="ids">{_e(m.get("account_platform_id"))}</span>' if m.get("account_platform_id") else None),
        ("Forfatter", _e(author) + (" (kommunen)" if m.get("author_is_municipality") else "")),
        ("Forfatter-id", f'<span class="ids">{_e(m.get("author_id"))}</span>' if m.get("author_id") else None),
        ("Tidspunkt", _e(_t(created))),
        ("Status", _e(_STATUS.get(m.get("status") or "active", m.get("status")))),
        ("Versjon", _e(m.get("version"))),
        ("Lenke", f'<span class="ids">{_e(m.get("permalink"))}</span>' if m.get("permalink") else None),
    ])
    cap = capture or {}
    provenance = _rows([
        ("Innhentet fra", _e(cap.get("source"))),
        ("Kilde", f'<span class="ids">{_e(strip_secrets(cap.get("locator") or ""))}</span>' if cap.get("locator") else None),
        ("Oppføring", _e(cap.get("entry"))),
        ("Hentet", _e(_t(cap.get("retrieved_at"))) if cap.get("retrieved_at") else None),
        ("SHA-256 innhenting", f'<span class="mono">{_e(cap.get("sha256"))}</span>' if cap.get("sha256") else None),
        ("SHA-256 rådata", f'<span class="mono">{_e(m.get("raw_sha256"))}</span>'),
        ("Importert", _e(_t(m.get("imported_at")))),
    ])
    att_rows = "".join(
        f'<tr><td class="k">{_e(a.get("kind") or "vedlegg")}</td><td>{_e(a.get("filename") or "")} '
        f'{_e(a.get("media_type") or "")} <span class="mono">{_e(a.get("sha256") or a.get("note") or "")}</span></td></tr>'
        for a in attachments
    )
    root_ids = {c["platform_message_id"] for c in context if c["kind"] == "post"}
    blocks = []
    for c in context:
        if c["id"] in hidden_ids:
            continue
        cls = "msg focus" if c["platform_message_id"] == m["platform_message_id"] else "msg"
        if c.get("parent_platform_id") and c["parent_platform_id"] not in root_ids and c["kind"] in ("reply",):
            cls += " reply"
        who = c.get("author_name") or "Anonym / ukjent"
        if c.get("author_is_municipality"):
            who += " (kommunen)"
        marker = " · DENNE MELDINGEN" if "focus" in cls else ""
        blocks.append(
            f'<div class="{cls}"><div class="head"><span class="who">{_e(who)}</span> · {_e(_KIND.get(c["kind"], c["kind"]))} · '
            f'{_e(_t(c["created_at"]))}{marker}<br/><span class="ids">id {_e(c["platform_message_id"])}</span></div>'
            f'<div class="text">{_e(c.get("text") or "")}</div></div>'
        )
    left_out = len([c for c in context if c["id"] in hidden_ids])
    note = (f'<p class="note">{left_out} melding(er) i tråden er avgrenset (ikke arkivverdig) og ikke tatt med.</p>'
            if left_out else "")
    title = f"{platform}: {kind.lower()} fra {author}, {_t(created)}"
    stamp = (created if created.tzinfo else created.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        "<!DOCTYPE html><html lang=\"no\"><head><meta charset=\"utf-8\"/>"
        f"<title>{_e(title)}</title><meta name=\"author\" content=\"Ringebu kommune\"/>"
        f"<meta name=\"generator\" content=\"{RENDER_VERSION}\"/>"
        f"<meta name=\"dcterms.created\" content=\"{iso}\"/><meta name=\"dcterms.modified\" content=\"{iso}\"/>"
        f"<style>{CSS}</style></head><body>"
        f"<h1>{_e(platform)}-{_e(kind.lower())} – arkivkopi</h1>"
        f"<div class=\"sub\">Ringebu kommune · arkivkopi laget av ringebu-journal fra innhentede data</div>"
        f"<h2>Meldingen</h2><div class=\"msg focus\"><div class=\"text\">{_e(m.get('text') or '')}</div></div>"
        f"<table class=\"meta\">{ids}</table>"
        + (f"<h2>Vedlegg</h2><table class=\"meta\">{att_rows}</table>" if att_rows else "")
        + f"<h2>Tråden</h2>{''.join(blocks)}{note}"
        f"<h2>Innhenting</h2><table class=\"meta\">{provenance}</table>"
        "</body></html>"
    )


def render_key(html: str) -> str:
    return hashlib.sha256((RENDER_VERSION + "\n" + html).encode("utf-8")).hexdigest()


def cache_path(data_dir: Path, key: str) -> Path:
    return Path(data_dir) / CACHE_DIR / key[:2] / f"{key}.pdf"


# The archive face: DejaVu Sans cut down once to the scripts citizens write in (Latin, Greek,
# Cyrillic, punctuation, symbols) and without its OpenType layout tables. Embedding a subset of
# the full font costs fontTools ~0.25 s a document, most of it reading GSUB/GPOS tables that
# Norwegian text does not need; from this face it costs a fraction. Characters outside it fall
# back to the system's DejaVu Sans. Built beside the render cache, identically every time.
SYSTEM_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ARCHIVE_FONT_FAMILY = "Ringebu Archive Sans"
_FONT_RANGES = ((0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x52F), (0x2000, 0x206F),
                (0x20A0, 0x20CF), (0x2100, 0x218F), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2500, 0x25FF),
                (0x2600, 0x26FF), (0x2700, 0x27BF), (0xFB00, 0xFB06), (0xFFFD, 0xFFFD))
_font_ready: dict[str, Path | None] = {}


def archive_font(folder: Path) -> Path | None:
    """The cut-down archive face in ``folder`` (made if missing); None when it cannot be made."""
    key = str(folder)
    if key in _font_ready:
        return _font_ready[key]
    result: Path | None = None
    if SYSTEM_FONT.exists():
        digest = hashlib.sha256(SYSTEM_FONT.read_bytes()).hexdigest()[:16]
        target = folder / f"archive-sans-{digest}.ttf"
        if target.exists():
            result = target
        else:
            try:
                from fontTools import subset
                from fontTools.ttLib import TTFont

                font = TTFont(str(SYSTEM_FONT), recalcTimestamp=False)
                opts = subset.Options()
                opts.layout_features = []
                opts.name_IDs = ["*"]
                opts.notdef_outline = True
                opts.drop_tables += ["GSUB", "GPOS", "kern", "FFTM", "MATH"]
                sub = subset.Subsetter(opts)
                sub.populate(unicodes=[c for a, b in _FONT_RANGES for c in range(a, b + 1)])
                sub.subset(font)
                folder.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=".font-")
                os.close(fd)
                font.save(tmp)
                os.replace(tmp, target)
                result = target
            except Exception:  # noqa: BLE001 - rendering still works with the system font
                result = None
    _font_ready[key] = result
    return result


def _fetcher(font: Path | None):
    allowed = font.resolve().as_uri() if font else None

    def fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if allowed is not None and url == allowed:
            from weasyprint.urls import default_url_fetcher

            return default_url_fetcher(url, *args, **kwargs)
        return _refuse_fetch(url, *args, **kwargs)

    return fetch


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    if url.startswith("data:"):
        from weasyprint.urls import default_url_fetcher

        return default_url_fetcher(url, *args, **kwargs)
    raise ValueError(f"network and file access are disabled in archive rendering: {url[:80]}")


def render_pdf(html: str, key: str, epoch: int, font: Path | None = None) -> bytes:
    """Render ``html`` to PDF/A-2b bytes, deterministically (``font``: the archive face)."""
    os.environ["SOURCE_DATE_EPOCH"] = str(max(epoch, 315532800))  # fonts' head.modified; not before 1980
    from weasyprint import CSS as WeasyCSS
    from weasyprint import HTML

    sheets = []
    if font is not None:
        sheets.append(WeasyCSS(string=f'@font-face {{ font-family: "{ARCHIVE_FONT_FAMILY}"; '
                                      f'src: url("{font.resolve().as_uri()}"); }}'))
    return HTML(string=html, url_fetcher=_fetcher(font)).write_pdf(
        pdf_variant="pdf/a-2b", pdf_identifier=key[:32].encode("ascii"), stylesheets=sheets,
    )


def _render_to_cache(job: RenderJob, target: str) -> str:
    path = Path(target)
    data = render_pdf(job.html, job.key, job.epoch, archive_font(path.parent.parent / "fonts"))
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


def _render_pair(pair: tuple[RenderJob, str]) -> str:
    return _render_to_cache(*pair)


def _worker_ignores_interrupt() -> None:
    # The export process decides what an interruption means; a worker only renders.
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
            if len(todo) == 1 or workers <= 1:
                for job in todo.values():
                    _render_to_cache(job, str(paths[job.key]))
                    stats.rendered += 1
                    if advance:
                        advance(1)
            else:
                pool = get_context("fork").Pool(processes=min(workers, len(todo)),
                                                initializer=_worker_ignores_interrupt)
                try:
                    pairs = [(job, str(paths[job.key])) for job in todo.values()]
                    for _done in pool.imap_unordered(_render_pair, pairs):
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
