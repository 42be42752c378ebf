"""A moderator's everyday use: contradictory options are refused, `confirm` confirms what the
queue shows, and `judgments` shows the decision that counts."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from ringebu_journal import clock, moderation, queries
from ringebu_journal.db.tables import AuditEvent, MessageAction, ModeratorDecision

from .conftest import run_cli
from .seed import add_judgment, new_version

DEC = ModeratorDecision.__table__
ACT = MessageAction.__table__
AUD = AuditEvent.__table__


def _counts(app) -> tuple[int, int, int]:
    with app.db.read() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t)).scalar() for t in (DEC, ACT, AUD))


def _one_line_usage_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2, (code, out, err)
    assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, err


def test_options_that_exclude_each_other_are_refused_and_nothing_is_stored(seeded, make_app):
    app, ids, url = seeded.moderator, seeded.ids, seeded.url
    make_app("auditor", actor="revisor")
    before = _counts(app)
    mid = str(ids["klage"])
    _one_line_usage_error(*run_cli(url, "kari", "flag", mid, "--archive", "--journal", "--reason", "x"),
                          "--journal and --archive cannot be used together")
    _one_line_usage_error(*run_cli(url, "kari", "flag", mid, "--exclude", "--exclude", "--archive", "--reason", "x"),
                          "--archive and --exclude cannot be used together")
    _one_line_usage_error(*run_cli(url, "kari", "flag", mid, "--journal", "--screen", "--no-screen", "--reason", "x"),
                          "--screen and --no-screen cannot be used together")
    _one_line_usage_error(*run_cli(url, "kari", "record-action", mid, "--hidden", "--deleted", "--note", "x"),
                          "--hidden and --deleted cannot be used together")
    _one_line_usage_error(*run_cli(url, "kari", "record-action", mid, "--replied", "--referred-post"),
                          "--replied and --referred-post")
    _one_line_usage_error(*run_cli(url, "arkivar", "judge", "--pending", "--all"),
                          "--pending and --all cannot be used together")
    _one_line_usage_error(*run_cli(url, "revisor", "audit", "log", "--actor", "kari", "--moderator", "per"),
                          "--actor and --moderator cannot be used together")
    assert _counts(app) == before
    # one of each still works, and the same flag twice is no contradiction
    code, out, err = run_cli(url, "kari", "flag", mid, "--archive", "--archive", "--no-screen", "--reason", "x")
    assert code == 0 and "now archive" in out, err
    code, out, err = run_cli(url, "kari", "record-action", mid, "--deleted", "--note", "Svindel")
    assert code == 0 and "recorded deleted" in out, err


def test_an_edit_judged_stricter_waits_for_the_moderator_who_decides_again(seeded):
    """The citizen edits a comment a moderator flagged archive; the judge now proposes journal with
    skjerming. The old decision does not go out for the new text: the message is to review, `confirm`
    (which confirms only what counts) is refused, and the moderator's new flag counts."""
    app, ids, url = seeded.moderator, seeded.ids, seeded.url
    v1 = ids["insta"]
    moderation.flag(app, [str(v1)], "archive", "Spørsmål om brøyting, ingen sak", screen=False)
    v2 = new_version(app, v1, "Veien er fortsatt ikke brøytet. Jeg krever at kommunen refunderer brøytegebyret.")
    with app.db.write() as conn:
        add_judgment(conn, v2, "journal", 0.9, ["klage"], ["reply"], screen=True)
    [item] = [i for i in queries.queue(app) if i.id == v2]
    assert (item.decision, item.screen) == ("review", True)
    assert item.judge_decision == "journal"

    code, out, err = run_cli(url, "kari", "confirm", str(v2), "--expect-version", str(item.lock_version))
    assert code != 0 and "review" in (out + err)
    code, out, err = run_cli(url, "kari", "flag", str(v2), "--archive", "--no-screen", "--reason", "Fortsatt ingen sak",
                             "--expect-version", str(item.lock_version))
    assert code == 0 and "now archive" in out, err
    with app.db.read() as conn:
        e = moderation.effective_decision(conn, v2)
    assert (e.decision, e.screen, e.kind, e.decided_by) == ("archive", False, "flag", "kari")
    # decided on the new version: no longer a decision to make (the reply is still a duty)
    [item] = [i for i in queries.queue(app) if i.id == v2]
    assert item.why == "to do: reply"


def test_confirm_refuses_when_what_counts_changed_since_the_moderator_looked(seeded):
    app, ids = seeded.moderator, seeded.ids
    mid = ids["oppsigelse"]
    targets = moderation._targets(app, [str(mid)], None, "confirm")      # sees the judge's journal
    with app.db.write() as conn:                                          # another moderator's flag, lock unchanged
        conn.execute(DEC.insert().values(message_id=mid, kind="flag", decision="exclude", screen=None,
                                         reason="Feil konto", judgment_id=None, lock_version=0, actor="per",
                                         decided_at=clock.now()))
    [o] = moderation._decide(app, targets, "confirm")
    assert not o.stored and "what counts changed since you looked" in o.conflict
    assert "exclude" in o.conflict


def test_judgments_show_the_effective_decision_beside_the_judges_view(seeded):
    app, ids, url = seeded.moderator, seeded.ids, seeded.url
    moderation.flag(app, [str(ids["insta"])], "archive", "Ingen sak", screen=False)
    code, out, err = run_cli(url, "kari", "judgments", "--format", "json")
    assert code == 0, err
    rows = {r["message_id"]: r for r in json.loads(out)}
    insta = rows[ids["insta"]]
    assert (insta["decision"], insta["source"], insta["decided_by"]) == ("archive", "moderator", "kari")
    assert (insta["judge_decision"], insta["judgment_id"] is not None) == ("journal", True)
    klage = rows[ids["klage"]]
    assert (klage["decision"], klage["source"], klage["judge_decision"]) == ("journal", "judge", "journal")

    code, out, err = run_cli(url, "kari", "judgments")
    assert code == 0, err
    header = out.splitlines()[0].split()
    assert header[:4] == ["message_id", "platform", "platform_message_id", "decision"]
    assert "judge_decision" in header
    [line] = [ln for ln in out.splitlines() if ln.split()[0] == str(ids["insta"])]
    assert line.split()[3:7] == ["archive", "False", "moderator", "journal"]
    # --decision filters on what counts
    code, out, err = run_cli(url, "kari", "judgments", "--decision", "archive", "--format", "jsonl")
    assert ids["insta"] in {json.loads(ln)["message_id"] for ln in out.splitlines()}
    code, out, err = run_cli(url, "kari", "judgments", "--decision", "journal", "--format", "jsonl")
    assert ids["insta"] not in {json.loads(ln)["message_id"] for ln in out.splitlines()}
