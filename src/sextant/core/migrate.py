"""Run Alembic programmatically (the CLI, tests and start-up use the same path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.config import Config

from sextant.core.config import get_settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return cfg


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    """What autogenerate and the drift check compare: everything but the full-text objects the migrations
    create by raw DDL (FTS5 shadow tables, the PostgreSQL GIN expression index)."""
    from sextant.core.search import UNMANAGED_NAMES

    return name not in UNMANAGED_NAMES
