"""Helpers shared by the deal and lead tests: pipelines, a controllable clock, direct reads of the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.helpers import As

API = "/api/v1"
STAGES: list[dict[str, Any]] = [
    {"name": "Qualify", "probability": 10, "kind": "open"},
    {"name": "Propose", "probability": 50, "kind": "open"},
    {"name": "Negotiate", "probability": 80, "kind": "open"},
    {"name": "Won", "probability": 100, "kind": "won"},
    {"name": "Lost", "probability": 0, "kind": "lost"},
]


def make_pipeline(
    admin: As, name: str = "Sales", stages: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    r = admin.post(f"{API}/pipelines", json={"name": name, "stages": stages or STAGES, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def stage(pipeline: dict[str, Any], name: str) -> int:
    """The id of a pipeline's stage, by name."""
    return next(s["id"] for s in pipeline["stages"] if s["name"] == name)


def get(caller: As, obj: str, record_id: int) -> dict[str, Any]:
    r = caller.get(f"{API}/{obj}/{record_id}")
    assert r.status_code == 200, r.text
    return r.json()


def count(caller: As, obj: str, flt: Any = None) -> int:
    import json

    params = {"filter": json.dumps(flt)} if flt is not None else {}
    r = caller.get(f"{API}/{obj}/count", params=params)
    assert r.status_code == 200, r.text
    return int(r.json()["count"])


def history(caller: As, obj: str, record_id: int) -> list[dict[str, Any]]:
    r = caller.get(f"{API}/{obj}/{record_id}/history")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def outbox_types(object_name: str, record_id: int) -> list[str]:
    """Event types written to the outbox for one record, oldest first (events have no public API)."""
    from sextant.core.audit import OutboxEvent
    from sextant.core.db import session_scope

    with session_scope() as s:
        return list(
            s.scalars(
                select(OutboxEvent.type)
                .where(OutboxEvent.object_name == object_name, OutboxEvent.record_id == record_id)
                .order_by(OutboxEvent.id)
            )
        )


def table_count(model: type) -> int:
    """Rows in a table, deleted or not, visible or not: for 'nothing was created' checks."""
    from sextant.core.db import session_scope

    with session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


class Clock:
    """A settable `utcnow` for the modules that stamp stage times, close dates and rate-limit windows."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *modules: str, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)
        for module in modules:
            monkeypatch.setattr(f"{module}.utcnow", lambda: self.now)

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
