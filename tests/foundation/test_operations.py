"""Permissions by operation: the CLI's map, the domain's own checks, hints, the last admin.

- Every leaf command of the click tree maps to exactly one operation (or OPEN) in
  cli/operations.py, every entry of that map is a command (or one another branch registers), and
  every operation it names is in ringebu_journal.permissions (``require_known``, which the web
  workspace's route table uses too).
- A library caller that skips the CLI meets the same check: refused (exit 3) and audited with
  the actor's real role, and an allowed call records the role looked up, never "none".
- Every step a domain message may point to has a CLI spelling, and the CLI shows it as the
  exact command while a library caller reads the product's words.
- The last active admin cannot lose the admin role, by a role change or by deactivation.
"""

from __future__ import annotations

import ast
import io
import json
from contextlib import redirect_stderr, redirect_stdout
import re
from datetime import date
from pathlib import Path

import click
import pytest
from sqlalchemy import select

from ringebu_journal.cli.operations import COMMANDS, PENDING, STEP_COMMANDS, command_line
from ringebu_journal import accounts, permissions
from ringebu_journal.app import App, add_user, deactivate_user, init_database, list_users
from ringebu_journal.db.tables import AuditEvent
from ringebu_journal.errors import EXIT_PERMISSION, PermissionRefused, UsageError

ROOT = Path(__file__).resolve().parents[2]
AUD = AuditEvent.__table__


