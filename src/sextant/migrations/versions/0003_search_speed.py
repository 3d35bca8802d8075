"""search speed: a combined search row per record, PostgreSQL stored tsvector, contacts (city, created_at)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 06:30:00

* search_entries gets, for every record, one row holding all its searchable fields (field "*"), so a
  multi-word query is matched by the full-text index itself and read newest first (core/search.py);
* PostgreSQL: the entry's words as a stored tsvector (split on the punctuation of emails, domains and URLs,
  as SQLite's unicode61 tokenizer does) with GIN indexes (combined rows, other rows) replacing the expression
  index, and a partial index walking combined rows newest first;
* contacts: ix_contacts_city becomes (city, created_at), so "city = X" lists in the default order
  (newest first) stream from the index instead of sorting every match.

The DDL is written out here (not imported) so that later changes to the code cannot change this step.
"""
from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

PG_UP = [
    "ALTER TABLE search_entries ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, translate(content, '@./:_+-', '       '))) STORED",
    "CREATE INDEX ix_search_entries_all_tsv ON search_entries USING gin (search_tsv) WHERE field = '*'",
    "CREATE INDEX ix_search_entries_search_tsv ON search_entries USING gin (search_tsv) WHERE field <> '*'",
    "CREATE INDEX ix_search_entries_newest ON search_entries (object_name, id) WHERE field = '*'",
    "DROP INDEX IF EXISTS ix_search_entries_tsv",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS ix_search_entries_newest",
    "DROP INDEX IF EXISTS ix_search_entries_all_tsv",
    "DROP INDEX IF EXISTS ix_search_entries_search_tsv",
    "ALTER TABLE search_entries DROP COLUMN IF EXISTS search_tsv",
    "CREATE INDEX IF NOT EXISTS ix_search_entries_tsv ON search_entries "
    "USING gin (to_tsvector('simple', content))",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for sql in PG_UP:
            op.get_bind().exec_driver_sql(sql)  # as written: op.execute would read ':_' as a bind parameter
    joined = "string_agg(content, ' ' ORDER BY id)" if postgres else "group_concat(content, ' ')"
    op.execute("INSERT INTO search_entries (object_name, record_id, field, content) "
               f"SELECT object_name, record_id, '*', {joined} FROM search_entries WHERE field <> '*' "
               "GROUP BY object_name, record_id")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_city")
        batch_op.create_index("ix_contacts_city", ["city", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_city")
        batch_op.create_index("ix_contacts_city", ["city"], unique=False)
    op.execute("DELETE FROM search_entries WHERE field = '*'")
    if op.get_bind().dialect.name == "postgresql":
        for sql in PG_DOWN:
            op.get_bind().exec_driver_sql(sql)
