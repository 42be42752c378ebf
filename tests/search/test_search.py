"""Search on both databases: kept in step with imports, edits and deletions through the real
import store; the user's text is words, never query syntax; filters; the effective decision;
the migration indexes what was stored before it; the CLI command."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select, text

from moderation.seed import seed
from ringebu_journal import moderation
from ringebu_journal.db import migrate
from ringebu_journal.db.tables import Message
from ringebu_journal.errors import UsageError
from ringebu_journal.importers.run import import_jsonl
from ringebu_journal.search import fts5_query, search, snippet, tsquery, words_of

MSG = Message.__table__


def _line(pid: str, text_: str, *, when: str = "2026-05-02T08:00:00Z", author: str = "Åse Ødegård",
          author_id: str = "u1", platform: str = "facebook", status: str | None = None) -> dict:
    d = {"platform": platform, "kind": "comment", "id": pid, "post_id": "p1", "parent_id": "p1",
         "account_id": "ringebu", "author": {"id": author_id, "name": author}, "text": text_, "created_at": when}
    if status:
        d["status"] = status
    return d


def _import(app, tmp_path: Path, name: str, lines: list[dict]):
    f = tmp_path / f"{name}.jsonl"
    f.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    summary = import_jsonl(app, [str(f)])
    assert summary.rejected == 0, summary.lines()
    return summary


def _refs(res) -> set[str]:
    return {h.ref for h in res.hits}


def _fts_consistent(app) -> None:
    """SQLite: the FTS index matches its content table exactly (FTS5's own integrity check)."""
    if app.db.is_sqlite:
        with app.db.write() as conn:
            for t in ("messages_fts", "authors_fts"):
                conn.exec_driver_sql(f"INSERT INTO {t}({t}, rank) VALUES ('integrity-check', 1)")


def test_search_follows_imports_edits_and_deletions(make_app, tmp_path):
    app = make_app("archivist")
    _import(app, tmp_path, "first", [
        _line("c1", "Brøytingen av veien til Venabygd er for dårlig i år.", when="2026-05-02T08:00:00Z"),
        _line("c2", "Vannet er brunt i Fåvang igjen.", when="2026-05-03T08:00:00Z", author="Per Bakken",
              author_id="u2"),
        _line("c3", "Takk for god brøyting!", when="2026-05-04T08:00:00Z", author="Kari", author_id="u3"),
    ])
    res = search(app, "brøyting")
    assert [h.ref for h in res.hits] == ["facebook:c3", "facebook:c1"]          # newest first
    assert res.hits[1].snippet.startswith("Brøytingen") and res.hits[1].highlights == ((0, 10),)
    assert res.hits[0].decision is None and res.hits[0].version == 1

    # an edit: the new version is found by its new words, no longer by the old ones
    _import(app, tmp_path, "edit", [_line("c1", "Veien til Venabygd er fin nå, takk til mannskapet.",
                                          when="2026-05-02T08:00:00Z")])
    assert _refs(search(app, "brøyting")) == {"facebook:c3"}
    hit = search(app, "mannskapet").hits
    assert [(h.ref, h.version) for h in hit] == [("facebook:c1", 2)]
    assert search(app, "dårlig").hits == []

    # a deletion on the platform: the message stays in the record and is found, marked deleted
    _import(app, tmp_path, "deleted", [_line("c2", "Vannet er brunt i Fåvang igjen.", when="2026-05-03T08:00:00Z",
                                             author="Per Bakken", author_id="u2", status="deleted")])
    hit = search(app, "vannet").hits
    assert [(h.ref, h.status, h.version) for h in hit] == [("facebook:c2", "deleted", 2)]

    # a repeated import adds nothing and the index holds each version once
    _import(app, tmp_path, "first-again", [_line("c3", "Takk for god brøyting!", when="2026-05-04T08:00:00Z",
                                                 author="Kari", author_id="u3")])
    assert [h.ref for h in search(app, "takk").hits] == ["facebook:c3", "facebook:c1"]
    _fts_consistent(app)

    # a row removed from the table (no code path does it, the index follows anyway)
    with app.db.write() as conn:
        conn.execute(MSG.delete().where(MSG.c.platform_message_id == "c3"))
    assert _refs(search(app, "brøyting")) == set()
    _fts_consistent(app)


def test_sqlite_index_follows_changed_deleted_and_reused_rows(make_app, tmp_path):
    """SQLite indexes new rows in bulk before a search; a row already indexed that changes or is
    deleted leaves the index at once, and an id given again after the newest row was deleted is
    indexed like any new row (FTS5's integrity check proves the index equals the table)."""
    from ringebu_journal.search import catch_up

    app = make_app("archivist")
    if not app.db.is_sqlite:
        pytest.skip("the bulk index is SQLite's")
    _import(app, tmp_path, "one", [_line("a", "Gatelysene er slukket", when="2026-05-02T08:00:00Z"),
                                    _line("b", "Snøen er ikke ryddet", when="2026-05-03T08:00:00Z")])
    assert catch_up(app) == 2 and catch_up(app) == 0
    with app.db.write() as conn:
        newest = conn.execute(select(func.max(MSG.c.id))).scalar()
        conn.execute(MSG.update().where(MSG.c.platform_message_id == "a").values(text="Gatelysene lyser igjen"))
        conn.execute(MSG.delete().where(MSG.c.id == newest))
    _fts_consistent(app)
    assert _refs(search(app, "lyser")) == {"facebook:a"} and search(app, "slukket").hits == []
    assert search(app, "snøen").hits == []
    _import(app, tmp_path, "two", [_line("c", "Brøytebilen kom i dag", when="2026-05-04T08:00:00Z")])
    with app.db.read() as conn:
        assert conn.execute(select(MSG.c.id).where(MSG.c.platform_message_id == "c")).scalar() == newest
    assert _refs(search(app, "brøytebilen")) == {"facebook:c"}
    _fts_consistent(app)


NASTY = ['"', "'", "*", ":*", "&|!", "<->", "()", "^", "-", "+", "\\", "%", "_", "\x00", "'';",
         "{}", '"" ""', "::", "@@"]


def test_query_text_is_words_never_syntax(make_app, tmp_path):
    app = make_app("archivist")
    _import(app, tmp_path, "syntax", [
        _line("a", "Brøytingen av veien er dårlig", when="2026-05-02T08:00:00Z"),
        _line("b", "Vannet er brunt i Fåvang", when="2026-05-03T08:00:00Z"),
        _line("c", 'Han skrev "NOT NEAR" i teksten sin', when="2026-05-04T08:00:00Z"),
        _line("d", "50% av 100_000 kroner; x'; DROP TABLE messages; --", when="2026-05-05T08:00:00Z"),
    ])
    same_as_brøyting = ["brøyting*", '"brøyting"', "brøyting:*", "!brøyting", "-brøyting", "(brøyting)",
                        "brøyting^", '"brøyting', "brøyting'"]
    for q in same_as_brøyting:
        assert _refs(search(app, q)) == {"facebook:a"}, q
    # FTS5 keywords and tsquery operators are plain words or separators:
    assert _refs(search(app, "NOT NEAR")) == {"facebook:c"}               # as keywords: a syntax error
    assert _refs(search(app, "brøyting OR vannet")) == set()              # as OR: a and b
    assert _refs(search(app, "brøyting | vannet")) == set()               # as tsquery OR: a and b
    assert _refs(search(app, "vannet & !fåvang")) == {"facebook:b"}       # as tsquery NOT: nothing
    assert _refs(search(app, "text:brøyting")) == set()                   # as a column filter: a
    assert _refs(search(app, "brøyting <-> veien")) == {"facebook:a"}
    assert _refs(search(app, "x'; DROP TABLE messages; --")) == {"facebook:d"}
    assert _refs(search(app, "100_000")) == {"facebook:d"}
    for q in NASTY:
        with pytest.raises(UsageError, match="has no words"):
            search(app, q)
    with app.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(MSG)).scalar() == 4


