"""kill -9 of real CLI processes during judge, export and audit appends; the rerun equals an
uninterrupted run.

Both runs start from byte-identical copies of one SQLite database (a synthetic Graph API dump
of 1,200 comments imported once), so row ids are the same in both and are compared too. The
canonical dump (pipeline.table_dump) leaves out only wall-clock columns: judgments.judged_at,
exports.created_at, deliveries.delivered_at and the export's path and summary (its folder name
and timing), and from audit_events the time `at`, the two hashes and the hashed record bytes
that cover it; everything
else — every judgment, decision, delivery, audit event's actor/action/object/before/after — is
compared. The package is compared byte for byte, file by file. `audit verify` passes after
every kill.

Every kill is at a counted point: RINGEBU_JOURNAL_KILL_AT=step:N makes the process SIGKILL
itself the N-th time it reaches the named step (ringebu_journal/killpoints.py), so the same
kills land in the same places on any machine under any load. The import is killed in
tests/importers/test_kill.py the same way.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from pipeline import table_dump
from ringebu_journal.app import App, add_user, init_database
from ringebu_journal.db.tables import AuditEvent, Export, Judgment
from ringebu_journal.importers.run import import_facebook_dump
from ringebu_journal.importers.synthetic import generate_dump

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FAST_CLI = str(HERE / "fast_cli.py")
WALL_CLOCK = {
    "*": set(),
    "judgments": {"judged_at"},
    "exports": {"created_at", "path", "summary"},
    "deliveries": {"delivered_at"},
    "audit_events": {"at", "prev_hash", "hash", "after", "canonical"},  # canonical holds at and after
}


def _copy(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def _cli(db: Path, data: Path, actor: str, *args: str) -> list[str]:
    return [sys.executable, FAST_CLI, "--db", f"sqlite:///{db}", "--data-dir", str(data), "--quiet", *args]


def _env(actor: str) -> dict[str, str]:
    return dict(os.environ, RINGEBU_JOURNAL_ACTOR=actor)


def _run(db, data, actor, *args) -> subprocess.CompletedProcess:
    p = subprocess.run(_cli(db, data, actor, *args), cwd=ROOT, env=_env(actor), capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    return p


def _count(url: str, table) -> int:
    app = App.open(url, actor="revisor")
    try:
        with app.db.read() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()
    finally:
        app.db.dispose()


def _verify(db: Path, data: Path) -> None:
    p = subprocess.run(_cli(db, data, "revisor", "audit", "verify"), cwd=ROOT, env=_env("revisor"),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "chain intact" in p.stdout, p.stdout + p.stderr


def _killed_at(cmd, env, step: str) -> None:
    """Run cmd with a kill point: it must die by SIGKILL at the N-th arrival at the named step."""
    p = subprocess.run(cmd, cwd=ROOT, env=dict(env, RINGEBU_JOURNAL_KILL_AT=step), capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == -signal.SIGKILL, f"{step}: exit {p.returncode} {p.stderr}"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_kill_9_during_judge_and_export_then_rerun_equals_uninterrupted(tmp_path):
    seed = tmp_path / "seed.db"
    data = tmp_path / "data"
    url = f"sqlite:///{seed}"
    boot = App.open(url, actor="admin", data_dir=data)
    init_database(boot)
    boot.role = "admin"
    add_user(boot, "arkiv", "archivist")
    add_user(boot, "revisor", "auditor")
    boot.db.dispose()
    arkiv = App.open(url, actor="arkiv", data_dir=data)
    arkiv.role = "archivist"
    import_facebook_dump(arkiv, [str(generate_dump(tmp_path / "dump.jsonl", 1_200))])
    arkiv.db.dispose()
    ref, killed = tmp_path / "ref.db", tmp_path / "killed.db"
    # one snapshot of the policy for both runs (a judge run reads the policy file when it starts)
    policy = tmp_path / "policy.toml"
    policy.write_bytes((ROOT / "ringebu_journal" / "judge" / "default_policy.toml").read_bytes())
    _copy(seed, ref)
    _copy(seed, killed)

    # judge (1,212 messages, batches of 1,000): killed inside the first batch's transaction,
    # after it committed, and inside the second batch's transaction of the resumed run
    _run(ref, data, "arkiv", "judge", "--policy", str(policy))
    kurl = f"sqlite:///{killed}"
    judged = []
    for step in ("judge.batch:1", "judge.committed:1", "judge.batch:2"):
        _killed_at(_cli(killed, data, "arkiv", "judge", "--policy", str(policy)), _env("arkiv"), step)
        judged.append(_count(kurl, Judgment.__table__))
        _verify(killed, data)
    assert judged == [0, 1_000, 1_000], judged
    _run(killed, data, "arkiv", "judge", "--policy", str(policy))
    _same_tables(ref, killed)

    # export: the package's dates come from the judgments' times, so the uninterrupted export runs
    # on a copy of the killed database as it is now; the killed export must give the same bytes.
    # Killed at each step of publishing (see ringebu_journal/export/noark5.py), each run to the
    # same --out reconciling what the one before left.
    ref2 = tmp_path / "ref2.db"
    _copy(killed, ref2)
    _run(ref2, data, "arkiv", "export", "noark5", "--out", str(tmp_path / "ref-out" / "pakke"))
    out = tmp_path / "killed-out" / "pakke"
    intent = out.parent / ".pakke.publishing"
    expect = {  # step: (package folder exists, intent file exists, exports recorded)
        "export.validated:1": (False, False, 0),
        "export.intent:1": (False, True, 0),
        "export.published:1": (True, True, 0),      # published, not recorded: the next run withdraws it
        "export.recording:1": (True, True, 0),      # killed inside the recording transaction
        "export.recorded:1": (True, True, 1),       # recorded; only the stale intent is left
    }
    for step, (published, intended, recorded) in expect.items():
        _killed_at(_cli(killed, data, "arkiv", "export", "noark5", "--out", str(out)), _env("arkiv"), step)
        assert (out.exists(), intent.exists(), _count(kurl, Export.__table__)) == (published, intended, recorded), step
        _verify(killed, data)
    again = subprocess.run(_cli(killed, data, "arkiv", "export", "noark5", "--out", str(out)), cwd=ROOT,
                           env=_env("arkiv"), capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "exists already" in again.stderr, again.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == ["pakke"]      # no partial folder or intent left
    _same_tables(ref2, killed)
    assert _files(out) == _files(tmp_path / "ref-out" / "pakke")
    _verify(killed, data)


def _same_tables(ref: Path, other: Path) -> None:
    a, b = App.open(f"sqlite:///{ref}", actor="x"), App.open(f"sqlite:///{other}", actor="x")
    try:
        want, got = table_dump(a, ignore=WALL_CLOCK), table_dump(b, ignore=WALL_CLOCK)
    finally:
        a.db.dispose()
        b.db.dispose()
    assert got == want, _diff(want, got)


APPEND_SCRIPT = r"""
import sys
sys.path.insert(0, {root!r})
from sqlalchemy import select, func
from ringebu_journal.app import App
from ringebu_journal.db.tables import AuditEvent
A = AuditEvent.__table__
app = App.open({url!r}, actor="arkiv")
app.role = "archivist"
TOTAL, PER = {total}, {per}
with app.db.read() as conn:
    done = conn.execute(select(func.count()).select_from(A).where(A.c.action == "test.append")).scalar_one()
