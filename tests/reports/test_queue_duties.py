"""The queue is the moderators' to-do list: every duty the compliance report finds open is work
in `queue --action DUTY`, and recording that the duty was done takes it off both.

This module builds its own scenario (the fixture is per module): it records actions.
"""

from __future__ import annotations

import json

from ringebu_journal import queries
from ringebu_journal.reports import build_report

from .conftest import run_cli

#: finding type → the duty whose neglect it reports
DUTY_OF = {
    "unanswered_factual_error": "reply", "unanswered_service_question": "reply", "unanswered_negative": "reply",
    "praise_not_thanked": "thank", "virus_link_up": "remove", "case_not_referred": "refer_post",
    "political_not_referred": "refer_political",
}


def _queue(url: str, duty: str) -> dict[str, dict]:
    code, out, err = run_cli(url, "kari", "queue", "--action", duty, "--format", "json")
    assert code == 0, err
    return {item["ref"].split(":", 1)[1]: item for item in json.loads(out)}


def test_every_open_duty_in_the_compliance_report_is_in_the_queue(world, world_url):
    report = build_report(world.app)
    due = [(f, DUTY_OF[f.type]) for f in report.findings if f.type in DUTY_OF]
    assert {d for _, d in due} == set(DUTY_OF.values())
    high_replies = [f for f, d in due if d == "reply" and f.severity == "high"]
    assert len(high_replies) >= 2
    queues = {duty: _queue(world_url, duty) for duty in set(DUTY_OF.values())}
    for finding, duty in due:
        for ref in finding.messages:
            item = queues[duty].get(ref.platform_message_id)
            assert item is not None, (finding.type, ref.platform_message_id, finding.summary)
            assert duty in item["duties"] and item["why"]
    # the phishing link still up: the judge excluded it, so no decision is needed — only the duty
    phishing = queues["remove"][world.pmids["c8"]]
    assert phishing["decision"] == "exclude" and phishing["why"] == "to do: remove"
    assert phishing["duties"] == ["remove"]


def test_recording_the_duty_takes_it_off_the_queue_and_the_report(world, world_url):
    pmid = world.pmids["c8"]
    assert pmid in _queue(world_url, "remove")
    code, out, err = run_cli(world_url, "kari", "record-action", pmid, "--hidden", "--note", "Svindellenke skjult")
    assert code == 0, err
    assert pmid not in _queue(world_url, "remove")
    assert not [f for f in build_report(world.app).findings
                if f.type == "virus_link_up" and any(r.platform_message_id == pmid for r in f.messages)]

    unanswered = next(f for f in build_report(world.app).findings if f.type == "unanswered_service_question")
    pmid = unanswered.messages[0].platform_message_id
    assert pmid in _queue(world_url, "reply")
    code, out, err = run_cli(world_url, "kari", "record-action", pmid, "--replied")
    assert code == 0, err
    assert pmid not in _queue(world_url, "reply")
    types = {f.type for f in build_report(world.app).findings
             if any(r.platform_message_id == pmid for r in f.messages)}
    assert "unanswered_service_question" not in types


def test_queue_action_must_be_a_duty(world):
    import pytest

    from ringebu_journal.errors import UsageError

    with pytest.raises(UsageError, match="not a duty"):
        queries.queue(world.app, queries.QueueFilter(action="answer"))
