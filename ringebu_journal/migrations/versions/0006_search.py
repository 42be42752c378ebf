"""Full-text search over messages: SQLite FTS5 and PostgreSQL's Norwegian text search.

Revision ID: 0006_search
Revises: 0005_numbers

SQLite: ``messages_fts``, an FTS5 table over ``messages.text`` and ``author_name`` with ``messages`` as its
external content (nothing is stored twice), tokenised by ``unicode61`` with diacritics kept
(å, ø and æ are letters of their own in Norwegian) and prefix indexes for 2 and 3 characters.
Three triggers keep it in step with every write to ``messages`` — the import store's bulk
inserts, new versions, status changes and any deletion — so no code path can forget it. Every
version is indexed; search asks for current versions only.

PostgreSQL: a GIN index on ``to_tsvector('norwegian', left(text, 100000))`` and one on the words
of the author's name (``'simple'``: no stemming of names), expression indexes the server keeps in
step by itself. The first 100,000 characters of a message are indexed (a
tsvector has a size limit of 1 MB; social-media messages are far shorter).

Both are built over the messages already stored when the database is upgraded. On both, an
index on ``judgments.decision`` and ``moderator_decisions.decision`` lets a search by decision
start from the few messages that can have it.

A later migration that rebuilds ``messages`` on SQLite (``batch_alter_table`` copies the table)
drops its triggers: it must create them again (the statements below) and rebuild the index.
"""

from alembic import op


revision = '0006_search'
down_revision = '0005_numbers'
branch_labels = None
depends_on = None


SQLITE_UP = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, author_name, content='messages', content_rowid='id', "
    "tokenize='unicode61 remove_diacritics 0', prefix='2 3')",
    "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, text, author_name) VALUES (new.id, new.text, new.author_name); END",
    "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text, author_name) "
    "VALUES ('delete', old.id, old.text, old.author_name); END",
    "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, author_name ON messages BEGIN "
    "INSERT INTO messages_fts(messages_fts, rowid, text, author_name) "
    "VALUES ('delete', old.id, old.text, old.author_name); "
    "INSERT INTO messages_fts(rowid, text, author_name) VALUES (new.id, new.text, new.author_name); END",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_insert",
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
]
BOTH_DOWN = ["DROP INDEX IF EXISTS ix_moderator_decision_decision", "DROP INDEX IF EXISTS ix_judgment_decision"]


def upgrade() -> None:
    bind = op.get_bind()
    for stmt in (SQLITE_UP if bind.dialect.name == "sqlite" else PG_UP) + BOTH_UP:
        op.execute(stmt)


def downgrade() -> None:
    bind = op.get_bind()
    for stmt in BOTH_DOWN + (SQLITE_DOWN if bind.dialect.name == "sqlite" else PG_DOWN):
        op.execute(stmt)
