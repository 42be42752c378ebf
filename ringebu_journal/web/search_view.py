"""The search page: the form and its hits, on ``ringebu_journal.search.search`` (one interface
over SQLite FTS5 and PostgreSQL's Norwegian text search). Nothing is searched until a criterion
is given; the highlights are the library's (start, end) spans, escaped by the template."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .. import search as searchlib
from ..app import App
from . import auth

PAGE = 50
FIELDS = ("q", "author", "platform", "since", "until", "decision")


def highlighted(snippet: str, spans: Any) -> list[tuple[bool, str]]:
    """The snippet as (is_hit, text) parts, in order."""
    out: list[tuple[bool, str]] = []
    at = 0
    for start, end in sorted(spans):
        if start < at:
            continue
        if start > at:
            out.append((False, snippet[at:start]))
        out.append((True, snippet[start:end]))
        at = end
    if at < len(snippet):
        out.append((False, snippet[at:]))
    return out


def render(request: Request, app: App, session: auth.Session) -> Response:
    from .app import _date, _int, _page

    q = request.query_params
    filters = {k: (q.get(k) or "").strip() for k in FIELDS}
    offset = _int(q.get("offset"), "offset", 0, high=1_000_000) or 0
    results = None
    if any(filters.values()):
        results = searchlib.search(
            app, text=filters["q"] or None, author=filters["author"] or None, platform=filters["platform"] or None,
            since=_date(filters["since"], "since"), until=_date(filters["until"], "until"),
            decision=filters["decision"] or None, limit=PAGE, offset=offset)
    parts = {h.message_id: highlighted(h.snippet, h.highlights) for h in results.hits} if results else {}
    return _page(request, "search.html", session, filters=filters, results=results, parts=parts,
                 platforms=searchlib.PLATFORMS, decisions=searchlib.DECISIONS, offset=offset, page=PAGE)
