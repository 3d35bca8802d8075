"""Screenshots of the main screens (desktop 1280x800 and phone 390x844) into docs/screenshots/.

By default it builds a throw-away demo: a fresh SQLite database, `sextant migrate`, `sextant seed --demo`, a
pipeline with deals, tasks and activities added through the API, and a server on a free port; all removed at
the end. With --base-url it photographs a running server instead (the showcase data is added if missing).

    .venv/bin/python scripts/screenshots.py [--base-url http://127.0.0.1:8000] [--out docs/screenshots]

Needs Chromium at /usr/bin/chromium (apt-get install -y chromium) and the Playwright Python package.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("SEXTANT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = ("admin@example.com", "sextant-admin")
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen[bytes] | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout:.0f}s")


class Api:
    def __init__(self, base: str, email: str, password: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        r = self.http.post("/api/v1/auth/token", data={"username": email, "password": password})
        r.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    def get(self, path: str, **params: Any) -> Any:
        r = self.http.get(path, params=params)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        r = self.http.post(path, json=body)
        if r.status_code >= 400:
            raise SystemExit(f"POST {path} -> {r.status_code}: {r.text}")
        return r.json()


def showcase(api: Api) -> dict[str, int]:
    """Make sure the screens have something to show: a pipeline with deals (when there is none), a day of
    tasks and meetings around one contact (when the signed-in user's day is empty), custom fields and a saved
    view on contacts, and an open lead to convert. Returns the ids the shots open."""
    me = api.get("/api/v1/auth/me")["user"]
    contact = api.get("/api/v1/contacts", sort="created_at", limit=1)["items"][0]
    if not api.get("/api/v1/pipelines"):
        add_deals(api, contact)
    day = api.get("/api/v1/my-day")
    if not any(day[k] for k in ("overdue", "today", "upcoming", "meetings")):
        add_day(api, me, contact)
    names = {f["name"] for f in api.get("/api/v1/metadata/objects/contacts/custom-fields")}
    if "shirt_size" not in names:
        api.post(
            "/api/v1/metadata/objects/contacts/fields",
            {
                "name": "shirt_size",
                "label": "Shirt size",
                "type": "single_select",
                "options": ["S", "M", "L", "XL"],
            },
        )
    if "newsletter" not in names:
        api.post(
            "/api/v1/metadata/objects/contacts/fields",
            {
                "name": "newsletter",
                "label": "Newsletter",
                "type": "boolean",
                "help_text": "Opted in to the monthly news",
            },
        )
    if not api.get("/api/v1/saved-views", object="contacts"):
        api.post(
            "/api/v1/saved-views",
            {
                "object": "contacts",
                "name": "Customers and opportunities",
                "columns": ["email", "city", "lifecycle_stage", "owner_id"],
                "sort": "last_name",
                "filter": {
                    "or": [
                        {"field": "lifecycle_stage", "op": "eq", "value": "customer"},
                        {"field": "lifecycle_stage", "op": "eq", "value": "opportunity"},
                    ]
                },
            },
        )
    flt = json.dumps({"field": "status", "op": "in", "value": ["new", "working", "qualified"]})
    leads = api.get("/api/v1/leads", filter=flt, limit=1)["items"]
    lead = (
        leads[0]
        if leads
        else api.post(
            "/api/v1/leads",
            {
                "first_name": "Lea",
                "last_name": "Lead",
                "company_name": "Northwind",
                "email": "lea@northwind.example",
            },
        )
    )
    return {"contact": contact["id"], "lead": lead["id"]}


def add_deals(api: Api, contact: dict[str, Any]) -> None:
    pipeline = api.post(
        "/api/v1/pipelines",
        {
            "name": "New business",
            "is_default": True,
            "stages": [
                {"name": "Qualification", "probability": 10},
                {"name": "Discovery", "probability": 25},
                {"name": "Proposal", "probability": 50},
                {"name": "Negotiation", "probability": 75},
                {"name": "Won", "probability": 100, "kind": "won"},
                {"name": "Lost", "probability": 0, "kind": "lost"},
            ],
        },
    )
    stages = {s["name"]: s["id"] for s in pipeline["stages"]}
    companies = api.get("/api/v1/companies", limit=20, sort="name")["items"]
    users = [u for u in api.get("/api/v1/users") if u["email"] not in (ADMIN[0], "auditor@example.com")]
    soon = date.today() + timedelta(days=20)
    plan = [
        ("Qualification", 4),
        ("Discovery", 3),
        ("Proposal", 3),
        ("Negotiation", 2),
        ("Won", 2),
        ("Lost", 1),
    ]
    amounts = [
        12000,
        48000,
        7500,
        96000,
        23000,
        15500,
        64000,
        31000,
        8800,
        120000,
        54000,
        27000,
        18000,
        9900,
        41000,
    ]
    n = 0
    for stage, count in plan:
        for _ in range(count):
            company = companies[n % len(companies)]
            product = [
                "Platform licences (50 seats)",
                "Annual renewal 2027",
                "Analytics add-on",
                "Pilot, 90 days",
                "Premium support plan",
                "Team expansion EMEA",
                "Data migration project",
            ][n % 7]
            body = {
                "name": product,
                "stage_id": stages[stage],
                "amount": amounts[n % len(amounts)],
                "currency": "USD",
                "expected_close_date": (soon + timedelta(days=7 * n)).isoformat(),
                "company_id": company["id"],
                "owner_id": users[n % len(users)]["id"],
            }
            if n == 0:
                body["primary_contact_id"] = contact["id"]
            if stage == "Lost":
                body["lost_reason"] = "competitor"
            api.post("/api/v1/deals", body)
            n += 1


def add_day(api: Api, me: dict[str, Any], contact: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    today_at = datetime.now().astimezone().replace(minute=0, second=0, microsecond=0)
    link = [{"object": "contacts", "id": contact["id"]}]
    tasks = [
        ("Send the revised proposal", today_at.replace(hour=16) - timedelta(days=2), "high"),
        ("Call back about onboarding", today_at.replace(hour=15), "normal"),
        ("Prepare the quarterly review deck", today_at.replace(hour=17), "normal"),
        ("Confirm the workshop agenda", today_at.replace(hour=11) + timedelta(days=2), "low"),
        ("Renewal check-in", today_at.replace(hour=9) + timedelta(days=4), "urgent"),
    ]
    for i, (title, due, priority) in enumerate(tasks):
        body = {
            "title": title,
            "due_at": due.astimezone(UTC).isoformat(),
            "priority": priority,
            "owner_id": me["id"],
            "links": link,
        }
        if i < 2:  # reminders already due: the scheduler turns them into notifications (the bell's count)
            body["reminder_at"] = (now - timedelta(minutes=5)).isoformat()
        api.post("/api/v1/tasks", body)
    for hour, subject, place in [
        (10, "Discovery call with the buying committee", "Video"),
        (14, "Site visit", "Customer office"),
    ]:
        start = today_at.replace(hour=hour).astimezone(UTC)
        api.post(
            "/api/v1/activities",
            {
                "kind": "meeting",
                "subject": subject,
                "location": place,
                "start_at": start.isoformat(),
                "end_at": (start + timedelta(hours=1)).isoformat(),
                "links": link,
            },
        )
    api.post(
        "/api/v1/activities",
        {
            "kind": "call",
            "subject": "Intro call",
            "direction": "outbound",
            "outcome": "connected",
            "body": "<p>Interested in the <b>Pro</b> plan; wants a demo for the team next week.</p>",
            "links": link,
        },
    )
    api.post(
        "/api/v1/activities",
        {"kind": "note", "subject": "Budget", "body": "<p>Budget approved for Q3.</p>", "links": link},
    )


def _select_two(page: Any) -> None:
    rows = page.locator("tbody").get_by_role("checkbox", name=re.compile("^Select "))
    rows.nth(0).check()
    rows.nth(1).check()


def _filter_group(page: Any) -> None:
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("button", name="Add condition").click()
    page.get_by_label("Condition 1: field").select_option(label="City")
    page.get_by_role("button", name="Add group").click()


def _click(name: str) -> Any:
    return lambda page: page.get_by_role("button", name=name, exact=True).first.click()


def shoot(base: str, out: Path, ids: dict[str, int]) -> list[Path]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    out.mkdir(parents=True, exist_ok=True)
    shots: list[tuple[str, str, Any]] = [
        ("my-day", "/", None),
        ("contact-list", "/o/contacts", None),
        ("contact-record", f"/o/contacts/{ids['contact']}", None),
        ("board", "/board", None),
        ("list-bulk", "/o/contacts?sort=last_name", _select_two),
        ("list-filter-groups", "/o/contacts", _filter_group),
        ("lead-convert", f"/o/leads/{ids['lead']}", _click("Convert")),
        ("admin-fields", "/admin/fields/contacts", None),
        ("admin-field-dialog", "/admin/fields/contacts", _click("Edit Shirt size")),
        ("admin-users", "/admin/users", None),
        ("admin-role", "/admin/roles", _click("Edit Sales rep")),
    ]
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for label, (w, h) in VIEWPORTS.items():
            phone = label == "phone"
            ctx = browser.new_context(
                viewport={"width": w, "height": h},
                is_mobile=phone,
                has_touch=phone,
                device_scale_factor=1 if not phone else 2,
                locale="en-US",
                timezone_id=os.environ.get("TZ_SCREENSHOTS", "UTC"),
            )
            page = ctx.new_page()
            page.goto(f"{base}/login")
            page.get_by_label("Email").fill(ADMIN[0])
            page.get_by_label("Password").fill(ADMIN[1])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{base}/")
            for name, path, action in shots:
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                if action is not None:
                    action(page)
                    page.wait_for_load_state("networkidle")
                page.wait_for_timeout(400)
                target = out / f"{name}-{label}.png"
                page.screenshot(path=str(target))
                written.append(target)
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > w:
                    print(f"warning: {name} scrolls sideways on {label} ({width}px > {w}px)", file=sys.stderr)
            ctx.close()
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", help="photograph this running server instead of a throw-away demo")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    proc = None
    tmp = None
    base = args.base_url
    try:
        if not base:
            tmp = Path(tempfile.mkdtemp(prefix="sextant-shots-"))
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{tmp / 'demo.db'}",
                "SEXTANT_RUN_DISPATCHER": "true",
            }
            cli = str(Path(sys.executable).parent / "sextant")
            subprocess.run([cli, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
            subprocess.run(  # noqa: S603 - our own CLI
                [cli, "seed", "--demo", "--contacts", "150", "--companies", "50"], env=env, check=True
            )
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            proc = subprocess.Popen(  # noqa: S603 - this Python running uvicorn
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "sextant.asgi:app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                env=env,
                cwd=tmp,
            )
        wait_for(f"{base}/api/v1/health", proc)
        ids = showcase(Api(base, *ADMIN))
        if tmp is not None:
            # fire the due task reminders now (the periodic jobs' own code), so the bell has something to show
            fire = "import sextant.app; from sextant.core.scheduler import run_due; run_due()"
            subprocess.run([sys.executable, "-c", fire], env=env, check=True)  # noqa: S603
        for path in shoot(base, Path(args.out), ids):
            print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
