"""Judging stored messages: thread context from the database, never overwriting, audited."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from ringebu_journal.audit import verify
from ringebu_journal.audit_query import AuditFilter, query
from ringebu_journal.db.tables import Judgment, Message
from ringebu_journal.importers.run import import_jsonl
from ringebu_journal.judging import iter_judgments, judge_stored

JUD = Judgment.__table__
MSG = Message.__table__

POST = {"platform": "facebook", "kind": "post", "id": "p1", "account_id": "104",
        "author": {"id": "104", "name": "Ringebu kommune", "is_municipality": True},
        "text": "Ny plan for skoleskyss er vedtatt. Les mer på https://www.ringebu.kommune.no/skyss",
        "created_at": "2026-10-01T08:00:00Z"}


def comment(cid: str, text: str, when: str, *, parent: str = "p1", muni: bool = False) -> dict:
    return {"platform": "facebook", "kind": "comment" if parent == "p1" else "reply", "id": cid,
            "post_id": "p1", "parent_id": parent, "account_id": "104",
            "author": {"id": "104" if muni else f"u-{cid}", "name": "Ringebu kommune" if muni else "Innbygger",
                       "is_municipality": muni},
            "text": text, "created_at": when}


def write(tmp: Path, rows: list[dict], name: str = "in.jsonl") -> str:
    p = tmp / name
    p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(p)


def decision_of(app, pid: str) -> dict:
    return next(j for j in iter_judgments(app) if j["platform_message_id"] == pid)


def test_thread_context_turns_a_yes_into_a_complaint(make_app, tmp_path):
    app = make_app("archivist")
    rows = [
        POST,
        comment("c1", "Jeg er ikke fornøyd med at dattera mi ikke får skyss.", "2026-10-01T09:00:00Z"),
        comment("c2", "Vil du at vi registrerer dette som en klage?", "2026-10-01T09:10:00Z", parent="c1", muni=True),
        comment("c3", "Ja takk, gjør det.", "2026-10-01T09:20:00Z", parent="c1"),
        comment("c4", "Ja takk, gjør det.", "2026-10-01T09:30:00Z"),  # same words, no context
    ]
    import_jsonl(app, [write(tmp_path, rows)])
    s = judge_stored(app)
    assert s.judged == 5
    assert decision_of(app, "c3")["decision"] in ("journal", "review")
    assert "klage" in decision_of(app, "c3")["categories"]
    assert decision_of(app, "c4")["decision"] not in ("journal",)
    assert decision_of(app, "p1")["decision"] == "archive"  # the municipality's own post
    assert "egen_uten_lenke" not in decision_of(app, "p1")["categories"]  # it links to the website


def test_own_post_is_its_own_thread_root_not_its_context(make_app, tmp_path):
    app = make_app("archivist")
    post = dict(POST, text="Kommunestyret vedtok i går ny skolestruktur. Still gjerne spørsmål her.")
    import_jsonl(app, [write(tmp_path, [post])])
    judge_stored(app)
    assert decision_of(app, "p1")["categories"] == ["egen_uten_lenke"]


def test_judging_again_adds_nothing_and_a_changed_policy_adds_judgments(make_app, tmp_path):
    app = make_app("archivist")
    rows = [POST, comment("c1", "Jeg klager på vedtaket om skoleskyss for sønnen min.", "2026-10-01T09:00:00Z")]
    import_jsonl(app, [write(tmp_path, rows)])
    assert judge_stored(app).judged == 2
    assert judge_stored(app).judged == 0            # --pending: nothing new
    assert judge_stored(app, everything=True).judged == 0   # --all, same policy and context
    from importlib import resources

    from ringebu_journal.judge.policy import DEFAULT_POLICY  # the shipped policy file

    changed = tmp_path / "policy.toml"
    text = resources.files("ringebu_journal.judge").joinpath(DEFAULT_POLICY).read_text(encoding="utf-8")
    changed.write_text(text.replace('version = "', 'version = "lokal-', 1), encoding="utf-8")
    s = judge_stored(app, everything=True, policy_path=changed)
    assert s.judged == 2 and s.policy_version.startswith("lokal-")
    with app.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(JUD)).scalar() == 4  # old ones kept
        assert verify(conn).ok
    revisor = make_app("auditor", "revisor")           # the audit trail is for auditors (audit.read)
    events = list(query(revisor, AuditFilter(action="judgment.add")))
    assert len(events) == 4
    last = json.loads(events[-1]["after"])
    assert last["policy_version"].startswith("lokal-") and json.loads(events[-1]["before"])["decision"]


def test_new_version_of_a_message_is_judged(make_app, tmp_path):
    app = make_app("archivist")
    import_jsonl(app, [write(tmp_path, [POST, comment("c1", "Fin dag på fjellet i dag!", "2026-10-01T09:00:00Z")])])
    judge_stored(app)
    assert decision_of(app, "c1")["decision"] != "journal"
    edited = comment("c1", "Jeg søker herved om plass i barnehagen fra august for sønnen min.", "2026-10-01T09:00:00Z")
    import_jsonl(app, [write(tmp_path, [edited], "edit.jsonl")])
    assert judge_stored(app).judged == 1
    j = decision_of(app, "c1")
    assert j["message_version"] == 2 and j["decision"] in ("journal", "review")


def test_every_judgment_has_readable_reasons(make_app, tmp_path):
    app = make_app("archivist")
    rows = [POST, comment("c1", "Jeg krever innsyn i kontrakten med brøyteentreprenøren.", "2026-10-01T09:00:00Z")]
    import_jsonl(app, [write(tmp_path, rows)])
    judge_stored(app)
    j = decision_of(app, "c1")
    assert j["decision"] == "journal"
    assert j["reasons"] and all(isinstance(r, str) and "«" in r for r in j["reasons"])


def test_stored_reasons_and_screening_are_the_results_dump():
    """Judgments are stored in the form pydantic dumps them (plus each reason's line), over every
    message of the shared development corpus."""
    from ringebu_journal.judge import Judge
    from ringebu_journal.judge.evaluate import read_labelled
    from ringebu_journal.judge.training import shipped_corpora
    from ringebu_journal.judging import reasons_json, screening_json

    judge = Judge()
    dev = next(p for p in shipped_corpora() if p.name == "dev.jsonl")
    for case in read_labelled(dev):
        res = judge.judge(case.text, author_is_municipality=case.author == "municipality", context=case.context)
        assert screening_json(res.screening) == res.screening.model_dump(mode="json")
        assert reasons_json(res.reasons) == [dict(r.model_dump(mode="json"), line=r.line()) for r in res.reasons]
