"""Each finding type, from realistic threads: the duty missed gives a finding, the duty met none."""

from __future__ import annotations

import pytest

from ringebu_journal.cli.operations import command_line
from ringebu_journal.errors import render_text
from ringebu_journal.reports import FINDING_TYPES, build_report
from ringebu_journal.reports.compliance import ComplianceReport
from ringebu_journal.reports.settings import ComplianceSettings

from .scenario import HYTTE, IG, KULTUR, MAIN, UNGDOM

MAIN_KEY = f"facebook:{MAIN}"


@pytest.fixture(scope="module")
def report(world) -> ComplianceReport:
    return build_report(world.app)


def types_of(report: ComplianceReport, world, name: str) -> set[str]:
    pmid = world.pmids[name]
    return {f.type for f in report.findings if any(r.platform_message_id == pmid for r in f.messages)}


def only(report: ComplianceReport, world, name: str, type_: str):
    pmid = world.pmids[name]
    found = [f for f in report.findings if f.type == type_ and any(r.platform_message_id == pmid for r in f.messages)]
    assert len(found) == 1, [f.as_dict() for f in report.findings if f.type == type_]
    return found[0]


def test_every_finding_names_messages_by_platform_id_and_permalink(report, world):
    known = set(world.pmids.values())
    for f in report.findings:
        assert f.type in FINDING_TYPES
        for r in f.messages:
            assert r.platform_message_id in known
            assert r.permalink and r.permalink.startswith("https://www.facebook.com/") or r.platform == "instagram"


def test_unanswered_service_question_and_answered_one(report, world):
    f = only(report, world, "c2", "unanswered_service_question")
    assert f.severity == "high" and f.account == MAIN_KEY and "48 h" in f.summary
    assert f.messages[0].permalink == f"https://www.facebook.com/{world.pmids['c2']}"
    assert types_of(report, world, "c1") == set()                  # answered after 2 h
    assert types_of(report, world, "ig2") == set()                 # Instagram, answered after 2 h


def test_messenger_question_answered_in_the_conversation_and_one_not_yet_due(report, world):
    assert types_of(report, world, "m1") == set()
    assert types_of(report, world, "m3") == set()                  # asked an hour ago: not due
    assert report.accounts[0].stats["reply_pending"] == 1


def test_late_reply(report, world):
    f = only(report, world, "c3", "late_reply")
    assert f.details["reply_hours"] == 72.0 and f.severity == "low"
    assert "unanswered_service_question" not in types_of(report, world, "c3")


def test_unanswered_factual_error(report, world):
    f = only(report, world, "c6", "unanswered_factual_error")
    assert f.severity == "high" and "gjenbruksstasjonen" in f.messages[0].excerpt


def test_negative_comment_unanswered_and_answered_in_its_comment_thread(report, world):
    assert only(report, world, "c7c", "unanswered_negative").severity == "medium"
    assert types_of(report, world, "c7") == set()                  # the municipality answered under it
    assert types_of(report, world, "c7b") == set()                 # a reply in the same comment thread, answered after it


def test_praise_thanked_and_not(report, world):
    assert only(report, world, "c5", "praise_not_thanked").severity == "info"
    assert types_of(report, world, "c4") == set()


def test_virus_links(report, world):
    up = only(report, world, "c8", "virus_link_up")
    assert up.severity == "high" and up.details["removed_at"] is None and "still up" in up.summary
    late = only(report, world, "c10", "virus_link_removed_late")
    assert late.details["up_hours"] == 50.0 and late.details["removal"] == "recorded"
    assert types_of(report, world, "c9") == set()                  # hidden after 30 minutes
    assert types_of(report, world, "c10b") == set()                # a later import saw it hidden after 2 h
    assert types_of(report, world, "c10c") == set()                # already hidden when first captured


def test_case_referral(report, world):
    f = only(report, world, "c12", "case_not_referred")
    assert f.severity == "high" and "soknad" in f.summary
    assert "case_not_referred" not in types_of(report, world, "c11")   # referred in the municipality's reply
    assert "case_not_referred" not in types_of(report, world, "c13")   # referral recorded by a moderator


