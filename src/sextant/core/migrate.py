"""Run Alembic programmatically (the CLI, tests and start-up use the same path)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from sextant.core.config import get_settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return cfg
