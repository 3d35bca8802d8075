"""Test harness: every test that touches the database runs on the backend named by SEXTANT_TEST_DB
(`sqlite`, the default, or `postgresql`); scripts/test.sh runs the suite once on each.

Each pytest run migrates a brand-new database (a fresh SQLite file, or a freshly created PostgreSQL
database per xdist worker); each test then starts from the migrated, empty state.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

PG_ADMIN = os.environ.get("SEXTANT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
BACKEND = os.environ.get("SEXTANT_TEST_DB", "sqlite")


def _set_url(url: str, jobs_path: Path | None = None) -> None:
    from sextant.core.config import get_settings
    from sextant.core.db import reset_engine
    from sextant.core.jobs import reset_queue

    os.environ["DATABASE_URL"] = url
    if jobs_path is not None:
        os.environ["SEXTANT_JOBS_PATH"] = str(jobs_path)  # each test its own embedded job queue
    get_settings.cache_clear()
    reset_engine()
    reset_queue()


@pytest.fixture(scope="session")
def backend() -> str:
    return BACKEND


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[str]:
    """A migrated database for this run (and this xdist worker)."""
    from sextant.bootstrap import upgrade

    os.environ.setdefault("SEXTANT_RUN_DISPATCHER", "false")
    if BACKEND == "postgresql":
        name = f"sextant_test_{worker_id}_{os.getpid()}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        url = f"{base}/{name}"
        upgrade(url)
        yield url
        from sextant.core.db import reset_engine

        reset_engine()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        folder = tmp_path_factory.mktemp("db")
        path = folder / "template.db"
        upgrade(f"sqlite:///{path}")
        yield str(path)


_PG_TABLES: list[str] = []


@pytest.fixture
def db(template_db: str, tmp_path: Path) -> Iterator[str]:
    """A clean database for one test; yields its URL and points the app at it."""
    from sextant.core.db import get_engine

    if BACKEND == "postgresql":
        _set_url(template_db, tmp_path / "jobs-queue.db")
        engine = get_engine()
        with engine.begin() as conn:
            if not _PG_TABLES:
                _PG_TABLES.extend(
                    r[0]
                    for r in conn.execute(
                        text(
                            "SELECT tablename FROM pg_tables"
                            " WHERE schemaname='public' AND tablename <> 'alembic_version'"
                        )
                    )
                )
            conn.execute(
                text("TRUNCATE " + ", ".join(f'"{t}"' for t in _PG_TABLES) + " RESTART IDENTITY CASCADE")
            )
        from sqlalchemy.orm import Session

        from sextant.accounts.service import ensure_defaults

        with Session(engine) as session:
            ensure_defaults(session)
            session.commit()
        yield template_db
    else:
        path = tmp_path / "test.db"
        shutil.copyfile(template_db, path)
        url = f"sqlite:///{path}"
        _set_url(url, tmp_path / "jobs-queue.db")
        yield url
    from sextant.core.db import reset_engine

    reset_engine()


@pytest.fixture
def app(db: str):  # type: ignore[no-untyped-def]
    from sextant.app import create_app

    return create_app(dispatcher=False)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def crm(client):  # type: ignore[no-untyped-def]
    """Helpers to make users and call the API as them."""
    from tests.helpers import Crm

    return Crm(client)


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


tempfile.tempdir = tempfile.gettempdir()


@pytest.fixture
def scratch_db_url(tmp_path: Path, worker_id: str) -> Iterator[str]:
    """An empty database (no schema at all) of the backend under test, dropped afterwards."""
    if BACKEND != "postgresql":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"sextant_scratch_{worker_id}_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{PG_ADMIN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
