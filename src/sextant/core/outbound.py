"""Outgoing HTTP (workflow calls, webhook deliveries): one pooled client per process.

A fresh `httpx.post` builds a client and its TLS context each time (loading the CA bundle: ~20 ms of CPU),
and opens a new connection; a shared client does that once and keeps connections to busy receivers alive.
httpx clients are safe to share between the worker threads.
"""

from __future__ import annotations

import threading

import httpx

from sextant.core.config import get_settings

_client: httpx.Client | None = None
_lock = threading.Lock()


def client() -> httpx.Client:
    global _client
    with _lock:
        if _client is None:
            _client = httpx.Client(
                follow_redirects=False,  # a receiver's redirect is its answer, not a new destination
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
            )
        return _client


def post(url: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
    return client().post(url, content=content, headers=headers, timeout=get_settings().http_timeout)


def reset() -> None:
    """Close the shared client (process shutdown)."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
