"""Bring a database to the current schema and seed what every installation needs (default roles, sharing)."""

from __future__ import annotations

from alembic import command
from sqlalchemy.orm import Session

from sextant.accounts.service import ensure_defaults
from sextant.core.db import make_engine
from sextant.core.migrate import alembic_config
from sextant.core.models import import_all_models


def upgrade(url: str | None = None) -> None:
    import_all_models()  # every object registered, so each gets its sharing row
    command.upgrade(alembic_config(url), "head")
    engine = make_engine(url)
    with Session(engine) as session:
        ensure_defaults(session)
        session.commit()
    engine.dispose()