def test_political_referral(report, world):
    assert only(report, world, "c14", "political_not_referred").severity == "medium"
    assert types_of(report, world, "c15") == set()


def test_own_posts_need_a_link_to_the_website(report, world):
    assert only(report, world, "p2", "own_post_without_link").severity == "medium"
    assert types_of(report, world, "p1") == set()                  # link in the text
    assert types_of(report, world, "p3") == set()                  # link as an attachment, though judged egen_uten_lenke
    assert "own_post_without_link" in types_of(report, world, "p4")  # an e-mail address is not a link


def test_domain_is_configurable(world):
    rep = build_report(world.app, account=MAIN, settings=ComplianceSettings(domain="example.org"))
    flagged = {f.messages[0].platform_message_id for f in rep.findings if f.type == "own_post_without_link"}
    assert world.pmids["p1"] in flagged


def test_own_replies_with_case_handling_or_personal_data(report, world):
    assert "innvilget" in only(report, world, "r16", "own_case_handling").summary
    fnr = only(report, world, "r17", "own_personal_data")
    assert "151086*****" in fnr.summary and "15108695088" not in fnr.summary
    assert "skjerming" in only(report, world, "r18", "own_personal_data").summary
    for ok in ("r1", "r4", "r11", "r15", "m2"):
        assert types_of(report, world, ok) == set(), ok


def test_silent_stretch_unless_the_page_was_closed(report, world):
    kultur = [f for f in report.findings if f.account == f"facebook:{KULTUR}" and f.type == "silent_stretch"]
    assert len(kultur) == 1
    f = kultur[0]
    assert f.details["citizen_messages"] == 4 and f.details["days"] >= 19 and f.details["ongoing"]
    assert {r.platform_message_id for r in f.messages} == {world.pmids[f"k{i}"] for i in range(1, 5)}
    assert "accounts close" in render_text(f.summary, command_line)
    assert "closing the account with a notice" in f.summary
    for key in (f"facebook:{UNGDOM}", MAIN_KEY, f"instagram:{IG}"):
        assert not [x for x in report.findings if x.account == key and x.type == "silent_stretch"], key


def test_silent_stretch_settings(world):
    rep = build_report(world.app, account=KULTUR, settings=ComplianceSettings(silent_min_messages=5))
    assert not [f for f in rep.findings if f.type == "silent_stretch"]


def test_journal_worthy_not_exported(report, world):
    f = only(report, world, "c12", "journal_not_exported")
    assert f.details["overdue"] and f.details["age_days"] > 19
    for delivered in ("c11", "c13", "c16", "r16"):
        assert "journal_not_exported" not in types_of(report, world, delivered)


def test_registry_findings(report):
    by_account = {a.key: {f.type for f in a.findings} for a in report.accounts}
    assert "account_not_registered" in by_account[f"facebook:{HYTTE}"]
    assert "radmann_not_notified" in by_account[f"facebook:{KULTUR}"]
    assert "radmann_not_notified" not in by_account[MAIN_KEY]
    assert by_account[f"facebook:{UNGDOM}"] == set() and by_account[f"instagram:{IG}"] == set()


def test_moderator_decision_wins_over_the_judge(report):
    main = next(a for a in report.accounts if a.key == MAIN_KEY)
    # c14 was judged review and flagged archive by a moderator; c18 stays review
    assert main.stats["review"] == 1


def test_period_and_account_filters(world):
    start = world.at(0).date()
    rep = build_report(world.app, from_date=start, to_date=start, account=f"facebook:{MAIN}")
    assert [a.key for a in rep.accounts] == [MAIN_KEY]
    created = {f.messages[0].created_at.date() for f in rep.findings if f.messages}
    assert created <= {start}


def test_findings_are_sorted_by_severity(report):
    order = ["high", "medium", "low", "info"]
    for a in report.accounts:
        ranks = [order.index(f.severity) for f in a.findings]
        assert ranks == sorted(ranks)
