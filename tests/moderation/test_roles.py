"""Every command with every role: the one table (ringebu_journal.roles.PERMISSIONS) decides.

Each leaf command of the CLI is run with each role (archivist, moderator, auditor, admin) and
with an actor nobody registered. A refused run must exit 3 with one line and leave exactly one
``command.refused`` event; an allowed run must pass the role check for the command's own entry
in the table. Allowed runs stop right after that check (a spy on ``App.authorize``), so the test
runs no harvest, import or export for real; refused runs go through the real refusal path.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import click
import pytest
from sqlalchemy import func, select

from ringebu_journal import roles
from ringebu_journal.app import App, add_user, init_database
from ringebu_journal.db.tables import AuditEvent
from ringebu_journal.errors import RingebuError

AUD = AuditEvent.__table__
ACTORS = {"archivist": "arkivar", "moderator": "kari", "auditor": "revisor", "admin": "admin", None: "ukjent"}


class Allowed(RingebuError):
    """Raised by the spy once the role check has passed, so the command body never runs."""

    exit_code = 99

    def __init__(self, command: str):
        super().__init__(f"allowed: {command}")
        self.command = command


def leaf_commands() -> list[tuple[str, click.Command]]:
    from cli.main import cli

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, path + [name])
        else:
            yield " ".join(path), cmd

    return list(walk(cli, []))


def _value(p: click.Parameter, tmp: Path) -> str:
    t = p.type
    if isinstance(t, click.Choice):
        return str(t.choices[0])
    if isinstance(t, (click.IntRange, click.FloatRange)):
        return str(t.min if t.min is not None else 1)
    if t in (click.INT, click.FLOAT):
        return "1"
    if isinstance(t, click.DateTime):
        return "2026-03-02"
    if isinstance(t, click.Path):
        if not t.file_okay:
            return str(tmp)
        f = tmp / "input.txt"
        f.write_text("12\n", encoding="utf-8")
        return str(f) if t.exists else str(tmp / "out.file")
    if isinstance(t, click.File):
        f = tmp / "input.txt"
        f.write_text("12\n", encoding="utf-8")
        return str(f)
    return "12"


def minimal_args(cmd: click.Command, tmp: Path) -> list[str]:
    """Values for every required option and argument, so that parsing succeeds and the role check runs."""
    opts, args = [], []
    for p in cmd.params:
        if isinstance(p, click.Argument) and p.required:
            args += [_value(p, tmp)] * (p.nargs if p.nargs > 0 else 1)
        elif isinstance(p, click.Option) and p.required:
            opts += [p.opts[0]] if p.is_flag else [p.opts[0], _value(p, tmp)]
    return opts + args


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'roles.db'}"
    admin = App.open(url, actor="admin", data_dir=tmp_path / "data")
    init_database(admin)
    admin.role = "admin"
    for role, actor in ACTORS.items():
        if role and role != "admin":
            add_user(admin, actor, role)
    admin.db.dispose()
    return url


def refused_events(url: str) -> list[dict]:
    app = App.open(url, actor="admin")
    with app.db.read() as conn:
        rows = [dict(r) for r in conn.execute(
            select(AUD).where(AUD.c.action == "command.refused").order_by(AUD.c.seq)).mappings()]
    app.db.dispose()
    return rows


def test_every_command_with_every_role(database, tmp_path, monkeypatch):
    from cli.main import main

    real = App.authorize
    checked: list[str] = []

    def spy(self, command, *, check_schema=True):
        real(self, command, check_schema=check_schema)
        checked.append(command)
        raise Allowed(command)

    monkeypatch.setattr(App, "authorize", spy)
    commands = leaf_commands()
    assert {"queue", "show", "flag", "confirm", "unflag", "record-action"} <= {c for c, _ in commands}
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    problems = []
    ran = 0
    for command, cmd in commands:
        assert command in roles.PERMISSIONS, f"{command} has no rule in roles.PERMISSIONS"
        if roles.PERMISSIONS[command] == roles.OPEN:
            # needs no database and no role: it must not check one either
            assert getattr(cmd.callback, "__ringebu_command__", None) is None, command
            continue
        argv = minimal_args(cmd, work)
        for role, actor in ACTORS.items():
            before = len(refused_events(database))
            checked.clear()
            out, err = io.StringIO(), io.StringIO()
            with redirect_stdout(out), redirect_stderr(err):
                try:
                    main(["--db", database, "--actor", actor, *command.split(), *argv])
                    code = 0
                except SystemExit as exc:
                    code = exc.code
            ran += 1
            events = refused_events(database)[before:]
            expected = roles.allowed(command, role)
            where = f"{command!r} as {actor} ({role})"
            if expected:
                if code != 99 or checked != [command] or events:
                    problems.append(f"{where}: should be allowed, got exit {code}, checked {checked}, "
                                    f"stderr {err.getvalue().strip()!r}")
            else:
                lines = err.getvalue().strip().splitlines()
                ok = (code == 3 and len(lines) == 1 and lines[0].startswith("error: permission refused")
                      and len(events) == 1 and events[0]["object_id"] == command
                      and events[0]["actor"] == actor and events[0]["role"] == (role or "none"))
                if not ok:
                    problems.append(f"{where}: should be refused (exit 3, one audited line), got exit {code}, "
                                    f"stderr {err.getvalue().strip()!r}, {len(events)} refusal events")
    assert not problems, "\n".join(problems)
    assert ran >= 5 * 20


def test_the_issue_role_rules_hold_in_the_table():
    """Moderators decide, archivists import/judge/export, auditors read only, admins manage users."""
    P = roles.PERMISSIONS
    for c in ("flag", "confirm", "unflag", "record-action"):
        assert P[c] == frozenset({"moderator"}), c
    for c in ("queue", "show"):
        assert {"moderator", "auditor"} <= P[c], c
    writes = [c for c, rule in P.items() if rule != roles.OPEN and "auditor" in rule]
    assert set(writes) <= {"queue", "show", "search", "judgments", "model list", "status", "report compliance",
                           "report journal",
                           "audit log", "audit verify", "audit export", "users list", "accounts list"}
    assert all(P[c] == frozenset({"admin"}) for c in ("users add", "users deactivate"))
