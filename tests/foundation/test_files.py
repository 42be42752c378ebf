"""Files written whole or not at all (ringebu_journal/files.py): the final name keeps the old
content when a write or its check fails, and no ``.part`` file is left behind."""

from __future__ import annotations

import pytest

from ringebu_journal.errors import InputError
from ringebu_journal.files import replacing, write_atomic
from ringebu_journal.judge.policy import load_policy, policy_text


def test_a_failed_check_keeps_the_old_file_and_removes_the_part_file(tmp_path):
    _, good = policy_text()
    target = tmp_path / "policy.toml"
    target.write_bytes(good)
    with pytest.raises(InputError):
        write_atomic(target, good.decode("utf-8") + "\n[[rule]]\nid = \n", check=load_policy)
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["policy.toml"]


def test_a_passing_check_replaces_the_file(tmp_path):
    _, good = policy_text()
    target = tmp_path / "policy.toml"
    target.write_text("old", encoding="utf-8")
    write_atomic(target, good, check=load_policy)
    assert target.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["policy.toml"]


def test_an_error_while_writing_removes_the_part_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("before\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt):
        with replacing(target) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            fh.write("half a line")
            raise KeyboardInterrupt
    assert target.read_text(encoding="utf-8") == "before\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_a_folder_in_the_way_of_the_part_file_is_one_oserror_and_nothing_changes(tmp_path):
    target = tmp_path / "report.html"
    (tmp_path / "report.html.part").mkdir()
    with pytest.raises(OSError):
        write_atomic(target, "<html></html>")
    assert not target.exists()
