"""Evaluation of labelled files, and the quality gates on every labelled corpus."""

import json
import os
from pathlib import Path

import pytest

from ringebu_journal.errors import InputError
from ringebu_journal.judge import evaluate_file, format_report
from ringebu_journal.judge.evaluate import TARGETS, target_failures

ROOT = Path(__file__).resolve().parents[2]
def _dev_corpus() -> Path:
    """The shared development corpus: $RINGEBU_DEV_CORPUS, or ../shared next to the checkout."""
    env = os.environ.get("RINGEBU_DEV_CORPUS")
    candidates = [Path(env)] if env else []
    candidates += [ROOT.parent / "shared" / "corpus" / "dev.jsonl", Path("/work/shared/corpus/dev.jsonl")]
    return next((c for c in candidates if c.is_file()), candidates[0])


DEV = _dev_corpus()
needs_dev = pytest.mark.skipif(not DEV.is_file(), reason="shared dev corpus not found: set RINGEBU_DEV_CORPUS")
OWN = ROOT / "tests" / "corpus" / "own.jsonl"
GENERATED = ROOT / "tests" / "corpus" / "generated.jsonl"
HOLDOUT = ROOT / "tests" / "corpus" / "holdout.jsonl"
HOLDOUT2 = ROOT / "tests" / "corpus" / "holdout2.jsonl"
HOLDOUT3 = ROOT / "tests" / "corpus" / "holdout3.jsonl"   # scored once, then used for tuning

CASE = {"id": "t1", "platform": "facebook", "kind": "comment", "author": "citizen",
        "text": "Jeg klager på vedtaket.", "journal": True, "screen": False, "actions": ["refer_post"],
        "hard": False}


def write_lines(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "labelled.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


@pytest.mark.parametrize("bad, reason", [
    ("{not json", "not valid JSON"),
    ('["a list"]', "must be a JSON object"),
    (json.dumps({**CASE, "id": "t2", "journal": "yes"}), "journal"),
    (json.dumps({**CASE, "id": "t2", "actions": ["call_the_mayor"]}), "actions"),
    (json.dumps({**CASE, "id": "t2", "colour": "blue"}), "colour"),
    (json.dumps(CASE), "duplicate id"),
    (json.dumps({**CASE, "id": "t2", "context": {"text": "x", "relation": "cousin"}}), "relation"),
])
def test_bad_line_names_file_and_line(tmp_path, judge, bad, reason):
    path = write_lines(tmp_path, [json.dumps(CASE), bad])
    with pytest.raises(InputError) as exc:
        evaluate_file(path, judge)
    assert f"{path}:line 2" in str(exc.value) and reason in str(exc.value)


def test_context_forms(tmp_path, judge):
    lines = [
        json.dumps({**CASE, "id": "a", "text": "Ja, send det videre som en klage.",
                    "context": "Ringebu kommune: Ønsker du at vi sender dette videre som en klage?"}),
        json.dumps({**CASE, "id": "b", "text": "Ja takk.",
                    "context": {"text": "Skal vi registrere dette som en klage?", "author": "municipality"}}),
        json.dumps({**CASE, "id": "c", "text": "Samme her, vi klager også.",
                    "context": [{"text": "Jeg klager på gebyret.", "author": "citizen", "relation": "parent"}]}),
    ]
    report = evaluate_file(write_lines(tmp_path, lines), judge)
    assert report.journal_recall.value == 1.0 and report.misjudged == []


@needs_dev
def test_report_formats(judge):
    report = evaluate_file(DEV, judge)
    text = format_report(report)
    assert "journal recall" in text and "channel consistency" in text and report.policy_version in text
    data = json.loads(format_report(report, fmt="json"))
    assert data["cases"] == 46 and data["metrics"]["channel_consistency"] == 1.0
    with pytest.raises(ValueError):
        format_report(report, fmt="xml")


def test_misjudged_cases_show_their_reasons(tmp_path, judge):
    wrong = {**CASE, "text": "Hvordan klager man?", "journal": True}
    report = evaluate_file(write_lines(tmp_path, [json.dumps(wrong)]), judge)
    assert report.misjudged and report.misjudged[0].reasons
    assert "journal case decided" in format_report(report)


@pytest.mark.parametrize("path", [pytest.param(DEV, marks=needs_dev), OWN, GENERATED, HOLDOUT, HOLDOUT3],
                         ids=["dev", "own", "generated", "holdout", "holdout3"])
def test_quality_targets(judge, path):
    report = evaluate_file(path, judge)
    assert target_failures(report) == [], format_report(report)
    assert set(TARGETS) <= set(report.metrics())


def test_corpus_sizes():
    sizes = {p.name: sum(1 for _ in p.open(encoding="utf-8")) for p in (OWN, GENERATED, HOLDOUT)}
    assert sum(sizes.values()) >= 700 and sizes["holdout.jsonl"] >= 150


def test_channel_blindness_on_every_labelled_case(judge):
    """The same text in the same context gets the same result whatever the platform and kind."""
    for path in (DEV, OWN, GENERATED, HOLDOUT, HOLDOUT2, HOLDOUT3):
        if not path.is_file():
            continue
        report = evaluate_file(path, judge)
        assert report.channel_consistency.value == 1.0


def _run_cli(args: list[str]):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "ringebu_journal.cli.main", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_evaluate_check_fails_when_a_target_is_missed(tmp_path):
    """`evaluate --check` exits 1 naming the missed target, 0 when every target holds."""
    good = write_lines(tmp_path, [json.dumps(CASE)])
    p = _run_cli(["evaluate", str(good), "--check"])
    assert p.returncode == 0, p.stdout + p.stderr
    assert "targets: all met" in p.stdout
    # a journal case the judge cannot catch: plain chatter labelled journal
    missed = tmp_path / "missed.jsonl"
    missed.write_text(json.dumps({**CASE, "text": "Fint vær på Fåvang i dag."}) + "\n", encoding="utf-8")
    p = _run_cli(["evaluate", str(missed), "--check"])
    assert p.returncode == 1, p.stdout + p.stderr
    assert "journal_recall = 0.000" in p.stderr and "Traceback" not in p.stderr
    # without --check the same report is only printed
    assert _run_cli(["evaluate", str(missed)]).returncode == 0


def test_review_load_target_is_the_policys_review_budget(tmp_path):
    from ringebu_journal.judge import Judge, load_policy
    from ringebu_journal.judge.policy import policy_text
    _, data = policy_text()
    strict = tmp_path / "strict.toml"
    strict.write_text(data.decode("utf-8").replace("[model]\n", "[model]\nreview_budget = 0.0\n", 1),
                      encoding="utf-8")
    # a non-hard case the judge sends to review: the own matter in a municipal field
    case = {**CASE, "text": "Avlastningen for gutten vår er kuttet fra neste måned."}
    path = write_lines(tmp_path, [json.dumps(case)])
    lenient = evaluate_file(path, Judge(load_policy()))
    report = evaluate_file(path, Judge(load_policy(strict)))
    assert report.decisions["review"] == 1 and report.review_budget == 0.0
    assert any(f.startswith("review_load") for f in target_failures(report))
    assert lenient.review_budget == 0.2
