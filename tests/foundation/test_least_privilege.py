"""Least privilege on the real PostgreSQL server (docs/security.md).

* After ``setup-roles`` the runtime role works (commands run as it) but cannot disable or drop
  the audit triggers, nor UPDATE, DELETE or TRUNCATE audit rows, nor take ownership.
* A dropped or disabled trigger stops every command that uses the database (exit 2, one line
  saying what to do); ``init`` run as the owner restores it and audits that.
"""

from __future__ import annotations

import secrets
import uuid

import click
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ringebu_journal.permissions import OPEN
from ringebu_journal.cli.operations import COMMANDS
from ringebu_journal.app import EVERY_NAME, App, add_user, delegate, init_database
from moderation.conftest import run_argv


def cli(*argv: str) -> tuple[int, str, str]:
    return run_argv(*argv)


@pytest.fixture
def split(pg_url, tmp_path):
    """An initialised database split into an owner and a runtime role (both with a password)."""
    tag = uuid.uuid4().hex[:8]
    owner, runtime = f"rj_owner_{tag}", f"rj_app_{tag}"
    pw = {owner: secrets.token_hex(12), runtime: secrets.token_hex(12)}
    admin = App.open(pg_url, actor="admin", data_dir=tmp_path / "data")
    init_database(admin)
    admin.role = "admin"
    add_user(admin, "revisor", "auditor")
    # the program's shared login roles act for the people (the mapping docs/security.md describes)
    for role in (owner, runtime):
        delegate(admin, EVERY_NAME, role, reason="shared login role of this test")
    admin.db.dispose()
    code, out, err = cli("--db", pg_url, "--actor", "admin", "setup-roles", "--owner", owner, "--runtime", runtime)
    assert code == 0, err
    su = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with su.connect() as c:
        for role, p in pw.items():
            c.execute(text(f"ALTER ROLE \"{role}\" PASSWORD '{p}'"))
    dbname = make_url(pg_url).database

    def url(role: str) -> str:
        return f"postgresql+psycopg://{role}:{pw[role]}@127.0.0.1/{dbname}"

    yield {"owner": owner, "runtime": runtime, "url": url, "su": su, "su_url": pg_url, "pw": pw}
    with su.connect() as c:
        c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename IN (:a, :b)"),
                  {"a": owner, "b": runtime})
        for role in (runtime, owner):
            c.execute(text(f'REASSIGN OWNED BY "{role}" TO CURRENT_USER'))
            c.execute(text(f'DROP OWNED BY "{role}"'))
            c.execute(text(f'DROP ROLE "{role}"'))
    su.dispose()


def _refused(engine, sql: str) -> str:
    with engine.connect() as c:
        try:
            c.execute(text(sql))
            c.commit()
        except DBAPIError as exc:
            return str(exc.orig).splitlines()[0]
    return ""


def test_runtime_role_works_but_cannot_touch_the_trail_or_its_triggers(split):
    rt = split["url"](split["runtime"])
    code, out, err = cli("--db", rt, "--actor", "admin", "users", "add", "kari", "--role", "moderator")
    assert code == 0, err
    code, out, err = cli("--db", rt, "--actor", "revisor", "audit", "verify")
    assert code == 0 and "chain intact" in out, err

    eng = create_engine(rt)
    try:
        for sql in ("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
                    "ALTER TABLE audit_events DISABLE TRIGGER ALL",
                    "DROP TRIGGER audit_events_append_only ON audit_events",
                    "DROP FUNCTION ringebu_audit_append_only() CASCADE",
                    "ALTER TABLE audit_events OWNER TO CURRENT_USER",
                    "UPDATE audit_events SET reason = 'x' WHERE seq = 1",
                    "DELETE FROM audit_events WHERE seq = 1",
                    "TRUNCATE audit_events"):
            why = _refused(eng, sql)
            assert why and ("must be owner" in why or "permission denied" in why), (sql, why)
        # and what it needs: reading and adding events
        with eng.connect() as c:
            assert c.execute(text("SELECT count(*) FROM audit_events")).scalar() > 0
    finally:
        eng.dispose()
    # the trail is still whole and the triggers still there
    code, out, err = cli("--db", rt, "--actor", "revisor", "audit", "verify")
    assert code == 0, err