def test_words_and_engine_queries():
    assert words_of('Søknad "OR" søknad* NEAR(a)') == ("søknad", "or", "near", "a")
    assert words_of("ÅR år Ar") == ("år", "ar")
    assert fts5_query(("søknad", "near")) == '"søknad"* AND "near"*'
    assert tsquery(("søknad", "or")) == "søknad:* & or:*"
    with pytest.raises(UsageError, match="at most 20"):
        words_of(" ".join(f"w{i}" for i in range(21)))
    with pytest.raises(UsageError, match="longer than"):
        words_of("x" * 101)
    with pytest.raises(UsageError, match="characters long"):
        words_of("x " * 600)


def test_snippet_cuts_around_the_first_word_found():
    text_ = "Innledning. " * 30 + "Her kommer brøytingen av veien. " + "Slutt. " * 30
    s, spans = snippet(text_, ("brøyting",))
    assert s.startswith("…") and s.endswith("…") and len(s) <= 160
    assert [s[a:b] for a, b in spans] == ["brøytingen"]
    assert snippet("kort  tekst\nher", ()) == ("kort tekst her", ())


def test_norwegian_letters_and_stems(make_app, tmp_path):
    app = make_app("archivist")
    _import(app, tmp_path, "letters", [
        _line("a", "Søknaden om barnehageplass er sendt", when="2026-05-02T08:00:00Z"),
        _line("b", "Det var et godt år for bygda", when="2026-05-03T08:00:00Z"),
        _line("c", "Ar og arr", when="2026-05-04T08:00:00Z"),
    ])
    assert _refs(search(app, "SØKNAD")) == {"facebook:a"}
    assert _refs(search(app, "barnehage")) == {"facebook:a"}       # a compound, found by its start
    assert _refs(search(app, "år")) == {"facebook:b"}             # å is a letter of its own
    assert _refs(search(app, "ar")) == {"facebook:c"}
    if not app.db.is_sqlite:
        assert _refs(search(app, "søknader")) == {"facebook:a"}   # the Norwegian stemmer


