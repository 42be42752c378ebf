"""Full-text search over messages: SQLite FTS5 and PostgreSQL's Norwegian text search.

Revision ID: 0006_search
Revises: 0005_numbers

SQLite: ``messages_fts`` over ``messages.text`` and ``authors_fts`` over ``messages.author_name``,
FTS5 tables with ``messages`` as their external content (nothing is stored twice), tokenised by
``unicode61`` with diacritics kept (å, ø and æ are letters of their own in Norwegian). They keep
which messages hold a word, not where (``detail=none``, ``columnsize=0``): search asks whether
every word occurs, never for phrases or ranking. New rows are indexed in bulk, not by a trigger
per row: ``search_index_state.last_message_id`` is the newest message id indexed, and
``ringebu_journal.search`` indexes every row after it before it searches (one ``INSERT … SELECT``;
an FTS5 insert from a row trigger costs the import a third of its speed, the bulk insert a
fifteenth of that). Message rows are written once and never change (an edit or a status change is
a new row), and SQLite gives a new row the next id, so the newest ids are exactly the rows not
yet indexed. Should a row that is indexed change its text or be deleted, triggers take it out
of the index (and put the new text in) at once. Every version is indexed; search asks for
current versions only.

PostgreSQL: a GIN index on ``to_tsvector('norwegian', left(text, 100000))`` and one on the words
of the author's name (``'simple'``: no stemming of names), expression indexes the server keeps in
step by itself. The first 100,000 characters of a message are indexed (a
tsvector has a size limit of 1 MB; social-media messages are far shorter).

Both are built over the messages already stored when the database is upgraded. On both, an
index on ``judgments.decision`` and ``moderator_decisions.decision`` lets a search by decision
start from the few messages that can have it, and one on ``messages.author_id`` finds an
author's messages by id.

A later migration that rebuilds ``messages`` on SQLite (``batch_alter_table`` copies the table)
drops its triggers: it must create them again (the statements below) and rebuild the index.
"""

from alembic import op


revision = '0006_search'
down_revision = '0005_numbers'
branch_labels = None
depends_on = None


_FTS = ("fts5({col}, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 0', "
        "detail=none, columnsize=0)")

_INDEXED = "(SELECT last_message_id FROM search_index_state WHERE id = 1)"

SQLITE_UP = [
    "CREATE VIRTUAL TABLE messages_fts USING " + _FTS.format(col="text"),
    "CREATE VIRTUAL TABLE authors_fts USING " + _FTS.format(col="author_name"),
    "CREATE TABLE search_index_state (id INTEGER PRIMARY KEY CHECK (id = 1), last_message_id INTEGER NOT NULL)",
    # a row already indexed that is deleted or whose text changes leaves the index with it
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.id <= " + _INDEXED + " BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO authors_fts(authors_fts, rowid, author_name) VALUES ('delete', old.id, old.author_name); "
    # the newest indexed row gone: its id may be given again, and must then be indexed
    "UPDATE search_index_state SET last_message_id = old.id - 1 WHERE id = 1 AND last_message_id = old.id; END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, author_name ON messages WHEN old.id <= "
    + _INDEXED + " BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO authors_fts(authors_fts, rowid, author_name) VALUES ('delete', old.id, old.author_name); "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); "
    "INSERT INTO authors_fts(rowid, author_name) VALUES (new.id, new.author_name); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
    "INSERT INTO authors_fts(authors_fts) VALUES ('rebuild')",
    "INSERT INTO search_index_state (id, last_message_id) SELECT 1, coalesce(max(id), 0) FROM messages",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TABLE IF EXISTS search_index_state",
    "DROP TABLE IF EXISTS authors_fts",
    "DROP TABLE IF EXISTS messages_fts",
]

PG_UP = [
    "CREATE INDEX ix_messages_text_search ON messages USING gin (to_tsvector('norwegian', left(text, 100000)))",
    "CREATE INDEX ix_messages_author_search ON messages USING gin "
    "(to_tsvector('simple', coalesce(author_name, '')))",
]

PG_DOWN = ["DROP INDEX IF EXISTS ix_messages_author_search", "DROP INDEX IF EXISTS ix_messages_text_search"]

#: search by effective decision starts from the judgments and decisions of that value
BOTH_UP = [
    "CREATE INDEX ix_judgment_decision ON judgments (decision)",
    "CREATE INDEX ix_moderator_decision_decision ON moderator_decisions (decision)",
    "CREATE INDEX ix_message_author ON messages (author_id)",
]
BOTH_DOWN = ["DROP INDEX IF EXISTS ix_message_author", "DROP INDEX IF EXISTS ix_moderator_decision_decision",
             "DROP INDEX IF EXISTS ix_judgment_decision"]


def upgrade() -> None:
    bind = op.get_bind()
    for stmt in (SQLITE_UP if bind.dialect.name == "sqlite" else PG_UP) + BOTH_UP:
        op.execute(stmt)


def downgrade() -> None:
    bind = op.get_bind()
    for stmt in BOTH_DOWN + (SQLITE_DOWN if bind.dialect.name == "sqlite" else PG_DOWN):
        op.execute(stmt)
