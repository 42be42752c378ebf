"""docs/architecture.md matches the code: the layers hold (imports point down only) and every
module the document names exists; every CLI room is named there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"


def _imports(folder: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in (ROOT / folder).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        out[str(f.relative_to(ROOT))] = names
    return out


def test_imports_point_down_only():
    upward = {f: sorted(n for n in names if n.startswith("ringebu_journal") and n != "ringebu_journal.schemas")
              for f, names in _imports("noark").items()}
    assert {f: n for f, n in upward.items() if n} == {}, "noark/ imports the domain"
    to_cli = {f: sorted(n for n in names if n.startswith(("ringebu_journal.cli", "cli")))
              for f, names in _imports("ringebu_journal").items()}
    assert {f: n for f, n in to_cli.items() if n} == {}, "the domain imports the CLI"


def test_every_module_the_document_names_exists():
    text = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:ringebu_journal|noark|cli)/[\w/]+(?:\.py)?/?)`", text))
    named |= {"ringebu_journal/" + p for p in re.findall(r"`((?:export|importers|judge|reports|db)/[\w/]+\.py)`", text)}
    assert len(named) > 20
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == []


def test_every_command_room_is_in_the_document():
    from ringebu_journal.cli import main

    text = DOC.read_text(encoding="utf-8")
    for room in main.ROOMS:
        assert f"`{room.__name__.rsplit('.', 1)[1]}`" in text, room.__name__