i = done
while i < TOTAL:
    with app.db.write() as conn:                      # PER events in one transaction: all or none
        for k in range(PER):
            app.audit(conn, "test.append", "item", i + k, after={{"i": i + k, "tx": i // PER}}, reason="kill test")
    i += PER

"""


def test_kill_9_during_audit_appends_keeps_whole_transactions(tmp_path):
    db, data = tmp_path / "a.db", tmp_path / "data"
    url = f"sqlite:///{db}"
    boot = App.open(url, actor="admin", data_dir=data)
    init_database(boot)
    boot.role = "admin"
    add_user(boot, "arkiv", "archivist")
    add_user(boot, "revisor", "auditor")
    boot.db.dispose()
    ref = tmp_path / "ref.db"
    _copy(db, ref)
    total, per = 1400, 7
    script = APPEND_SCRIPT.format(root=str(ROOT), url=url, total=total, per=per)
    counts = []
    # each run resumes where the last one stopped; the kill lands at the N-th event of that run:
    # inside a transaction (N not a multiple of 7) or at its last event before the commit
    for step, committed in (("audit.append:1", 0), ("audit.append:73", 70), ("audit.append:350", 413),
                            ("audit.append:704", 1113)):
        p = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, RINGEBU_JOURNAL_KILL_AT=step))
        assert p.returncode == -signal.SIGKILL, p.stderr
        app = App.open(url, actor="x")
        with app.db.read() as conn:
            A = AuditEvent.__table__
            n = conn.execute(select(func.count()).select_from(A).where(A.c.action == "test.append")).scalar_one()
        app.db.dispose()
        assert n % per == 0, f"a transaction was half-appended: {n} events"
        assert n == committed, (step, n)
        counts.append(n)
        _verify(db, data)
    assert counts[-1] < total, "the kills came too late to interrupt anything"
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, capture_output=True, timeout=300)
    subprocess.run([sys.executable, "-c", APPEND_SCRIPT.format(root=str(ROOT), url=f"sqlite:///{ref}", total=total,
                                                               per=per)], cwd=ROOT, check=True, capture_output=True,
                   timeout=300)
    a, b = App.open(f"sqlite:///{ref}", actor="x"), App.open(url, actor="x")
    try:
        assert table_dump(b, ignore={"*": set(), "audit_events": {"at", "prev_hash", "hash", "canonical"}}) == \
            table_dump(a, ignore={"*": set(), "audit_events": {"at", "prev_hash", "hash", "canonical"}})
    finally:
        a.db.dispose()
        b.db.dispose()
    _verify(db, data)


def _diff(want: dict, got: dict) -> str:
    lines = []
    for t in sorted(set(want) | set(got)):
        w, g = set(want.get(t, [])), set(got.get(t, []))
        for r in sorted(w - g)[:5]:
            lines.append(f"{t} only uninterrupted: {r[:300]}")
        for r in sorted(g - w)[:5]:
            lines.append(f"{t} only killed: {r[:300]}")
    return "\n".join(lines)
