"""First meaningful paint of the contacts list and of the pipeline board, measured in headless Chromium.

    python bench/list_paint.py --n 1000000 --db sqlite       [--path FILE] [--runs 5]
    python bench/list_paint.py --n 1000000 --db postgresql   [--url URL]
    python bench/list_paint.py --n 1000 --generate           # make the data first (bench/generate_sales.py)

The data is the shared benchmark data (bench/generate.py: users, N contacts, N/5 companies; then
bench/generate_sales.py: N/5 deals, activities, tasks). This script imports those generators, never copies
them: with --generate it makes the data when it is missing, otherwise it measures whatever the database holds
and says so (counts are printed with the figures).

What is measured: a real `uvicorn sextant.asgi:app` on the database (migrated to head first, as an operator
would after an upgrade), a signed-in browser context per run (fresh: no HTTP cache, no warmed JS), then
`page.goto` of /o/contacts and of /board. "First meaningful paint" is the time from navigation start until the
first data row (a list row, a deal card) is in the DOM and rendered: a MutationObserver installed before any
page script notes performance.now() at the first animation frame after the row appears. Each screen is
measured for the admin (sees every record) and for a sales rep (the visibility rules apply). Target: < 1.5 s.

Chromium is Debian's (/usr/bin/chromium) with --no-sandbox --disable-gpu --disable-background-networking
--disable-component-update --disable-sync --no-first-run. One summary line is printed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402  (bench/generate.py, the shared data generator)
import generate_sales  # noqa: E402  (bench/generate_sales.py: deals, activities, tasks on top of it)

CHROMIUM = os.environ.get("SEXTANT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TARGET_MS = 1500
SCREENS = {"contacts": ("/o/contacts", "table.data-table tbody tr"), "board": ("/board", ".deal-card")}
# The data request of each screen, to tell the server's share of the paint from the browser's.
DATA_URL = {"contacts": "/api/v1/contacts?", "board": "/board?"}

# Installed before any page script: the moment the first row is in the DOM, then painted (next frame).
OBSERVER = """
(() => {
  const selector = %r;
  const done = () => requestAnimationFrame(() => { window.__fmp = performance.now(); });
  const check = () => {
    if (window.__fmp === undefined && !window.__seen && document.querySelector(selector)) {
      window.__seen = true; observer.disconnect(); done();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document, { childList: true, subtree: true });
})();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def counts(db: str, target: str) -> dict[str, int]:
    out = {}
    with contextlib.closing(generate_sales._raw(db, target)) as conn:
        for table in ("contacts", "companies", "deals", "activities", "tasks"):
            try:
                ((value,),) = conn.execute(f"SELECT count(*) FROM {table}").fetchall()
            except Exception:
                value = 0
                if db == "postgresql":
                    conn.rollback()
            out[table] = int(value)
    return out


def serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "SEXTANT_RUN_DISPATCHER": "false"}
    cmd = [sys.executable, "-m", "uvicorn", "sextant.asgi:app", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*cmd, "--log-level", "warning"], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited (see {log})")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                return proc
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start within 120 s")


def measure(browser: Any, base: str, email: str, screen: str, timeout_ms: int) -> tuple[float, float]:
    """(first meaningful paint, end of the screen's data request), both in ms since navigation start."""
    path, selector = SCREENS[screen]
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US", timezone_id="UTC")
    try:
        r = ctx.request.post(
            f"{base}/api/v1/auth/login", data={"email": email, "password": generate.PASSWORD}
        )
        if r.status != 200:
            raise SystemExit(f"sign-in as {email} failed: {r.status} {r.text()}")
        page = ctx.new_page()
        page.add_init_script(OBSERVER % selector)
        page.goto(base + path, wait_until="commit")
        page.wait_for_function("window.__fmp !== undefined", timeout=timeout_ms)
        data_end = page.evaluate(
            "(part) => Math.max(0, ...performance.getEntriesByType('resource')"
            ".filter((e) => e.name.includes(part)).map((e) => e.responseEnd))",
            DATA_URL[screen],
        )
        return float(page.evaluate("window.__fmp")), float(data_end)
    finally:
        ctx.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="contacts of the data set (deals: n/5)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--path", help="SQLite file (default /tmp/sextant-bench-N.db)")
    parser.add_argument(
        "--url", help="PostgreSQL URL (default postgresql+psycopg://postgres@127.0.0.1/bench_nN)"
    )
    parser.add_argument("--runs", type=int, default=5, help="page loads per screen and user")
    parser.add_argument(
        "--generate", action="store_true", help="make the data with the shared generators if missing"
    )
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for a paint")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from sextant.bootstrap import upgrade

    target = (args.path if args.db == "sqlite" else args.url) or generate.default_target(args.db, args.n)
    if args.generate and not generate_sales.has_sales_data(args.db, target, args.n):
        generate_sales.generate_sales(args.db, target, args.n)
    if args.db == "sqlite" and not Path(target).exists():
        raise SystemExit(
            f"no data at {target}: run bench/generate_sales.py --n {args.n} first, or pass --generate"
        )
    url = generate.sqlalchemy_url(args.db, target)
    upgrade(url)  # the schema of this checkout (saved views ...) on the generated data
    have = counts(args.db, target)
    print("data: " + " ".join(f"{k}={v}" for k, v in have.items()))
    if have["contacts"] < args.n or have["deals"] < args.n // 5:
        print(f"note: the data set is smaller than asked (n={args.n}): measuring at what exists")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM}")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = Path(f"/tmp/list_paint-{port}.log")  # noqa: S108 - the server's log, kept for a failed run
    proc = serve(url, port, log)
    users = {"admin": generate.ADMIN_EMAIL, "rep": generate.rep_email(1)}
    results: dict[str, list[float]] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for who, email in users.items():
                for screen in SCREENS:
                    timeout = int(args.timeout * 1000)
                    measure(browser, base, email, screen, timeout)  # warm the server's caches
                    runs = [measure(browser, base, email, screen, timeout) for _ in range(args.runs)]
                    times = [r[0] for r in runs]
                    results[f"{screen}_{who}"] = times
                    data_done = statistics.median(r[1] for r in runs)
                    print(
                        f"{screen:8} {who:5} median={statistics.median(times):7.0f} ms  "
                        f"max={max(times):7.0f} ms  data_request_done_median={data_done:.0f} ms  "
                        f"runs={', '.join(f'{t:.0f}' for t in times)}"
                    )
            browser.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    medians = {k: statistics.median(v) for k, v in results.items()}
    met = all(v < TARGET_MS for v in medians.values())
    try:
        load = f"{os.getloadavg()[0]:.1f}"
    except OSError:
        load = "?"
    print(
        f"list_paint {args.db} n={args.n} contacts={have['contacts']} deals={have['deals']} "
        + " ".join(f"{k}_ms={v:.0f}" for k, v in medians.items())
        + f" target_ms={TARGET_MS} met={'yes' if met else 'no'} load={load}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
