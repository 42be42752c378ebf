"""Who did it is proven, not claimed: the authenticated identity beside the acting name.

On both databases: acting under another name needs a delegation (refused, exit 3, audited with
the real identity otherwise); every event records identity and actor. On PostgreSQL the
identity is a real database role of the test server (created and dropped here); on SQLite the
operating-system user (a second one is used when the tests run as root).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from ringebu_journal import audit
from ringebu_journal.app import (DELEGATIONS, App, add_user, delegate, init_database, list_delegations,
                                 os_identity, undelegate)
from ringebu_journal.audit_query import AuditFilter, export_trail, query, verify_file
from ringebu_journal.errors import PermissionRefused, UsageError

ROOT = Path(__file__).resolve().parents[2]


def _events(app: App, action: str) -> list[dict]:
    return list(query(app, AuditFilter(action=action)))


def _users(app: App) -> set[str]:
    with app.db.read() as conn:
        return {r[0] for r in conn.execute(text("SELECT name FROM users"))}


def _stored_identity(app: App, seq: int) -> str | None:
    with app.db.read() as conn:
        return conn.execute(text("SELECT identity FROM audit_events WHERE seq = :s"), {"s": seq}).scalar_one()


@pytest.fixture
def admin(make_app):
    app = make_app("admin", "demo-admin")
    make_app("moderator", "kari")
    return app


def test_acting_as_the_admin_without_delegation_is_refused_and_audited(admin, db_url):
    mod = App.for_identity(db_url, "kari", via="test", actor="demo-admin")
    with pytest.raises(PermissionRefused) as exc:
        add_user(mod, "mallory", "admin")
    assert str(exc.value).startswith("refused: kari may not act as demo-admin (no delegation)")
    assert "\n" not in str(exc.value) and exc.value.exit_code == 3
    assert "mallory" not in _users(admin)
    [ev] = _events(admin, "actor.refused")
    assert ev["actor"] == "demo-admin" and ev["identity"] == "kari" and ev["role"] == "none"
    assert json.loads(ev["after"])["identity"] == "kari"
    mod.db.dispose()


def test_a_delegation_lets_the_identity_act_and_both_names_are_recorded(admin, db_url):
    grant = delegate(admin, "demo-admin", "kari", reason="holiday cover")
    assert grant == {"name": "demo-admin", "identity": "kari", "until": None}
    mod = App.for_identity(db_url, "kari", via="test", actor="demo-admin")
    add_user(mod, "mallory", "admin")
    assert "mallory" in _users(admin)
    [ev] = [e for e in _events(admin, "user.add") if e["object_id"] == "mallory"]
    assert (ev["actor"], ev["identity"], ev["role"]) == ("demo-admin", "kari", "admin")
    [given] = _events(admin, "user.delegate")[-1:]
    assert given["identity"] == admin.identity and given["actor"] == "demo-admin"
    mod.db.dispose()

    # withdrawn: refused again
    assert undelegate(admin, "demo-admin", "kari")
    assert not undelegate(admin, "demo-admin", "kari")
    again = App.for_identity(db_url, "kari", via="test", actor="demo-admin")
    with pytest.raises(PermissionRefused):
        add_user(again, "mallory2", "admin")
    again.db.dispose()
    with admin.db.read() as conn:
        assert audit.verify(conn).ok


def test_an_expired_delegation_no_longer_counts(admin, db_url):
    delegate(admin, "demo-admin", "kari", until=datetime.now(timezone.utc) + timedelta(days=2))
    with pytest.raises(UsageError, match="in the past"):
        delegate(admin, "demo-admin", "kari", until=datetime(2020, 1, 1))
    with admin.db.write() as conn:     # the days pass
        conn.execute(DELEGATIONS.update().values(until=datetime.now(timezone.utc) - timedelta(minutes=1)))
    mod = App.for_identity(db_url, "kari", via="test", actor="demo-admin")
    with pytest.raises(PermissionRefused):
        add_user(mod, "mallory", "admin")
    mod.db.dispose()


def test_only_admins_delegate(admin, db_url):
    mod = App.for_identity(db_url, "kari", via="test")
    with pytest.raises(PermissionRefused):
        delegate(mod, "demo-admin", "kari")
    assert [d["name"] for d in list_delegations(admin)] == ["*"]      # the creator's, nothing else
    with pytest.raises(UsageError, match="no user named"):
        delegate(admin, "nobody-registered", "kari")
    mod.db.dispose()


def test_the_web_user_is_identity_and_actor(admin, db_url):
    web = App.for_identity(db_url, "kari", via="web")
    assert (web.identity, web.actor) == ("kari", "kari")
    with web.db.write() as conn:
        ev = web.audit(conn, "test.web", "thing", 1)
    assert (ev["actor"], ev["identity"]) == ("kari", "kari")
    assert _stored_identity(admin, ev["seq"]) == "kari"
    web.db.dispose()


def test_the_creator_may_act_under_every_name_and_says_so(admin):
    """The identity that set the database up holds the "*" delegation, in the trail."""
    [first] = [e for e in _events(admin, "user.delegate") if e["object_id"].startswith("* ->")]
    assert json.loads(first["after"]) == {"name": "*", "identity": admin.identity, "until": None}
    assert admin.identity != admin.actor and admin.identity == first["identity"]


def test_the_os_user_comes_from_the_user_id_not_the_environment(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("USER", "demo-admin")
    monkeypatch.setenv("LOGNAME", "demo-admin")
    app = App.open(sqlite_url, data_dir=tmp_path / "data")
    assert app.identity == pwd.getpwuid(os.geteuid()).pw_name == os_identity()
    assert app.actor == app.identity
    app.db.dispose()


def test_postgresql_identity_is_the_session_user(pg_url):
    app = App.open(pg_url, actor="someone")
    with app.db.read() as conn:
        assert app.identity == conn.execute(text("SELECT session_user")).scalar_one()
    app.db.dispose()


def test_events_without_identity_and_with_it_verify_together(db_url, tmp_path):
    """A trail from before identities, continued by this version: database, export and README recipe."""
    app = App.open(db_url, actor="admin", data_dir=tmp_path / "data")
    init_database(app)
    with app.db.write() as conn:          # written as the earlier version wrote them
        for i in range(3):
            audit.append(conn, actor="kari", role="archivist", action="test.old", object_type="thing", object_id=i)
        app.audit(conn, "test.new", "thing", 9, after={"v": 1})
    with app.db.read() as conn:
        assert audit.verify(conn).ok
        canon = conn.execute(text("SELECT canonical FROM audit_events WHERE action = 'test.old'")).scalars().all()
    assert all(b'"identity"' not in c for c in canon)
    out = tmp_path / "trail.jsonl"
    export_trail(app, str(out))
    assert verify_file(str(out)).ok
    # events exported before identities have no identity key at all: still a trail
    legacy = tmp_path / "legacy.jsonl"
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert sum(x["identity"] is None for x in lines) == 3
    legacy.write_text("".join(json.dumps({k: v for k, v in x.items() if not (k == "identity" and v is None)}) + "\n"
                              for x in lines))
    assert verify_file(str(legacy)).ok
    app.db.dispose()


def test_a_forged_identity_key_in_before_is_caught(make_app):
    """A row with no identity whose before column ends in a forged identity key cannot pass for it."""
    app = make_app("auditor")
    with app.db.write() as conn:
        ev = audit.append(conn, actor="kari", role="archivist", action="test.old", object_type="thing",
                          object_id=1, before=1)
    forged = dict(ev, identity="demo-admin", before="1")
    rec = audit.record_bytes(forged)
    with app.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        conn.execute(text('UPDATE audit_events SET canonical = :c, hash = :h, "before" = :b WHERE seq = :s'),
                     {"c": rec, "h": audit.event_hash(ev["prev_hash"], forged),
                      "b": '1,"identity":"demo-admin"', "s": ev["seq"]})
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
    with app.db.read() as conn:
        res = audit.verify(conn)
    assert not res.ok and res.seq == ev["seq"] and "before" in res.problem and "identity" in res.problem


# -- the CLI, with a real second identity ----------------------------------------------------


def _cli(args: list[str], cwd: Path, user: int | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGEBU_JOURNAL_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "ringebu_journal.cli.main", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, user=user)


def _cli_as(user: pwd.struct_passwd, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """The CLI in a forked copy of this process that has become ``user`` (root only). The copy
    needs no file of the interpreter (which another user may not be able to read): everything the
    command uses is imported here first."""
    import ringebu_journal.cli.main  # noqa: F401 - loaded before the fork
    import ringebu_journal.audit_query  # noqa: F401

    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:                                          # the child: never returns
        code = 4
        try:
            sys.stdout = open(out.fileno(), "w", encoding="utf-8", closefd=False)
            sys.stderr = open(err.fileno(), "w", encoding="utf-8", closefd=False)
            os.chdir(cwd)
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
            for k in [k for k in os.environ if k.startswith("RINGEBU_JOURNAL_")]:
                del os.environ[k]
            try:
                ringebu_journal.cli.main.main(args)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    out.seek(0)
    err.seek(0)
    return subprocess.CompletedProcess(args, os.waitstatus_to_exitcode(status), out.read().decode(),
                                       err.read().decode())


def _attack_and_delegate(url_admin: str, url_mod: str, mod_name: str, cwd: Path, user: int | None,
                         run_mod=None) -> None:
    """The issue's attack, then the same with a delegation; ``url_mod`` runs as the moderator's identity."""
    for args in (["--actor", "demo-admin", "init"], ["--actor", "demo-admin", "users", "add", mod_name, "--role",
                                                      "moderator"]):
        p = _cli(["--db", url_admin, *args], cwd)
        assert p.returncode == 0, p.stderr
    attack = ["--db", url_mod, "--actor", "demo-admin", "users", "add", "mallory", "--role", "admin"]
    run_mod = run_mod or (lambda args: _cli(args, cwd, user))
    p = run_mod(attack)
    assert p.returncode == 3, (p.stdout, p.stderr)
    assert p.stderr.strip() == (f"error: refused: {mod_name} may not act as demo-admin (no delegation) — act under "
                                f"your own name, or ask an admin to run `ringebu-journal users delegate demo-admin "
                                f"{mod_name}`"), p.stderr
    app = App.open(url_admin, actor="demo-admin")
    assert "mallory" not in _users(app)
    [ev] = _events(app, "actor.refused")
    assert (ev["actor"], ev["identity"]) == ("demo-admin", mod_name)
    p = _cli(["--db", url_admin, "--actor", "demo-admin", "users", "delegate", "demo-admin", mod_name,
              "--until", (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")], cwd)
    assert p.returncode == 0 and f"{mod_name} may act as demo-admin until" in p.stdout, p.stderr
    p = run_mod(attack)
    assert p.returncode == 0, p.stderr
    [ev] = [e for e in _events(app, "user.add") if e["object_id"] == "mallory"]
    assert (ev["actor"], ev["identity"], ev["role"]) == ("demo-admin", mod_name, "admin")
    # under its own name the moderator is a moderator
    p = run_mod(["--db", url_mod, "users", "add", "mallory", "--role", "admin"])
    assert p.returncode == 3 and f"{mod_name} (moderator) may not run" in p.stderr, p.stderr
    with app.db.read() as conn:
        assert audit.verify(conn).ok
    app.db.dispose()


def test_cli_postgresql_role_cannot_act_as_the_admin_without_delegation(pg_url, tmp_path):
    role = "rj_mod_" + uuid.uuid4().hex[:8]
    password = uuid.uuid4().hex
    owner = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as c:
        c.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
    try:
        base = make_url(pg_url)
        url_mod = base.set(username=role, password=password, host="127.0.0.1").render_as_string(hide_password=False)
        (tmp_path / "data").mkdir()
        url_admin = pg_url
        p = _cli(["--db", url_admin, "--actor", "demo-admin", "--data-dir", str(tmp_path / "data"), "init"], tmp_path)
        assert p.returncode == 0, p.stderr
        with owner.connect() as c:
            c.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"))
            c.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        _attack_and_delegate(url_admin, url_mod, role, tmp_path, None)
    finally:
        with owner.connect() as c:
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"), {"r": role})
            c.execute(text(f"DROP OWNED BY {role}"))
            c.execute(text(f"DROP ROLE {role}"))
        owner.dispose()


@pytest.mark.skipif(os.geteuid() != 0, reason="a second operating-system user needs root to start its process")
def test_cli_sqlite_os_user_cannot_act_as_the_admin_without_delegation():
    other = pwd.getpwnam("nobody")
    folder = Path(tempfile.mkdtemp(prefix="rj-identity-"))
    try:
        folder.chmod(0o777)
        url = f"sqlite:///{folder / 'journal.db'}"
        p = _cli(["--db", url, "--actor", "demo-admin", "init"], folder)
        assert p.returncode == 0, p.stderr
        (folder / "journal.db").chmod(0o666)
        _attack_and_delegate(url, url, other.pw_name, folder, None,
                             run_mod=lambda args: _cli_as(other, args, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_init_without_identities_upgrades_and_gives_the_upgrader_every_name(db_url, tmp_path):
    """A database from before identities: its admin upgrades it and receives the "*" delegation."""
    from alembic import command

    from ringebu_journal.db import migrate
    from ringebu_journal.db.engine import Database
    from ringebu_journal.db.tables import User

    db = Database(db_url)
    with db.write() as conn:
        cfg = migrate._config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005_numbers")
        conn.execute(User.__table__.insert().values(name="eli", role="admin", active=True,
                                                   created_at=datetime.now(timezone.utc), created_by="eli"))
    db.dispose()
    app = App.open(db_url, actor="eli", data_dir=tmp_path / "data")
    init_database(app)
    with app.db.read() as conn:
        rows = conn.execute(select(DELEGATIONS.c.name, DELEGATIONS.c.identity)).all()
        assert audit.verify(conn).ok
    assert [tuple(r) for r in rows] == [("*", app.identity)]
    assert {e["identity"] for e in query(app, AuditFilter())} == {app.identity}
    app.db.dispose()


def test_the_delegation_one_acts_through_is_not_withdrawn_by_oneself(admin, db_url):
    """demo-admin acts through the creator's "*": withdrawing it would leave nobody to manage users."""
    with pytest.raises(UsageError, match="would lock you out"):
        undelegate(admin, "*", admin.identity)
    assert [(d["name"], d["identity"]) for d in list_delegations(admin)] == [("*", admin.identity)]
    assert _events(admin, "user.undelegate") == []
    # acting under its own name (a registered admin), the identity may withdraw it
    make_admin = App.open(db_url, actor="demo-admin")
    add_user(make_admin, admin.identity, "admin")
    own = App.open(db_url)
    assert own.actor == own.identity
    assert undelegate(own, "*", own.identity)
    assert list_delegations(own) == []
    for a in (make_admin, own):
        a.db.dispose()
