"""Audit trail: store the hashed record bytes of every event (``audit_events.canonical``).

Existing events get the bytes the recipe in ringebu_journal/audit.py rebuilds from their
columns; no hash, prev_hash or column changes. If an event's columns had been changed before
this upgrade, its new record bytes carry the change and do not match its hash, so ``audit
verify`` still names it; an event whose before/after is not JSON at all (which only tampering
produces) gets empty record bytes, which match no hash either.

On PostgreSQL the append-only trigger is lifted for the fill and restored in the same
transaction (a failed upgrade leaves the table as it was).

Revision ID: 0002_audit_canonical
Revises: 0001
"""

import json

import sqlalchemy as sa
from alembic import op

from ringebu_journal.db.batches import ROWS_PER_BATCH

revision = '0002_audit_canonical'
down_revision = '0001'
branch_labels = None
depends_on = None

_BATCH = ROWS_PER_BATCH


def _record(seq, at, actor, role, action, object_type, object_id, before, after, reason) -> bytes:
    """The recipe's canonical JSON (frozen here: a migration must not follow later code)."""
    try:
        body = {"seq": seq, "at": at, "actor": actor, "role": role, "action": action,
                "object_type": object_type, "object_id": object_id,
                "before": json.loads(before), "after": json.loads(after), "reason": reason}
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError):
        return b""


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    op.add_column('audit_events', sa.Column('canonical', sa.LargeBinary(), nullable=True))
    if pg:
        op.execute("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
    events = sa.table(
        'audit_events', sa.column('seq'), sa.column('at'), sa.column('actor'), sa.column('role'),
        sa.column('action'), sa.column('object_type'), sa.column('object_id'), sa.column('before'),
        sa.column('after'), sa.column('reason'), sa.column('canonical', sa.LargeBinary()),
    )
    cols = [events.c[k] for k in ("seq", "at", "actor", "role", "action", "object_type", "object_id",
                                  "before", "after", "reason")]
    update = (events.update().where(events.c.seq == sa.bindparam('s'))
              .values(canonical=sa.bindparam('c', type_=sa.LargeBinary())))
    last = None
    while True:
        stmt = sa.select(*cols).order_by(events.c.seq).limit(_BATCH)
        if last is not None:
            stmt = stmt.where(events.c.seq > last)
        rows = bind.execute(stmt).all()
        if not rows:
            break
        bind.execute(update, [{"s": r[0], "c": _record(*r)} for r in rows])
        last = rows[-1][0]
    if pg:
        op.execute("ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only")
        op.alter_column('audit_events', 'canonical', existing_type=sa.LargeBinary(), nullable=False)
    else:
        with op.batch_alter_table('audit_events', schema=None) as batch_op:
            batch_op.alter_column('canonical', existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('canonical')
