"""The review queue, `show`, and recorded actions."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ringebu_journal import moderation, queries
from ringebu_journal.errors import UsageError

from .conftest import run_cli
from .seed import new_version


def keys_of(items, ids):
    by_id = {v: k for k, v in ids.items()}
    return [by_id.get(i.id, i.id) for i in items]


def test_queue_lists_what_needs_a_person_oldest_first(seeded):
    app, ids = seeded.moderator, seeded.ids
    items = queries.queue(app)
    # review, unconfirmed journal and skjerming proposals, and open duties (the chatter's praise is
    # not thanked yet); not archive / exclude proposals whose duties are done
    assert keys_of(items, ids) == ["klage", "politisk", "ppt", "prat", "oppsigelse", "insta"]
    why = {k: i.why for k, i in zip(keys_of(items, ids), items)}
    assert why == {"klage": "journal not confirmed", "politisk": "review", "ppt": "journal not confirmed",
                   "prat": "to do: thank", "oppsigelse": "journal not confirmed", "insta": "journal not confirmed"}
    duties = {k: i.duties for k, i in zip(keys_of(items, ids), items)}
    # the complaint was answered with a referral to the post address: nothing left to do for it
    assert duties == {"klage": [], "politisk": ["reply", "refer_political"], "ppt": ["refer_post"],
                      "prat": ["thank"], "oppsigelse": ["refer_post"], "insta": ["reply"]}
    politisk = items[1]
    assert politisk.lock_version == 0 and politisk.ref == "facebook:871234567890123_100_203"
    assert [c["role"] for c in politisk.context] == ["post", "answers"]
    assert politisk.context[0]["text"].startswith("Fra 1. april endres tømmedagene")
    assert politisk.context[1]["author"] == "Kari Haugen"
    assert politisk.reasons[0] == "politisk «kommunestyret»: a question to the political level → refer_political"
    oppsigelse = items[4]
    assert [c["role"] for c in oppsigelse.context] == ["answers"]
    assert oppsigelse.context[0]["text"].startswith("Hei Ingrid! Biblioteket")


def test_decided_items_leave_the_queue_and_come_back_when_edited(seeded):
    app, ids = seeded.moderator, seeded.ids
    moderation.confirm(app, [str(ids["klage"])])
    moderation.flag(app, [str(ids["politisk"])], "archive", "Del av den offentlige debatten")
    moderation.flag(app, [str(ids["insta"])], "journal", "Klage på brøyting")
    # decided, but duties are still open: politisk (reply, refer_political) and insta (reply) stay
    assert keys_of(queries.queue(app), ids) == ["politisk", "ppt", "prat", "oppsigelse", "insta"]
    # an unflag puts the judge's proposal back in the queue
    moderation.unflag(app, [str(ids["politisk"])], "Vurderes på nytt")
    assert "politisk" in keys_of(queries.queue(app), ids)
    # the citizen edits the Instagram comment after the decision
    v2 = new_version(app, ids["insta"], "Veien opp til Kvitfjell er fortsatt ikke brøytet. Jeg krever refusjon.")
    items = queries.queue(app)
    edited = [i for i in items if i.id == v2]
    assert len(edited) == 1 and edited[0].why == "edited after decision" and edited[0].decided_by == "kari"
    assert edited[0].version == 2


def test_queue_filters(seeded):
    app, ids = seeded.moderator, seeded.ids
    q = lambda **kw: keys_of(queries.queue(app, queries.QueueFilter(**kw)), ids)  # noqa: E731
    assert q(decision="review") == ["politisk"]
    assert q(category="klage") == ["klage", "insta"]
    assert q(action="refer_political") == ["politisk"]
    # --action is a duty still to do: the complaint was already referred to the post address
    assert q(action="refer-post") == ["ppt", "oppsigelse"]
    assert q(action="reply") == ["politisk", "insta"]
    assert q(account="Ringebu kommune") == ["klage", "politisk", "ppt", "prat", "oppsigelse"]
    assert q(account="ringebukommune") == ["insta"]
    assert q(since=date(2026, 3, 3)) == []
    assert q(until=date(2026, 3, 2)) == ["klage", "politisk", "ppt", "prat", "oppsigelse", "insta"]
    assert q(decision="journal", limit=2) == ["klage", "ppt"]
    with pytest.raises(UsageError, match="swap"):
        queries.queue(app, queries.QueueFilter(since=date(2026, 3, 5), until=date(2026, 3, 1)))


def test_queue_cli_table_and_json(seeded):
    url, ids = seeded.url, seeded.ids
    code, out, err = run_cli(url, "kari", "queue")
    assert code == 0, err
    assert f"#{ids['politisk']}  facebook:871234567890123_100_203  lock 0" in out
    assert "[review]" in out and "post: Ringebu kommune: «Fra 1. april" in out
    assert "answers: Kari Haugen: «Jeg klager herved" in out
    assert "    - politisk «kommunestyret»: a question to the political level → refer_political" in out
    assert "6 item(s)" in out
    code, out, err = run_cli(url, "kari", "queue", "--format", "json", "--category", "oppsigelse")
    data = json.loads(out)
    assert [d["id"] for d in data] == [ids["oppsigelse"]] and data[0]["lock_version"] == 0
    code, out, err = run_cli(url, "kari", "queue", "--since", "2. mars")
    assert code == 2 and "YYYY-MM-DD" in err and "Traceback" not in err


def test_show_has_the_whole_story(seeded):
    app, ids = seeded.moderator, seeded.ids
    klage = ids["klage"]
    moderation.flag(app, [str(klage)], "journal", "Klage på gebyrvedtak", screen=False)
    moderation.record_action(app, str(klage), "replied", "Svart i tråden og henvist til postmottak")
    moderation.record_action(app, str(klage), "referred_post")
    v2 = new_version(app, klage, "Jeg klager herved på vedtaket om økt renovasjonsgebyr (redigert).")
    d = queries.show(app, "871234567890123_100_201")          # the platform's own id
    assert d.message["id"] == v2 and d.ref == "facebook:871234567890123_100_201"
    assert [v["version"] for v in d.versions] == [1, 2]
    assert d.thread.post["id"] == ids["post"] and d.thread.answers is None
    assert [r["id"] for r in d.thread.replies] == [ids["svar"], ids["politisk"]]
    assert [r["id"] for r in d.thread.municipality_replies] == [ids["svar"]]
    assert len(d.judgments) == 1 and d.judgments[0]["reason_lines"][0].startswith("klage.vedtak")
    assert [x["kind"] for x in d.decisions] == ["flag"]
    assert [a["action"] for a in d.actions] == ["replied", "referred_post"]
    assert [e["action"] for e in d.audit] == ["decision.flag", "action.record", "action.record"]
    assert d.effective.decision == "journal" and d.effective.source == "moderator"
    assert d.lock_version == 0          # the new version's own lock


def test_hidden_comment_keeps_its_content_and_says_who_removed_it(seeded):
    app, ids = seeded.moderator, seeded.ids
    ppt = ids["ppt"]
    with pytest.raises(UsageError, match="hidden needs a note"):
        moderation.record_action(app, str(ppt), "hidden")
    res = moderation.record_action(app, str(ppt), "hidden", "Helseopplysninger om et navngitt barn")
    assert res.status == "hidden"
    d = queries.show(app, str(ppt))
    assert d.status["status"] == "hidden" and d.status["platform_status"] == "active"
    assert d.status["removed_by"] == "kari"
    assert d.status["removal_reason"] == "Helseopplysninger om et navngitt barn"
    assert "ADHD-diagnose" in d.message["text"]          # captured before: kept whole
    [ev] = d.audit
    assert ev["action"] == "action.record" and ev["after"]["status"] == "hidden" and ev["before"]["status"] == "active"
    code, out, err = run_cli(seeded.url, "kari", "show", str(ppt))
    assert code == 0, err
    assert "status:   hidden by kari at" in out and "«Helseopplysninger om et navngitt barn»" in out
    assert "the captured content is kept" in out and "ADHD-diagnose" in out


def test_show_and_record_action_cli(seeded):
    url, ids = seeded.url, seeded.ids
    code, out, err = run_cli(url, "kari", "record-action", "messenger:m_mid.9001.3", "--referred-post",
                             "--note", "Bedt om å sende oppsigelsen via skjema på ringebu.kommune.no")
    assert code == 0 and "recorded referred_post" in out, err
    code, out, err = run_cli(url, "kari", "record-action", str(ids["klage"]))
    assert code == 2 and "needs one of --hidden" in err
    code, out, err = run_cli(url, "kari", "record-action", "999999", "--replied")
    assert code == 2 and "no message '999999'" in err
    code, out, err = run_cli(url, "kari", "show", "messenger:m_mid.9001.3")
    assert code == 0, err
    for needle in ("message", "(message, version 1, lock 0)", "answers #", "Hei Ingrid! Biblioteket",
                   "judgments (1):", "- oppsigelse «si opp barnehageplassen»", "recorded actions (1):",
                   "referred_post", "audit events (1):", "decision: journal (judge"):
        assert needle in out, (needle, out)
    code, out, err = run_cli(url, "kari", "show", str(ids["bibliotek"]), "--format", "json")
    data = json.loads(out)
    assert [r["id"] for r in data["thread"]["replies"]] == [ids["bibliotek_svar"], ids["oppsigelse"]]
    assert [r["id"] for r in data["thread"]["municipality_replies"]] == [ids["bibliotek_svar"]]
    code, out, err = run_cli(url, "kari", "show", "finnes-ikke")
    assert code == 2 and err.startswith("error: no message 'finnes-ikke'")
