"""Sales-side API latency against a real server process on generated data (issue #3's benchmark).

    python bench/sales_latency.py --n 1000000 --db sqlite       [--path FILE]  [--regenerate]
    python bench/sales_latency.py --n 1000000 --db postgresql   [--url URL]
    python bench/sales_latency.py --n 1000 --db sqlite          (smoke: well under a minute)

Uses the data of bench/generate_sales.py (1M contacts, 200k deals, 10M activities, 250k tasks at N=1M;
generated first unless already there), starts `uvicorn bench_asgi:app` like api_latency.py does, and
measures p50/p95 of sequential requests over loopback, through the real HTTP API:

* a record's first timeline page (`GET /api/v1/contacts/{id}/timeline`) as a sales rep (OWD private: the rep
  sees only items owned by their team), for the heaviest contacts the rep can see (thousands of activities)
  and for typical ones (a median number of activities);
* the pipeline board (`GET /api/v1/pipelines/{id}/board`: every stage of the biggest pipeline with its first
  page of deals and its totals) for a manager (the VP of sales, who sees every seller's deals) and for the
  restricted sales rep;
* "my day" (`GET /api/v1/my-day`) for sales reps.

Ends with one summary line per database, e.g.
`sales_latency sqlite n=1000000 timeline_p95_ms=.. timeline_typical_p95_ms=.. board_mgr_p95_ms=..
board_rep_p95_ms=.. myday_p95_ms=.. load=..` (timeline_p95_ms is the heavy contact's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import api_latency  # noqa: E402  (the HTTP client, server start/stop and percentiles)
import generate  # noqa: E402
import generate_sales  # noqa: E402


class Sample:
    def __init__(self, db: str, target: str, reps: int) -> None:
        mark = "?" if db == "sqlite" else "%s"
        with contextlib.closing(generate_sales._raw(db, target)) as conn:

            def rows(sql: str, *params: Any) -> list[Any]:
                return list(conn.execute(sql.replace("?", mark), params).fetchall())

            self.rep_email = generate.rep_email(1)
            ((rep_id, team_id),) = rows("SELECT id, team_id FROM users WHERE email = ?", self.rep_email)
            peers = [r[0] for r in rows("SELECT id FROM users WHERE team_id = ? OR id = ?", team_id, rep_id)]
            marks = ",".join(str(p) for p in peers)
            busiest = rows(
                "SELECT record_id, count(*) FROM record_links WHERE object_name = 'contacts' "
                "GROUP BY record_id ORDER BY count(*) DESC LIMIT 400"
            )
            visible = {
                r[0]
                for r in rows(
                    f"SELECT id FROM contacts WHERE deleted_at IS NULL AND owner_id IN ({marks}) "
                    f"AND id IN ({','.join(str(b[0]) for b in busiest) or '0'})"
                )
            }
            counts = [b for b in busiest if b[0] in visible][:20]
            self.heavy = [r[0] for r in counts] or [self._any(rows, marks)]
            self.heavy_counts = [r[1] for r in counts]
            # Typical: contacts of the rep's team picked at random (most have a handful of activities).
            ((max_id,),) = rows("SELECT max(id) FROM contacts")
            rng = random.Random(11)
            ids = ",".join(str(rng.randint(1, max_id)) for _ in range(4000))
            typical = rows(
                f"SELECT c.id, (SELECT count(*) FROM record_links l WHERE l.object_name = 'contacts' "
                f"AND l.record_id = c.id) FROM contacts c WHERE c.id IN ({ids}) AND c.deleted_at IS NULL "
                f"AND c.owner_id IN ({marks})"
            )
            typical.sort(key=lambda r: r[1])
            self.typical = [r[0] for r in typical[len(typical) // 4 : 3 * len(typical) // 4]] or self.heavy
            self.typical_median = typical[len(typical) // 2][1] if typical else 0
            ((self.pipeline_id, self.pipeline_deals),) = rows(
                "SELECT pipeline_id, count(*) FROM deals GROUP BY pipeline_id ORDER BY count(*) DESC LIMIT 1"
            )
            self.open_deals = rows(
                "SELECT count(*) FROM deals WHERE pipeline_id = ? AND status = 'open' AND deleted_at IS NULL",
                self.pipeline_id,
            )[0][0]
            self.rep_emails = [generate.rep_email(i) for i in range(1, reps + 1)]

    @staticmethod
    def _any(rows: Any, marks: str) -> int:
        return int(rows(f"SELECT min(id) FROM contacts WHERE owner_id IN ({marks})")[0][0])


async def run(args: argparse.Namespace, db: str, target: str, url: str, log: Any) -> str:
    rng = random.Random(args.seed)
    sample = Sample(db, target, args.myday_users)
    smoke = args.n <= 10_000 and not args.full
    n_lat = args.requests or (30 if smoke else 200)
    warmup = 5 if smoke else 15
    max_s = 15.0 if smoke else 120.0
    port = api_latency.free_port()
    load_start = os.getloadavg()[0]
    log(
        f"heaviest contacts the rep sees have {sample.heavy_counts[:5]}... activities; a typical one "
        f"{sample.typical_median}; pipeline {sample.pipeline_id}: {sample.pipeline_deals} deals, "
        f"{sample.open_deals} open"
    )
    proc = api_latency.start_server(url, port, args.server_workers)
    results: dict[str, float] = {}
    try:
        rep = await api_latency.login(port, sample.rep_email)
        manager = await api_latency.login(port, f"vp@{generate.DOMAIN}")
        reps = [await api_latency.login(port, e) for e in sample.rep_emails]

        def paths(template: str, ids: list[int]) -> list[str]:
            return [template.format(rng.choice(ids)) for _ in range(n_lat + warmup)]

        board = f"/api/v1/pipelines/{sample.pipeline_id}/board"
        runs: list[tuple[str, list[tuple[dict[str, str], str]]]] = [
            ("timeline", [(rep, p) for p in paths("/api/v1/contacts/{}/timeline", sample.heavy)]),
            ("timeline_typical", [(rep, p) for p in paths("/api/v1/contacts/{}/timeline", sample.typical)]),
            ("board_mgr", [(manager, board)] * (n_lat + warmup)),
            ("board_rep", [(rep, board)] * (n_lat + warmup)),
            ("myday", [(reps[i % len(reps)], "/api/v1/my-day") for i in range(n_lat + warmup)]),
        ]
        for name, calls in runs:
            values = await timed(port, calls, warmup, max_s)
            results[f"{name}_p50"] = api_latency.pct(values, 0.5)
            results[f"{name}_p95"] = api_latency.pct(values, 0.95)
            log(
                f"{name:17} p50={results[f'{name}_p50']:7.1f} ms  p95={results[f'{name}_p95']:7.1f} ms  "
                f"max={max(values):7.1f} ms  ({len(values)} requests)"
            )
    finally:
        api_latency.stop_server(proc)
    load_end = os.getloadavg()[0]
    log(
        f"machine: {os.cpu_count()} CPUs, 1-minute load average {load_start:.1f} at start, "
        f"{load_end:.1f} at end"
    )
    return (
        f"sales_latency {db} n={args.n} timeline_p95_ms={results['timeline_p95']:.1f} "
        f"timeline_typical_p95_ms={results['timeline_typical_p95']:.1f} "
        f"board_mgr_p95_ms={results['board_mgr_p95']:.1f} board_rep_p95_ms={results['board_rep_p95']:.1f} "
        f"myday_p95_ms={results['myday_p95']:.1f} timeline_p50_ms={results['timeline_p50']:.1f} "
        f"board_mgr_p50_ms={results['board_mgr_p50']:.1f} board_rep_p50_ms={results['board_rep_p50']:.1f} "
        f"myday_p50_ms={results['myday_p50']:.1f} load={max(load_start, load_end):.1f}"
    )


async def timed(port: int, calls: list[tuple[dict[str, str], str]], warmup: int, max_s: float) -> list[float]:
    import time

    conn = api_latency.Conn(port)
    out: list[float] = []
    deadline = time.monotonic() + max_s
    for i, (headers, path) in enumerate(calls):
        t = time.perf_counter()
        status, body = await conn.request("GET", path, headers)
        elapsed = (time.perf_counter() - t) * 1000
        if status != 200:
            raise SystemExit(f"GET {path} -> {status} {body[:300]!r}")
        if i >= warmup:
            out.append(elapsed)
        if time.monotonic() > deadline:
            break
    await conn.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--path", help="SQLite file (default /tmp/sextant-bench-N.db)")
    parser.add_argument(
        "--url", help="PostgreSQL URL (default postgresql+psycopg://postgres@127.0.0.1/bench_nN)"
    )
    parser.add_argument("--regenerate", action="store_true", help="generate the data even if present")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, help="requests per measurement (default 200; smoke 30)")
    parser.add_argument("--myday-users", type=int, default=10, help="sales reps whose 'my day' is asked for")
    parser.add_argument("--server-workers", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="full measurement even for a small --n")
    parser.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="generator processes"
    )
    args = parser.parse_args(argv)
    target = (args.path if args.db == "sqlite" else args.url) or generate.default_target(args.db, args.n)
    url = generate.sqlalchemy_url(args.db, target)

    def log(message: str) -> None:
        print(message, flush=True)

    if args.regenerate or not generate_sales.has_sales_data(args.db, target, args.n):
        if args.regenerate:
            generate.fresh_database(args.db, target)
        generate_sales.generate_sales(args.db, target, args.n, workers=args.workers, log=log)
    else:
        log(f"reusing the generated data at {target}")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(asyncio.run(run(args, args.db, target, url, log)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
