"""A small sales world for the analytics tests: two teams of reps, a manager, a pipeline, companies, deals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from tests.deals.support import make_pipeline, stage
from tests.helpers import As, Crm

API = "/api/v1"
AN = f"{API}/analytics"


@dataclass
class World:
    crm: Crm
    admin: As
    boss: As
    north: As
    north2: As
    south: As
    north_team: dict[str, Any]
    south_team: dict[str, Any]
    pipeline: dict[str, Any]
    deals: dict[str, dict[str, Any]]
    companies: dict[str, dict[str, Any]]

    def stage(self, name: str) -> int:
        return stage(self.pipeline, name)


def move(caller: As, deal: dict[str, Any], stage_id: int, **extra: Any) -> dict[str, Any]:
    r = caller.patch(f"{API}/deals/{deal['id']}", json={"stage_id": stage_id, **extra})
    assert r.status_code == 200, r.text
    return r.json()


def backdate(object_name: str, record_id: int, **values: datetime | Any) -> None:
    """Set timestamps the services own (created_at, closed_at ...) to the past, as history would have."""
    from sqlalchemy import update

    from sextant.core.db import session_scope
    from sextant.core.metadata import registry

    model = registry.get(object_name).model
    with session_scope() as s:
        s.execute(update(model).where(model.id == record_id).values(**values))


@pytest.fixture
def world(crm: Crm) -> World:
    admin = crm.admin
    north_team, south_team = crm.team("North"), crm.team("South")
    boss = crm.user("manager")
    north = crm.user("sales", team=north_team, manager=boss)
    north2 = crm.user("sales", team=north_team)
    south = crm.user("sales", team=south_team)
    pipeline = make_pipeline(admin)
    companies = {
        "acme": admin.create("companies", name="Acme", industry="software", owner_id=north.user["id"]),
        "bank": admin.create("companies", name="Bank", industry="finance", owner_id=south.user["id"]),
    }
    st = {s["name"]: s["id"] for s in pipeline["stages"]}
    deals = {
        "n1": north.create(
            "deals", name="N1", amount=1000, stage_id=st["Qualify"], company_id=companies["acme"]["id"]
        ),
        "n2": north.create(
            "deals", name="N2", amount=3000, stage_id=st["Propose"], company_id=companies["acme"]["id"]
        ),
        "n3": north2.create("deals", name="N3", amount=5000, stage_id=st["Negotiate"]),
        "s1": south.create(
            "deals", name="S1", amount=7000, stage_id=st["Qualify"], company_id=companies["bank"]["id"]
        ),
        "s2": south.create("deals", name="S2", amount=11000, stage_id=st["Propose"]),
    }
    return World(crm, admin, boss, north, north2, south, north_team, south_team, pipeline, deals, companies)
