"""Learning from moderators: labelled export, retraining with a side-by-side evaluation,
proposed rules from repeated overrides."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from ringebu_journal import judge_models, learning, moderation
from ringebu_journal.audit import verify
from ringebu_journal.audit_query import AuditFilter, query
from ringebu_journal.db.tables import Message
from ringebu_journal.errors import UsageError
from ringebu_journal.importers.run import import_jsonl
from ringebu_journal.judge.evaluate import read_labelled
from ringebu_journal.judge.policy import load_policy, policy_text
from ringebu_journal.judging import judge_stored

from .test_judging_db import POST, comment, write

MSG = Message.__table__

# Things the shipped judge does not take for cases, which moderators here journalise.
GROUT = ["Brøytekanten ved postkassa vår er en meter høy igjen, fint om noen ser på det",
         "Brøytekanten ved gården er så høy at bussen ikke kommer forbi",
         "Brøytekanten ved skolen er farlig for ungene som går der",
         "Kan noen se på brøytekanten ved Fåvang kirke, den stenger utkjørselen"]
CHAT = ["Flott konsert i kulturhuset i går!", "Nydelig bilde av Venabygdsfjellet", "Gleder meg til 17. mai"]


def _ids(app) -> dict[str, int]:
    with app.db.read() as conn:
        return {r.platform_message_id: r.id for r in conn.execute(
            select(MSG.c.id, MSG.c.platform_message_id).where(MSG.c.is_current.is_(True)))}


@pytest.fixture
def decided(make_app, tmp_path):
    archivist = make_app("archivist")
    rows = [POST] + [comment(f"g{i}", t, f"2026-10-01T09:0{i}:00Z") for i, t in enumerate(GROUT)]
    rows += [comment(f"c{i}", t, f"2026-10-01T10:0{i}:00Z") for i, t in enumerate(CHAT)]
    import_jsonl(archivist, [write(tmp_path, rows)])
    judge_stored(archivist)
    mod = make_app("moderator", "kari")
    ids = _ids(mod)
    for i in range(len(GROUT)):
        moderation.flag(mod, [str(ids[f"g{i}"])], "journal", "Melding om brøyting: en sak for veg")
    for i in range(len(CHAT)):
        moderation.confirm(mod, [str(ids[f"c{i}"])])
    return archivist


def test_export_writes_every_moderator_decision_as_a_labelled_case(decided, make_app, tmp_path):
    out = tmp_path / "labels.jsonl"
    assert learning.export_labels(decided, out) == len(GROUT) + len(CHAT)
    cases = read_labelled(out)                       # the corpus format, checked by the same reader
    by_text = {c.text: c for c in cases}
    for t in GROUT:
        assert by_text[t].journal and "refer_post" in [a.value for a in by_text[t].actions]
    for t in CHAT:
        assert not by_text[t].journal
    assert [c.id for c in cases] == sorted(c.id for c in cases)
    first = out.read_bytes()
    learning.export_labels(decided, out)
    assert out.read_bytes() == first                 # same decisions, same file
    revisor = make_app("auditor", "revisor")           # the audit trail is for auditors (audit.read)
    [ev] = list(query(revisor, AuditFilter(action="labels.export")))[:1]
    assert json.loads(ev["after"])["cases"] == len(cases)


def test_repeated_overrides_become_proposed_rules(decided, make_app, tmp_path):
    props = learning.propose_rules(decided, min_count=3)
    top = props[0]
    assert top.phrase == "brøytekanten ved" and top.direction == "journal" and top.count == 4
    assert all(p.direction == "journal" for p in props)
    # accept: a rule in the municipality's own policy file, which still loads and now journalises it
    _, data = policy_text()
    policy_file = tmp_path / "policy.toml"
    policy_file.write_bytes(data)
    rid = learning.accept_rule(decided, top.phrase, "journal", policy_file)
    policy = load_policy(policy_file)
    assert any(r.id == rid for r in policy.rules)
    from ringebu_journal.judge import Judge
    res = Judge(policy, model=None).judge("Brøytekanten ved butikken er for høy")
    assert rid in [r.rule for r in res.reasons] and res.decision.value in ("journal", "review")
    # reject: never proposed again
    learning.reject_rule(decided, top.phrase, top.direction)
    assert (top.phrase, top.direction) not in {(p.phrase, p.direction) for p in learning.propose_rules(decided, 3)}
    revisor = make_app("auditor", "revisor")           # the audit trail is for auditors (audit.read)
    assert [e["action"] for e in query(revisor, AuditFilter(action="rule.accept"))] == ["rule.accept"]
    assert len(list(query(revisor, AuditFilter(action="rule.reject")))) == 1
    with pytest.raises(UsageError, match="not among the proposals"):
        learning.accept_rule(decided, "ingen slik frase", "journal", policy_file)


def test_an_interrupted_rule_acceptance_keeps_the_policy_file_and_leaves_no_part_file(decided, make_app, tmp_path,
                                                                                     monkeypatch):
    """Ctrl-C while the new policy is being checked: the staff's file is as it was and no
    policy.toml.part is left behind (the write used to leave it)."""
    from ringebu_journal.judge import policy as policy_module

    top = learning.propose_rules(decided, min_count=3)[0]
    _, data = policy_text()
    folder = tmp_path / "policy"
    folder.mkdir()
    policy_file = folder / "policy.toml"
    policy_file.write_bytes(data)
    real_load = policy_module.load_policy
    checked = []

    def interrupted_while_checking(path=None):
        if str(path).endswith(".part"):
            checked.append(path)
            raise KeyboardInterrupt
        return real_load(path)

    monkeypatch.setattr(policy_module, "load_policy", interrupted_while_checking)
    with pytest.raises(KeyboardInterrupt):
        learning.accept_rule(decided, top.phrase, "journal", policy_file)
    assert checked, "the new policy was not checked before it replaced the file"
    assert policy_file.read_bytes() == data
    assert sorted(p.name for p in folder.iterdir()) == ["policy.toml"]
    revisor = make_app("auditor", "revisor")           # the audit trail is for auditors (audit.read)
    assert not list(query(revisor, AuditFilter(action="rule.accept")))


def test_retraining_compares_old_and_new_and_the_switch_is_audited(decided, tmp_path):
    held = tmp_path / "held.jsonl"
    held.write_text("".join(json.dumps({
        "id": f"h{i}", "platform": "facebook", "kind": "comment", "author": "citizen", "text": t,
        "journal": j, "screen": False, "actions": ["refer_post"] if j else [], "hard": False},
        ensure_ascii=False) + "\n" for i, (t, j) in enumerate([
            ("Brøytekanten ved bommen stenger vegen", True), ("Takk for en flott dag", False)])),
        encoding="utf-8")
    base = tmp_path / "base.jsonl"
    base.write_text("".join(json.dumps({
        "id": f"b{i}", "platform": "facebook", "kind": "comment", "author": "citizen", "text": t,
        "journal": j, "screen": False, "actions": ["refer_post"] if j else [], "hard": False},
        ensure_ascii=False) + "\n" for i, (t, j) in enumerate(
            [(f"Jeg klager på vedtaket nummer {n}", True) for n in range(12)]
            + [(f"Fin tur på fjellet nummer {n}", False) for n in range(12)])), encoding="utf-8")
    r = learning.retrain(decided, [base], shipped=False, extra_held_out=[held], share=0.2, workdir=tmp_path / "w")
    assert r.train_cases + r.held_out_cases - 2 == len(GROUT) + len(CHAT)
    assert r.old_hash != r.new_hash and "journal_recall" in r.table() and r.new_hash[:8] in r.table()
    assert set(r.old) == set(r.new)
    judge_models.store_model(decided, r.new_bytes, "new.json")
    judge_models.use_model(decided, r.new_hash)
    assert judge_stored(decided, everything=True).model_hash == r.new_hash
    judge_models.undo(decided)
    with decided.db.read() as conn:
        assert verify(conn).ok


def test_held_out_choice_is_stable():
    ids = [f"facebook:{n}" for n in range(1000)]
    picked = [i for i in ids if learning.held_out(i)]
    assert 150 < len(picked) < 250 and picked == [i for i in ids if learning.held_out(i)]