def _leaf_commands():
    from ringebu_journal.cli.main import cli as group

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from walk(sub, path + [name])
        else:
            yield " ".join(path), cmd

    return list(walk(group, []))


def _minimal_args(cmd: click.Command, tmp) -> list[str]:
    opts, args = [], []
    for p in cmd.params:
        t = p.type
        if isinstance(t, click.Choice):
            v = str(t.choices[0])
        elif isinstance(t, click.Path) and not t.file_okay:
            v = str(tmp)
        elif isinstance(t, (click.Path, click.File)):
            f = tmp / "input.txt"
            f.write_text("12\n", encoding="utf-8")
            v = str(f)
        elif isinstance(t, (click.IntRange, click.FloatRange)) or t in (click.INT, click.FLOAT):
            v = "1"
        else:
            v = "12"
        if isinstance(p, click.Argument) and p.required:
            args += [v] * (p.nargs if p.nargs > 0 else 1)
        elif isinstance(p, click.Option) and p.required:
            opts += [p.opts[0]] if p.is_flag else [p.opts[0], v]
    return opts + args


@pytest.mark.parametrize("how", ["drop", "disable"])
def test_a_missing_or_disabled_trigger_stops_every_command_until_the_owner_restores_it(split, tmp_path, how):
    with split["su"].connect() as c:
        if how == "drop":
            c.execute(text("DROP TRIGGER audit_events_append_only ON audit_events"))
        else:
            c.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_truncate"))
    rt = split["url"](split["runtime"])
    work = tmp_path / "work"
    work.mkdir()
    ran = 0
    for command, cmd in _leaf_commands():
        if COMMANDS[command] == OPEN or command == "init":
            continue
        code, out, err = cli("--db", rt, "--actor", "admin", *command.split(), *_minimal_args(cmd, work))
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "audit trail is unprotected" in lines[0], (command, code, err)
        assert ("missing" if how == "drop" else "disabled") in lines[0]
        assert "`ringebu-journal init`" in lines[0] and "audit verify --against" in lines[0] and split["pw"][split["runtime"]] not in err + out
        ran += 1
    assert ran >= 30

    # the runtime role cannot restore it (it is not the owner) …
    code, out, err = cli("--db", rt, "--actor", "admin", "init")
    assert code == 2 and "owner role" in err and split["owner"] in err, err
    # … the owner can, and it is audited
    code, out, err = cli("--db", split["url"](split["owner"]), "--actor", "admin", "init")
    assert code == 0, err
    code, out, err = cli("--db", rt, "--actor", "admin", "audit", "log", "--action", "database.guard_restored")
    assert code == 0 and "database.guard_restored" in out, err
    code, out, err = cli("--db", rt, "--actor", "admin", "audit", "verify")
    assert code == 0, err


def test_setup_roles_refuses_one_role_for_both_and_odd_names(split):
    code, _out, err = cli("--db", split["su_url"], "--actor", "admin", "setup-roles", "--owner", "a_b",
                          "--runtime", "a_b")
    assert code == 2 and "two different roles" in err
    code, _out, err = cli("--db", split["su_url"], "--actor", "admin", "setup-roles", "--owner", 'x"; DROP',
                          "--runtime", "y")
    assert code == 2 and "not a plain role name" in err
    # the runtime role is not allowed to run it (it cannot create roles)
    code, _out, err = cli("--db", split["url"](split["runtime"]), "--actor", "admin", "setup-roles",
                          "--owner", split["owner"], "--runtime", split["runtime"])
    assert code == 2 and "superuser" in err
