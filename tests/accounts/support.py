"""Helpers for the accounts tests: browser sign-in, problem+json assertions, direct database reads."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import PASSWORD

PROBLEM_JSON = "application/problem+json"
SESSION_COOKIE = "sextant_session"
CSRF_COOKIE = "sextant_csrf"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def problem(r: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 reply with this status and return its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM_JSON), r.headers["content-type"]
    body = r.json()
    assert body["status"] == status
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    return body


def error_fields(r: Any, status: int = 422) -> list[str]:
    return [e["field"] for e in problem(r, status).get("errors", [])]


def set_cookies(r: Any) -> dict[str, str]:
    """Set-Cookie headers of a response by cookie name (the whole header line, attributes included)."""
    return {line.split("=", 1)[0]: line for line in r.headers.get_list("set-cookie")}


def attributes(set_cookie_line: str) -> dict[str, str]:
    """'a=b; HttpOnly; Max-Age=3; SameSite=lax' -> {'httponly': '', 'max-age': '3', 'samesite': 'lax'}."""
    out: dict[str, str] = {}
    for part in set_cookie_line.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        out[name.lower()] = value
    return out


def sign_in(browser: TestClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """Browser sign-in; the session and CSRF cookies land in `browser`'s jar. Returns the answer's body."""
    r = browser.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def token_for(client: TestClient, email: str, password: str = PASSWORD) -> str:
    r = client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def with_cookie(app: Any, raw_session: str, csrf: str | None = None) -> tuple[TestClient, dict[str, str]]:
    """A fresh client (empty cookie jar) and the headers that replay a given session cookie."""
    headers = {"Cookie": f"{SESSION_COOKIE}={raw_session}"}
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return TestClient(app), headers


def rows(model: Any, *where: Any) -> list[Any]:
    """Rows of an accounts table, read straight from the database in a transaction of their own."""
    from sqlalchemy import select

    from sextant.core.db import session_scope

    with session_scope() as s:
        found = list(s.scalars(select(model).where(*where)))
        s.expunge_all()
        return found


def execute(statement: Any) -> None:
    from sextant.core.db import session_scope

    with session_scope() as s:
        s.execute(statement)
