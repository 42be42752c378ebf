"""kill -9 at several points of a real import subprocess, rerun: the same database as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from imp_helpers import make_archivist_app
from imp_helpers import canonical
from ringebu_journal.db.tables import ImportBatch
from ringebu_journal.importers.synthetic import generate_dump

ROOT = Path(__file__).resolve().parents[2]


def _cmd(app, dump: Path) -> list[str]:
    return [sys.executable, "-m", "cli.main", "--db", app.db.url, "--data-dir", str(app.data_dir), "--quiet",
            "import", "facebook-dump", str(dump)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["RINGEBU_JOURNAL_ACTOR"] = "arkiv"
    env["RINGEBU_JOURNAL_IMPORT_CHUNK"] = "2000"
    return env


def _position(app):
    with app.db.read() as conn:
        row = conn.execute(select(ImportBatch.__table__.c.position, ImportBatch.__table__.c.status)).first()
    return (row.position, row.status) if row else None


def test_kill_9_and_resume_gives_identical_database(tmp_path):
    dump = generate_dump(tmp_path / "big.jsonl", 20_000)
    reference = make_archivist_app(f"sqlite:///{tmp_path / 'ref.db'}", tmp_path / "ref-data")
    done = subprocess.run(_cmd(reference, dump), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    want = canonical(reference)
    assert len(want["messages"]) == 20_000 + 200

    app = make_archivist_app(f"sqlite:///{tmp_path / 'killed.db'}", tmp_path / "killed-data")
    positions = []
    # Kill points: during start-up, then at several offsets after a chunk was committed (so the
    # kill lands mid-transaction, between transactions, and mid-parse), whatever the machine's speed.
    for wait_commit, extra in ((False, 0.3), (True, 0.05), (True, 0.25), (True, 0.0), (True, 0.5)):
        before = _position(app)
        p = subprocess.Popen(_cmd(app, dump), cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait_commit:
            deadline = time.time() + 60
            while time.time() < deadline and p.poll() is None and _position(app) == before:
                time.sleep(0.02)
        time.sleep(extra)
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        positions.append(_position(app))
    final = subprocess.run(_cmd(app, dump), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    got = canonical(app)
    assert got == want
    # the kills did land in the middle of the batch at least once
    assert any(p and p[1] == "running" and p[0] > 0 for p in positions), positions
    reference.db.dispose()
    app.db.dispose()
