"""The judge's storage side in bulk: the same stored bytes as SQLAlchemy Core, the same audit
records as the recipe, and the collector paused per batch without keeping garbage.

* ``db.bulk.insert_rows`` (the judgments' and audit events' executemany at the driver level) must
  store exactly what ``conn.execute(table.insert(), rows)`` stores: JSON columns, times in other
  zones, text, on SQLite and PostgreSQL, read back as the database's own text;
* ``audit.append_many`` seals plain JSON values without decoding them again: every event's record
  must be the recipe's (``record_bytes``) and the chain must verify, for plain values and for
  those whose text changes on the way back (integer keys, dates, sets);
* ``db.batches.collect_per_batch``: a cycle dropped during a batch is collected by ``batch_done``,
  and the collector is as it was afterwards.
"""

from __future__ import annotations

import gc
import weakref
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Text, cast, select

from ringebu_journal import audit
from ringebu_journal.app import App
from ringebu_journal.db.batches import batch_done, collect_per_batch
from ringebu_journal.db.bulk import insert_rows
from ringebu_journal.db.tables import JudgeModel

JM = JudgeModel.__table__
COLUMNS = ("sha256", "version", "content", "trained_on", "created_at", "created_by")
OSLO = timezone(timedelta(hours=1))


def _rows(prefix: str) -> list[tuple]:
    return [
        (f"{prefix}{i:063d}", f"2026.{i}", '{"scheme": "x"}\n' * i,
         [{"name": "blind.jsonl", "sha256": "ab" * 32, "note": None, "n": i, "w": 0.1 * i, "æøå": "«»\u2028"}] * (i % 3),
         datetime(2026, 12, 1, 5, i, 7, 123456 * (i % 2), tzinfo=timezone.utc if i % 2 else OSLO),
         "arkivar ø")
        for i in range(1, 8)
    ]


def _stored(conn, prefix: str) -> list[tuple]:
    cols = [cast(JM.c[c], Text) for c in COLUMNS[1:]]
    rows = conn.execute(select(JM.c.sha256, *cols).where(JM.c.sha256.like(f"{prefix}%")).order_by(JM.c.sha256)).all()
    return [tuple(r)[1:] for r in rows]


def test_insert_rows_stores_what_core_stores(make_app):
    app: App = make_app("admin")
    with app.db.write() as conn:
        conn.execute(JM.insert(), [dict(zip(COLUMNS, r)) for r in _rows("a")])
        insert_rows(conn, JM, COLUMNS, _rows("b"))
        # the same rows given in another column order
        order = (5, 4, 3, 2, 1, 0)
        insert_rows(conn, JM, tuple(COLUMNS[i] for i in order), [tuple(r[i] for i in order) for r in _rows("c")])
    with app.db.read() as conn:
        core, bulk, reordered = _stored(conn, "a"), _stored(conn, "b"), _stored(conn, "c")
    assert len(core) == 7 and core == bulk == reordered


def test_insert_rows_with_value_objects_shared_between_rows(make_app):
    """One list object and one time object given in several rows (as the judge shares its
    category lists and screenings), beside equal but separate objects and different ones: each
    row stores what Core stores for it."""
    app: App = make_app("admin")
    shared = [{"name": "felles", "n": 1}]
    at = datetime(2026, 12, 1, 6, 0, 0, 5, tzinfo=OSLO)

    def rows(prefix: str) -> list[tuple]:
        return [(f"{prefix}{i:063d}", f"2026.{i}", "{}",
                 shared if i % 2 else ([{"name": "felles", "n": 1}] if i % 3 else [{"name": f"egen {i}", "n": i}]),
                 at if i < 5 else at + timedelta(seconds=i), "arkivar")
                for i in range(1, 9)]

    with app.db.write() as conn:
        conn.execute(JM.insert(), [dict(zip(COLUMNS, r)) for r in rows("d")])
        insert_rows(conn, JM, COLUMNS, rows("e"))
    with app.db.read() as conn:
        core, bulk = _stored(conn, "d"), _stored(conn, "e")
    assert len(core) == 8 and core == bulk
    # the shared list and its equal copies store one text; row 6 its own
    assert [r[2] for r in bulk].count('[{"name": "felles", "n": 1}]') == 7 and len({r[2] for r in bulk}) == 2


