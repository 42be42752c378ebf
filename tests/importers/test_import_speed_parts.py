"""Issue 18 (import at a third of the floor): the parts made faster say and store exactly what
the slower ways did.

* the nesting depth read from the text is the depth of the parsed value (property test) and
  still rejects one line nested too deep, not the dump;
* raw message objects written by orjson are byte for byte ``json.dumps(ensure_ascii=False)``'s
  text; lines with fractions, exponents, NaN, integers beyond 64 bits or lone surrogates take
  the standard library's way, so the stored raw text of every message is what it was;
* the garbage collector is off while an import runs and exactly as before afterwards (also
  after a failed import), and a chunk handed out is not kept alive by the chunking generator;
* the four import functions are one (``run.import_input``) and the batch size is one constant.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import weakref

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from imp_helpers import PAGE, dump_line
from ringebu_journal.db.batches import ROWS_PER_BATCH
from ringebu_journal.db.tables import Message
from ringebu_journal.importers import run, store
from ringebu_journal.importers.textutil import (MAX_JSON_DEPTH, TooDeep, deeper_than, loads, loads_noting_numbers,
                                                raw_json, text_depth)

MSG = Message.__table__


def _old_raw(obj) -> str:
    """How the raw text of a message was written before orjson (json.dumps, compact; ASCII
    escapes where the text has a lone surrogate)."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = json.dumps(obj, ensure_ascii=True, separators=(",", ":"))
    return s


def _walk_depth(value) -> int:
    return next(d for d in range(0, 10_000) if not deeper_than(value, d))


