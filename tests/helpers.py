"""Small typed helpers for tests: make users through the real services, call the API as them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"


@dataclass
class As:
    """An API caller authenticated with a bearer token."""

    client: TestClient
    token: str
    user: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(url, json=json, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def patch(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.patch(url, json=json, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def put(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(url, json=json, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers={**self.headers, **kw.pop("headers", {})}, **kw)

    def create(self, obj: str, **fields: Any) -> dict[str, Any]:
        r = self.post(f"/api/v1/{obj}", json=fields)
        assert r.status_code == 201, r.text
        return r.json()


class Crm:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._admin: As | None = None

    def login(self, email: str, password: str = PASSWORD) -> As:
        r = self.client.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        me = self.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
        return As(self.client, token, me["user"])

    @property
    def admin(self) -> As:
        if self._admin is None:
            from sextant.accounts import service
            from sextant.core.db import session_scope
            from sextant.core.permissions import SYSTEM

            with session_scope() as s:
                service.create_user(
                    s,
                    SYSTEM,
                    {"email": "root@example.com", "password": PASSWORD, "role": "admin", "full_name": "Root"},
                )
            self._admin = self.login("root@example.com")
        return self._admin

    def team(self, name: str | None = None) -> dict[str, Any]:
        r = self.admin.post("/api/v1/teams", json={"name": name or f"Team {next(_seq)}"})
        assert r.status_code == 201, r.text
        return r.json()

    def user(
        self,
        role: str = "sales",
        team: dict[str, Any] | None = None,
        manager: As | None = None,
        email: str | None = None,
    ) -> As:
        email = email or f"user{next(_seq)}@example.com"
        body: dict[str, Any] = {
            "email": email,
            "password": PASSWORD,
            "role": role,
            "full_name": email.split("@")[0],
        }
        if team:
            body["team_id"] = team["id"]
        if manager:
            body["manager_id"] = manager.user["id"]
        r = self.admin.post("/api/v1/users", json=body)
        assert r.status_code == 201, r.text
        return self.login(email)


# -- helpers for metadata, filters and problem+json replies ------------------------------------------------

PROBLEM_JSON = "application/problem+json"


def problem(r: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 error reply with this status; return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status
    return body


def error_fields(r: Any, status: int = 422) -> list[str]:
    """The `errors[].field` paths of a problem reply."""
    return [e["field"] for e in problem(r, status).get("errors", [])]


def add_field(caller: As, obj: str, name: str, ftype: str, **spec: Any) -> dict[str, Any]:
    r = caller.post(f"/api/v1/metadata/objects/{obj}/fields", json={"name": name, "type": ftype, **spec})
    assert r.status_code == 201, r.text
    return r.json()


def query_ids(caller: As, obj: str, flt: Any, **params: Any) -> list[int]:
    """Ids matching a filter, through POST /{obj}/query (every page)."""
    ids: list[int] = []
    body: dict[str, Any] = {"filter": flt, "limit": 500, **params}
    while True:
        r = caller.post(f"/api/v1/{obj}/query", json=body)
        assert r.status_code == 200, r.text
        page = r.json()
        ids += [item["id"] for item in page["items"]]
        if not page["next_cursor"]:
            return ids
        body["cursor"] = page["next_cursor"]
