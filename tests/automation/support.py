"""Shared pieces of the automation tests: settling the outbox and the job queue, workflow factories, and small
real servers on loopback (an HTTP receiver for webhooks; aiosmtpd for email)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sextant.core import jobs
from sextant.core.events import dispatch_all
from tests.helpers import As

API = "/api/v1"


def settle(rounds: int = 20) -> None:
    """Deliver every outbox event and run every due job, until nothing is left (follow-on events included)."""
    for _ in range(rounds):
        if dispatch_all() == 0 and jobs.drain() == 0 and dispatch_all() == 0:
            return


def workflow(admin: As, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "Test workflow")
    body.setdefault("enabled", True)
    r = admin.post(f"{API}/workflows", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def runs(admin: As, wf: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    r = admin.get(f"{API}/workflows/{wf['id']}/runs", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def run_detail(admin: As, run_id: int) -> dict[str, Any]:
    r = admin.get(f"{API}/workflow-runs/{run_id}")
    assert r.status_code == 200, r.text
    return r.json()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers with `status`."""

    status: int = 200
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.requests.append(
                    Received(self.path, dict(self.headers.items()), self.rfile.read(length))
                )
                self.send_response(outer.status)
                self.end_headers()
                self.wfile.write(b"ok" if outer.status < 300 else b"nope")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    try:
        yield r
    finally:
        r.stop()
