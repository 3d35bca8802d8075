"""End-to-end harness: a real server (uvicorn subprocess) on a clean database, driven by Chromium.

Each test gets its own server, `uvicorn sextant.asgi:app` on a free 127.0.0.1 port, pointed at the clean
database of the `db` fixture (SQLite or PostgreSQL, as SEXTANT_TEST_DB says), and its own browser context.
Servers are forked from a launcher process that has imported the app's dependencies once (launcher.py), which
saves each test a second or two of imports. One Chromium serves the whole run. Nothing is skipped: without
Chromium, Playwright or the built web UI the tests fail and say why.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB_INDEX = ROOT / "src" / "sextant" / "web" / "dist" / "index.html"
CHROMIUM = os.environ.get("SEXTANT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "e2e-password-123"
_seq = itertools.count(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "The Playwright Python package is missing: pip install -e '.[test]' (never `playwright install`)"
        )
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium` "
            "(or set SEXTANT_CHROMIUM to its path). The e2e tests need a real browser."
        )
    from playwright.sync_api import expect

    # generous ceilings for a busy CI machine; a passing step never waits for them
    expect.set_options(timeout=15_000)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Server:
    base_url: str
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    def user(
        self,
        role: str = "sales",
        *,
        team: str | None = None,
        name: str | None = None,
        email: str | None = None,
    ) -> dict[str, Any]:
        """A user made through the accounts service (in this process, on the same database)."""
        from sqlalchemy import select

        from sextant.accounts import service
        from sextant.accounts.models import Team
        from sextant.core.db import session_scope
        from sextant.core.permissions import SYSTEM

        n = next(_seq)
        email = email or f"{role}{n}@example.com"
        with session_scope() as s:
            team_id = None
            if team:
                found = s.scalar(select(Team).where(Team.name == team))
                team_id = (found or service.create_team(s, SYSTEM, {"name": team})).id
            user = service.create_user(
                s,
                SYSTEM,
                {
                    "email": email,
                    "password": PASSWORD,
                    "role": role,
                    "full_name": name or f"{role.title()} User{n}",
                    "team_id": team_id,
                },
            )
            out = {"id": user.id, "email": email, "password": PASSWORD, "full_name": user.full_name}
        self.users[email] = out
        return out

    def api(self, user: dict[str, Any]) -> httpx.Client:
        """An API client signed in as `user` (bearer token)."""
        client = httpx.Client(base_url=self.base_url, timeout=20)
        r = client.post("/api/v1/auth/token", data={"username": user["email"], "password": user["password"]})
        assert r.status_code == 200, r.text
        client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return client


class Launcher:
    """The forking server launcher (tests/e2e/launcher.py), one per test session (and xdist worker)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("launcher.py"))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=ROOT,
            text=True,
        )
        if self._line(120) != "ready":
            self.close()
            pytest.fail("the e2e server launcher did not start")

    def _line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().strip() if ready else ""

    def start(self, port: int, env: dict[str, str], log: str) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"port": port, "env": env, "log": log}) + "\n")
        self.proc.stdin.flush()
        answer = self._line(30)
        if not answer.isdigit():
            pytest.fail(f"the e2e server launcher did not start a server (answer {answer!r})")
        return int(answer)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def launcher() -> Iterator[Launcher]:
    if not WEB_INDEX.is_file():
        pytest.fail(f"The web UI is not built ({WEB_INDEX} is missing): run scripts/build-web.sh")
    lau = Launcher()
    yield lau
    lau.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def serve(launcher: Launcher, env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    """`uvicorn sextant.asgi:app` on a free port with these settings, until the generator is closed."""
    port = _free_port()
    log = tmp_path / "server.log"
    pid = launcher.start(port, env, str(log))
    base = f"http://127.0.0.1:{port}"

    def output() -> str:
        return log.read_text(errors="replace")[-4000:] if log.exists() else ""

    try:
        deadline = time.monotonic() + 90
        while True:
            if not _alive(pid):
                pytest.fail(f"the server exited:\n{output()}")
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer within 90 s:\n{output()}")
            time.sleep(0.05)
        yield Server(base)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        server_log = output()
        if "Traceback" in server_log:
            print(f"--- server log ---\n{server_log}")


@pytest.fixture
def server(db: str, launcher: Launcher, tmp_path: Path) -> Iterator[Server]:
    """A server on this test's clean database, stopped afterwards (no dispatcher: deterministic tests)."""
    yield from serve(launcher, {"DATABASE_URL": db, "SEXTANT_RUN_DISPATCHER": "false"}, tmp_path)


@dataclass
class Browser:
    """A page plus what the test wants to assert about it: dialogs opened, script errors."""

    page: Any
    base_url: str
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def go(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def login(self, user: dict[str, Any]) -> None:
        self.go("/login")
        self.page.get_by_label("Email").fill(user["email"])
        self.page.get_by_label("Password").fill(user["password"])
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_url(self.base_url + "/")
        self.page.get_by_role("heading", level=1).wait_for()


def _open(browser: Any, server: Server, width: int, height: int, phone: bool) -> Iterator[Browser]:
    ctx = browser.new_context(
        viewport={"width": width, "height": height},
        is_mobile=phone,
        has_touch=phone,
        locale="en-US",
        timezone_id="UTC",
    )
    ctx.set_default_timeout(20_000)
    page = ctx.new_page()
    b = Browser(page, server.base_url)

    def on_dialog(d: Any) -> None:
        b.dialogs.append(f"{d.type}: {d.message}")
        d.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: b.errors.append(str(e)))
    try:
        yield b
    finally:
        ctx.close()
    assert not b.errors, f"JavaScript errors on the page: {b.errors}"


@pytest.fixture
def web(browser: Any, server: Server) -> Iterator[Browser]:
    """A desktop-sized browser tab (1280x800) on the test's server."""
    yield from _open(browser, server, 1280, 800, phone=False)


@pytest.fixture
def phone(browser: Any, server: Server) -> Iterator[Browser]:
    """A phone-sized tab (390x844, touch)."""
    yield from _open(browser, server, 390, 844, phone=True)
