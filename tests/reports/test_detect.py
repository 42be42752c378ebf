"""The direct text checks, and the docs naming every finding and option."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ringebu_journal.reports import FINDING_TYPES, SETTINGS
from ringebu_journal.judge.detectors import find_national_ids
from ringebu_journal.judge.engine import normalise
from ringebu_journal.reports import detect


@pytest.mark.parametrize("text, ok", [
    ("Les mer på https://www.ringebu.kommune.no/bibliotek", True),
    ("Se ringebu.kommune.no/skolerute", True),
    ("Mer info: HTTPS://RINGEBU.KOMMUNE.NO", True),
    ("Skriv til postmottak@ringebu.kommune.no", False),
    ("Se ringebu.kommune.no.example.com", False),
    ("Se notringebu.kommune.no", False),
    ("Ingen lenke her", False),
])
def test_links_to_the_website(text, ok):
    assert detect.links_to("ringebu.kommune.no", [text]) is ok


@pytest.mark.parametrize("text, ok", [
    ("Klagen må sendes skriftlig til postmottak@ringebu.kommune.no.", True),
    ("Fyll ut søknadsskjemaet på nettsidene våre.", True),
    ("Send søknaden til kommunen per post.", True),
    ("Takk for posten din!", False),
    ("Vi ser på saken.", False),
])
def test_referral_to_the_post_address(text, ok):
    assert detect.refers_to_post(text) is ok


def test_referral_to_the_political_level():
    assert detect.refers_to_political("Vi har sendt spørsmålet videre til ordføreren.")
    assert detect.refers_to_political("Saken skal opp i kommunestyret 12. juni.")
    assert not detect.refers_to_political("Brøytebilen kommer i morgen.")


@pytest.mark.parametrize("text, ok", [
    ("Hei Kari, søknaden din er innvilget.", True),
    ("Klagen din ble ikke tatt til følge.", True),
    ("Du har fått plass i barnehagen fra august.", True),
    ("Vi har behandlet søknaden og sender vedtak.", True),
    ("Søknadsfristen er 1. mars.", False),
    ("Hvordan søker man om plass?", False),
])
def test_case_handling_in_own_replies(text, ok):
    assert bool(detect.looks_like_case_handling(text)) is ok


def test_identity_numbers_need_valid_check_digits():
    assert detect.identity_numbers("fnr 151086 95088 på saken") == ["15108695088"]
    assert detect.identity_numbers("telefon 12345678901 eller kontonummer 1234.56.78901") == []
    assert detect.mask_number("15108695088") == "151086*****"


def test_docs_describe_every_finding_and_option():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "compliance.md").read_text(encoding="utf-8")
    for name in FINDING_TYPES:
        assert f"`{name}`" in doc, name
    for s in SETTINGS:
        assert f"`{s.option}`" in doc, s.option


def test_weekly_chart_fills_quiet_weeks_across_new_year():
    from ringebu_journal.reports.compliance import _fill_weeks

    one = {"journal": 1, "archive": 0, "exclude": 0, "review": 0}
    weeks = _fill_weeks({"2025-W52": one, "2026-W02": one})
    assert list(weeks) == ["2025-W52", "2026-W01", "2026-W02"]
    assert sum(weeks["2026-W01"].values()) == 0


@pytest.mark.parametrize("text, numbers", [
    ("fnr 15 10 86 950 88 på saken", ["15108695088"]),              # grouped 2-2-2-3-2
    ("fnr 151086\u200b95088", ["15108695088"]),                     # a zero-width space inside
    ("fnr 151086-95088", ["15108695088"]),                           # a dash between the parts
    ("tlf 15108695088", []),                                         # a telephone number, not an identity number
    ("sak 2026/15108695088", []),                                    # part of a case number
])
def test_identity_numbers_are_the_judges(text, numbers):
    """The compliance report finds exactly the identity numbers the judge finds (they disagreed
    when the report had its own expression)."""
    assert detect.identity_numbers(text) == numbers
    judged = [re.sub(r"\D", "", h.matched) for h in find_national_ids(normalise(text))]
    assert judged == numbers
