"""Screenshots of the automation and data-quality screens (desktop 1280x800 and phone 390x844) into
docs/screenshots/: workflows, the workflow editor, a run with its steps, webhooks and their delivery log,
background jobs, notification settings, the import wizard's dry run and the duplicates merge dialog.

It builds a throw-away demo (fresh SQLite database, `sextant migrate`, `sextant seed --demo`, a server with
the dispatcher and job worker on a free port, a local webhook receiver) and removes it at the end.

    .venv/bin/python scripts/screenshots_automation.py [--out docs/screenshots]

Needs Chromium at /usr/bin/chromium and the Playwright Python package (as scripts/screenshots.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("SEXTANT_CHROMIUM", "/usr/bin/chromium")
ADMIN = ("admin@example.com", "sextant-admin")
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise SystemExit("timed out waiting for the demo server")


class Receiver:
    """Answers 200 on /ok and 500 elsewhere: the delivery log gets both kinds."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ok = self.path.startswith("/ok")
                self.send_response(200 if ok else 500)
                self.end_headers()
                self.wfile.write(b'{"received": true}' if ok else b"upstream unavailable")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def showcase(http: httpx.Client, receiver: Receiver, tmp: Path) -> dict[str, int]:
    def post(path: str, body: Any, **kw: Any) -> Any:
        r = http.post(path, json=body, **kw)
        if r.status_code >= 400:
            raise SystemExit(f"POST {path} -> {r.status_code}: {r.text}")
        return r.json()

    teams = http.get("/api/v1/teams").json()
    team_id = teams[0]["id"] if teams else post("/api/v1/teams", {"name": "Inside sales"})["id"]
    wf = post(
        "/api/v1/workflows",
        {
            "name": "Welcome new Lyon customers",
            "description": "Titles the contact, then routes VIPs to a team and books a call.",
            "object_name": "contacts",
            "enabled": True,
            "trigger": {"type": "record.created"},
            "conditions": {"and": [{"field": "city", "op": "eq", "value": "Lyon"}]},
            "actions": [
                {"type": "update_fields", "values": {"job_title": "Customer ({{ record.city }})"}},
                {
                    "type": "branch",
                    "condition": {"and": [{"field": "lifecycle_stage", "op": "eq", "value": "customer"}]},
                    "then": [
                        {"type": "assign_owner", "strategy": "round_robin", "team_id": team_id},
                        {"type": "create_task", "title": "Call {{ record.first_name }}", "due_in_days": 1},
                    ],
                    "else": [{"type": "notify", "users": ["owner"], "title": "New Lyon contact"}],
                },
            ],
            "max_runs_per_minute": 120,
        },
    )
    post(
        "/api/v1/workflows",
        {
            "name": "Stale deal nudge",
            "object_name": "deals",
            "enabled": False,
            "trigger": {"type": "date.reached", "field": "expected_close_date", "offset_days": -3},
            "actions": [
                {"type": "notify", "users": ["owner"], "title": "{{ record.name }} closes in 3 days"}
            ],
        },
    )
    post(
        "/api/v1/workflows",
        {
            "name": "Form webhook to lead",
            "enabled": True,
            "trigger": {"type": "webhook"},
            "actions": [{"type": "notify", "users": [1], "title": "Form posted: {{ payload.email }}"}],
        },
    )
    contact = post(
        "/api/v1/contacts",
        {"first_name": "Lucie", "last_name": "Bernard", "city": "Lyon", "lifecycle_stage": "customer"},
    )
    post("/api/v1/contacts", {"first_name": "Hugo", "last_name": "Martin", "city": "Lyon"})
    ok = post(
        "/api/v1/webhooks", {"url": f"{receiver.base}/ok/crm", "event_types": ["contacts.*", "deals.updated"]}
    )
    bad = post(
        "/api/v1/webhooks",
        {"url": f"{receiver.base}/erp/sync", "event_types": ["deals.*"], "description": "ERP sync"},
    )
    post(f"/api/v1/webhooks/{ok['id']}/test", {})
    post(f"/api/v1/webhooks/{bad['id']}/test", {})
    post("/api/v1/contacts", {"first_name": "Chloe", "last_name": "Petit", "city": "Paris"})
    runs = wait_until(lambda: http.get(f"/api/v1/workflows/{wf['id']}/runs").json()["items"])
    wait_until(
        lambda: (
            http.get(f"/api/v1/webhooks/{ok['id']}/deliveries").json()["items"][-1]["status"] == "succeeded"
        )
    )
    # an import up to its dry run, with rejected rows
    csv = tmp / "old-crm-contacts.csv"
    csv.write_text(
        "First name;Last name;E-mail;Phone;Town;Company\n"
        "Emma;Roux;emma.roux@example.com;+33 4 78 00 11 22;Lyon;Acme\n"
        "Louis;Fournier;louis.fournier@;+33 1 40 00 00 00;Paris;Globex\n"
        "Jade;Girard;jade.girard@example.com;;Nantes;Initech\n"
        "Léo;Bonnet;leo.bonnet@example.com;not a phone;Lille;Acme\n"
        "Inès;Lambert;ines.lambert@example.com;+33 5 56 00 00 00;Bordeaux;Umbrella\n",
        encoding="cp1252",
    )
    with csv.open("rb") as f:
        r = http.post(
            "/api/v1/imports", files={"file": (csv.name, f, "text/csv")}, data={"object": "contacts"}
        )
    job = r.json()
    http.put(f"/api/v1/imports/{job['id']}/mapping", json={"mapping": job["mapping"], "key": "email"})
    post(f"/api/v1/imports/{job['id']}/dry-run", {})
    wait_until(lambda: http.get(f"/api/v1/imports/{job['id']}").json()["status"] == "validated")
    # duplicates: a few planted ones, then a scan
    for first, last, email, phone in (
        ("Margaux", "Dupont", "margaux.dupont@example.com", "+33 6 12 34 56 78"),
        ("Margaux", "Dupond", "m.dupont@example.org", "+33 612 345 678"),
        ("Thomas", "Leroy", "thomas.leroy@example.com", "+33 6 98 76 54 32"),
        ("Tomas", "Leroy", "tleroy@example.net", "+33 6 98 76 54 32"),
    ):
        post(
            "/api/v1/contacts",
            {"first_name": first, "last_name": last, "email": email, "phone": phone, "city": "Lyon"},
        )
    post("/api/v1/duplicates/scan", {"object": "contacts"})
    wait_until(lambda: http.get("/api/v1/duplicates", params={"object": "contacts"}).json()["items"], 90)
    return {
        "workflow": wf["id"],
        "run": runs[0]["id"],
        "hook": ok["id"],
        "import": job["id"],
        "contact": contact["id"],
    }