def run_cli(url: str, actor: str, *args: str) -> tuple[int, str, str]:
    """`ringebu-journal --db URL --actor ACTOR ARGS…` in this process: (exit code, stdout, stderr)."""
    from ringebu_journal.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(["--db", url, "--actor", actor, *args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def leaf_commands() -> dict[str, click.Command]:
    from ringebu_journal.cli.main import cli

    out: dict[str, click.Command] = {}

    def walk(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, path + [name])
        else:
            out[" ".join(path)] = cmd

    walk(cli, [])
    return out


def test_every_command_maps_to_exactly_one_operation():
    leaves = leaf_commands()
    assert len(leaves) >= 40
    missing = sorted(set(leaves) - set(COMMANDS))
    assert not missing, f"commands without an operation in cli/operations.py: {missing}"
    stale = sorted(set(COMMANDS) - set(leaves) - PENDING)
    assert not stale, f"cli/operations.py maps commands that do not exist: {stale}"
    assert permissions.require_known(COMMANDS) == []
    for name, cmd in leaves.items():
        declared = getattr(cmd.callback, "__ringebu_operation__", None)
        if COMMANDS[name] == permissions.OPEN:
            assert declared is None, f"{name} is open but checks {declared}"
        elif name != "init":          # init checks database.init inside init_database (anyone may create)
            assert declared == COMMANDS[name], f"{name} checks {declared}, the map says {COMMANDS[name]}"


def test_require_known_names_the_unknown_operation():
    assert permissions.require_known({"GET /queue": "message.read", "POST /x": permissions.OPEN}) == []
    problems = permissions.require_known({"POST /flag": "message.flag", "GET /": "message.read"})
    assert len(problems) == 1 and "'POST /flag'" in problems[0] and "'message.flag'" in problems[0]


def test_the_organisation_commands_are_in_the_table():
    assert COMMANDS["organisation show"] == "settings.read"
    assert COMMANDS["organisation set"] == "settings.manage"
    assert permissions.PERMISSIONS["settings.read"].roles == frozenset(permissions.ROLES)
    assert permissions.PERMISSIONS["settings.manage"].roles == frozenset({"admin"})


def test_every_operation_has_a_description_and_only_known_roles():
    for name, op in permissions.PERMISSIONS.items():
        assert op.name == name and op.description and op.roles, name
        assert op.roles <= set(permissions.ROLES), name


def test_every_step_has_a_command_of_its_operation():
    from ringebu_journal.cli.main import GLOBAL_OPTIONS

    assert set(STEP_COMMANDS) == set(permissions.STEPS)
    for step, template in STEP_COMMANDS.items():
        operation = permissions.STEPS[step].operation
        tokens = template.split()
        while tokens and tokens[0] in GLOBAL_OPTIONS:       # `--data-dir DIR init`: the command follows
            tokens = tokens[2:] if GLOBAL_OPTIONS[tokens[0]] else tokens[1:]
        words = [w for w in tokens if not w.startswith("-")]
        command = next((c for c in COMMANDS if words[:len(c.split())] == c.split()), None)
        assert command is not None, f"{step}: {template!r} is not a command"
        assert COMMANDS[command] == operation, f"{step}: {command} is {COMMANDS[command]}, the step says {operation}"


def test_no_domain_message_spells_a_command():
    """Domain text speaks the product's words; the CLI adds the command (cli/operations.py)."""
    spelled = []
    for path in (ROOT / "ringebu_journal").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and re.search(r"`ringebu-journal \w", node.value)):
                spelled.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not spelled, spelled


def test_the_role_table_in_the_docs_is_the_permissions_table():
    doc = (ROOT / "docs" / "roles.md").read_text(encoding="utf-8")
    assert permissions.role_table_markdown() in doc


# -- the domain checks its own operation ---------------------------------------------------------


def _events(app: App, action: str) -> list[dict]:
    with app.db.read() as conn:
        rows = conn.execute(select(AUD).where(AUD.c.action == action).order_by(AUD.c.seq)).mappings().all()
    return [dict(r) for r in rows]


def test_a_library_caller_meets_the_same_check(make_app, db_url, tmp_path):
    make_app("archivist", actor="arkivar")
    mod = App.open(db_url, actor="kari", data_dir=tmp_path / "data")
    admin = App.open(db_url, actor="admin", data_dir=tmp_path / "data")
    add_user(admin, "kari", "moderator")
    mod.role = "admin"                            # a role set by hand is not trusted
    with pytest.raises(PermissionRefused) as exc:
        accounts.add_account(mod, "facebook", "123", name="Side", unit="Enhet")
    assert exc.value.exit_code == EXIT_PERMISSION
    assert "kari (moderator)" in exc.value.message and "account.manage" in exc.value.message
    refused = _events(admin, "command.refused")
    assert len(refused) == 1 and refused[0]["role"] == "moderator" and refused[0]["object_id"] == "account.manage"
    assert refused[0]["object_type"] == "operation" and "asked_by" not in json.loads(refused[0]["after"])
    with pytest.raises(PermissionRefused):
        list_users(mod)
    # an allowed library call records the role it looked up, not "none"
    arkivar = App.open(db_url, actor="arkivar", data_dir=tmp_path / "data")
    accounts.add_account(arkivar, "facebook", "123", name="Side", unit="Enhet")
    added = _events(admin, "account.add")
    assert [e["role"] for e in added] == ["archivist"] and added[0]["actor"] == "arkivar"
    for a in (mod, admin, arkivar):
        a.db.dispose()


def test_a_stranger_is_refused_with_a_hint_in_product_words(make_app, db_url, tmp_path):
    make_app("archivist")
    stranger = App.open(db_url, actor="ukjent", data_dir=tmp_path / "data")
    with pytest.raises(PermissionRefused) as exc:
        list_users(stranger)
    assert exc.value.message == ("permission refused: ukjent (not a registered user) may not run user.read — "
                                 "ask an admin to run adding the user with a role (user.manage)")
    assert exc.value.render(command_line).endswith("ask an admin to run `ringebu-journal users add ukjent --role ROLE`")
    stranger.db.dispose()


def test_the_cli_renders_a_domain_hint_as_the_command(make_app, db_url):
    make_app("archivist", actor="arkivar")
    code, _out, err = run_cli(db_url, "arkivar", "accounts", "close", "999", "--reopens", "2099-01-01",
                              "--notice", "x")
    assert code == 2
    assert err.strip() == ("error: no account '999' — register it with "
                           "`ringebu-journal accounts add PLATFORM ID --name NAME --unit UNIT`")
    with pytest.raises(UsageError) as exc:
        accounts.close_account(App.open(db_url, actor="arkivar"), "999", reopens=date(2099, 1, 1), notice="x")
    assert "`" not in exc.value.message and "account registration" in exc.value.message


def test_a_hinted_warning_quotes_values_for_the_shell():
    note = accounts.registration_warning("facebook", "104999", "Ringebu bibliotek")
    assert note.render(command_line).endswith(
        "run `ringebu-journal accounts add facebook 104999 --name 'Ringebu bibliotek' --unit UNIT`")
    assert "ringebu-journal" not in note and "account registration" in note


# -- the last active admin -------------------------------------------------------------------------


def _admin_db(db_url: str, tmp_path: Path) -> App:
    admin = App.open(db_url, actor="eli", data_dir=tmp_path / "data")
    init_database(admin)
    return admin


def test_the_last_admin_cannot_demote_themself(db_url, tmp_path):
    admin = _admin_db(db_url, tmp_path)
    with pytest.raises(PermissionRefused) as exc:
        add_user(admin, "eli", "moderator")
    assert exc.value.exit_code == EXIT_PERMISSION and "last active admin" in exc.value.message
    assert [(u.name, u.role, u.active) for u in list_users(admin)] == [("eli", "admin", True)]
    refused = _events(admin, "user.refused")
    assert len(refused) == 1 and refused[0]["object_id"] == "eli" and refused[0]["role"] == "admin"
    assert json.loads(refused[0]["after"]) == {"role": "moderator"}
    # with a second admin the change is allowed, and then the other one is the last
    add_user(admin, "per", "admin")
    assert add_user(admin, "eli", "auditor").changed
    with pytest.raises(PermissionRefused, match="eli \\(auditor\\)"):    # the same App reads the new role
        add_user(admin, "eli", "admin")
    per = App.open(db_url, actor="per", data_dir=tmp_path / "data")
    with pytest.raises(PermissionRefused):
        add_user(per, "per", "archivist")
    with pytest.raises(UsageError, match="cannot deactivate yourself"):
        deactivate_user(per, "per", "leaving")
    admin.db.dispose()
    per.db.dispose()


def test_the_last_admin_cannot_be_deactivated(db_url, tmp_path):
    """Two admins deactivating each other: per passed the check before eli took his rights away,
    so his command still runs, but eli is then the last active admin and stays one."""
    admin = _admin_db(db_url, tmp_path)
    add_user(admin, "per", "admin")
    per = App.open(db_url, actor="per", data_dir=tmp_path / "data")
    per.require("user.manage")
    deactivate_user(admin, "per", "moved on")
    with pytest.raises(PermissionRefused, match="eli is the last active admin"):
        deactivate_user(per, "eli", "takeover")
    assert {(u.name, u.role, u.active) for u in list_users(admin)} == {("eli", "admin", True),
                                                                               ("per", "admin", False)}
    refused = _events(admin, "user.refused")
    assert len(refused) == 1 and refused[0]["actor"] == "per" and json.loads(refused[0]["after"]) == {"active": False}
    # per, now deactivated, is refused by the permission table itself
    late = App.open(db_url, actor="per", data_dir=tmp_path / "data")
    with pytest.raises(PermissionRefused, match="not a registered user"):
        add_user(late, "per", "admin")
    for a in (admin, per, late):
        a.db.dispose()


def test_the_cli_refuses_the_last_admin_in_one_line(db_url, tmp_path):
    admin = _admin_db(db_url, tmp_path)
    code, out, err = run_cli(db_url, "eli", "users", "add", "eli", "--role", "moderator")
    lines = err.strip().splitlines()
    assert code == 3 and out == "" and len(lines) == 1, err
    assert lines[0] == ("error: refused: eli is the last active admin — the database would have nobody to manage "
                        "its users — make another user admin first with "
                        "`ringebu-journal users add NAME --role ROLE`")
    assert len(_events(admin, "user.refused")) == 1
    admin.db.dispose()


def test_a_note_keeps_its_hint_through_copy_and_pickle():
    """Rejections and warnings travel in counts that are copied (and, in workers, pickled)."""
    import copy
    import pickle

    from ringebu_journal.errors import render_text

    note = accounts.registration_warning("facebook", "1", "Side")
    for other in (copy.deepcopy(note), copy.copy(note), pickle.loads(pickle.dumps(note))):
        assert other == note
        assert render_text(other, command_line) == note.render(command_line)
        assert "`ringebu-journal accounts add facebook 1 --name Side --unit UNIT`" in render_text(other, command_line)
    assert json.loads(json.dumps({"w": note})) == {"w": str(note)}     # stored in product words


def test_every_hint_in_the_domain_gives_what_its_command_needs():
    """Each Hint(...) in ringebu_journal/ names a known step and passes every {field} its CLI spelling
    fills, so rendering a hint can never fail when the error is shown."""
    import string

    checked = 0
    for path in (ROOT / "ringebu_journal").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Hint"):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            step = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else None
            assert step in STEP_COMMANDS, f"{where}: step {step!r} has no CLI spelling"
            if isinstance(node.args[0], ast.Constant):
                fields = {f for _, f, _, _ in string.Formatter().parse(node.args[0].value) if f}
                assert fields <= {"step", "step2"}, f"{where}: the text has {sorted(fields)}"
            given = {k.arg for k in node.keywords} - {"also"}
            steps = [step] + [k.value.value for k in node.keywords if k.arg == "also"]
            for s in steps:
                needed = {f for _, f, _, _ in string.Formatter().parse(STEP_COMMANDS[s]) if f}
                assert needed <= given, f"{where}: {s} needs {sorted(needed - given)}"
            checked += 1
    assert checked >= 25
