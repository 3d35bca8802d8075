"""search: a GIN index over the combined search rows of each built-in object (PostgreSQL)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 12:15:00

core/search.py now reads each object's matches on its own: a newest-first walk of its newest rows, then,
when those leave the page short and few older matches are expected, the older ones from GIN. A partial GIN
index per object hands over only that object's matches: a contacts search no longer fetches, and throws
away, the 400k activity rows whose subject is "Pricing overview" when someone types "ove". They replace
ix_search_entries_all_tsv (all objects in one, which PostgreSQL kept preferring for the wrong object);
objects added later (plugins) have no GIN index of their own and are walked. SQLite: no-op (FTS5 is
unchanged).

The DDL is written out here (not imported) so that later changes to the code cannot change this step.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

OBJECTS = ("contacts", "companies", "leads", "deals", "activities", "tasks")


ALL_TSV = "CREATE INDEX ix_search_entries_all_tsv ON search_entries USING gin (search_tsv) WHERE field = '*'"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in OBJECTS:
            op.execute(
                f"CREATE INDEX ix_search_entries_tsv_{name} ON search_entries USING gin (search_tsv) "
                f"WHERE field = '*' AND object_name = '{name}'"
            )
        op.execute("DROP INDEX IF EXISTS ix_search_entries_all_tsv")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(ALL_TSV)
        for name in OBJECTS:
            op.execute(f"DROP INDEX IF EXISTS ix_search_entries_tsv_{name}")
