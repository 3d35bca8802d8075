"""The PostgreSQL pool asks the server whether a connection is alive only when it sat idle (core/db.py)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from sextant.core import db as core_db


@pytest.fixture
def pg_engine(db: str, backend: str) -> Any:
    if backend != "postgresql":
        pytest.skip("PostgreSQL pool behaviour")
    engine = core_db.make_engine(db, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def _pid(engine: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_killed_while_idle_is_replaced_before_a_request_uses_it(
    pg_engine: Any, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _pid(pg_engine)
    with psycopg.connect(db.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first,))
    monkeypatch.setattr(core_db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has been idle long enough
    assert _pid(pg_engine) != first


def test_a_connection_used_a_moment_ago_is_handed_out_without_a_round_trip(
    pg_engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[Any] = []
    real = pg_engine.dialect.do_ping
    monkeypatch.setattr(pg_engine.dialect, "do_ping", lambda c: pings.append(c) or real(c))
    first = _pid(pg_engine)
    assert _pid(pg_engine) == first and pings == []
    monkeypatch.setattr(core_db, "PING_AFTER_IDLE_SECONDS", 0.0)
    assert _pid(pg_engine) == first and len(pings) == 1
