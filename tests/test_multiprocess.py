"""Two real server processes on one database behave as one service: no state lives in a process.

Sign-ins, sign-outs and record versions are all in the database, so whichever process a load balancer picks
sees them at once.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import PASSWORD

ADMIN = "multi@example.com"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, timeout=30, **kw)

    def wait_until_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server {self.name} exited:\n{self.log.read_text()}")
            try:
                if self.call("GET", "/api/v1/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server {self.name} did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def _start(name: str, db_url: str, folder: Path) -> Server:
    port = _free_port()
    log = folder / f"server-{name}.log"
    env = {**os.environ, "DATABASE_URL": db_url, "SEXTANT_RUN_DISPATCHER": "false"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "sextant.asgi:app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning"], env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(name, process, f"http://127.0.0.1:{port}", log)


@pytest.fixture
def servers(db: str, tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Servers A and B: two uvicorn processes on the test database."""
    from sextant.accounts import service
    from sextant.core.db import session_scope
    from sextant.core.permissions import SYSTEM

    with session_scope() as s:
        service.create_user(s, SYSTEM, {"email": ADMIN, "password": PASSWORD, "role": "admin",
                                        "full_name": "Multi"})
    started: list[Server] = []
    try:
        for name in ("A", "B"):
            started.append(_start(name, db, tmp_path))
        for server in started:
            server.wait_until_up()
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


def _token(server: Server) -> str:
    r = server.call("POST", "/api/v1/auth/token", data={"username": ADMIN, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_browser_session_started_on_one_server_works_and_ends_on_the_other(
        servers: tuple[Server, Server]) -> None:
    a, b = servers
    login = a.call("POST", "/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD})
    assert login.status_code == 200, login.text
    cookies = {"sextant_session": login.cookies["sextant_session"]}
    csrf = {"X-CSRF-Token": login.cookies["sextant_csrf"]}

    me = b.call("GET", "/api/v1/auth/me", cookies=cookies)
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == ADMIN
    # A write through B with A's session and CSRF token: the synchroniser token is shared state too.
    created = b.call("POST", "/api/v1/contacts", json={"last_name": "Cookie"}, cookies=cookies, headers=csrf)
    assert created.status_code == 201, created.text

    assert b.call("POST", "/api/v1/auth/logout", cookies=cookies, headers=csrf).status_code == 204
    assert a.call("GET", "/api/v1/auth/me", cookies=cookies).status_code == 401
    assert b.call("GET", "/api/v1/auth/me", cookies=cookies).status_code == 401


def test_a_token_issued_by_one_server_works_and_is_revoked_on_the_other(
        servers: tuple[Server, Server]) -> None:
    a, b = servers
    token = _token(a)
    assert b.call("GET", "/api/v1/auth/me", headers=_bearer(token)).status_code == 200
    assert b.call("POST", "/api/v1/auth/logout", headers=_bearer(token)).status_code == 204
    refused = a.call("GET", "/api/v1/contacts", headers=_bearer(token))
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_an_edit_through_one_server_is_seen_at_once_through_the_other(servers: tuple[Server, Server]) -> None:
    a, b = servers
    token = _token(a)
    created = a.call("POST", "/api/v1/contacts", json={"first_name": "Ada", "last_name": "Lovelace"},
                     headers=_bearer(token))
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert b.call("GET", f"/api/v1/contacts/{cid}", headers=_bearer(token)).json()["version"] == 1

    edited = a.call("PATCH", f"/api/v1/contacts/{cid}", json={"job_title": "Analyst"},
                    headers={**_bearer(token), "If-Match": '"1"'})
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2

    seen = b.call("GET", f"/api/v1/contacts/{cid}", headers=_bearer(token))
    assert seen.status_code == 200
    assert (seen.json()["job_title"], seen.json()["version"]) == ("Analyst", 2)

    stale = b.call("PATCH", f"/api/v1/contacts/{cid}", json={"job_title": "Overwriter"},
                   headers={**_bearer(token), "If-Match": '"1"'})
    assert stale.status_code == 409, stale.text
    assert stale.json()["current_version"] == 2
    assert a.call("GET", f"/api/v1/contacts/{cid}", headers=_bearer(token)).json()["job_title"] == "Analyst"
