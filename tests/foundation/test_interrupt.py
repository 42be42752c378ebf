"""Ctrl-C: a real process gets SIGINT at a counted step (as a terminal sends it, to the whole
process group); it exits 130 with one line saying what was kept and how to resume, prints no
traceback, leaves no worker behind, and running the same command again finishes the job."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from ringebu_journal.db.tables import ImportBatch, Judgment, Message

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
HARNESS = str(HERE / "interrupt_cli.py")
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))


def _interrupt_at(step: int, args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the harness until it reports the step, send SIGINT to its process group, return
    (exit code, everything it wrote on stderr)."""
    e = dict(os.environ, RINGEBU_JOURNAL_TEST_PAUSE_AT=str(step), **env)
    p = subprocess.Popen([sys.executable, HARNESS, *args], cwd=ROOT, env=e, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen = []
    try:
        for line in p.stderr:
            seen.append(line)
            if line.startswith(f"paused at step {step}"):
                break
        else:
            raise AssertionError(f"the command ended before step {step}: {''.join(seen)}")
        os.killpg(p.pid, signal.SIGINT)
        code = p.wait(timeout=120)
        seen.append(p.stderr.read())
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    try:
        os.killpg(p.pid, 0)
        left = True
    except ProcessLookupError:
        left = False
    assert not left, "a process of the interrupted command is still running"
    return code, "".join(seen)


def _cli(db_url: str, data: Path, actor: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ringebu_journal.cli.main", "--db", db_url, "--data-dir", str(data), "--actor",
                           actor, "--quiet", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def _assert_interrupted(code: int, err: str, command: str, *needles: str) -> None:
    assert code == 130, (code, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    [line] = [ln for ln in err.splitlines() if ln.startswith("interrupted")]
    assert line.startswith(f"interrupted ({command}): "), line
    for n in needles:
        assert n in line, line


def _copies(stdout: str) -> tuple[int, int]:
    line = next(ln for ln in stdout.splitlines() if "archive copies" in ln)
    rendered, rest = line.split("archive copies", 1)[1].split("rendered, ")
    return int(rendered), int(rest.split(" from cache")[0])


def test_ctrl_c_during_export_ends_the_render_workers_and_keeps_nothing_half_written(make_app, db_url, tmp_path):
    from moderation.seed import seed

    seed(make_app("archivist", actor="arkivar"))
    # how many archive copies the export renders: an uninterrupted export elsewhere, then its
    # render cache is emptied (a PostgreSQL database has one data folder, so it is the same one)
    data = tmp_path / "data"
    p = _cli(db_url, data, "arkivar", "export", "noark5", "--out", str(tmp_path / "other"))
    assert p.returncode == 0, p.stderr
    total, _ = _copies(p.stdout)
    assert total >= 4
    shutil.rmtree(data / "render-cache")
    out = tmp_path / "pakker" / "uttrekk"
    args = ["--db", db_url, "--data-dir", str(data), "--actor", "arkivar", "export", "noark5", "--out", str(out)]
    # while both workers render (step 1), and once every copy is rendered and the workers wait
    # for more (the last step): the workers end with the export, neither prints a traceback
    for step in (1, total):
        code, err = _interrupt_at(step, args, {})
        _assert_interrupted(code, err, "export noark5", "no package", "run the same command again")
        assert not out.exists() and not list(out.parent.glob(".*partial*")), list(out.parent.iterdir())
    cached = list((data / "render-cache").rglob("*.pdf"))
    assert len(cached) == total        # the copies rendered before the interruption are kept
    p = _cli(db_url, data, "arkivar", "export", "noark5", "--out", str(out))
    assert p.returncode == 0, p.stderr
    assert (out / "arkivstruktur.xml").is_file()
    assert _copies(p.stdout) == (0, total)


def _jsonl(path: Path, n: int) -> None:
    rows = [{"platform": "facebook", "kind": "post", "id": "p1", "account_id": "104",
             "author": {"id": "104", "name": "Ringebu kommune", "is_municipality": True},
             "text": "Vegen til Venabygdsfjellet er stengt i dag.", "created_at": "2026-10-01T08:00:00Z"}]
    for i in range(n - 1):
        rows.append({"platform": "facebook", "kind": "comment", "id": f"c{i}", "post_id": "p1", "parent_id": "p1",
                     "account_id": "104", "author": {"id": f"u{i}", "name": f"Innbygger {i}", "is_municipality": False},
                     "text": f"Når opnar vegen igjen? ({i})", "created_at": f"2026-10-01T09:{i:02d}:00Z"})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_ctrl_c_during_import_keeps_the_chunks_and_the_rerun_resumes(make_app, db_url, tmp_path):
    app = make_app("archivist", actor="arkivar")
    data = tmp_path / "data"
    src = tmp_path / "innspill.jsonl"
    _jsonl(src, 30)
    args = ["--db", db_url, "--data-dir", str(data), "--actor", "arkivar", "import", "jsonl", str(src)]
    code, err = _interrupt_at(2, args, {"RINGEBU_JOURNAL_IMPORT_CHUNK": "5"})
    _assert_interrupted(code, err, "import jsonl", "kept", "run the same command again to resume")
    MSG, BATCH = Message.__table__, ImportBatch.__table__
    with app.db.read() as conn:
        kept = conn.execute(select(func.count()).select_from(MSG)).scalar()
        assert 0 < kept < 30             # two chunks of five items (an item may be the account itself)
        assert [r.status for r in conn.execute(select(BATCH.c.status))] == ["running"]
    p = _cli(db_url, data, "arkivar", "import", "jsonl", str(src))
    assert p.returncode == 0, p.stderr
    with app.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(MSG)).scalar() == 30
        assert [r.status for r in conn.execute(select(BATCH.c.status))] == ["done"]


def test_ctrl_c_during_judge_keeps_the_judgments_stored(make_app, db_url, tmp_path):
    from moderation.seed import seed

    app = make_app("archivist", actor="arkivar")
    seed(app, judge=False)
    data = tmp_path / "data"
    args = ["--db", db_url, "--data-dir", str(data), "--actor", "arkivar", "judge"]
    code, err = _interrupt_at(1, args, {})
    _assert_interrupted(code, err, "judge", "judgments stored so far are kept", "ringebu-journal judge")
    JUD = Judgment.__table__
    with app.db.read() as conn:
        kept = conn.execute(select(func.count()).select_from(JUD)).scalar()
    assert kept == 10                      # the batch committed before the interruption
    p = _cli(db_url, data, "arkivar", "judge")
    assert p.returncode == 0, p.stderr
    with app.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(JUD)).scalar() == kept