def test_insert_rows_refuses_a_column_list_that_leaves_one_out(make_app):
    app: App = make_app("admin")
    from ringebu_journal.judging import JUD
    with app.db.write() as conn:
        with pytest.raises(ValueError, match="model_hash"):
            insert_rows(conn, JUD, ("message_id", "decision", "confidence", "categories", "actions", "screening",
                                    "reasons", "policy_version", "policy_hash", "context_hash", "judged_at", "actor"),
                        [(1, "journal", 0.7, [], [], {}, [], "v", "h", "c", datetime.now(timezone.utc), "a")])


VALUES = [
    None, {"decision": "journal", "confidence": 0.7, "categories": ["søknad"], "screen": False},
    {"nested": {"b": [1, 2.5, None, True], "a": "\u2028«»\"\\"}}, [], "tekst",
    {3: "int keys", 10: "sort differently as text"}, {"when": datetime(2026, 12, 1, tzinfo=timezone.utc)},
    {"set": {"b", "a"}}, ("a", "tuple"), {"x": float("1e300"), "y": -0.0},
]


def test_append_many_records_are_the_recipes(make_app):
    app: App = make_app("admin")
    events = [{"actor": "arkivar", "identity": "ola" if i % 2 else None, "role": "archivist", "action": "judgment.add",
               "object_type": "message", "object_id": i, "before": b, "after": a, "reason": "r; s" if i % 3 else None}
              for i, (b, a) in enumerate((b, a) for b in VALUES for a in VALUES)]
    with app.db.write() as conn:
        written = audit.append_many(conn, events)
    assert len(written) == len(VALUES) ** 2
    for ev in written:
        assert ev["canonical"] == audit.record_bytes(ev)
        assert ev["hash"] == audit.event_hash(ev["prev_hash"], ev)
    with app.db.read() as conn:
        stored = list(audit.iter_events(conn))
        canonical = dict(conn.execute(select(audit.AUDIT.c.seq, audit.AUDIT.c.canonical)).all())
    assert audit.verify_events(stored).ok
    for ev in written:
        assert bytes(canonical[ev["seq"]]) == ev["canonical"]


class _Node:
    def __init__(self):
        self.me = self


def test_collect_per_batch_collects_each_batch_and_restores_the_collector():
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with collect_per_batch():
        assert not gc.isenabled()
        node = _Node()
        gone = weakref.ref(node)
        del node
        assert gone() is not None          # a cycle: reference counting alone does not free it
        batch_done()
        assert gone() is None
        kept = _Node()
        batch_done()
        assert gc.get_freeze_count() > frozen   # what survived is frozen, not walked again
    assert gc.isenabled() and gc.get_freeze_count() == frozen
    assert kept.me is kept


def _plain_by_definition(value) -> bool:
    """``audit._plain`` as first written: one call per value."""
    t = type(value)
    if t in (str, int, float, bool, type(None)):
        return True
    if t is dict:
        return all(type(k) is str and _plain_by_definition(v) for k, v in value.items())
    if t is list or t is tuple:
        return all(_plain_by_definition(v) for v in value)
    return False


class _Label(str):
    pass


_SCALAR_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5),
                           st.just(_Label("x")), st.just(datetime(2026, 1, 1, tzinfo=timezone.utc)),
                           st.just(frozenset({"a"})))
_VALUES = st.recursive(_SCALAR_VALUES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.one_of(st.text(max_size=3), st.integers(), st.booleans()), inner, max_size=4)), max_leaves=12)


@settings(max_examples=500, deadline=None)
@given(_VALUES)
def test_plain_check_is_the_definition(value):
    assert audit._plain(value) == _plain_by_definition(value)
