"""The registry of numbers: case_numbers and journal_numbers; numbers for journal messages already stored.

Revision ID: 0005_numbers
Revises: 0004_model

Messages whose effective decision is journal when the database is upgraded get their numbers
here, deterministically (``ringebu_journal.registry.assign_missing``: by decision time, then
creation time, platform and platform id; journaldato the Oslo day of the decision time).
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005_numbers'
down_revision = '0004_model'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_numbers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_key', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=True),
    sa.Column('saksaar', sa.Integer(), nullable=False),
    sa.Column('sakssekvensnummer', sa.Integer(), nullable=False),
    sa.Column('saksdato', sa.Date(), nullable=False),
    sa.Column('assigned_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('assigned_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_key', name='uq_case_key'),
    sa.UniqueConstraint('saksaar', 'sakssekvensnummer', name='uq_case_number')
    )
    op.create_table('journal_numbers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('platform_message_id', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('journalaar', sa.Integer(), nullable=False),
    sa.Column('journalsekvensnummer', sa.Integer(), nullable=False),
    sa.Column('journalpostnummer', sa.Integer(), nullable=False),
    sa.Column('journaldato', sa.Date(), nullable=False),
    sa.Column('assigned_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('assigned_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_numbers.id'], ),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'platform_message_id', name='uq_journal_message'),
    sa.UniqueConstraint('journalaar', 'journalsekvensnummer', name='uq_journal_number'),
    sa.UniqueConstraint('case_id', 'journalpostnummer', name='uq_journalpost_in_case')
    )
    with op.batch_alter_table('journal_numbers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_numbers_case_id'), ['case_id'], unique=False)

    from ringebu_journal.registry import assign_missing
    assign_missing(op.get_bind(), actor="ringebu-journal (migration 0005_numbers)")


def downgrade() -> None:
    with op.batch_alter_table('journal_numbers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_numbers_case_id'))
    op.drop_table('journal_numbers')
    op.drop_table('case_numbers')
