"""search: the newest-first walk over combined search rows reads only its index (PostgreSQL)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 07:50:00

ix_search_entries_newest also carries record_id and the stored tsvector, so the walk in core/search.py is an
index-only scan (no table row per step), and PostgreSQL prefers it to walking the primary key. SQLite: no-op.
"""
from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_entries_newest")
        op.execute("CREATE INDEX ix_search_entries_newest ON search_entries (object_name, id) "
                   "INCLUDE (record_id, search_tsv) WHERE field = '*'")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_search_entries_newest")
        op.execute("CREATE INDEX ix_search_entries_newest ON search_entries (object_name, id) "
                   "WHERE field = '*'")
