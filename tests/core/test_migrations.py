"""The migrations and the models describe the same schema, and the migrations run both ways."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from sextant.core.db import Base, make_engine
from sextant.core.migrate import alembic_config, include_name
from sextant.core.models import import_all_models


def _drift(url: str) -> list[Any]:
    """What autogenerate would write for this database: nothing when models and migrations agree."""
    import_all_models()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            opts = {"include_name": include_name, "compare_type": True}
            return compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_migrated_database_matches_the_models(db: str) -> None:
    assert _drift(db) == []


def test_the_migrations_form_one_line_of_history() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"several heads, merge them: {heads}"


def test_downgrade_to_base_then_upgrade_to_head_rebuilds_the_same_schema(scratch_db_url: str) -> None:
    config = alembic_config(scratch_db_url)
    command.upgrade(config, "head")
    migrated = _tables(scratch_db_url)
    assert {"contacts", "companies", "users", "audit_log", "outbox_events"} <= migrated

    command.downgrade(config, "base")
    assert _tables(scratch_db_url) <= {"alembic_version"}, "downgrade left tables behind"

    command.upgrade(config, "head")
    assert _tables(scratch_db_url) == migrated
    assert _drift(scratch_db_url) == []
