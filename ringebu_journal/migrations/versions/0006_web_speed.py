"""Indexes for the web workspace's message page: the replies to a message, a conversation's messages.

Revision ID: 0006_web_speed
Revises: 0006_web_accounts (0005_numbers in the shared plan; chained after the web accounts here,
where both are present)

The message page lists the replies to a message (``parent_platform_id``) and the rest of a
Messenger conversation (``conversation_id``); without these indexes each look-up read the whole
messages table. Indexes only: no data changes, nothing to migrate back but the indexes.
"""

from alembic import op


revision = '0006_web_speed'
down_revision = '0006_web_accounts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_message_parent', 'messages', ['platform', 'parent_platform_id'], unique=False)
    op.create_index('ix_message_conversation', 'messages', ['platform', 'conversation_id', 'created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_message_conversation', table_name='messages')
    op.drop_index('ix_message_parent', table_name='messages')
