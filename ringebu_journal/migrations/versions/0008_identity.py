"""Authenticated identities: ``audit_events.identity`` and the ``delegations`` table.

Revision ID: 0008_identity
Revises: 0007_web_accounts

Existing events keep ``identity`` NULL: their hashed record has no identity field, and the
recipe adds the field only when it is set, so every existing chain verifies unchanged. Adding
a nullable column rewrites no row, so the PostgreSQL append-only trigger is not involved.
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008_identity'
down_revision = '0007_web_accounts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_events', sa.Column('identity', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    op.create_table('delegations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('identity', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('until', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_identity', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', 'identity', name='uq_delegation')
    )


def downgrade() -> None:
    op.drop_table('delegations')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('identity')
