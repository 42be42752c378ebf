"""kill -9 at several points of a real import subprocess, rerun: the same database as an uninterrupted run.

The kills land at counted points (RINGEBU_JOURNAL_KILL_AT, ringebu_journal/killpoints.py), so
each lands at the same place on every machine: mid-parse, inside a chunk's transaction, after a
commit, inside the batch's last transaction.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from imp_helpers import make_archivist_app
from imp_helpers import canonical
from ringebu_journal.db.tables import ImportBatch
from ringebu_journal.importers.synthetic import generate_dump

ROOT = Path(__file__).resolve().parents[2]


def _cmd(app, dump: Path) -> list[str]:
    return [sys.executable, "-m", "ringebu_journal.cli.main", "--db", app.db.url, "--data-dir", str(app.data_dir), "--quiet",
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
    # each run resumes where the one before stopped; the step counts arrivals within one run
    steps = (
        ("import.item:1", (0, "running")),          # start-up: the batch is open, nothing written
        ("import.chunk:1", (0, "running")),         # inside the first chunk's transaction
        ("import.committed:2", (4000, "running")),  # just after the second chunk committed
        ("import.item:3000", (6000, "running")),    # mid-parse, one chunk after the resume point
        ("import.done:1", (20_400, "running")),     # closing transaction; all 20,400 items consumed
    )
    for step, want_position in steps:
        p = subprocess.run(_cmd(app, dump), cwd=ROOT, env=dict(_env(), RINGEBU_JOURNAL_KILL_AT=step),
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == -signal.SIGKILL, (step, p.returncode, p.stderr)
        assert _position(app) == want_position, step
    final = subprocess.run(_cmd(app, dump), cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert _position(app)[1] == "done"
    got = canonical(app)
    assert got == want
    reference.db.dispose()
    app.db.dispose()


def test_kill_inside_a_transaction_of_several_parts(tmp_path):
    """Transactions of 8,000 items read in parts of 5,000 (ROWS_PER_BATCH): a kill while the
    second part is parsed, inside the open transaction, keeps nothing of it; a kill after the
    first commit keeps exactly its 10,000 items; the rerun ends as an uninterrupted run."""
    dump = generate_dump(tmp_path / "big.jsonl", 12_000)
    env = dict(_env(), RINGEBU_JOURNAL_IMPORT_CHUNK="8000")
    reference = make_archivist_app(f"sqlite:///{tmp_path / 'ref.db'}", tmp_path / "ref-data")
    done = subprocess.run(_cmd(reference, dump), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    app = make_archivist_app(f"sqlite:///{tmp_path / 'killed.db'}", tmp_path / "killed-data")
    for step, want_position in (("import.item:7000", (0, "running")), ("import.committed:1", (10_000, "running"))):
        p = subprocess.run(_cmd(app, dump), cwd=ROOT, env=dict(env, RINGEBU_JOURNAL_KILL_AT=step),
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == -signal.SIGKILL, (step, p.returncode, p.stderr)
        assert _position(app) == want_position, step
    final = subprocess.run(_cmd(app, dump), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    assert _position(app) == (12_240, "done")       # 120 lines: a post, its page and 100 comments each
    assert canonical(app) == canonical(reference)
    reference.db.dispose()
    app.db.dispose()
