"""Shared set-up for the activities tests: a sales role that may log activities and tasks, small record
factories, and direct database reads for what the API does not expose."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from tests.helpers import As, Crm

API = "/api/v1"
CRUD = ["read", "create", "edit", "delete"]
REP_PERMISSIONS = {name: CRUD for name in ("contacts", "companies", "deals", "leads", "activities", "tasks")}


def problem(r: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 reply with this status and return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status
    return body


def error_fields(r: Any, status: int = 422) -> list[str]:
    return [e["field"] for e in problem(r, status).get("errors", [])]


def rep_role(crm: Crm, field_access: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """A 'rep' role: CRUD on the sales objects, read elsewhere (the built-in sales role may not log calls)."""
    body: dict[str, Any] = {"name": "rep", "label": "Rep", "permissions": {**REP_PERMISSIONS, "*": ["read"]}}
    if field_access:
        body["field_access"] = field_access
    r = crm.admin.post(f"{API}/roles", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def rep(crm: Crm, team: dict[str, Any] | None = None, manager: As | None = None) -> As:
    """A user with the 'rep' role (created on first use)."""
    roles = crm.admin.get(f"{API}/roles").json()
    if not any(role["name"] == "rep" for role in roles):
        rep_role(crm)
    return crm.user(role="rep", team=team, manager=manager)


def set_timezone(crm: Crm, user: As, zone: str) -> None:
    r = crm.admin.patch(f"{API}/users/{user.user['id']}", json={"timezone": zone})
    assert r.status_code == 200, r.text


def contact(caller: As, **fields: Any) -> dict[str, Any]:
    return caller.create("contacts", **{"first_name": "Ada", "last_name": "Lovelace", **fields})


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def now() -> datetime:
    return datetime.now(UTC)


def ago(**delta: float) -> str:
    return iso(now() - timedelta(**delta))


def ahead(**delta: float) -> str:
    return iso(now() + timedelta(**delta))


def count_rows(model: Any, *where: Any) -> int:
    from sextant.core.db import session_scope

    with session_scope() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def links_of(caller: As, item_object: str, item_id: int) -> set[tuple[str, int]]:
    r = caller.get(f"{API}/{item_object}/{item_id}/links")
    assert r.status_code == 200, r.text
    return {(link["object"], link["id"]) for link in r.json()}
