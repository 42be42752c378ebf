"""The replies under a parent in order of time: ``ix_message_parent_created``.

Revision ID: 0009_judge_speed
Revises: 0008_identity

The judge's thread context (``judging.context_for``) reads, for each batch, the siblings created
within the batch's time span under its rows' parents and, under each parent, the time of the
latest sibling before that span (a ``max(created_at)`` grouped by parent). With an index on
(platform, parent_platform_id) alone the second read every reply row under each parent for every
batch; with ``created_at`` in the index it reads the index only (the judge command's thread
context took about 40 % less CPU time per message: 15,000 comments in one thread and in 150
threads on SQLite). ``ix_message_parent`` stays for the lookups by parent alone. Adding an index
rewrites no row.
"""

from alembic import op


revision = '0009_judge_speed'
down_revision = '0008_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_message_parent_created', 'messages', ['platform', 'parent_platform_id', 'created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_message_parent_created', table_name='messages')