def test_filters_author_platform_dates_paging(make_app, tmp_path):
    app = make_app("archivist")
    lines = [_line(f"m{i}", f"Melding nummer {i} om skolen", when=f"2026-05-{i + 1:02d}T12:00:00Z",
                   author="Åse Ødegård" if i % 2 else "Per Bakken", author_id=f"u{i % 2}",
                   platform="instagram" if i >= 8 else "facebook") for i in range(10)]
    _import(app, tmp_path, "many", lines)
    assert len(search(app, "skolen", author="ÅSE").hits) == 5              # any case, Norwegian letters
    assert len(search(app, "skolen", author="ødegå").hits) == 5            # part of the name
    assert len(search(app, author="u0").hits) == 5                         # the author's platform id
    assert search(app, "ødegård").hits == []                               # text words are not names
    assert search(app, author="gård").hits == []                           # a name's words, at their start
    assert len(search(app, "skolen", author="per bakken").hits) == 5
    assert _refs(search(app, platform="instagram")) == {"instagram:m8", "instagram:m9"}
    got = search(app, since=date(2026, 5, 3), until=date(2026, 5, 4))
    assert _refs(got) == {"facebook:m2", "facebook:m3"}                    # until includes its day
    assert _refs(search(app, since="2026-05-03", until="2026-05-04")) == {"facebook:m2", "facebook:m3"}
    got = search(app, "skolen", since=datetime(2026, 5, 10, 12, tzinfo=timezone.utc))
    assert _refs(got) == {"instagram:m9"}
    page1 = search(app, "melding", limit=4)
    page2 = search(app, "melding", limit=4, offset=4)
    page3 = search(app, "melding", limit=4, offset=8)
    assert page1.more and page2.more and not page3.more
    order = [h.ref for h in page1.hits + page2.hits + page3.hits]
    assert order == [f"{'instagram' if i >= 8 else 'facebook'}:m{i}" for i in range(9, -1, -1)]
    for bad in (dict(platform="myspace"), dict(decision="maybe"), dict(limit=0), dict(limit=501), dict(offset=-1),
                dict(author="  "), dict(since=date(2026, 5, 4), until=date(2026, 5, 3)), dict(since="4. mai")):
        with pytest.raises(UsageError):
            search(app, **bad)


