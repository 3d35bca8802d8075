"""my day: today's meetings of one user from an index (activities owner_id, kind, start_at)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 09:30:00

At 10M activities PostgreSQL answered "my meetings today" by intersecting ix_activities_kind_start with
every activity of the user's peers (a bitmap of 200k+ rows, 40+ ms); this index reads exactly the rows.
"""
from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_owner_meetings", ["owner_id", "kind", "start_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_owner_meetings")