texts = st.text(alphabet=st.sampled_from(list('ab{}[]"\\\n\x00æ\u2028') + ["\ud800", "\U0001F600"]), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(json_values, st.booleans())
def test_text_depth_is_the_depth_of_the_parsed_value(value, ascii_text):
    text = json.dumps(value, ensure_ascii=ascii_text)
    assert text_depth(text) == min(_walk_depth(json.loads(text)), MAX_JSON_DEPTH + 1)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_orjson_raw_text_is_json_dumps_text(value):
    text = json.dumps({"v": value}, ensure_ascii=True)
    parsed, numbers = loads_noting_numbers(text)
    assert numbers is False
    assert raw_json(parsed, True, numbers) == _old_raw(parsed)


@pytest.mark.parametrize("text", ['{"a":1e-05}', '{"a":1.5}', '{"a":NaN}', '{"a":-Infinity}', '{"a":1E400}',
                                  '{"a":[0.1,{"b":2.50}]}'])
def test_fractions_and_constants_are_noted_and_written_as_before(text):
    parsed, numbers = loads_noting_numbers(text)
    assert numbers is True
    assert raw_json(parsed, True, numbers) == _old_raw(parsed)


def test_depth_limit_still_rejects_from_the_text():
    deep = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    ok = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    with pytest.raises(TooDeep):
        loads(deep)
    with pytest.raises(TooDeep):
        loads_noting_numbers('{"x":"' + "[" * 500 + '","y":' + deep + "}")
    assert _walk_depth(loads(ok)) == MAX_JSON_DEPTH
    # brackets inside strings (escaped quotes and backslashes too) are text, not nesting
    assert loads('{"x":"' + "[{" * 300 + '\\\\\\"' + "]" * 50 + '"}')["x"].startswith("[{")


def _feed(comments: list[dict]) -> dict:
    return {"data": [{"id": f"{PAGE}_1", "message": "Informasjon", "created_time": "2024-05-02T08:15:30+0000",
                      "from": {"name": "Ringebu kommune", "id": PAGE}, "comments": {"data": comments}}]}


def test_stored_raw_text_is_what_it_was(any_app, tmp_path):
    """A dump whose lines hold floats, big integers and lone surrogates next to plain ones: every
    message's stored raw text and the capture's payload are those of the standard library."""
    def comment(i: int, **extra) -> dict:
        c = {"id": f"1_{i}", "message": f"Spørsmål {i} «om» \"vann\" \\ \u2028 😀", "created_time": "2024-05-02T08:40:02+0000",
             "from": {"name": f"Innbygger {i}", "id": f"6{i}"}}
        c.update(extra)
        return c

    url = f"https://graph.facebook.com/v25.0/{PAGE}/feed"
    lines = [dump_line(_feed([comment(1), comment(2, like_count=2**63 - 1)]), url),
             dump_line(_feed([comment(3, score=1e-05), comment(4, score=0.5)]), url),
             dump_line(_feed([comment(5, big=2**70)]), url),
             dump_line(_feed([comment(6, note="\ud83d")]), url, ascii=True)]
    path = tmp_path / "dump.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    s = run.import_facebook_dump(any_app, [str(path)])
    assert s.rejected == 0
    expected = {}
    for ln in lines:
        body = json.loads(ln)["body"]
        post = body["data"][0]
        expected[post["id"]] = _old_raw({k: v for k, v in post.items() if k != "comments"})
        for c in post["comments"]["data"]:
            expected[c["id"]] = _old_raw(c)
    with any_app.db.read() as conn:
        stored = {r.platform_message_id: r.raw for r in conn.execute(select(MSG.c.platform_message_id, MSG.c.raw))}
    assert stored == expected


def test_garbage_collector_is_restored_after_an_import(app, tmp_path):
    path = tmp_path / "dump.jsonl"
    path.write_text(dump_line(_feed([{"id": "1_1", "message": "Hei", "created_time": "2024-05-02T08:40:02+0000",
                                      "from": {"name": "A", "id": "61"}}]),
                              f"https://graph.facebook.com/v25.0/{PAGE}/feed") + "\n", encoding="utf-8")
    assert gc.isenabled()
    seen: list[bool] = []
    run.import_facebook_dump(app, [str(path)], advance=lambda n: seen.append(gc.isenabled()))
    assert seen == [False] and gc.isenabled() and gc.get_freeze_count() == 0

    def broken():
        yield from ()
        raise RuntimeError("the importer failed")

    gc.disable()
    try:
        with pytest.raises(RuntimeError):
            store.run_import(app, importer="facebook-dump", inputs=run.KINDS["facebook-dump"].open([str(path)]),
                             items=broken, input_sha256="f" * 64)
        assert not gc.isenabled() and gc.get_freeze_count() == 0     # as it was before the import
    finally:
        gc.enable()


class _Item:
    """Stands for an item in a chunk (a slotted Record cannot be weakly referenced)."""


def test_a_chunk_handed_out_is_not_kept_by_the_generator():
    chunks = store._chunks((_Item() for _ in range(7)), 3)
    _index, first = next(chunks)
    ref = weakref.ref(first[0])
    refs_to_list = sys.getrefcount(first)
    del first
    assert ref() is None, f"the chunk is still referenced ({refs_to_list - 1} references)"
    assert [len(c) for _i, c in chunks] == [3, 1]


def test_one_entry_point_and_one_batch_size():
    for name, kind in (("import_jsonl", "jsonl"), ("import_facebook_dump", "facebook-dump"),
                       ("import_x_archive", "x-archive"), ("import_facebook_export", "facebook-export")):
        f = getattr(run, name)
        assert f.func is run.import_input and f.args == (kind,) and kind in run.KINDS
    assert store.CHUNK_SIZE == ROWS_PER_BATCH                     # items in hand
    assert store.TRANSACTION_ITEMS == 4 * ROWS_PER_BATCH             # items per transaction
    assert run.CHUNK_SIZE == store.TRANSACTION_ITEMS or "RINGEBU_JOURNAL_IMPORT_CHUNK" in os.environ


def test_overlapping_imports_in_threads_leave_the_collector_as_it_was():
    """Two imports in threads of one process: the second to start may end first; the collector
    is restored only when the last one ends."""
    assert gc.isenabled()
    first, second = store._collect_per_chunk(), store._collect_per_chunk()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert not gc.isenabled()           # the second import still runs
    second.__exit__(None, None, None)
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_thread_indexes_leave_out_rows_without_the_value(any_app, tmp_path):
    """The conversation and reply indexes are partial (0010_import_indexes): a page's comments are
    not in the conversation index, private messages not in the reply index; lookups by value
    still go through them (on SQLite the planner says so; PostgreSQL's plans depend on statistics)."""
    from sqlalchemy import text as sql

    with any_app.db.read() as conn:
        if conn.dialect.name == "sqlite":
            defs = dict(conn.execute(sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'")).all())
        else:
            defs = dict(conn.execute(sql("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'messages'")).all())
    assert "conversation_id IS NOT NULL" in defs["ix_message_conversation"]
    assert "parent_platform_id IS NOT NULL" in defs["ix_message_parent_created"]
    path = tmp_path / "dump.jsonl"
    path.write_text(dump_line(_feed([{"id": "1_1", "message": "Hei", "created_time": "2024-05-02T08:40:02+0000",
                                      "from": {"name": "A", "id": "61"}}]),
                              f"https://graph.facebook.com/v25.0/{PAGE}/feed") + "\n", encoding="utf-8")
    assert run.import_facebook_dump(any_app, [str(path)]).rejected == 0
    with any_app.db.read() as conn:
        if conn.dialect.name == "sqlite":
            # a partial index is counted by a query the planner answers from it alone
            n_conv = conn.execute(sql("SELECT count(*) FROM messages INDEXED BY ix_message_conversation "
                                      "WHERE conversation_id IS NOT NULL")).scalar()
            n_parent = conn.execute(sql("SELECT count(*) FROM messages INDEXED BY ix_message_parent_created "
                                        "WHERE parent_platform_id IS NOT NULL")).scalar()
            assert (n_conv, n_parent) == (0, 1)
            for where, index in (("platform = 'facebook' AND parent_platform_id = 'p1'", "ix_message_parent_created"),
                                 ("platform = 'messenger' AND conversation_id = 't1' ORDER BY created_at",
                                  "ix_message_conversation")):
                plan = " ".join(str(r[-1]) for r in conn.execute(sql(f"EXPLAIN QUERY PLAN SELECT id FROM messages WHERE {where}")))
                assert index in plan, plan


def test_a_transaction_takes_several_parts_and_commits_its_position(any_app, monkeypatch):
    """chunk_size items per transaction, read and written CHUNK_SIZE at a time: with parts of 3
    and transactions of at least 7, the commits land after items 9, 18 and 20 (the end), each
    with its position, and the stored rows are those of one part per transaction."""
    from datetime import datetime, timezone

    from sqlalchemy import func

    from ringebu_journal import killpoints
    from ringebu_journal.db.tables import ImportBatch
    from ringebu_journal.importers.sources import InputSet
    from ringebu_journal.models import CaptureIn, MessageIn, MessageKind, Platform

    cap = CaptureIn(source="test", locator="mem", retrieved_at=datetime(2024, 1, 1, tzinfo=timezone.utc), payload="x")
    items = [store.Record(MessageIn(platform=Platform.other, kind=MessageKind.post, platform_message_id=f"m{i}",
                                    text=f"t{i}", created_at=datetime(2024, 1, 1, tzinfo=timezone.utc)),
                          json.dumps({"i": i}), cap) for i in range(20)]
    monkeypatch.setattr(store, "CHUNK_SIZE", 3)
    committed: list[tuple[int, int]] = []
    parts: list[int] = []
    real = killpoints.reached

    def spy(step: str) -> None:
        if step == "import.committed":
            with any_app.db.read() as conn:
                row = conn.execute(select(ImportBatch.__table__.c.position)).first()
                n = conn.execute(select(func.count()).select_from(MSG)).scalar()
            committed.append((row.position, n))
        real(step)

    monkeypatch.setattr(killpoints, "reached", spy)
    s = store.run_import(any_app, importer="test", inputs=InputSet(paths=[]), items=lambda: items, chunk_size=7,
                         input_sha256="7" * 64, advance=parts.append)
    assert s.counts["platforms"]["other"]["new"] == 20
    assert parts == [3, 3, 3, 3, 3, 3, 2]
    assert committed == [(9, 9), (18, 18), (20, 20)]
