"""Search across messages: one interface over SQLite FTS5 and PostgreSQL's Norwegian text search.

:func:`search` finds current message versions by words of their text, by author, platform,
time and effective decision, newest first, and returns typed hits (:class:`SearchHit`).

Invariants:

* **One interface, two engines.** On SQLite the words are looked up in the FTS5 tables
  ``messages_fts`` and ``authors_fts``; on PostgreSQL in GIN indexes on ``to_tsvector(…)``
  (migration ``0006_search``). Every search sees every message stored before it: PostgreSQL
  keeps its expression indexes in step itself; on SQLite :func:`catch_up` first indexes, in
  one ``INSERT … SELECT``, the rows written since the last search (message rows are only ever
  added; the migration's triggers take a changed or deleted row out). Imports, new versions of
  edited messages and status changes are found at once, with no step for their writers to forget.
* **Current versions only.** Every version is indexed, but a hit is always the message's current
  version: after an edit the old words no longer find it, the new ones do. A message deleted on
  the platform stays in the record and is found, with its ``status``.
* **Words, never syntax.** The user's text is cut into words (letters and digits) before it
  reaches either engine; every word must occur, each matched at its start (``brøyt`` finds
  ``brøyting``). Quotes, ``*``, ``NEAR``, ``AND``/``OR``/``NOT``, column filters (``text:``) and
  tsquery operators (``&``, ``|``, ``!``, ``<->``, ``:*``) are plain characters: they separate
  words or are words themselves, and every value is a bound parameter. On PostgreSQL the words
  are also stemmed with the Norwegian stemmer (``søknader`` finds ``søknaden``); on SQLite a
  word matches at its start only. Letters are compared without case; å, ø and æ are letters of
  their own (``år`` does not find ``ar``).
* **Authors by name or id.** ``author`` finds messages whose author's name has every word of it,
  each at its start and in any case (``ødegå`` finds Åse Ødegård), or whose author has exactly
  that platform id. Names are indexed beside the text (SQLite: ``authors_fts``; PostgreSQL: a
  GIN index on the name's words, not stemmed).
* **The one effective decision.** A hit's decision is ``moderation.effective_decisions`` — the
  rule the queue, the exporter and the reports use. Filtering by a decision few messages could
  have (at most ``_FEW`` with a judgment or moderator decision that could give it) keeps, in SQL,
  exactly the messages whose effective decision it is by the same rule
  (``moderation.effective_decision_sql``), so it is not worked out in Python for every word match;
  a decision many could have narrows the candidates to those (a superset) and keeps, window by
  window, those whose effective decision it is (the first windows fill a page).
* **Limits reject the query, never the database:** at most ``MAX_WORDS`` words of at most
  ``MAX_WORD`` characters, ``limit`` 1 … ``MAX_LIMIT``; anything else is a ``UsageError`` line.

Search is a reading operation (``message.read``: moderators, auditors, archivists); callers check
the right before calling, as for ``queries.show``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Sequence

from sqlalchemy import bindparam, literal_column, or_, select, text, tuple_
from sqlalchemy.engine import Connection

from .app import App
from .db.tables import Account, Message
from .errors import UsageError
from .models import Decision, Platform
from .moderation import effective_decision_sql, effective_decisions, few_may_have_decision, may_have_decision_sql

MSG = Message.__table__
ACC = Account.__table__

DECISIONS = tuple(d.value for d in Decision)
PLATFORMS = tuple(p.value for p in Platform)
MAX_WORDS = 20
MAX_WORD = 100
MAX_TEXT = 1000
MAX_LIMIT = 500
MAX_AUTHOR = 300
SNIPPET = 160
#: characters of a message PostgreSQL indexes (must equal the expression of migration 0006_search)
PG_INDEXED_CHARS = 100000
_WINDOW = 500
#: a decision at most this many messages could have is filtered exactly in SQL, a commoner one window by window
_FEW = 5000

# letters and digits: the token characters of FTS5's unicode61 tokenizer (categories L* and N*)
_WORD = re.compile(r"[^\W_]+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class SearchHit:
    """One message found (its current version)."""

    message_id: int                     # internal id of the current version
    ref: str                            # platform:platform_message_id
    platform: str
    platform_message_id: str
    kind: str
    author: str | None                  # the author's name, else the author's id
    author_id: str | None
    author_is_municipality: bool
    created_at: datetime
    status: str                         # active | hidden | deleted | not_retrievable
    version: int
    lock_version: int
    snippet: str                        # plain text around the first word found
    highlights: tuple[tuple[int, int], ...]   # (start, end) of the words found, in the snippet
    decision: str | None                # the effective decision, None when not judged
    screen: bool                        # skjerming in the public journal
    decision_source: str | None         # moderator | judge | None

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["highlights"] = [list(h) for h in self.highlights]
        return d


@dataclass(frozen=True)
class SearchResults:
    hits: list[SearchHit]
    offset: int
    limit: int
    more: bool                          # there are hits after these
    words: tuple[str, ...] = field(default=())   # the words searched for

    def __iter__(self):
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)


# -- the query's words -------------------------------------------------------------------------


def words_of(text_: str | None, what: str = "the search text") -> tuple[str, ...]:
    """The words of a search text: runs of letters and digits, case folded, in order, each once.

    Everything else (quotes, operators, punctuation) separates words. UsageError past the limits.
    """
    if text_ is None:
        return ()
    if len(text_) > MAX_TEXT:
        raise UsageError(f"{what} is {len(text_):,} characters long — search for at most {MAX_TEXT:,}")
    found = _WORD.findall(unicodedata.normalize("NFC", text_).casefold())
    out = tuple(dict.fromkeys(found))
    if not out:
        raise UsageError(f"{what} {text_[:60]!r} has no words (letters or digits) to search for — "
                         "give at least one word, or leave it out")
    if len(out) > MAX_WORDS:
        raise UsageError(f"{what} has {len(out)} different words — search for at most {MAX_WORDS}")
    long = next((w for w in out if len(w) > MAX_WORD), None)
    if long:
        raise UsageError(f"the word {long[:40]!r}… is longer than {MAX_WORD} characters — shorten it")
    return out


def fts5_query(words: Sequence[str]) -> str:
    """The FTS5 MATCH expression for ``words``: each a quoted prefix term, all required.

    The words hold letters and digits only (``words_of``), so a quote cannot occur in them;
    quoting them keeps FTS5 keywords (AND, OR, NOT, NEAR) plain words. A word is one token of
    the index's tokenizer (its letters and digits are unicode61's token characters), so no term
    is a phrase (the index keeps no positions).
    """
    assert all(_WORD.fullmatch(w) for w in words)
    return " AND ".join(f'"{w}"*' for w in words)


def tsquery(words: Sequence[str]) -> str:
    """The text of a PostgreSQL tsquery for ``words``: each a prefix term, all required.

    Letters and digits only (``words_of``): no operator of tsquery syntax can be among them.
    """
    assert all(_WORD.fullmatch(w) for w in words)
    return " & ".join(f"{w}:*" for w in words)


# -- the search --------------------------------------------------------------------------------


def _parse_time(v: Any, name: str) -> date | datetime | None:
    """A date or time; text (from a form or a URL) as YYYY-MM-DD or ISO 8601; empty text is none."""
    if not isinstance(v, str):
        return v
    v = v.strip()
    if not v:
        return None
    try:
        return date.fromisoformat(v) if len(v) == 10 else datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{name} {v[:40]!r} is not a date — write it as YYYY-MM-DD") from None


def _as_start(v: date | datetime | str | None, name: str) -> datetime | None:
    v = _parse_time(v, name)
    if v is None:
        return None
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=timezone.utc)
    if isinstance(v, date):
        return datetime.combine(v, time(0), tzinfo=timezone.utc)
    raise UsageError(f"{name} {v!r} is not a date — write it as YYYY-MM-DD")


def _as_end(v: date | datetime | str | None, name: str) -> datetime | None:
    """The first moment after ``until``: a date includes its whole day; a datetime is inclusive."""
    v = _parse_time(v, name)
    if v is None:
        return None
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=timezone.utc)) + timedelta(microseconds=1)
    if isinstance(v, date):
        return datetime.combine(v + timedelta(days=1), time(0), tzinfo=timezone.utc)
    raise UsageError(f"{name} {v!r} is not a date — write it as YYYY-MM-DD")


def _check(platform: str | None, decision: str | None, author: str | None, limit: int, offset: int) -> None:
    if platform is not None and platform not in PLATFORMS:
        raise UsageError(f"platform {platform!r} is not known — use one of: {', '.join(PLATFORMS)}")
    if decision is not None and decision not in DECISIONS:
        raise UsageError(f"decision {decision!r} is not known — use one of: {', '.join(DECISIONS)}")
    if author is not None and not author.strip():
        raise UsageError("the author is empty — give a name (or part of it) or the author's platform id")
    if author is not None and len(author) > MAX_AUTHOR:
        raise UsageError(f"the author is {len(author):,} characters long — give at most {MAX_AUTHOR}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise UsageError(f"limit {limit!r} is out of range — give 1 … {MAX_LIMIT}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise UsageError(f"offset {offset!r} is out of range — give 0 or more")


def search(app: App, text: str | None = None, author: str | None = None, platform: str | None = None,
           since: date | datetime | str | None = None, until: date | datetime | str | None = None,
           decision: str | None = None, limit: int = 50, offset: int = 0) -> SearchResults:
    """Current messages matching every criterion given, newest first (see the module docstring).

    ``text``: words that must all occur; ``author``: words of the author's name (each at its start,
    any case) or the author's platform id; ``platform``: facebook, messenger, instagram, x …; ``since``/``until``:
    the message's time (a date includes its whole day, UTC; text as YYYY-MM-DD is read as a
    date); ``decision``: the effective decision
    (journal, archive, exclude, review). ``limit`` hits from ``offset``; ``more`` says whether
    there are hits after them.
    """
    _check(platform, decision, author, limit, offset)
    words = words_of(text)
    start, end = _as_start(since, "since"), _as_end(until, "until")
    if start and end and start >= end:
        raise UsageError(f"since {since} is after until {until} — swap them")
    catch_up(app)
    with app.db.read() as conn:
        stmt = _candidates(conn, words, _Author.of(conn, author), platform, start, end, decision)
        if decision is None:
            rows = [dict(r) for r in conn.execute(stmt.limit(limit + 1).offset(offset)).mappings()]
            more = len(rows) > limit
            rows = rows[:limit]
            effective = effective_decisions(conn, [r["id"] for r in rows]) if rows else {}
        else:
            rows, effective, more = _filter_by_decision(conn, stmt, decision, limit, offset)
    hits = [_hit(r, effective.get(r["id"]), words) for r in rows]
    return SearchResults(hits=hits, offset=offset, limit=limit, more=more, words=words)


_NEWEST = text("SELECT (SELECT last_message_id FROM search_index_state WHERE id = 1), "
               "(SELECT max(id) FROM messages)")


def catch_up(app: App) -> int:
    """SQLite: index the message rows written since the index was last brought up to date (see
    migration 0006_search); the number of rows indexed. Nothing to do on PostgreSQL."""
    if not app.db.is_sqlite:
        return 0
    with app.db.read() as conn:
        last, newest = conn.execute(_NEWEST).one()
    if newest is None or newest <= last:
        return 0
    with app.db.write() as conn:               # one writer at a time: no other search indexes the same rows
        last, newest = conn.execute(_NEWEST).one()
        if newest is None or newest <= last:
            return 0
        for table, column in (("messages_fts", "text"), ("authors_fts", "author_name")):
            conn.execute(text(f"INSERT INTO {table}(rowid, {column}) SELECT id, {column} FROM messages "
                              "WHERE id > :last AND id <= :newest"), {"last": last, "newest": newest})
        conn.execute(text("UPDATE search_index_state SET last_message_id = :newest WHERE id = 1"), {"newest": newest})
    return newest - last


_COLUMNS = (MSG.c.id, MSG.c.platform, MSG.c.platform_message_id, MSG.c.kind, MSG.c.author_name, MSG.c.author_id,
            MSG.c.author_is_municipality, MSG.c.created_at, MSG.c.status, MSG.c.version, MSG.c.lock_version,
            MSG.c.text)


@dataclass(frozen=True)
class _Author:
    words: tuple[str, ...]              # words of the name, each matched at its start
    author_id: str | None               # the author's platform id, when some message has it

    @classmethod
    def of(cls, conn: Connection, author: str | None) -> "_Author | None":
        """The author's words, and the id when it is one: every author id the import stores is in
        the accounts table (the citizens', and the municipality's own accounts), which is indexed."""
        if author is None:
            return None
        a = author.strip()
        known = select(ACC.c.id).where(ACC.c.platform.in_(PLATFORMS), ACC.c.platform_id == a).limit(1)
        if conn.execute(known).first() is not None:
            try:
                words = words_of(a, "the author")
            except UsageError:
                words = ()
            return cls(words, a)
        return cls(words_of(a, "the author"), None)


def _fts_ids(table: str, words: Sequence[str]):
    """SQL: the rowids (message version ids) of ``table`` (messages_fts or authors_fts) holding every word."""
    assert table in ("messages_fts", "authors_fts")
    return text(f"SELECT rowid FROM {table} WHERE {table} MATCH :fts").bindparams(
        bindparam("fts", fts5_query(words), unique=True)).columns(literal_column("rowid"))


def _pg_text(words: Sequence[str]):
    return text(f"to_tsvector('norwegian', left(messages.text, {PG_INDEXED_CHARS})) "
                "@@ to_tsquery('norwegian', :tsq)").bindparams(tsq=tsquery(words))


def _pg_author(words: Sequence[str]):
    return text("to_tsvector('simple', coalesce(messages.author_name, '')) @@ to_tsquery('simple', :asq)"
                ).bindparams(asq=tsquery(words))


def _candidates(conn: Connection, words: Sequence[str], author: _Author | None, platform: str | None,
                start: datetime | None, end: datetime | None, decision: str | None):
    """The current messages matching, newest first.

    On SQLite the sets (words, decision) are tested against each row while the index on
    ``created_at`` is read backwards, so the first page is found without sorting every hit: the
    columns are written ``id + 0`` and ``platform || ''``, which keeps SQLite from driving the
    query by them instead (a word in a fifth of 100,000 messages would be looked up and sorted
    whole). PostgreSQL plans by its statistics and gets the plain columns."""
    stmt = select(*_COLUMNS).where(MSG.c.is_current.is_(True))
    sqlite_db = conn.dialect.name == "sqlite"
    row_id = (MSG.c.id + 0) if sqlite_db else MSG.c.id
    key = tuple_(MSG.c.platform.concat("") if sqlite_db else MSG.c.platform, MSG.c.platform_message_id)
    by_name = author is not None and author.author_id is None
    if sqlite_db:
        if words:
            stmt = stmt.where(row_id.in_(_fts_ids("messages_fts", words)))
        if by_name:
            stmt = stmt.where(row_id.in_(_fts_ids("authors_fts", author.words)))
    else:
        if words:
            stmt = stmt.where(_pg_text(words))
        if by_name:
            stmt = stmt.where(_pg_author(author.words))
    if author is not None and author.author_id is not None:
        same_id = MSG.c.author_id == author.author_id
        if author.words:
            name = (row_id.in_(_fts_ids("authors_fts", author.words)) if sqlite_db
                    else _pg_author(author.words))
            stmt = stmt.where(or_(same_id, name))
        else:
            stmt = stmt.where(same_id)
    if platform is not None:
        stmt = stmt.where(key.clauses[0] == platform)
    if start is not None:
        stmt = stmt.where(MSG.c.created_at >= start)
    if end is not None:
        stmt = stmt.where(MSG.c.created_at < end)
    if decision is not None:
        if few_may_have_decision(conn, decision, _FEW):
            # few messages could have it: keep, in SQL, exactly those that have it
            eff_ids = effective_decision_sql(decision).subquery("eff_ids")
            stmt = stmt.where(row_id.in_(select(eff_ids.c.id)))
        else:
            # many could: the superset here, the first windows of candidates fill the page
            stmt = stmt.where(key.in_(may_have_decision_sql(decision)))
    return stmt.order_by(MSG.c.created_at.desc(), MSG.c.id.desc())


def _filter_by_decision(conn: Connection, stmt, decision: str, limit: int, offset: int):
    """Walk the candidates newest first, window by window, keeping those whose effective decision
    is ``decision``, until ``offset + limit + 1`` are found."""
    result = conn.execute(stmt.with_only_columns(MSG.c.id))
    kept: list[int] = []
    effective: dict[int, Any] = {}
    want = offset + limit + 1
    size = min(want, _WINDOW)          # the first window is the page (most candidates have the decision)
    while True:
        part = [r[0] for r in result.fetchmany(size)]
        size = min(size * 2, _WINDOW)
        if not part:
            break
        eff = effective_decisions(conn, part)
        for mid in part:
            if eff[mid].decision == decision:
                kept.append(mid)
                effective[mid] = eff[mid]
                if len(kept) >= want:
                    break
        if len(kept) >= want:
            break
    result.close()
    page = kept[offset:offset + limit]
    more = len(kept) > offset + limit
    if not page:
        return [], {}, more
    by_id = {r["id"]: dict(r) for r in conn.execute(
        select(*_COLUMNS).where(MSG.c.id.in_(page))).mappings()}
    return [by_id[i] for i in page], effective, more


def _hit(r: dict[str, Any], eff: Any, words: Sequence[str]) -> SearchHit:
    snip, spans = snippet(r["text"], words)
    return SearchHit(
        message_id=r["id"], ref=f"{r['platform']}:{r['platform_message_id']}", platform=r["platform"],
        platform_message_id=r["platform_message_id"], kind=r["kind"],
        author=r["author_name"] or r["author_id"], author_id=r["author_id"],
        author_is_municipality=bool(r["author_is_municipality"]), created_at=r["created_at"], status=r["status"],
        version=r["version"], lock_version=r["lock_version"], snippet=snip, highlights=spans,
        decision=eff.decision if eff else None, screen=bool(eff.screen) if eff else False,
        decision_source=eff.source if eff else None,
    )


# -- snippets ----------------------------------------------------------------------------------


def _stems(words: Iterable[str]) -> list[str]:
    """What a word of the text must start with to be shown as found: the searched word, cut a
    little for the Norwegian endings PostgreSQL's stemmer removes (søknader → søkna)."""
    out = []
    for w in words:
        cut = len(w) - 2 if len(w) > 6 else len(w)
        out.append(w[:max(cut, 1)])
    return out


