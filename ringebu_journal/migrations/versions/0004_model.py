"""The judge's learned model: its hash on every judgment, and the models staff have put in use.

Revision ID: 0004_model
Revises: 0003_arkivmelding_outbox
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004_model'
down_revision = '0003_arkivmelding_outbox'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('judgments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_hash', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=False, server_default=''))
    op.create_table('judge_models',
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('version', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('trained_on', sa.JSON(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )


def downgrade() -> None:
    op.drop_table('judge_models')
    with op.batch_alter_table('judgments', schema=None) as batch_op:
        batch_op.drop_column('model_hash')
