"""What the command line imports before a command runs (issue 18: the import's start-up).

* `import facebook-dump` runs without importing the export code, Noark, lxml, the judge, the web
  workspace or alembic (each room of cli/ reaches them through cli/lazy.py), while `--help` still
  lists every room's commands;
* the schema check finds the head in the migration files' own lines, the same head alembic
  finds, and gives way to alembic for anything that is not one plain chain.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ringebu_journal.db import migrate

PAGE = "104123456789012"
HEAVY = ("alembic", "lxml", "noark", "ringebu_journal.export", "ringebu_journal.judge", "ringebu_journal.web",
         "ringebu_journal.reports.compliance", "rich")

IMPORT_IN_PROCESS = r"""
import json, sys
from ringebu_journal.cli.main import main
try:
    main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split(".")[0] if not m.startswith("ringebu_journal") else ".".join(m.split(".")[:3])
                for m in sys.modules if m.startswith(tuple(json.loads(sys.argv[1])))})
print(json.dumps({"code": code, "heavy": heavy}))
"""


def _cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ringebu_journal.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_import_does_not_load_export_judge_web_or_alembic(tmp_path: Path):
    env = dict(os.environ, RINGEBU_JOURNAL_ACTOR="eli")
    base = ["--db", str(tmp_path / "j.db"), "--data-dir", str(tmp_path / "data"), "--quiet"]
    assert _cli(base + ["init"], env).returncode == 0
    assert _cli(base + ["users", "add", "arkiv", "--role", "archivist"], env).returncode == 0
    body = {"data": [{"id": f"{PAGE}_1", "message": "Informasjon", "created_time": "2024-05-02T08:15:30+0000",
                      "from": {"name": "Ringebu kommune", "id": PAGE}}]}
    dump = tmp_path / "dump.jsonl"
    dump.write_text(json.dumps({"request": {"method": "GET", "url": f"https://graph.facebook.com/v25.0/{PAGE}/feed",
                                            "retrieved_at": "2024-05-02T10:00:00Z"}, "status": 200, "body": body}) + "\n",
                    encoding="utf-8")
    env["RINGEBU_JOURNAL_ACTOR"] = "arkiv"
    p = subprocess.run([sys.executable, "-c", IMPORT_IN_PROCESS, json.dumps(HEAVY), *base, "import", "facebook-dump",
                        str(dump)], env=env, capture_output=True, text=True, timeout=120)
    out = json.loads(p.stdout.strip().splitlines()[-1])
    assert out["code"] in (0, None), p.stderr
    assert out["heavy"] == []
    # the import itself ran, not just its start: the post is stored
    con = sqlite3.connect(tmp_path / "j.db")
    try:
        assert con.execute("SELECT platform_message_id FROM messages").fetchall() == [(f"{PAGE}_1",)]
    finally:
        con.close()


def test_help_still_lists_every_command_group():
    from ringebu_journal.cli import main

    p = subprocess.run([sys.executable, "-m", "ringebu_journal.cli.main", "--help"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0
    for room in main.ROOMS:
        for command in room.COMMANDS:
            assert f"  {command.name} " in p.stdout, command.name


def test_head_from_the_files_is_alembics_head():
    migrate.head_from_files.cache_clear()
    assert migrate.head_from_files() == migrate.head_revision()


def _versions(folder: Path, chain: dict[str, str | None]) -> None:
    (folder / "versions").mkdir(parents=True)
    (folder / "versions" / "__init__.py").write_text("")
    for i, (rev, down) in enumerate(chain.items()):
        (folder / "versions" / f"{i:04d}_{rev}.py").write_text(
            f'"""{rev}"""\nfrom alembic import op\n\nrevision = {rev!r}\ndown_revision = {down!r}\n'
            "branch_labels = None\n\n\ndef upgrade() -> None:\n    pass\n", encoding="utf-8")


@pytest.mark.parametrize("chain, head", [
    ({"a": None, "b": "a", "c": "b"}, "c"),
    ({"c": "b", "a": None, "b": "a"}, "c"),            # file order is not chain order
    ({"a": None, "b": "a", "c": "a"}, None),           # a branch: two heads
    ({"a": None, "b": None}, None),                    # two roots
    ({"a": None, "b": "x"}, None),                     # a parent that is not there
])
def test_head_from_files_needs_one_plain_chain(tmp_path, monkeypatch, chain, head):
    _versions(tmp_path, chain)
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", tmp_path)
    migrate.head_from_files.cache_clear()
    try:
        assert migrate.head_from_files() == head
    finally:
        migrate.head_from_files.cache_clear()


def test_a_merge_revision_is_left_to_alembic(tmp_path, monkeypatch):
    _versions(tmp_path, {"a": None, "b": "a", "c": "a"})
    (tmp_path / "versions" / "0009_m.py").write_text("revision = 'm'\ndown_revision = ('b', 'c')\n", encoding="utf-8")
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", tmp_path)
    migrate.head_from_files.cache_clear()
    try:
        assert migrate.head_from_files() is None
    finally:
        migrate.head_from_files.cache_clear()


def test_schema_check_of_an_empty_database_says_not_initialised(db_url, tmp_path):
    """No alembic_version table (a new SQLite file, an empty PostgreSQL database): the cheap
    check gives way and the line is alembic's way's, "not initialised"; after init it passes."""
    from ringebu_journal.app import App, init_database
    from ringebu_journal.db.engine import Database
    from ringebu_journal.errors import DatabaseError

    if db_url.startswith("sqlite:///"):
        Path(db_url.removeprefix("sqlite:///")).write_bytes(b"")
    db = Database(db_url)
    try:
        with pytest.raises(DatabaseError, match="is not initialised"):
            migrate.check_schema(db)
    finally:
        db.dispose()
    app = App.open(db_url, actor="eli", data_dir=tmp_path / "data")
    try:
        init_database(app)
        migrate.check_schema(app.db)          # head == stored: passes without alembic's way
    finally:
        app.db.dispose()
