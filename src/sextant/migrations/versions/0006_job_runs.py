"""job runs: the ledger of the job queue (retries, dead letters, idempotency keys, run log)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 09:05:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import sextant.core.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("args", json_type, nullable=False),
        sa.Column("kwargs", json_type, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", sextant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sextant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", sextant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", sextant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sextant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_runs")),
        sa.UniqueConstraint("key", name=op.f("uq_job_runs_key")),
    )
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.create_index("ix_job_runs_status_run_at", ["status", "run_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_job_runs_status_run_at")
    op.drop_table("job_runs")
