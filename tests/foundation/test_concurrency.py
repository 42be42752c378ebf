"""Concurrent writers never fork the audit chain (several real processes, both databases)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from ringebu_journal import audit

WRITER = textwrap.dedent('''
    import sys
    from ringebu_journal.app import App
    url, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    app = App.open(url, actor=name, data_dir="/tmp")
    app.role = "archivist"
    for i in range(n):
        with app.db.write() as conn:
            app.audit(conn, "test.concurrent", "writer", name, after={"i": i})
    app.db.dispose()
''')


def test_parallel_writers_keep_one_chain(make_app, tmp_path):
    app = make_app("archivist")
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    url = str(app.db.engine.url.render_as_string(hide_password=False))
    procs = [
        subprocess.Popen([sys.executable, str(script), url, f"w{i}", "60"], stderr=subprocess.PIPE, text=True)
        for i in range(6)
    ]
    for p in procs:
        _, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
    with app.db.read() as conn:
        events = list(audit.iter_events(conn))
        res = audit.verify(conn)
    assert res.ok, res.line()
    mine = [e for e in events if e["action"] == "test.concurrent"]
    assert len(mine) == 6 * 60
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1))
