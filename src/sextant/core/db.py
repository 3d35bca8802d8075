"""Engine, sessions and the declarative base shared by every domain package."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from sextant.core.config import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite; same Python API on both.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both dialects (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; busy_timeout makes writers queue instead of failing.
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    settings = get_settings()
    url = url or settings.database_url
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=settings.sql_echo,
            connect_args={"check_same_thread": False, "timeout": 15},
            pool_size=8,
            max_overflow=8,
            **kwargs,
        )
        event.listen(engine, "connect", _tune_sqlite)

        # We take transactions over from pysqlite. A transaction that reads and then writes must hold the
        # write lock from its start: in WAL mode a deferred one that finds another writer got there first
        # fails at once with "database is locked" (busy_timeout cannot help a lock upgrade). So writers
        # (unsafe HTTP methods, jobs, CLI) BEGIN IMMEDIATE and queue on busy_timeout; reads stay concurrent.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None

        # SQLite's busy handler waits for the write lock by sleeping 1, 2, 5 ... up to 100 ms between tries:
        # with a dozen threads of one process (server request threads, job workers) queueing that way, most
        # of the time goes to sleeping while the lock is free. The threads of one process therefore queue on
        # a lock of their own first, handed over at once, and only one of them at a time polls SQLite against
        # other processes. A transaction that somehow never ends cannot wedge the rest: after the busy
        # timeout a writer goes ahead to SQLite's own queue.
        writer = threading.Lock()

        def _release(info: dict[str, Any]) -> None:
            if info.pop("sextant_holds_writer", False):
                writer.release()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            if not conn.get_execution_options().get("sextant_write", True):
                conn.exec_driver_sql("BEGIN")
                return
            if writer.acquire(timeout=15):
                conn.info["sextant_holds_writer"] = True
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                _release(conn.info)
                raise

        @event.listens_for(engine, "commit")
        @event.listens_for(engine, "rollback")
        def _end(conn: Any) -> None:
            _release(conn.info)

        @event.listens_for(engine.pool, "checkin")
        @event.listens_for(engine.pool, "invalidate")
        def _returned(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
            _release(record.info)  # a connection handed back mid-transaction (an error path)

        return engine
    engine = create_engine(url, echo=settings.sql_echo, **{"pool_size": 10, "max_overflow": 10, **kwargs})
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Make sure a pooled connection is alive before handing it out, as pool_pre_ping does, but only when it
    sat idle for PING_AFTER_IDLE_SECONDS: pool_pre_ping asks the server on every checkout, one more round trip
    per request (a sixth for a get-by-id, whose query takes less than that round trip). Connections die while
    idle (a server restart in a quiet moment, a firewall or idle timeout), so those are still asked, and a
    dead one is replaced before any request sees it. A connection used within the last seconds that died since
    fails its request once; SQLAlchemy then sees the disconnect and replaces every pooled connection."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["sextant_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("sextant_idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # just connected, or used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("pooled connection is dead") from exc
        if not alive:
            raise DisconnectionError("pooled connection is dead")


_engine: Engine | None = None
_sessionmaker: sessionmaker[Session] | None = None


def get_engine() -> Engine:
    global _engine, _sessionmaker
    if _engine is None:
        _engine = make_engine()
        _sessionmaker = sessionmaker(bind=_engine, expire_on_commit=False)
    return _engine


def reset_engine() -> None:
    """Forget the engine (tests and the CLI switch databases within one process)."""
    global _engine, _sessionmaker
    if _engine is not None:
        _engine.dispose()
    _engine = None
    _sessionmaker = None


def new_session(write: bool = True) -> Session:
    """A session; `write=False` marks a read-only unit of work (SQLite then starts a shared transaction)."""
    engine = get_engine()
    assert _sessionmaker is not None
    if write:
        return _sessionmaker()
    return _sessionmaker(bind=engine.execution_options(sextant_write=False))


@contextmanager
def session_scope() -> Iterator[Session]:
    """A unit of work for CLI commands and jobs: commit on success, roll back on error."""
    session = new_session()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