def snippet(text_: str | None, words: Sequence[str] = (), width: int = SNIPPET) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Plain text around the first word found (whitespace made single spaces), at most ``width``
    characters with … where cut, and the (start, end) spans of the words found in it."""
    s = _SPACE.sub(" ", text_ or "").strip()
    stems = _stems(words)
    found: list[tuple[int, int]] = []
    if stems:
        folded = s.casefold()
        if len(folded) == len(s):       # casefold kept the offsets (it does for almost every text)
            for m in _WORD.finditer(folded):
                if any(m.group().startswith(st) for st in stems):
                    found.append((m.start(), m.end()))
    if len(s) <= width:
        return s, tuple(found)
    first = found[0][0] if found else 0
    begin = max(0, min(first - width // 4, len(s) - width + 1))
    if begin > 0:
        space = s.find(" ", begin, first if found else begin + 20)
        begin = space + 1 if space != -1 else begin
    head = "…" if begin > 0 else ""
    room = width - len(head)
    body = s[begin:begin + room]
    tail = ""
    if begin + room < len(s):
        body = body[:room - 1]
        tail = "…"
    shift = len(head) - begin
    spans = tuple((a + shift, min(b + shift, len(head) + len(body))) for a, b in found
                  if a >= begin and a < begin + len(body))
    return head + body + tail, spans


__all__ = ["SearchHit", "SearchResults", "search", "catch_up", "words_of", "fts5_query", "tsquery", "snippet",
           "DECISIONS", "MAX_LIMIT"]
