"""The web workspace: password hashes on users, and the signed-in sessions.

Revision ID: 0007_web_accounts
Revises: 0006_search (0005_numbers in the shared plan; chained after search here, where both are present)

``users.password_hash`` holds an argon2id hash (never the password); a user without one cannot
sign in with a password (the CLI still works for them, and so does single sign-on through the
reverse proxy when it is switched on). ``web_sessions`` keeps one row per signed-in browser:
the SHA-256 of the cookie's token (the token itself is never stored), the CSRF token of the
session, and when it expires. Signing out deletes the row.

Two indexes on ``messages`` serve the thread shown around a message on every queue and message
page: replies by ``(platform, parent_platform_id)``, a conversation by ``(platform,
conversation_id, created_at)`` (without them each page read the whole table); and the
arkivmeldinger about a message, by ``outbox_messages.message_id``.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007_web_accounts'
down_revision = '0006_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_hash', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('password_changed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_table('web_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('csrf_token', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash', name='uq_web_session_token')
    )
    op.create_index('ix_web_sessions_user_name', 'web_sessions', ['user_name'], unique=False)
    op.create_index('ix_message_parent', 'messages', ['platform', 'parent_platform_id'], unique=False)
    op.create_index('ix_message_conversation', 'messages', ['platform', 'conversation_id', 'created_at'], unique=False)
    op.create_index('ix_outbox_message', 'outbox_messages', ['message_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_message', table_name='outbox_messages')
    op.drop_index('ix_message_conversation', table_name='messages')
    op.drop_index('ix_message_parent', table_name='messages')
    op.drop_index('ix_web_sessions_user_name', table_name='web_sessions')
    op.drop_table('web_sessions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('password_hash')
