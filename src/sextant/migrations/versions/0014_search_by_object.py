"""search: the GIN index over combined search rows is keyed by object too (PostgreSQL)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 12:15:00

core/search.py now reads each object's matches on its own: from GIN when the object has few of them, by a
newest-first walk when it has many. Keyed by (object_name, search_tsv) (btree_gin), the GIN index hands over
only that object's matches: a contacts search no longer fetches, and throws away, the deals and activities
rows that match the same words. It replaces ix_search_entries_all_tsv, which it also serves (a condition on
the words alone). SQLite: no-op (FTS5 is unchanged).

The DDL is written out here (not imported) so that later changes to the code cannot change this step.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

PG_UP = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",  # trusted (PostgreSQL 13+): the database owner may create it
    "CREATE INDEX ix_search_entries_object_tsv ON search_entries USING gin (object_name, search_tsv) "
    "WHERE field = '*'",
    "DROP INDEX IF EXISTS ix_search_entries_all_tsv",
]
PG_DOWN = [
    "CREATE INDEX IF NOT EXISTS ix_search_entries_all_tsv ON search_entries USING gin (search_tsv) "
    "WHERE field = '*'",
    "DROP INDEX IF EXISTS ix_search_entries_object_tsv",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for sql in PG_UP:
            op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for sql in PG_DOWN:
            op.execute(sql)
