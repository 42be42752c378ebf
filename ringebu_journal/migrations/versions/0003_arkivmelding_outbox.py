"""Arkivmelding lifecycle and outbox: arkivmelding_keys, outbox_messages.

Revision ID: 0003_arkivmelding_outbox
Revises: 0002_audit_canonical
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003_arkivmelding_outbox'
down_revision = '0002_audit_canonical'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('arkivmelding_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('system_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('noekkel', sa.Text(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('platform_message_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('mappe_system_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('updates', sa.Integer(), nullable=False),
    sa.Column('state_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('sent', sa.JSON(), nullable=False),
    sa.Column('avskrevet', sa.Boolean(), nullable=False),
    sa.Column('first_seq', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'system_id', name='uq_arkivmelding_key')
    )
    op.create_table('outbox_messages',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('outbox', sa.Text(), nullable=False),
    sa.Column('folder', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('key_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('system_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('melding_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('export_id', sa.Integer(), nullable=True),
    sa.Column('audit_seq', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('receipt', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('receipt_file', sa.Text(), nullable=True),
    sa.Column('receipt_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('receipt_detail', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['export_id'], ['exports.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('melding_id')
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_key', ['system_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_key')
    op.drop_table('outbox_messages')
    op.drop_table('arkivmelding_keys')
