"""saved views: named list views (columns, sort, filter) per object, private or shared with a team

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 08:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import sextant.core.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("object_name", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("columns", json_type, nullable=False),
        sa.Column("sort", sa.String(length=500), nullable=False),
        sa.Column("filter", json_type, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sextant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sextant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_saved_views_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_saved_views_team_id_teams"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
    )
    with op.batch_alter_table("saved_views", schema=None) as batch_op:
        batch_op.create_index("ix_saved_views_owner", ["owner_id", "object_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_saved_views_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("saved_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_views_team_id"))
        batch_op.drop_index("ix_saved_views_owner")
    op.drop_table("saved_views")
