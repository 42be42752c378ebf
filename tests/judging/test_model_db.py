"""The model on stored messages: its hash on every judgment, an audited and undoable switch."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ringebu_journal import judge_models
from ringebu_journal.audit import verify
from ringebu_journal.audit_query import AuditFilter, query
from ringebu_journal.db.tables import Judgment
from ringebu_journal.errors import InputError, UsageError
from ringebu_journal.importers.run import import_jsonl
from ringebu_journal.judge.model import load_model
from ringebu_journal.judge.training import train
from ringebu_journal.judging import iter_judgments, judge_stored

from .test_judging_db import POST, comment, write

JUD = Judgment.__table__


def _small_model(tmp_path) -> bytes:
    p = tmp_path / "labels.jsonl"
    rows = [(f"jeg søker om plass i barnehagen for barn nummer {n}", True) for n in range(15)]
    rows += [(f"takk for en fin konsert nummer {n}", False) for n in range(15)]
    p.write_text("".join(json.dumps({"id": str(i), "platform": "facebook", "kind": "comment", "author": "citizen",
                                     "text": t, "journal": j, "screen": False, "actions": [], "hard": False},
                                    ensure_ascii=False) + "\n" for i, (t, j) in enumerate(rows)), encoding="utf-8")
    return train([p], count_languages=False)


def test_model_hash_on_every_judgment_and_an_undoable_switch(make_app, tmp_path):
    app = make_app("archivist")
    import_jsonl(app, [write(tmp_path, [POST, comment("c1", "Jeg klager på vedtaket om skoleskyss.",
                                                      "2026-10-01T09:00:00Z")])])
    shipped = load_model().sha256
    s = judge_stored(app)
    assert s.judged == 2 and s.model_hash == shipped and f"model {shipped[:12]}" in s.line()
    with app.db.read() as conn:
        assert {r.model_hash for r in conn.execute(select(JUD.c.model_hash))} == {shipped}
    assert {j["model_hash"] for j in iter_judgments(app)} == {shipped}
    revisor = make_app("auditor", "revisor")           # the audit trail is for auditors (audit.read)
    events = list(query(revisor, AuditFilter(action="judgment.add")))
    assert all(json.loads(e["after"])["model_hash"] == shipped for e in events)

    data = _small_model(tmp_path)
    row = judge_models.store_model(app, data, "small.json")
    assert judge_models.store_model(app, data, "small.json") == row      # stored once
    new = row.sha256
    assert judge_models.current(app) == ""
    judge_models.use_model(app, new[:10], reason="trained on this year's decisions")
    assert judge_models.current(app) == new
    assert judge_stored(app, everything=True).judged == 2                  # a new model judges again
    assert {j["model_hash"] for j in iter_judgments(app)} == {new}
    assert judge_models.undo(app) == (new, "")
    s = judge_stored(app, everything=True)
    assert s.judged == 2 and s.model_hash == shipped
    uses = list(query(revisor, AuditFilter(action="model.use")))
    assert [json.loads(e["after"])["sha256"] for e in uses] == [new, ""]
    assert json.loads(uses[-1]["before"])["sha256"] == new and uses[-1]["reason"] == "undo"
    assert [e["object_id"] for e in query(revisor, AuditFilter(action="model.add"))] == [new]
    with app.db.read() as conn:
        assert verify(conn).ok


def test_bad_models_are_never_stored_or_used(make_app, tmp_path):
    app = make_app("archivist")
    with pytest.raises(InputError):
        judge_models.store_model(app, b'{"scheme": "other"}', "bad.json")
    with pytest.raises(UsageError, match="not stored"):
        judge_models.use_model(app, "0123456789abcdef")
    with pytest.raises(UsageError, match="nothing to undo"):
        judge_models.undo(app)
    assert judge_models.list_models(app) == [] and judge_models.current(app) == ""
