from pathlib import Path

from ringebu_journal.judge import load_policy
from ringebu_journal.judge.policy_doc import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def test_policy_doc_matches_the_shipped_policy():
    assert DOC.read_text(encoding="utf-8") == render(load_policy()), (
        "docs/policy.md is out of date: run python -m ringebu_journal.judge.policy_doc > docs/policy.md")


def test_every_rule_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for rule in load_policy().rules:
        assert f"### `{rule.id}`" in text
