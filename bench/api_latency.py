"""API latency and throughput against a real server process on generated data.

    python bench/api_latency.py --n 1000000 --db sqlite       [--path FILE]  [--regenerate]
    python bench/api_latency.py --n 1000000 --db postgresql   [--url URL]
    python bench/api_latency.py --n 1000 --db sqlite          (smoke: well under a minute)

Starts `uvicorn bench_asgi:app` (that is `sextant.asgi:app` plus the bench-only bare endpoint, see
bench_asgi.py) with DATABASE_URL pointing at the data of bench/generate.py (generated first unless already
there) and SEXTANT_RUN_DISPATCHER=false, then measures over loopback with a small keep-alive HTTP client:

* latency (p50/p95, sequential requests) of get-by-id, a filtered list (two conditions + a sort, first page)
  and search (`/api/v1/search?q=<name prefix>`), as a sales rep (OWD private: sees only their team's
  records) and as the admin;
* requests/s of get-by-id (sales rep) under concurrent load, against the bare endpoint that reads the same
  rows with raw SQL through the same server, in alternating rounds of the same run.

Ends with one summary line per database, e.g.
`api_latency sqlite n=1000000 get_p95_ms=.. list_p95_ms=.. search_p95_ms=.. get_rps=.. bare_rps=.. ratio=..`
(the first three are the sales rep's; admin_* follow).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402  (bench/generate.py, the shared data generator)

HOST = "127.0.0.1"  # loopback only


# -- a tiny HTTP/1.1 keep-alive client ---------------------------------------------------------------------


class Conn:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method in ("POST", "PATCH", "PUT"):
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length, chunked = 0, False
        for line in header_lines:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                data = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(data[:-2])
            return status, b"".join(parts)
        return status, await self.reader.readexactly(length) if length else b""

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
            self.writer = None


# -- server --------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "SEXTANT_RUN_DISPATCHER": "false"}
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "--app-dir",
        str(BENCH),
        "bench_asgi:app",
        "--host",
        HOST,
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(cmd, env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                s.sendall(
                    f"GET /api/v1/health HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode()
                )
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("server did not start within 90 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- data to ask for ---------------------------------------------------------------------------------------


@dataclass
class Workload:
    rep_email: str
    rep_ids: list[int]  # live contacts the rep may see
    all_ids: list[int]
    lists: list[tuple[str, dict[str, Any], str]]  # (label, filter, sort)
    names: list[tuple[str, str]]  # (first, last) of random contacts


def _raw(db: str, target: str) -> Any:
    if db == "sqlite":
        return sqlite3.connect(target)
    return psycopg.connect(generate._libpq_url(target))


def pick_workload(db: str, target: str, rng: random.Random) -> Workload:
    mark = "?" if db == "sqlite" else "%s"
    with contextlib.closing(_raw(db, target)) as conn:

        def rows(sql: str, *params: Any) -> list[Any]:
            return list(conn.execute(sql.replace("?", mark), params).fetchall())

        rep_email = generate.rep_email(1)
        ((rep_id, team_id),) = rows("SELECT id, team_id FROM users WHERE email = ?", rep_email)
        peers = [
            r[0]
            for r in rows(
                "SELECT id FROM users WHERE team_id = ? OR manager_id = ? OR id = ?", team_id, rep_id, rep_id
            )
        ]
        ((max_id,),) = rows("SELECT max(id) FROM contacts")
        sample = sorted({rng.randint(1, max_id) for _ in range(20000)})
        live = rows(
            f"SELECT id, owner_id, first_name, last_name FROM contacts WHERE deleted_at IS NULL "
            f"AND id IN ({','.join(str(i) for i in sample)})"
        )
        all_ids = [r[0] for r in live]
        rep_ids = [r[0] for r in live if r[1] in peers]
        names = [(r[2], r[3]) for r in live if r[2] and r[3]]
        cities = [
            r[0]
            for r in rows(
                "SELECT city FROM contacts WHERE id IN ("
                + ",".join(str(i) for i in sample[:3000])
                + ") AND city IS NOT NULL GROUP BY city ORDER BY count(*) DESC LIMIT 12"
            )
        ]
    stages = ["lead", "customer", "subscriber", "marketing_qualified", "opportunity"]
    lists = []
    for i in range(24):
        stage, city = stages[i % len(stages)], cities[i % len(cities)]
        lists.append(
            (
                f"stage={stage}&city={city}",
                {
                    "and": [
                        {"field": "lifecycle_stage", "op": "eq", "value": stage},
                        {"field": "city", "op": "eq", "value": city},
                    ]
                },
                "-created_at",
            )
        )
    return Workload(rep_email, rep_ids, all_ids, lists, names)


def search_terms(names: list[tuple[str, str]], rng: random.Random, count: int) -> list[str]:
    """What people type: a first-name prefix, a last-name prefix, or a first name and a last-name prefix."""
    out = []
    for _ in range(count):
        first, last = rng.choice(names)
        roll = rng.random()
        if roll < 0.35:
            out.append(first[: rng.randint(3, 5)])
        elif roll < 0.7:
            out.append(last[: rng.randint(3, 6)])
        else:
            out.append(f"{first} {last[: rng.randint(2, 4)]}")
    return out


# -- measurements --------------------------------------------------------------------------------------------


async def login(port: int, email: str) -> dict[str, str]:
    conn = Conn(port)
    body = urllib.parse.urlencode({"username": email, "password": generate.PASSWORD}).encode()
    status, data = await conn.request(
        "POST", "/api/v1/auth/token", {"Content-Type": "application/x-www-form-urlencoded"}, body
    )
    await conn.close()
    if status != 200:
        raise SystemExit(f"login as {email} failed: {status} {data[:200]!r}")
    return {"Authorization": f"Bearer {json.loads(data)['access_token']}"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def latencies(
    port: int, headers: dict[str, str], paths: list[str], warmup: int, max_seconds: float
) -> tuple[list[float], int]:
    conn = Conn(port)
    out: list[float] = []
    hits = 0
    deadline = time.monotonic() + max_seconds
    for i, path in enumerate(paths):
        t = time.perf_counter()
        status, body = await conn.request("GET", path, headers)
        elapsed = (time.perf_counter() - t) * 1000
        if status != 200:
            raise SystemExit(f"GET {path} -> {status} {body[:300]!r}")
        if i >= warmup:
            out.append(elapsed)
            hits += bool(json.loads(body).get("items", [1]))
        if time.monotonic() > deadline:
            break
    await conn.close()
    return out, hits


async def throughput(
    port: int, headers: dict[str, str], paths: list[str], concurrency: int, seconds: float
) -> float:
    """Successful requests/s of `concurrency` keep-alive clients for `seconds` (a failure ends the run)."""
    stop = time.monotonic() + seconds
    count = 0
    failures: list[str] = []

    async def client(k: int) -> None:
        nonlocal count
        conn = Conn(port)
        i = k
        while time.monotonic() < stop and not failures:
            status, body = await conn.request("GET", paths[i % len(paths)], headers)
            if status != 200:
                failures.append(f"GET {paths[i % len(paths)]} -> {status} {body[:200]!r}")
                break
            count += 1
            i += concurrency
        await conn.close()

    t = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(concurrency)))
    if failures:
        raise SystemExit(f"{len(failures)} failed request(s) under load, first: {failures[0]}")
    return count / (time.perf_counter() - t)


async def run(args: argparse.Namespace, db: str, target: str, url: str, log: Any) -> str:
    rng = random.Random(args.seed)
    work = pick_workload(db, target, rng)
    smoke = args.n <= 10_000 and not args.full
    n_lat = args.requests or (40 if smoke else 300)
    warmup = 5 if smoke else 20
    max_s = 15.0 if smoke else 120.0
    port = free_port()
    load_start = os.getloadavg()[0]
    proc = start_server(url, port, args.server_workers)
    results: dict[str, float] = {}
    try:
        rep = await login(port, work.rep_email)
        admin = await login(port, generate.ADMIN_EMAIL)
        log(
            f"server pid {proc.pid} on {HOST}:{port}; sales rep sees {len(work.rep_ids)}/{len(work.all_ids)} "
            f"of the sampled contacts"
        )
        for who, headers, ids in (("rep", rep, work.rep_ids), ("admin", admin, work.all_ids)):
            gets = [f"/api/v1/contacts/{rng.choice(ids)}" for _ in range(n_lat + warmup)]
            lists = []
            for i in range(n_lat + warmup):
                _label, flt, sort = work.lists[i % len(work.lists)]
                lists.append(
                    "/api/v1/contacts?" + urllib.parse.urlencode({"filter": json.dumps(flt), "sort": sort})
                )
            terms = search_terms(work.names, rng, n_lat + warmup)
            searches = ["/api/v1/search?" + urllib.parse.urlencode({"q": q}) for q in terms]
            for kind, paths in (("get", gets), ("list", lists), ("search", searches)):
                values, hits = await latencies(port, headers, paths, warmup, max_s)
                results[f"{who}_{kind}_p50"] = pct(values, 0.5)
                results[f"{who}_{kind}_p95"] = pct(values, 0.95)
                log(
                    f"{who:5} {kind:6} p50={pct(values, 0.5):7.1f} ms  p95={pct(values, 0.95):7.1f} ms  "
                    f"max={max(values):7.1f} ms  ({len(values)} requests, {hits} non-empty)"
                )
        ids = work.rep_ids
        gets = [f"/api/v1/contacts/{rng.choice(ids)}" for _ in range(5000)]
        bares = [f"/bench/bare/contacts/{rng.choice(ids)}" for _ in range(5000)]
        seconds = 2.0 if smoke else args.seconds
        rounds = 1 if smoke else args.rounds
        get_rps, bare_rps = [], []
        await throughput(port, rep, gets[:200], args.concurrency, 1.0)  # warm both paths up
        await throughput(port, {}, bares[:200], args.concurrency, 1.0)
        for r in range(rounds):  # alternate, so both see the same machine
            bare_rps.append(await throughput(port, {}, bares, args.concurrency, seconds))
            get_rps.append(await throughput(port, rep, gets, args.concurrency, seconds))
            log(
                f"round {r + 1}: bare {bare_rps[-1]:7.0f} req/s   get-by-id {get_rps[-1]:7.0f} req/s  "
                f"({args.concurrency} concurrent clients, {seconds:.0f} s each)"
            )
        results["get_rps"] = statistics.median(get_rps)
        results["bare_rps"] = statistics.median(bare_rps)
    finally:
        stop_server(proc)
    load_end = os.getloadavg()[0]
    log(
        f"machine: {os.cpu_count()} CPUs, 1-minute load average {load_start:.1f} at start, "
        f"{load_end:.1f} at end "
        f"(this benchmark itself accounts for about 2)"
    )
    ratio = results["get_rps"] / results["bare_rps"]
    return (
        f"api_latency {db} n={args.n} get_p95_ms={results['rep_get_p95']:.1f} "
        f"list_p95_ms={results['rep_list_p95']:.1f} search_p95_ms={results['rep_search_p95']:.1f} "
        f"get_rps={results['get_rps']:.0f} bare_rps={results['bare_rps']:.0f} ratio={ratio:.2f} "
        f"admin_get_p95_ms={results['admin_get_p95']:.1f} admin_list_p95_ms={results['admin_list_p95']:.1f} "
        f"admin_search_p95_ms={results['admin_search_p95']:.1f} load={max(load_start, load_end):.1f}"
    )


def has_data(db: str, target: str, n: int) -> bool:
    try:
        with contextlib.closing(_raw(db, target)) as conn:
            if db == "sqlite" and not Path(target).exists():
                return False
            ((count,),) = conn.execute("SELECT count(*) FROM contacts").fetchall()
            ((admins,),) = conn.execute(
                f"SELECT count(*) FROM users WHERE email = '{generate.ADMIN_EMAIL}'"
            ).fetchall()
            return count == n and admins == 1
    except Exception:
        return False


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
    parser.add_argument(
        "--requests", type=int, help="requests per latency measurement (default 300; smoke 40)"
    )
    parser.add_argument("--concurrency", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=8.0, help="length of one throughput round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server-workers", type=int, default=1)
    parser.add_argument("--full", action="store_true", help="full measurement even for a small --n")
    args = parser.parse_args(argv)
    target = (args.path if args.db == "sqlite" else args.url) or generate.default_target(args.db, args.n)
    url = generate.sqlalchemy_url(args.db, target)

    def log(message: str) -> None:
        print(message, flush=True)

    if args.regenerate or not has_data(args.db, target, args.n):
        generate.generate(args.db, target, args.n, log=log)
    else:
        log(f"reusing the generated data at {target}")
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    summary = asyncio.run(run(args, args.db, target, url, log))
    print(summary, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
