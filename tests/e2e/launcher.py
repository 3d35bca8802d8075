"""Starts `uvicorn sextant.asgi:app` servers quickly: this process imports the application once, then
forks one child per server. Each child is a separate process that sets its own environment (DATABASE_URL
...), imports `sextant.asgi` (which builds the app from that environment) and runs uvicorn on it.

Protocol, one JSON object per line on stdin: {"port": int, "env": {...}, "log": "/path"}; the answer on
stdout is the child's pid. End of stdin ends the launcher; the tests stop each child by its pid.
"""

from __future__ import annotations

import json
import os
import signal
import sys


def main() -> None:
    # The heavy imports, done once. Nothing here reads settings or opens a database connection.
    import fastapi  # noqa: F401
    import sqlalchemy  # noqa: F401
    import uvicorn  # noqa: F401

    import sextant.app  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    print("ready", flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        spec = json.loads(line)
        pid = os.fork()
        if pid == 0:
            serve(spec)  # never returns
        print(pid, flush=True)


def serve(spec: dict) -> None:
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        log = os.open(spec["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.environ.update(spec["env"])
        from sextant.core.config import get_settings
        from sextant.core.db import reset_engine

        get_settings.cache_clear()
        reset_engine()
        import uvicorn

        uvicorn.run("sextant.asgi:app", host="127.0.0.1", port=spec["port"], log_level="warning")
    except BaseException as exc:  # report why in the log; the test sees the server never answer
        print(f"server failed: {exc!r}", file=sys.stderr, flush=True)
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
