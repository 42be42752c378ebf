"""The queue reads only as far as its limit needs, and the message page's look-ups use indexes.

A limited queue (the web workspace asks for 50) used to aggregate the latest judgment of every
message and work out the duties of a first window of 2,000 messages; now it reads the oldest
messages in windows sized from the limit. The replies to a message and a conversation's
messages are found through an index (migration 0007_web_accounts), not by reading the whole
messages table.
"""

from __future__ import annotations

import json

from sqlalchemy import inspect, text

from ringebu_journal import queries
from ringebu_journal.importers.run import import_jsonl
from ringebu_journal.judging import judge_stored

TEXTS = ("Jeg klager på vedtaket om parkering i sak {n}.", "Når åpner biblioteket? ({n})",
         "Takk for informasjonen! {n}", "Jeg ber om innsyn i sak {n}.")


def _capture(path, comments: int) -> str:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"platform": "facebook", "kind": "post", "id": "p1", "text": "Parkering i sentrum",
                             "created_at": "2026-05-01T08:00:00Z",
                             "author": {"id": "kommune", "name": "Ringebu kommune", "is_municipality": True}}) + "\n")
        for n in range(comments):
            fh.write(json.dumps({"platform": "facebook", "kind": "comment", "id": f"c{n}", "post_id": "p1",
                                 "parent_id": "p1", "text": TEXTS[n % len(TEXTS)].format(n=n),
                                 "created_at": f"2026-05-01T{9 + n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}Z",
                                 "author": {"id": f"a{n}", "name": f"Innbygger {n}"}}) + "\n")
    return str(path)


def test_a_limited_queue_works_out_duties_only_for_a_window_near_its_limit(make_app, tmp_path, monkeypatch):
    arkiv = make_app("archivist")
    import_jsonl(arkiv, [_capture(tmp_path / "c.jsonl", 600)])
    judge_stored(arkiv)
    mod = make_app("moderator")
    full = queries.queue(mod, queries.QueueFilter())
    assert len(full) > 100
    seen: list[int] = []
    real = queries._open_duties

    def counting(conn, latest):
        seen.extend(latest)
        return real(conn, latest)

    monkeypatch.setattr(queries, "_open_duties", counting)
    first = queries.queue(mod, queries.QueueFilter(limit=10))
    assert [i.id for i in first] == [i.id for i in full[:10]]
    assert 0 < len(seen) <= 100, f"duties worked out for {len(seen)} messages to show 10"
    seen.clear()
    journal = queries.queue(mod, queries.QueueFilter(limit=10, decision="journal"))
    assert [i.id for i in journal] == [i.id for i in full if i.decision == "journal"][:10]
    assert len(seen) <= 100


def test_replies_and_conversations_are_found_through_an_index(make_app):
    app = make_app("moderator")
    with app.db.read() as conn:
        indexes = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("messages")}
        assert indexes.get("ix_message_parent_created") == ["platform", "parent_platform_id", "created_at"]
        assert "ix_message_parent" not in indexes      # its leading part; one index to write, not two
        assert indexes.get("ix_message_conversation") == ["platform", "conversation_id", "created_at"]
        if conn.dialect.name == "sqlite":      # and SQLite's planner takes them (PostgreSQL's plans depend on its statistics)
            for where, index in (("platform = 'facebook' AND parent_platform_id = 'p1'", "ix_message_parent_created"),
                                 ("platform = 'messenger' AND conversation_id = 't1' ORDER BY created_at",
                                  "ix_message_conversation")):
                plan = " ".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN SELECT id FROM messages WHERE {where}")))
                assert index in plan, plan


def test_a_decision_filter_matching_nothing_reads_nothing_in_python(make_app, tmp_path, monkeypatch):
    """`/queue?decision=review` and a search by `review` when nothing waits for review used to work
    out the effective decision of every message (or every word match) in Python; the filter is now
    applied in SQL by the same rule, so no message is handed to the Python rule at all."""
    from sqlalchemy import select

    from ringebu_journal import moderation, search
    from ringebu_journal.db.tables import Message

    arkiv = make_app("archivist")
    import_jsonl(arkiv, [_capture(tmp_path / "c.jsonl", 600)])
    judge_stored(arkiv)
    mod = make_app("moderator")
    with mod.db.read() as conn:
        current = list(conn.execute(select(Message.__table__.c.id).where(Message.__table__.c.is_current.is_(True)))
                       .scalars())
        present = {e.decision for e in moderation.effective_decisions(conn, current).values()}
    absent = [d for d in ("review", "exclude", "archive", "journal") if d not in present]
    assert absent, present
    nothing = absent[0]
    looked_up: list[int] = []
    real_latest, real_effective = queries._latest_ids, search.effective_decisions

    def latest_counting(conn, table, ids):
        looked_up.extend(ids)
        return real_latest(conn, table, ids)

    def effective_counting(conn, ids):
        ids = list(ids)
        looked_up.extend(ids)
        return real_effective(conn, ids)

    monkeypatch.setattr(queries, "_latest_ids", latest_counting)
    monkeypatch.setattr(search, "effective_decisions", effective_counting)
    assert queries.queue(mod, queries.QueueFilter(decision=nothing)) == []
    assert queries.queue(mod, queries.QueueFilter(decision=nothing, limit=50)) == []
    assert looked_up == []
    assert len(search.search(mod, "sak", decision=nothing)) == 0
    assert looked_up == []
    # and a filter that matches still finds exactly what the unfiltered queue holds of it
    full = queries.queue(mod, queries.QueueFilter())
    looked_up.clear()
    journal = queries.queue(mod, queries.QueueFilter(decision="journal"))
    assert [i.id for i in journal] == [i.id for i in full if i.decision == "journal"]
    assert journal and len(looked_up) <= 2 * len(journal)      # judgments and decisions of those only


def test_a_common_decision_is_filtered_window_by_window_with_the_same_result(make_app, tmp_path, monkeypatch):
    """Above ``_FEW`` messages that could have the decision, the queue filters its windows by the
    Python rule and search walks the superset; both give what the SQL filter gives."""
    from ringebu_journal import search

    arkiv = make_app("archivist")
    import_jsonl(arkiv, [_capture(tmp_path / "c.jsonl", 300)])
    judge_stored(arkiv)
    mod = make_app("moderator")
    for d in ("journal", "archive", "exclude", "review"):
        exact_q = queries.queue(mod, queries.QueueFilter(decision=d))
        exact_s = [h.message_id for h in search.search(mod, "sak", decision=d, limit=200)]
        monkeypatch.setattr(queries, "_FEW", 0)
        monkeypatch.setattr(search, "_FEW", 0)
        assert queries.queue(mod, queries.QueueFilter(decision=d)) == exact_q
        assert queries.queue(mod, queries.QueueFilter(decision=d, limit=7)) == exact_q[:7]
        assert [h.message_id for h in search.search(mod, "sak", decision=d, limit=200)] == exact_s
        monkeypatch.undo()
        assert all(i.decision == d for i in exact_q)
    assert queries.queue(mod, queries.QueueFilter(decision="journal"))