def test_decision_is_the_effective_decision(make_app):
    archivist = make_app("archivist", actor="arkivar")
    ids = seed(archivist)
    kari = make_app("moderator", actor="kari")
    by_judge = search(kari, decision="journal")
    assert {h.message_id for h in by_judge.hits} == {ids["klage"], ids["ppt"], ids["oppsigelse"], ids["insta"]}
    assert all(h.decision == "journal" and h.decision_source == "judge" for h in by_judge.hits)
    assert next(h for h in by_judge.hits if h.message_id == ids["ppt"]).screen is True
    # a moderator overrides the judge: the message moves to the moderator's decision
    moderation.flag(kari, [str(ids["insta"])], "archive", "a question about a service, not a case")
    assert ids["insta"] not in {h.message_id for h in search(kari, decision="journal").hits}
    got = search(kari, "kvitfjell", decision="archive").hits
    assert [(h.message_id, h.decision_source) for h in got] == [(ids["insta"], "moderator")]
    assert {h.message_id for h in search(kari, decision="review").hits} == {ids["politisk"]}
    # paging over the filtered hits
    first = search(kari, decision="journal", limit=2)
    rest = search(kari, decision="journal", limit=2, offset=2)
    assert first.more and not rest.more and len(first.hits) == 2 and len(rest.hits) == 1
    assert not {h.message_id for h in first.hits} & {h.message_id for h in rest.hits}


def test_the_migration_indexes_messages_stored_before_it(make_app, tmp_path):
    app = make_app("archivist")
    _import(app, tmp_path, "before", [_line("old", "Gatelysene i sentrum er slukket", when="2026-05-02T08:00:00Z")])
    cfg = migrate._config()
    with app.db.write() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005_numbers")
    with app.db.read() as conn:
        if app.db.is_sqlite:
            assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name LIKE '%fts%' "
                                     "OR name = 'search_index_state'")).scalar() == 0
        else:
            assert conn.execute(text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_messages_text_search'")
                                ).scalar() == 0
    migrate.upgrade(app.db)
    assert _refs(search(app, "gatelys")) == {"facebook:old"}
    _fts_consistent(app)


# -- the command ---------------------------------------------------------------------------------


def _cli(url: str, actor: str, *args: str) -> tuple[int, str, str]:
    from ringebu_journal.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(["--db", url, "--actor", actor, *args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def test_search_command(make_app, db_url):
    archivist = make_app("archivist", actor="arkivar")
    ids = seed(archivist)
    make_app("moderator", actor="kari")
    make_app("auditor", actor="revisor")
    code, out, err = _cli(db_url, "kari", "search", "renovasjonsgebyr", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [ids["klage"]] and rows[0]["decision"] == "journal"
    code, out, err = _cli(db_url, "revisor", "search", "--decision", "journal", "--limit", "1")
    assert code == 0 and "more messages match" in out and "--offset 1" in out
    code, out, _ = _cli(db_url, "kari", "search", "--author", "ingrid", "--platform", "messenger", "--format", "csv")
    assert code == 0 and len(out.strip().splitlines()) == 3          # header and Ingrid's two messages
    for args, needle in ((["search", '"*"'], "has no words"), (["search", "--since", "2026-13-01"], "YYYY-MM-DD"),
                         (["search", "x", "--until", "2026-01-01", "--since", "2026-02-01"], "swap them")):
        code, out, err = _cli(db_url, "kari", *args)
        assert code == 2 and err.count("\n") == 1 and needle in err and "Traceback" not in err, (args, err)
    code, out, err = _cli(db_url, "admin", "search", "x")
    assert code == 3 and "search" in err
