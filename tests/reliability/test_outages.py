"""A full disk during export, and the database going away in the middle of an import and a judge run.

Full disk: a 2 MB tmpfs mounted for the test (as root); where mounting is not allowed the test
falls back to a file-size limit (RLIMIT_FSIZE, the kernel refuses writes past 1 MB with EFBIG),
which is also a real file-system refusal, not a patched function — the test says which it used.
The ENOSPC injection (a patched writer) is tests/export/test_export_noark5.py::test_full_disk_is_reported.

Database outage: a separate PostgreSQL cluster made for the test (`pg_createcluster 15 rjfault
--port 5439`, dropped at the end), stopped with `pg_ctlcluster … stop -m fast` while the CLI
imports and while it judges, then started again. When clusters cannot be created (not root),
the server of RINGEBU_JOURNAL_TEST_PG is used and the run's backends are ended with
pg_terminate_backend instead. Either way: exit 2, one line, no traceback; the rerun finishes
and the result equals an uninterrupted run; `audit verify` passes.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from imp_helpers import canonical
from pipeline import fresh, dispose
from ringebu_journal.app import App
from ringebu_journal.db.tables import ImportBatch, Judgment
from ringebu_journal.importers.run import import_facebook_dump
from ringebu_journal.importers.synthetic import generate_dump
from ringebu_journal.judging import judge_stored

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FAST_CLI = str(HERE / "fast_cli.py")


def _cli(url: str, data: Path, *args: str) -> list[str]:
    return [sys.executable, FAST_CLI, "--db", url, "--data-dir", str(data), "--quiet", *args]


def _env(actor: str) -> dict[str, str]:
    return dict(os.environ, RINGEBU_JOURNAL_ACTOR=actor, RINGEBU_JOURNAL_IMPORT_CHUNK="1000")


# -- full disk -------------------------------------------------------------------------------------

def _small_fs(path: Path) -> str | None:
    path.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        return None
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)], capture_output=True)
    return "tmpfs" if p.returncode == 0 else None


def test_full_disk_during_export_is_a_clear_error_and_no_package(tmp_path):
    apps = fresh(f"sqlite:///{tmp_path / 'd.db'}", tmp_path / "data")
    try:
        arkiv = apps["arkiv"]
        import_facebook_dump(arkiv, [str(generate_dump(tmp_path / "dump.jsonl", 1_500))])
        judge_stored(arkiv)
    finally:
        dispose(apps)
    small = tmp_path / "small"
    kind = _small_fs(small)
    url = f"sqlite:///{tmp_path / 'd.db'}"
    try:
        preexec = None
        if kind is None:
            kind = "RLIMIT_FSIZE 1 MB"

            def preexec():
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        out = small / "pakke"
        p = subprocess.run(_cli(url, tmp_path / "data", "export", "noark5", "--out", str(out)), cwd=ROOT,
                           env=_env("arkiv"), capture_output=True, text=True, timeout=300, preexec_fn=preexec)
        print(f"size-limited file system: {kind}")
        assert p.returncode == 1, (kind, p.returncode, p.stderr)
        err = p.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in p.stderr, p.stderr
        assert "disk is full" in err[0] or "cannot write" in err[0], err[0]
        assert "nothing was published" in err[0]
        assert not out.exists() and list(small.iterdir()) == [], list(small.iterdir())
        app = App.open(url, actor="x")
        with app.db.read() as conn:
            from ringebu_journal.db.tables import Export
            assert conn.execute(select(func.count()).select_from(Export.__table__)).scalar_one() == 0
        app.db.dispose()
        ok = subprocess.run(_cli(url, tmp_path / "data", "export", "noark5", "--out", str(tmp_path / "big" / "pakke")),
                            cwd=ROOT, env=_env("arkiv"), capture_output=True, text=True, timeout=300)
        assert ok.returncode == 0, ok.stderr
    finally:
        if kind == "tmpfs":
            subprocess.run(["umount", str(small)], check=False)


# -- the database goes away -----------------------------------------------------------------------

class Outage:
    """A PostgreSQL server the test may stop: its own cluster, or (fallback) backend termination."""

    CLUSTER, PORT = "rjfault", 5439

    def __init__(self) -> None:
        self.own = False
        self.url_base = None

    def __enter__(self) -> "Outage":
        if os.geteuid() == 0 and shutil.which("pg_createcluster"):
            subprocess.run(["pg_dropcluster", "15", self.CLUSTER, "--stop"], capture_output=True)
            made = subprocess.run(["pg_createcluster", "15", self.CLUSTER, "--port", str(self.PORT), "--start"],
                                  capture_output=True, text=True)
            if made.returncode == 0:
                me = subprocess.run(["whoami"], capture_output=True, text=True).stdout.strip()
                subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-p", str(self.PORT), "-c",
                                f'CREATE ROLE "{me}" SUPERUSER LOGIN'], capture_output=True, check=True)
                self.own = True
                self.url_base = f"postgresql+psycopg://{me}@/postgres?host=/var/run/postgresql&port={self.PORT}"
        if not self.own:
            from pipeline import pg_base
            self.url_base = pg_base()
        return self

    def new_db(self) -> str:
        name = "rjf_" + uuid.uuid4().hex[:10]
        eng = create_engine(self.url_base, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
        return make_url(self.url_base).set(database=name).render_as_string(hide_password=False)

    def cut(self, url: str) -> None:
        if self.own:
            subprocess.run(["pg_ctlcluster", "15", self.CLUSTER, "stop", "-m", "fast"], check=True, capture_output=True)
        else:
            eng = create_engine(self.url_base, isolation_level="AUTOCOMMIT")
            with eng.connect() as c:
                c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                               "AND pid <> pg_backend_pid()"), {"n": make_url(url).database})
            eng.dispose()

    def restore(self) -> None:
        if self.own:
            subprocess.run(["pg_ctlcluster", "15", self.CLUSTER, "start"], check=True, capture_output=True)
            # accepting connections, not only started (a loaded machine needs longer)
            subprocess.run(["pg_isready", "-q", "-p", str(self.PORT), "-t", "120"], check=True)

    def __exit__(self, *exc) -> None:
        if self.own:
            subprocess.run(["pg_dropcluster", "15", self.CLUSTER, "--stop"], capture_output=True)


def _poll(url: str, fn, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        app = App.open(url, actor="x")
        try:
            with app.db.read() as conn:
                if fn(conn):
                    return
        finally:
            app.db.dispose()
        time.sleep(0.02)
    raise AssertionError("the run made no progress")


def _paused(actor: str, step: str, marker: Path) -> dict[str, str]:
    """The environment of a run that waits at the first arrival at ``step`` while ``marker`` exists."""
    return dict(_env(actor), RINGEBU_JOURNAL_PAUSE_AT=f"{step}:1:{marker}")


def _wait_paused(p: subprocess.Popen, marker: Path) -> None:
    """Until the run has reached its pause point (it writes ``marker``), or has ended (a failure)."""
    while not marker.exists():
        assert p.poll() is None, ("the run ended before its pause point", p.returncode, p.stderr.read())
        time.sleep(0.02)


def _position(url: str) -> int:
    app = App.open(url, actor="x")
    try:
        with app.db.read() as conn:
            return int(conn.execute(select(ImportBatch.__table__.c.position)).scalar() or 0)
    finally:
        app.db.dispose()


def _one_line_exit_2(p: subprocess.Popen) -> str:
    _, err = p.communicate(timeout=120)
    lines = err.strip().splitlines()
    assert p.returncode == 2, (p.returncode, err)
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_database_stops_mid_import_and_mid_judge_then_clean_resume(tmp_path):
    dump = generate_dump(tmp_path / "dump.jsonl", 4_000)
    with Outage() as pg:
        ref_url, url = pg.new_db(), pg.new_db()
        for u in (ref_url, url):
            dispose(fresh(u, tmp_path / "data"))
        data = tmp_path / "data"
        imp = ("import", "facebook-dump", str(dump))
        assert subprocess.run(_cli(ref_url, data, *imp), cwd=ROOT, env=_env("arkiv"), capture_output=True).returncode == 0

        # import: cut once the first chunk is committed
        pause = tmp_path / "paused"
        p = subprocess.Popen(_cli(url, data, *imp), cwd=ROOT, env=_paused("arkiv", "import.committed", pause),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_paused(p, pause)
        assert _position(url) > 0                   # the first chunk is committed, the rest is not
        pg.cut(url)
        pause.unlink()
        line = _one_line_exit_2(p)
        assert "database" in line.lower() or "postgres" in line.lower() or "server" in line.lower(), line
        pg.restore()
        again = subprocess.run(_cli(url, data, *imp), cwd=ROOT, env=_env("arkiv"), capture_output=True, text=True)
        assert again.returncode == 0, again.stderr
        a, b = App.open(ref_url, actor="x"), App.open(url, actor="x")
        assert canonical(b) == canonical(a)

        # judge: cut once the first batch of judgments is committed
        assert subprocess.run(_cli(ref_url, data, "judge"), cwd=ROOT, env=_env("arkiv"), capture_output=True).returncode == 0
        p = subprocess.Popen(_cli(url, data, "judge"), cwd=ROOT, env=_paused("arkiv", "judge.committed", pause),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_paused(p, pause)
        pg.cut(url)
        pause.unlink()
        _one_line_exit_2(p)
        pg.restore()
        again = subprocess.run(_cli(url, data, "judge"), cwd=ROOT, env=_env("arkiv"), capture_output=True, text=True)
        assert again.returncode == 0, again.stderr

        def judgments(app):
            J = Judgment.__table__
            from ringebu_journal.db.tables import Message
            M = Message.__table__
            with app.db.read() as conn:
                return sorted(conn.execute(select(M.c.platform_message_id, J.c.decision, J.c.confidence,
                                                  J.c.policy_hash, J.c.context_hash).join(M, M.c.id == J.c.message_id)).all())
        a, b = App.open(ref_url, actor="x"), App.open(url, actor="x")
        try:
            assert judgments(b) == judgments(a) and len(judgments(a)) == 4_040
        finally:
            a.db.dispose()
            b.db.dispose()
        v = subprocess.run(_cli(url, data, "audit", "verify"), cwd=ROOT, env=_env("revisor"), capture_output=True, text=True)
        assert v.returncode == 0 and "chain intact" in v.stdout, v.stderr
