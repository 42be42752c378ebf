"""The held-out-by-writer tool's grid of [model] settings (bench/judge_cv.py)."""

import pytest

from bench.judge_cv import WRITER_FILE, _settings_grid


def test_every_combination_of_the_values_given_is_tried_over_the_policy_settings():
    base = {"case_review_at": 0.36, "dismiss_below": 0.4, "unknown_min_cases": 30, "unknown_screen": True}
    grid = _settings_grid(base, ["case_review_at=0.33,0.36", "dismiss_below=0.35,0.40", "unknown_min_cases=50"])
    assert len(grid) == 4
    assert {(g["case_review_at"], g["dismiss_below"]) for g in grid} == {(0.33, 0.35), (0.33, 0.4), (0.36, 0.35), (0.36, 0.4)}
    assert all(g["unknown_min_cases"] == 50 and isinstance(g["unknown_min_cases"], int) for g in grid)
    assert all(g["unknown_screen"] is True for g in grid)
    assert _settings_grid(base, ["unknown_screen=false"])[0]["unknown_screen"] is False
    assert _settings_grid(base, []) == [base]
    with pytest.raises(SystemExit, match="unknown \\[model\\] setting 'nosuch'"):
        _settings_grid(base, ["nosuch=1"])


def test_the_writers_held_out_are_the_independent_files_only():
    for name in ("train-01.jsonl", "train-26.jsonl", "blind3.jsonl", "blind9.jsonl", "blind10.jsonl", "blind12.jsonl"):
        assert WRITER_FILE.match(name), name
    for name in ("blind.jsonl", "blind2.jsonl", "dev.jsonl", "own.jsonl", "holdout3.jsonl", "generated.jsonl"):
        assert not WRITER_FILE.match(name), name
