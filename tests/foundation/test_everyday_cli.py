"""Everyday use of the command line: options that exclude each other, one output convention for
every listing, standard output as `-`, a reader that closes the pipe, options in the wrong place,
`--version`, and a package that builds without warnings.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from test_cli import assert_one_line_error, run

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))      # the moderation tests' seed and in-process runner

#: every listing command, run as a user whose role may run it
LISTINGS = {
    ("queue",): "kari",
    ("search",): "kari",
    ("judgments",): "kari",
    ("audit", "log"): "revisor",
    ("users", "list"): "revisor",
    ("users", "delegations"): "revisor",
    ("accounts", "list"): "kari",
    ("report", "journal"): "kari",
    ("report", "compliance"): "kari",
    ("model", "list"): "revisor",
    ("rules", "propose"): "kari",
    ("organisation", "show"): "kari",
}


def _commands():
    from ringebu_journal.cli.main import cli

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, path + (name,))
        else:
            yield path, cmd

    return list(walk(cli, ()))


def test_no_command_has_options_where_the_last_one_wins():
    """Several options writing one parameter (click's flag_value) let `--archive --journal` store
    whichever came last; every such group is now exclusive, so none may be left."""
    shared = []
    for path, cmd in _commands():
        names: dict[str, list[str]] = {}
        for p in cmd.params:
            if isinstance(p, click.Option) and p.expose_value:
                names.setdefault(p.name, []).append("/".join(p.opts))
        shared += [f"{' '.join(path)}: {opts}" for opts in names.values() if len(opts) > 1]
    assert not shared, shared


def test_listing_commands_share_format_and_out():
    from ringebu_journal.cli.common import LIST_FORMATS

    listings = {path for path, cmd in _commands()
                if any(isinstance(p, click.Option) and p.name == "fmt" and "table" in p.type.choices
                       for p in cmd.params)}
    # export's --format prints the summary of the one export it made, not a list
    assert listings - {("export", "noark5"), ("export", "arkivmelding")} == set(LISTINGS)
    for path, cmd in _commands():
        if path not in LISTINGS:
            continue
        fmt = next(p for p in cmd.params if p.name == "fmt")
        extra = {"html"} if path == ("report", "compliance") else set()
        assert set(fmt.type.choices) == set(LIST_FORMATS) | extra, path
        assert any(p.name == "out" for p in cmd.params), path


@pytest.fixture
def listing_db(make_app, db_url, tmp_path):
    from moderation.seed import seed

    seed(make_app("archivist", actor="arkivar"))
    make_app("moderator", actor="kari")
    make_app("auditor", actor="revisor")
    return db_url


def test_every_listing_writes_each_format_to_stdout_a_file_or_dash(listing_db, tmp_path, monkeypatch):
    from moderation.conftest import run_cli

    monkeypatch.chdir(tmp_path)
    for path, actor in LISTINGS.items():
        for fmt in ("table", "json", "jsonl", "csv"):
            code, out, err = run_cli(listing_db, actor, *path, "--format", fmt)
            assert code == 0 and (out or fmt == "jsonl"), (path, fmt, err)   # no rows: no jsonl lines
            if fmt == "json":
                assert isinstance(json.loads(out), (list, dict)), path
            elif fmt == "jsonl":
                assert all(isinstance(json.loads(line), dict) for line in out.splitlines()), path
            elif fmt == "csv":
                header = next(csv.reader(io.StringIO(out)))
                assert len(header) > 2, (path, header)
            target = tmp_path / f"{'-'.join(path)}.{fmt}"
            code, to_file, err = run_cli(listing_db, actor, *path, "--format", fmt, "--out", str(target))
            assert code == 0, (path, fmt, err)
            assert "wrote" in err or to_file == "", (path, fmt)
            if path != ("report", "compliance"):   # its table and json carry the time it was made
                assert target.read_text(encoding="utf-8") == out, (path, fmt)
            code, dashed, err = run_cli(listing_db, actor, *path, "--format", fmt, "--out", "-")
            assert code == 0 and (dashed or fmt == "jsonl"), (path, fmt, err)
    assert not (tmp_path / "-").exists()


def test_audit_export_out_dash_is_standard_output(listing_db, tmp_path, monkeypatch):
    from ringebu_journal import audit_query
    from moderation.conftest import run_cli

    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(listing_db, "revisor", "audit", "export", "--out", "-")
    assert code == 0, err
    assert not (tmp_path / "-").exists() and not (tmp_path / "-.part").exists()
    lines = out.splitlines()
    assert len(lines) > 3 and all(json.loads(line)["hash"] for line in lines)
    assert f"wrote {len(lines)} events to standard output" in err
    trail = tmp_path / "trail.jsonl"
    trail.write_text(out, encoding="utf-8")
    assert audit_query.verify_file(str(trail)).ok


def test_global_option_after_the_command_is_named_as_such(tmp_path):
    assert run(["init"], tmp_path, {"RINGEBU_JOURNAL_ACTOR": "admin"}).returncode == 0
    p = run(["queue", "--db", "other.db"], tmp_path, {"RINGEBU_JOURNAL_ACTOR": "admin"})
    assert_one_line_error(p, 2, "--db is an option of ringebu-journal itself",
                          "ringebu-journal --db URL queue")
    assert "did you mean" not in p.stderr.lower() and len(p.stderr.strip().splitlines()) == 1
    p = run(["report", "journal", "--data-dir", "x"], tmp_path)
    assert_one_line_error(p, 2, "--data-dir is an option of ringebu-journal itself", "--data-dir DIR report journal")
    # a real typo in a command's own options keeps click's own message
    p = run(["queue", "--acount", "x"], tmp_path)
    assert p.returncode == 2 and "No such option '--acount'" in p.stderr and "--account" in p.stderr


def test_a_closed_output_pipe_ends_quietly_with_the_usual_status(tmp_path):
    """`ringebu-journal audit log | head -1`: the reader is gone before the first line is written
    (its end of the pipe is closed before the command starts), so every write fails."""
    env = {"RINGEBU_JOURNAL_ACTOR": "admin"}
    assert run(["init"], tmp_path, env).returncode == 0
    read_end, write_end = os.pipe()
    os.close(read_end)
    e = dict(os.environ, **env)
    e.pop("RINGEBU_JOURNAL_DB", None)
    try:
        for args in (["audit", "log"], ["audit", "log", "--format", "jsonl"], ["audit", "export", "--out", "-"],
                     ["users", "list", "--format", "csv"], ["--help"], ["--version"]):
            p = subprocess.run([sys.executable, "-m", "ringebu_journal.cli.main", *args], cwd=tmp_path, env=e, stdout=write_end,
                               stderr=subprocess.PIPE, text=True, timeout=120)
            assert p.returncode == 0, (args, p.returncode, p.stderr)
            assert p.stderr == "" or p.stderr.startswith("wrote "), (args, p.stderr)
    finally:
        os.close(write_end)


def test_version_names_program_policy_schema_and_model(tmp_path):
    from ringebu_journal import __version__
    from ringebu_journal.db.migrate import head_revision
    from ringebu_journal.judge import load_policy

    p = run(["--version"], tmp_path)
    assert p.returncode == 0, p.stderr
    policy = load_policy()
    lines = p.stdout.splitlines()
    assert lines[0] == f"ringebu-journal {__version__}"
    assert f"policy {policy.version} (sha256 {policy.sha256})" in lines
    assert f"database schema {head_revision()} (alembic head)" in lines
    assert lines[-1].startswith("model ")
    assert not list(tmp_path.iterdir()), "--version must not create a database"


@pytest.mark.slow
def test_the_package_builds_without_setuptools_warnings_and_ships_its_data(tmp_path):
    """What `make install` builds, built from a clean copy: no warning about pyproject.toml
    (license form, data folders missing from the packages) and every data file in the wheel."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("ringebu_journal", "noark", "cli", "schemas"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "dist"),
                        str(src)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    # pip's own notes about the machine's package indexes are not the build's
    noise = ("WARNING: Location ", "[notice]")
    complaints = [ln for ln in (p.stdout + p.stderr).splitlines()
                  if ln.strip() and not ln.startswith(noise)]
    assert not complaints, "\n".join(complaints)
    import zipfile

    [wheel] = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("noark/data/arkivuttrekk-mal.xml", "ringebu_journal/schemas/noark5/arkivstruktur.xsd",
                   "ringebu_journal/schemas/fiks-arkiv/no.ks.fiks.arkiv.v2.arkivering.arkivmelding.opprett.xsd",
                   "ringebu_journal/schemas/generic-import.schema.json", "ringebu_journal/judge/default_policy.toml",
                   "ringebu_journal/cli/main.py",
                   "ringebu_journal/migrations/script.py.mako", "ringebu_journal/demo_data/facebook-harvest.jsonl"):
        assert needed in names, needed
    # only the two names of this project are installed at the top of site-packages: no `cli`, no `schemas`
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert top == {"ringebu_journal", "noark"}, sorted(top)
    # every file of the four folders is in the wheel, under its installed name (a folder missing from
    # pyproject's package list would drop its files silently)
    installed_as = {"cli": "ringebu_journal/cli", "schemas": "ringebu_journal/schemas"}
    for folder in ("ringebu_journal", "noark", "cli", "schemas"):
        for f in (ROOT / folder).rglob("*"):
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
                rel = f.relative_to(ROOT / folder).as_posix()
                assert f"{installed_as.get(folder, folder)}/{rel}" in names, f"{folder}/{rel} is not in the wheel"
    console = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "ringebu_journal.cli.main:main" in zipfile.ZipFile(wheel).read(console).decode()
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


def test_no_code_imports_the_repository_folders_cli_or_schemas_by_their_folder_names():
    """They are installed as ringebu_journal.cli and ringebu_journal.schemas; an import of `cli`
    would still work from the repository (its root is on sys.path) but load a second copy of the
    module, which an installed program does not have."""
    import re

    pattern = re.compile(r"^\s*(from|import)\s+(cli|schemas)(\.|\s|$)", re.M)
    found = []
    for folder in ("ringebu_journal", "noark", "cli", "schemas", "tests", "bench", "scripts"):
        for f in (ROOT / folder).rglob("*.py"):
            if pattern.search(f.read_text(encoding="utf-8")):
                found.append(str(f.relative_to(ROOT)))
    assert not found, found