def shoot(base: str, out: Path, ids: dict[str, int]) -> Iterator[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for kind, (w, h) in VIEWPORTS.items():
            phone = kind == "phone"
            ctx = browser.new_context(
                viewport={"width": w, "height": h}, is_mobile=phone, has_touch=phone, locale="en-US"
            )
            page = ctx.new_page()
            page.goto(base + "/login")
            page.get_by_label("Email").fill(ADMIN[0])
            page.get_by_label("Password").fill(ADMIN[1])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(base + "/")

            def snap(name: str, path: str | None = None, page: Any = page, kind: str = kind) -> Path:
                if path is not None:
                    page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(400)
                target = out / f"{name}-{kind}.png"
                page.screenshot(path=str(target))
                return target

            yield snap("workflows", "/automation/workflows")
            page.goto(base + f"/automation/workflows/{ids['workflow']}")
            page.get_by_label("…or its id").fill(str(ids["contact"]))
            page.get_by_role("button", name="Dry run", exact=True).click()
            page.get_by_role("status", name="Dry run result").wait_for()
            heading = "Then do, in order" if phone else "When"
            page.get_by_role("heading", name=heading, exact=True).evaluate(
                "e => e.closest('section').scrollIntoView({block: 'start'})"
            )
            yield snap("workflow-editor")
            yield snap("workflow-run", f"/automation/runs/{ids['run']}")
            yield snap("webhooks", "/automation/webhooks")
            yield snap("webhook-deliveries", f"/automation/webhooks/{ids['hook']}")
            yield snap("jobs", "/admin/jobs")
            yield snap("notification-settings", "/settings/notifications")
            page.goto(base + f"/data/import/{ids['import']}")
            page.get_by_label("Dry run result").wait_for()
            yield snap("import-dry-run")
            page.goto(base + "/data/duplicates")
            page.get_by_role("button", name="Compare and merge").first.click()
            page.get_by_role("dialog").wait_for()
            yield snap("duplicates-merge")
            ctx.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sextant-shots-auto-"))
    proc = None
    try:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp / 'demo.db'}",
            "SEXTANT_RUN_DISPATCHER": "true",
            "SEXTANT_JOBS_PATH": str(tmp / "jobs-queue.db"),
            "SEXTANT_IMPORT_DIR": str(tmp / "imports"),
        }
        cli = str(Path(sys.executable).parent / "sextant")
        subprocess.run([cli, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        subprocess.run(  # noqa: S603 - our own CLI
            [cli, "seed", "--demo", "--contacts", "150", "--companies", "50"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(  # noqa: S603 - this Python running uvicorn
            [sys.executable, "-m", "uvicorn", "sextant.asgi:app", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200)
        http = httpx.Client(base_url=base, timeout=30)
        r = http.post("/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        ids = showcase(http, Receiver(), tmp)
        for path in shoot(base, Path(args.out), ids):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
