from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from sextant.accounts import security

# The hasher the application ships with, kept for the test that checks its cost parameters.
PRODUCTION_HASHER = security._hasher
# Same algorithm (argon2id), a fraction of the cost: these tests hash and verify hundreds of passwords.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
FAST_DUMMY_HASH = FAST_HASHER.hash("sextant-dummy-password")


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "_hasher", FAST_HASHER)
    monkeypatch.setattr(security, "_DUMMY_HASH", FAST_DUMMY_HASH)


@pytest.fixture
def browser(app: Any) -> Iterator[TestClient]:
    """A second client with its own cookie jar, playing the web browser (so `client` stays cookie-free)."""
    with TestClient(app) as c:
        yield c
