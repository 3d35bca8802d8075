"""Profile one API request path in-process: the ASGI app called directly, no HTTP server, no client.

    DATABASE_URL=sqlite:////tmp/sextant-bench-20000.db python bench/profile_asgi.py \
        --path '/api/v1/contacts/{id}' --email rep01@bench.example.com [--requests 2000] [--profile]

Signs in as --email (password of bench/generate.py), then sends --requests GET requests to --path ({id} is
replaced by ids of contacts the user can see) straight into `bench_asgi:app`, with FastAPI's thread pool
replaced by inline calls so that cProfile sees the whole request in one thread. Prints requests/s
(in-process, so without the server's HTTP parsing) and, with --profile, the top of the cProfile listing.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))


async def call(
    app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def inline_threads() -> None:
    """Run what FastAPI would hand to its thread pool inline, so one profiler sees everything."""
    import anyio.to_thread

    async def run_sync(func: Any, *args: Any, **_kwargs: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


async def main_async(args: argparse.Namespace) -> None:
    import generate
    from bench_asgi import app

    async with app.router.lifespan_context(app):
        form = urllib.parse.urlencode({"username": args.email, "password": generate.PASSWORD}).encode()
        status, data = await call(
            app,
            "POST",
            "/api/v1/auth/token",
            {"content-type": "application/x-www-form-urlencoded", "content-length": str(len(form))},
            form,
        )
        assert status == 200, data
        headers = {"authorization": f"Bearer {json.loads(data)['access_token']}"}
        status, data = await call(app, "GET", "/api/v1/contacts?limit=200&fields=id", headers)
        assert status == 200, data
        ids = [item["id"] for item in json.loads(data)["items"]]
        paths = [args.path.replace("{id}", str(ids[i % len(ids)])) for i in range(args.requests)]
        for p in paths[:50]:  # warm up
            await call(app, "GET", p, headers if "/bench/bare" not in p else {})
        prof = cProfile.Profile() if args.profile else None
        t = time.perf_counter()
        if prof:
            prof.enable()
        for p in paths:
            status, data = await call(app, "GET", p, headers if "/bench/bare" not in p else {})
            assert status == 200, (p, status, data[:200])
        if prof:
            prof.disable()
        elapsed = time.perf_counter() - t
        print(f"{args.requests / elapsed:,.0f} requests/s in-process ({args.path})")
        if prof:
            stats = pstats.Stats(prof).sort_stats(args.sort)
            stats.print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", default="/api/v1/contacts/{id}")
    parser.add_argument("--email", default="rep01@bench.example.com")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--top", type=int, default=60)
    args = parser.parse_args()
    inline_threads()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
