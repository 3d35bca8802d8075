"""Helpers for data-quality tests: upload a file, map it, run it through the job queue."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.helpers import As


def csv_bytes(rows: list[list[Any]], delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode(encoding)


def upload(caller: As, obj: str, content: bytes, name: str = "people.csv") -> Any:
    return caller.post("/api/v1/imports", files={"file": (name, content)}, data={"object": obj})


def drain() -> int:
    from sextant.core import jobs

    return jobs.drain()


def run_import(
    caller: As,
    obj: str,
    content: bytes,
    mapping: dict[str, Any] | None = None,
    key: str | None = None,
    name: str = "people.csv",
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    r = upload(caller, obj, content, name)
    assert r.status_code == 201, r.text
    job = r.json()
    body: dict[str, Any] = {"mapping": mapping or job["mapping"]}
    if key is not None or mapping is not None:
        body["key"] = key
    else:
        body["key"] = job["key"]
    if options:
        body["options"] = options
    r = caller.put(f"/api/v1/imports/{job['id']}/mapping", json=body)
    assert r.status_code == 200, r.text
    r = caller.post(f"/api/v1/imports/{job['id']}/run")
    assert r.status_code == 202, r.text
    drain()
    r = caller.get(f"/api/v1/imports/{job['id']}")
    assert r.status_code == 200, r.text
    return r.json()
