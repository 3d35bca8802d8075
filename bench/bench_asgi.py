"""Bench-only ASGI module (never part of the product): `sextant.asgi:app` plus one bare endpoint.

`GET /bench/bare/contacts/{id}` reads the same contact row with raw sqlite3 / psycopg (one connection per
worker thread, no ORM, no auth, no metadata) and returns it as JSON through the same FastAPI app, server and
thread pool as the real `GET /api/v1/contacts/{id}`: it is the ceiling the product endpoint is compared with.

    DATABASE_URL=... uvicorn --app-dir bench bench_asgi:app
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import orjson
import psycopg
from fastapi import Response

from sextant.asgi import app
from sextant.core.config import get_settings

_local = threading.local()


def _connection() -> Any:
    conn = getattr(_local, "conn", None)
    if conn is None:
        settings = get_settings()
        if settings.is_sqlite:
            conn = sqlite3.connect(str(settings.sqlite_path()), check_same_thread=False, isolation_level=None)
        else:
            conn = psycopg.connect(
                settings.database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
            )
        _local.conn = conn
    return conn


def bare_contact(record_id: int) -> Response:
    conn = _connection()
    mark = "?" if isinstance(conn, sqlite3.Connection) else "%s"
    cur = conn.execute(f"SELECT * FROM contacts WHERE id = {mark} AND deleted_at IS NULL", (record_id,))
    row = cur.fetchone()
    if row is None:
        return Response(status_code=404)
    names = [d[0] for d in cur.description]
    return Response(orjson.dumps(dict(zip(names, row, strict=True))), media_type="application/json")


app.add_api_route("/bench/bare/contacts/{record_id}", bare_contact, methods=["GET"], include_in_schema=False)
# Route it as the product's contacts routes are: right after them (and so before the web UI's catch-all).
_bare = app.router.routes.pop()
_after = next(
    i
    for i, r in enumerate(app.router.routes)
    if getattr(getattr(r, "original_router", None), "prefix", None) == "/api/v1/contacts"
)
app.router.routes.insert(_after + 1, _bare)
