"""Issue 18, third round (import at a third of the floor): what was changed for speed keeps
what the import stores and says.

* a new SQLite database has pages of 16 KiB (fewer B-tree pages per message row with its raw
  JSON); a database made with 4 KiB pages keeps them and imports the same rows;
"""

from __future__ import annotations

import sqlite3

from imp_helpers import canonical, make_archivist_app, write_feed_dump
from ringebu_journal.db.engine import SQLITE_PAGE_SIZE
from ringebu_journal.importers import run


def _page_size(path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA page_size").fetchone()[0]
    finally:
        con.close()


POSTS = [("9001", "Informasjon om vann", [("1", "Når kommer vannet tilbake?", None), ("2", "Takk!", "1")]),
         ("9002", "Brøyting i Frya", [("3", "Vegen er ikke brøytet", None)])]


def test_a_new_sqlite_database_has_16_kib_pages_and_an_old_one_keeps_its_own(tmp_path):
    new_db = tmp_path / "new.db"
    app = make_archivist_app(f"sqlite:///{new_db}", tmp_path / "data-new")
    assert SQLITE_PAGE_SIZE == 16384
    assert _page_size(new_db) == 16384
    dump = write_feed_dump(tmp_path / "dump.jsonl", POSTS)
    run.import_facebook_dump(app, [str(dump)])

    old_db = tmp_path / "old.db"
    con = sqlite3.connect(old_db)
    con.execute("PRAGMA page_size=4096")
    con.execute("PRAGMA journal_mode=WAL")           # the page size is fixed from here on
    con.close()
    old = make_archivist_app(f"sqlite:///{old_db}", tmp_path / "data-old")
    assert _page_size(old_db) == 4096
    run.import_facebook_dump(old, [str(dump)])
    assert _page_size(old_db) == 4096
    assert canonical(old) == canonical(app)
    assert len(canonical(app)["messages"]) == 5
    app.db.dispose()
    old.db.dispose()
