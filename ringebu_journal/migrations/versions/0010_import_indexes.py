"""The thread indexes of ``messages`` hold only the rows they can find.

Revision ID: 0010_import_indexes
Revises: 0009_judge_speed

``ix_message_conversation`` (platform, conversation_id, created_at) serves "the messages of this
conversation" and ``ix_message_parent_created`` (platform, parent_platform_id, created_at) "the
replies to this message" and the judge's thread context; both are only ever asked for one value
(``conversation_id = …``, ``parent_platform_id = …``), never for NULL. ``ix_message_parent``
(platform, parent_platform_id) is dropped: it is the leading part of ``ix_message_parent_created``,
and every import paid for writing both. Rows without the value — every post and comment for the first, every
post and private message for the second — are now left out of them (partial indexes, ``WHERE …
IS NOT NULL``, on SQLite and PostgreSQL alike). The same queries use them as before (both
planners take a partial index for ``column = value``); an import of page comments no longer
writes an entry per comment into the conversation index, the largest share of its insert time.
"""

from alembic import op
import sqlalchemy as sa


revision = '0010_import_indexes'
down_revision = '0009_judge_speed'
branch_labels = None
depends_on = None


def _where(column: str) -> dict:
    cond = sa.text(f"{column} IS NOT NULL")
    return {"sqlite_where": cond, "postgresql_where": cond}


def upgrade() -> None:
    op.drop_index('ix_message_conversation', table_name='messages')
    op.drop_index('ix_message_parent', table_name='messages')
    op.drop_index('ix_message_parent_created', table_name='messages')
    op.create_index('ix_message_parent_created', 'messages', ['platform', 'parent_platform_id', 'created_at'],
                    unique=False, **_where('parent_platform_id'))
    op.create_index('ix_message_conversation', 'messages', ['platform', 'conversation_id', 'created_at'],
                    unique=False, **_where('conversation_id'))


def downgrade() -> None:
    op.drop_index('ix_message_conversation', table_name='messages')
    op.drop_index('ix_message_parent_created', table_name='messages')
    op.create_index('ix_message_parent_created', 'messages', ['platform', 'parent_platform_id', 'created_at'],
                    unique=False)
    op.create_index('ix_message_parent', 'messages', ['platform', 'parent_platform_id'], unique=False)
    op.create_index('ix_message_conversation', 'messages', ['platform', 'conversation_id', 'created_at'],
                    unique=False)
