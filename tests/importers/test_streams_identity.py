"""Issue 15, items 1–3 and 7: streams are read once, devices refused, one id is one message,
and a PostgreSQL database keeps its attachments in its recorded data folder.

Streams are exercised through the real command line in a subprocess (a real pipe, a FIFO,
``/dev/fd/N`` as ``<(…)`` gives it), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ringebu_journal.cli.operations import command_line
from imp_helpers import make_archivist_app
from ringebu_journal.app import App, add_user, init_database
from ringebu_journal.db.tables import ImportBatch, Message
from ringebu_journal.errors import UsageError, render_text
from ringebu_journal.importers import run

ROOT = Path(__file__).resolve().parents[2]
MSG = Message.__table__
BATCH = ImportBatch.__table__


def rec(mid: str, text: str, *, account: str = "104", post: str = "104_9", author: str = "u1", **kw) -> str:
    obj = {"platform": "facebook", "kind": "comment", "id": mid, "account_id": account, "post_id": post,
           "author": {"id": author, "name": f"Navn {author}"}, "text": text, "created_at": "2024-05-02T08:15:30Z"}
    obj.update(kw)
    return json.dumps(obj, ensure_ascii=False)


DATA = ("\n".join([rec("1_1", "Klage på brøytinga"), rec("1_2", "Takk for svaret")]) + "\n").encode()


def _cli(app: App, *args: str, stdin=None, input_: bytes | None = None, pass_fds=()) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "ringebu_journal.cli.main", "--db", app.db.url, "--data-dir", str(app.data_dir), "--quiet", *args]
    return subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, RINGEBU_JOURNAL_ACTOR="arkiv"), stdin=stdin,
                          input=input_, capture_output=True, timeout=120, pass_fds=pass_fds)


def _counts(app: App) -> tuple[int, list[str]]:
    with app.db.read() as conn:
        n = conn.execute(select(func.count()).select_from(MSG)).scalar_one()
        status = [r.status for r in conn.execute(select(BATCH.c.status).order_by(BATCH.c.id))]
    return n, status


def test_standard_input_pipe_is_imported_and_a_rerun_is_recognised(any_app):
    p = _cli(any_app, "import", "jsonl", "-", input_=DATA)
    assert p.returncode == 0, p.stderr
    assert b"new        2" in p.stdout
    assert _counts(any_app) == (2, ["done"])
    again = _cli(any_app, "import", "jsonl", "-", input_=DATA)
    assert again.returncode == 0 and b"already imported" in again.stdout
    assert _counts(any_app) == (2, ["done"])


def test_dev_fd_as_process_substitution_gives_it(any_app):
    r, w = os.pipe()

    def write():
        with os.fdopen(w, "wb") as fh:
            fh.write(DATA)

    t = threading.Thread(target=write)
    t.start()
    try:
        p = _cli(any_app, "import", "facebook-dump", f"/dev/fd/{r}", pass_fds=(r,))
    finally:
        t.join()
        os.close(r)
    # the records are generic JSON Lines, not a Graph dump: rejected, and the user is told which command reads them
    assert p.returncode == 1, p.stderr
    assert b"import jsonl" in p.stdout + p.stderr
    r2, w2 = os.pipe()
    t = threading.Thread(target=lambda: (os.write(w2, DATA), os.close(w2)))
    t.start()
    try:
        p = _cli(any_app, "import", "jsonl", f"/dev/fd/{r2}", pass_fds=(r2,))
    finally:
        t.join()
        os.close(r2)
    assert p.returncode == 0, p.stderr
    assert _counts(any_app)[0] == 2


def test_fifo_is_read_to_its_end(any_app, tmp_path):
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)

    def write():
        with open(fifo, "wb") as fh:
            fh.write(DATA)

    t = threading.Thread(target=write)
    t.start()
    p = _cli(any_app, "import", "jsonl", str(fifo))
    t.join()
    assert p.returncode == 0, p.stderr
    assert _counts(any_app) == (2, ["done"])


@pytest.mark.parametrize("command", ["jsonl", "facebook-dump", "x-archive", "facebook-export"])
def test_devices_and_link_loops_are_refused_with_one_line_and_no_batch(any_app, tmp_path, command):
    loop = tmp_path / "loop"
    os.symlink(tmp_path / "loop2", loop)
    os.symlink(loop, tmp_path / "loop2")
    for path, words in (("/dev/zero", b"a device such as /dev/zero"), (str(loop), b"loop of symbolic links"),
                        (str(tmp_path / "dangling"), b"no such file")):
        p = _cli(any_app, "import", command, path)
        assert p.returncode == 2, (path, p.stderr)
        assert words in p.stderr and p.stderr.count(b"\n") == 1 and b"Traceback" not in p.stderr, p.stderr
    p = _cli(any_app, "import", command, "-", stdin=subprocess.DEVNULL)
    assert p.returncode == 2 and b"standard input is a device" in p.stderr
    assert _counts(any_app) == (0, [])


def test_stream_larger_than_the_limit_is_refused_and_nothing_left(tmp_path, monkeypatch):
    import io
    import tempfile

    from ringebu_journal.importers import sources

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(UsageError, match="more than 1,000 bytes"):
        sources.spool(io.BytesIO(b"x" * 5000), "standard input", limit=1000)
    assert list(tmp_path.iterdir()) == []


# -- item 2: one id, one message ----------------------------------------------------------------


def _versions(app: App, mid: str) -> list[tuple[int, str, str]]:
    with app.db.read() as conn:
        return [(r.version, r.text, r.author_id) for r in conn.execute(
            select(MSG.c.version, MSG.c.text, MSG.c.author_id).where(MSG.c.platform_message_id == mid)
            .order_by(MSG.c.version))]


def test_a_different_message_with_a_stored_id_is_rejected_not_a_new_version(any_app, tmp_path):
    first = tmp_path / "first.jsonl"
    first.write_text(rec("7_1", "Klage: vedtaket om skoleskyss er feil") + "\n", encoding="utf-8")
    run.import_jsonl(any_app, [str(first)])
    other = tmp_path / "other.jsonl"
    other.write_text("\n".join([
        rec("7_1", "Når åpner bassenget?", account="205", post="205_3", author="u9"),   # another message, same id
        rec("7_1", "Klage: vedtaket om skoleskyss er feil (rettet)"),                   # a real edit
        rec("7_1", "Hei", author="u8"),                                                 # another author
    ]) + "\n", encoding="utf-8")
    s = run.import_jsonl(any_app, [str(other)])
    assert s.rejected == 2
    lines = "\n".join(s.lines())
    assert "other.jsonl:line 1: facebook id 7_1 is already stored for a different message " \
           "(another account, another author, another post)" in lines
    assert "other.jsonl:line 3:" in lines and "(another author)" in lines
    assert _versions(any_app, "7_1") == [(1, "Klage: vedtaket om skoleskyss er feil", "u1"),
                                         (2, "Klage: vedtaket om skoleskyss er feil (rettet)", "u1")]


def test_conflicting_ids_within_one_file_keep_the_first(any_app, tmp_path):
    f = tmp_path / "one.jsonl"
    f.write_text("\n".join([rec("8_1", "Første", conversation_id="t1", kind="message", post=None),
                            rec("8_1", "Andre", conversation_id="t2", kind="message", post=None)]) + "\n",
                 encoding="utf-8")
    s = run.import_jsonl(any_app, [str(f)])
    assert s.rejected == 1 and "(another conversation)" in "\n".join(s.lines())
    assert [v[1] for v in _versions(any_app, "8_1")] == ["Første"]


# -- item 3: the data folder of a PostgreSQL database -------------------------------------------


def test_postgresql_without_a_recorded_data_folder_refuses_imports(pg_url, tmp_path, monkeypatch):
    monkeypatch.delenv("RINGEBU_JOURNAL_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    boot = App.open(pg_url, actor="admin")
    res = init_database(boot)
    assert res.data_dir is None
    add_user(boot, "arkiv", "archivist")               # imports are the archivist's (import.run)
    boot.db.dispose()
    app = App.open(pg_url, actor="arkiv")
    f = tmp_path / "a.jsonl"
    f.write_bytes(DATA)
    with pytest.raises(UsageError, match="no data folder for attachments"):
        run.import_jsonl(app, [str(f)])
    assert not (tmp_path / "ringebu-journal-data").exists()
    app.db.dispose()
    # an admin records one; from then on every command finds it without --data-dir
    admin = App.open(pg_url, actor="admin", data_dir=tmp_path / "shared")
    assert init_database(admin).data_dir == str(tmp_path / "shared")
    admin.db.dispose()
    later = App.open(pg_url, actor="admin")
    assert later.data_dir == tmp_path / "shared"
    later.db.dispose()


def test_attachment_bytes_go_to_the_recorded_folder_on_both_databases(tmp_path, db_url, monkeypatch):
    app = make_archivist_app(db_url, tmp_path / "data")
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "b.png").write_bytes(png)
    (tmp_path / "in" / "a.jsonl").write_text(rec("9_1", "Se bildet", attachments=[{"path": "b.png"}]) + "\n")
    monkeypatch.chdir(tmp_path / "in")
    s = run.import_jsonl(app, [str(tmp_path / "in" / "a.jsonl")])
    assert s.counts["attachments"] == 1
    stored = list((tmp_path / "data" / "attachments").rglob("*"))
    assert any(p.is_file() and p.read_bytes() == png for p in stored)
    assert not (tmp_path / "in" / "ringebu-journal-data").exists()
    app.db.dispose()


# -- item 14 (imports): failed attempts, the listing cap, --dry-run, the right command ----------


def _batches_and_events(app: App) -> tuple[int, list[str]]:
    from ringebu_journal.db.tables import AuditEvent

    A = AuditEvent.__table__
    with app.db.read() as conn:
        n = conn.execute(select(func.count()).select_from(BATCH)).scalar_one()
        actions = [r.action for r in conn.execute(select(A.c.action).where(A.c.action.like("import.%")).order_by(A.c.seq))]
    return n, actions


def test_a_failed_attempt_leaves_no_batch_and_a_capped_list(any_app, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(f'{{"platform": "facebook", "id": "{i}"}}' for i in range(45)) + "\n", encoding="utf-8")
    s = run.import_jsonl(any_app, [str(bad)])
    assert s.rejected == 45 and s.batch_id is None and not s.stored
    assert _batches_and_events(any_app) == (0, ["import.rejected"])
    lines = s.lines(renderer=command_line)
    assert sum(1 for ln in lines if "bad.jsonl:line" in ln) == 20
    assert any("… and 25 more" in ln and "audit log --action import.rejected" in ln for ln in lines)
    # the fixed file is imported; the failed attempt did not make it "already imported"
    bad.write_text(rec("5_1", "Nå er den rettet") + "\n", encoding="utf-8")
    s2 = run.import_jsonl(any_app, [str(bad)])
    assert s2.batch_id is not None and not s2.already and s2.counts["platforms"]["facebook"]["new"] == 1


def test_cli_failed_attempt_and_empty_input_exit_codes(any_app, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"platform": "facebook"}\n', encoding="utf-8")
    p = _cli(any_app, "import", "jsonl", str(bad))
    assert p.returncode == 1 and b"nothing imported" in p.stdout and b"import.rejected" in p.stderr
    p = _cli(any_app, "import", "jsonl", "-", input_=b"")
    assert p.returncode == 2 and b"holds no messages" in p.stderr
    assert _batches_and_events(any_app) == (0, ["import.rejected", "import.empty"])


def test_dry_run_reports_exactly_and_stores_nothing(any_app, tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"1" * 32
    (tmp_path / "p.png").write_bytes(png)
    f = tmp_path / "d.jsonl"
    f.write_text("\n".join([rec("6_1", "En", attachments=[{"path": "p.png"}]), rec("6_1", "En (endret)"),
                            '{"platform": "facebook"}']) + "\n", encoding="utf-8")
    before = _counts(any_app)
    dry = run.import_jsonl(any_app, [str(f)], dry_run=True)
    assert dry.dry_run and dry.batch_id is None
    assert dry.counts["platforms"]["facebook"] == {"new": 1, "new_versions": 1, "unchanged": 0, "rejected": 1}
    assert dry.rejected == 1 and dry.counts["attachments"] == 1
    assert _counts(any_app) == before and _batches_and_events(any_app) == (0, [])
    assert not (any_app.data_dir / "attachments").exists()
    real = run.import_jsonl(any_app, [str(f)])
    assert real.counts["platforms"] == dry.counts["platforms"] and real.rejected == dry.rejected
    p = _cli(any_app, "import", "jsonl", "--dry-run", str(f))
    assert p.returncode == 1 and b"dry run" in p.stdout and b"nothing was stored" in p.stdout
    assert _batches_and_events(any_app)[0] == 1


def test_jsonl_on_a_graph_dump_names_the_right_command(any_app, tmp_path):
    from imp_helpers import PAGE, dump_line, feed_body

    d = tmp_path / "dump.jsonl"
    d.write_text(dump_line(feed_body([("1", "Post", [])]), f"https://graph.facebook.com/v25.0/{PAGE}/feed") + "\n")
    s = run.import_jsonl(any_app, [str(d)])
    reason = s.counts["rejections"][0]["reason"]
    assert s.rejected == 1 and "Graph API dump import" in reason            # stored in the product's words
    assert "`ringebu-journal import facebook-dump`" in render_text(reason, command_line)   # shown by the CLI
    assert any("import it with `ringebu-journal import facebook-dump`" in ln for ln in s.lines(renderer=command_line))


# -- item 5: bare numeric platform ids ---------------------------------------------------------------


def test_bare_numeric_platform_ids_resolve_on_both_databases(any_app, tmp_path, run_cli):
    from imp_helpers import db_args
    from ringebu_journal.messages import resolve

    f = tmp_path / "ids.jsonl"
    f.write_text("\n".join([
        rec("17890000000000012", "Instagram-id", platform="instagram", post="17800000000000001"),
        rec("99999999999999999999", "Over 2^63", platform="x", kind="post", post=None),
    ]) + "\n", encoding="utf-8")
    run.import_jsonl(any_app, [str(f)])
    with any_app.db.read() as conn:
        ids = dict(conn.execute(select(MSG.c.platform_message_id, MSG.c.id)).all())
    assert resolve(any_app, "17890000000000012") == ids["17890000000000012"]
    assert resolve(any_app, "99999999999999999999") == ids["99999999999999999999"]
    with pytest.raises(UsageError, match="no message with internal id"):
        resolve(any_app, "id:99999999999999999999")
    with pytest.raises(UsageError, match="no message"):
        resolve(any_app, "²")
    admin = App.open(str(any_app.db.engine.url.render_as_string(hide_password=False)), actor="admin",
                     data_dir=any_app.data_dir)
    add_user(admin, "mod", "moderator")            # users are added by the admin (the archivist may not)
    admin.db.dispose()
    code, out, err = run_cli(db_args(any_app) + ["flag", "17890000000000012", "--archive", "--reason", "test"],
                             env={"RINGEBU_JOURNAL_ACTOR": "mod"})
    assert code == 0, err
    code, out, err = run_cli(db_args(any_app) + ["show", "99999999999999999999"], env={"RINGEBU_JOURNAL_ACTOR": "mod"})
    assert code == 0 and "x:99999999999999999999" in out, err


# -- item 6: the same input twice at once --------------------------------------------------------


def test_the_same_input_twice_at_once_is_refused_while_the_first_runs(any_app, tmp_path):
    from ringebu_journal.importers.sources import file_sha256
    from ringebu_journal.importers.store import input_lock

    f = tmp_path / "a.jsonl"
    f.write_bytes(DATA)
    g = tmp_path / "b.jsonl"
    g.write_text(rec("2_1", "Et annet innspill") + "\n", encoding="utf-8")
    with input_lock(any_app, "jsonl", file_sha256(f)):          # a run of a.jsonl is working
        p = _cli(any_app, "import", "jsonl", str(f))
        assert p.returncode == 2 and b"is being imported by another `import jsonl`" in p.stderr, p.stderr
        assert p.stderr.count(b"\n") == 1
        q = _cli(any_app, "import", "jsonl", str(g))            # another input is not held up
        assert q.returncode == 0, q.stderr
    p = _cli(any_app, "import", "jsonl", str(f))
    assert p.returncode == 0, p.stderr
    n, actions = _batches_and_events(any_app)
    assert n == 2 and actions == ["import.batch", "import.batch"]
    with any_app.db.read() as conn:
        counts = [r.counts for r in conn.execute(select(BATCH.c.counts).order_by(BATCH.c.id))]
    counts = [json.loads(c) if isinstance(c, str) else c for c in counts]
    assert [c["platforms"]["facebook"]["new"] for c in counts] == [1, 2]


def test_a_killed_run_leaves_its_input_free_for_the_next(any_app, tmp_path):
    f = tmp_path / "a.jsonl"
    f.write_bytes(DATA)
    cmd = [sys.executable, "-m", "ringebu_journal.cli.main", "--db", any_app.db.url, "--data-dir", str(any_app.data_dir), "--quiet",
           "import", "jsonl", str(f)]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, timeout=120,
                       env=dict(os.environ, RINGEBU_JOURNAL_ACTOR="arkiv", RINGEBU_JOURNAL_KILL_AT="import.item:2"))
    assert p.returncode == -9
    assert _counts(any_app) == (0, ["running"])
    p = _cli(any_app, "import", "jsonl", str(f))
    assert p.returncode == 0, p.stderr
    assert _counts(any_app) == (2, ["done"])
