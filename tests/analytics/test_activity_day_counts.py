""" "Activities per rep" sums `activity_day_counts` (kept by database triggers) for whole days: after every
kind of write it gives the same answer as counting the visible activities, for every viewer and scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.analytics.support import API, World
from tests.dataquality.support import csv_bytes, run_import
from tests.helpers import As

ACTS = f"{API}/activities"
DAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)


@pytest.fixture(autouse=True)
def _import_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEXTANT_IMPORT_DIR", str(tmp_path / "imports"))


def _at(days: float, **delta: float) -> str:
    return (DAY + timedelta(days=days, **delta)).isoformat().replace("+00:00", "Z")


def _scopes(world: World) -> list[Any]:
    from sextant.analytics.scope import Scope

    now = datetime.now(UTC)
    start = DAY - timedelta(days=2)
    team = [world.north.user["id"], world.north2.user["id"]]
    return [
        Scope(start, DAY + timedelta(days=5), now=now),  # whole days
        Scope(start + timedelta(hours=7), DAY + timedelta(days=4, hours=5), now=now),  # ragged edges
        Scope(DAY + timedelta(hours=1), DAY + timedelta(hours=23), now=now),  # inside one day
        Scope(start, DAY + timedelta(days=5), owner_ids=team, now=now),  # a team's owners
        Scope(start, DAY + timedelta(days=1), owner_ids=[world.south.user["id"]], now=now),
    ]


def _check(world: World) -> None:
    """For every viewer and scope, summing day counts equals counting the activities."""
    from sextant.accounts.models import User
    from sextant.accounts.service import build_actor
    from sextant.analytics.kpis import activity_counts
    from sextant.core.db import session_scope

    seen = 0
    with session_scope() as s:
        for person in (world.admin, world.boss, world.north, world.north2, world.south):
            actor = build_actor(s, s.get(User, person.user["id"]))
            for scope in _scopes(world):
                slow = activity_counts(s, actor, scope, from_day_counts=False)
                fast = activity_counts(s, actor, scope)
                assert fast == slow, (person.user["email"], scope)
                seen += sum(sum(k.values()) for k in slow.values())
    assert seen


def _log(caller: As, kind: str, days: float, **extra: Any) -> dict[str, Any]:
    return caller.create("activities", kind=kind, subject=f"{kind} {days}", occurred_at=_at(days), **extra)


def _patch(caller: As, item: dict[str, Any], **body: Any) -> dict[str, Any]:
    r = caller.patch(f"{ACTS}/{item['id']}", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_day_counts_follow_every_kind_of_activity_write(world: World) -> None:
    from sextant.core.db import session_scope

    w = world
    a = _log(w.north, "call", 0)
    b = _log(w.north, "email", 0.99999)  # the last moments of a day
    c = _log(w.north2, "meeting", 1, start_at=_at(1), end_at=_at(1, hours=1))  # midnight sharp
    d = _log(w.south, "note", -1.5)
    e = _log(w.boss, "call", 4.2)
    _log(w.admin, "email", 2)
    _check(w)

    a = _patch(w.admin, a, kind="email")  # kind
    b = _patch(w.admin, b, occurred_at=_at(1, seconds=1))  # over midnight
    d = _patch(w.admin, d, owner_id=w.north.user["id"])  # owner: into the north team
    _check(w)
    assert w.admin.delete(f"{ACTS}/{c['id']}").status_code == 204
    assert w.admin.delete(f"{ACTS}/{e['id']}").status_code == 204
    _check(w)
    assert w.admin.post(f"{ACTS}/{c['id']}/restore").status_code == 200
    _check(w)

    r = w.admin.post(
        f"{ACTS}/bulk",
        json={
            "records": [
                {"kind": k, "subject": f"bulk {i}", "occurred_at": _at(i / 3), "owner_id": p.user["id"]}
                for i, (k, p) in enumerate(
                    [("call", w.north), ("note", w.south), ("email", w.north2), ("call", w.boss)] * 3
                )
            ]
        },
    )
    assert r.status_code == 201, r.text
    made = r.json()["items"]
    _check(w)
    r = w.admin.post(f"{ACTS}/bulk-delete", json={"records": [{"id": x["id"]} for x in made[:5]]})
    assert r.status_code == 200, r.text
    _check(w)

    content = csv_bytes(
        [["Kind", "Subject", "When", "Owner"]]
        + [["call", f"imported {i}", _at(i / 2), w.south.user["email"]] for i in range(4)]
    )
    mapping = {"Kind": "kind", "Subject": "subject", "When": "occurred_at", "Owner": "owner_id"}
    job = run_import(w.admin, "activities", content, mapping=mapping, key=None)
    assert job["created"] == 4, job
    _check(w)
    assert w.admin.post(f"/api/v1/imports/{job['id']}/undo").status_code == 200
    _check(w)

    with session_scope() as s:  # writes that bypass the services: the triggers live in the database
        s.execute(text("UPDATE activities SET owner_id = NULL WHERE id = :id"), {"id": a["id"]})
        s.execute(text("DELETE FROM activities WHERE id = :id"), {"id": d["id"]})
    _check(w)


def test_activities_per_rep_counts_owner_less_activities_for_those_who_see_everyone(world: World) -> None:
    from sextant.core.db import session_scope

    item = _log(world.north, "call", 0)
    _log(world.north, "call", 0.5)
    with session_scope() as s:
        s.execute(text("UPDATE activities SET owner_id = NULL WHERE id = :id"), {"id": item["id"]})
    params = {"from": DAY.date().isoformat(), "to": DAY.date().isoformat()}
    rows = world.admin.get(f"{API}/analytics/kpis/activities_per_rep", params=params).json()["rows"]
    assert sorted((r["owner_id"] or 0, r["count"]) for r in rows) == [(0, 1), (world.north.user["id"], 1)]
    rows = world.north.get(f"{API}/analytics/kpis/activities_per_rep", params=params).json()["rows"]
    assert [(r["owner_id"], r["count"]) for r in rows] == [(world.north.user["id"], 1)]
    _check(world)
