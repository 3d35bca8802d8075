"""Shared helpers of the data-quality benchmarks: contacts as a CSV file from bench/generate.py's people,
a fresh migrated database with an admin, and the load average."""

from __future__ import annotations

import csv
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate

CSV_COLUMNS = (
    ("First name", "first_name"),
    ("Last name", "last_name"),
    ("Email", "email"),
    ("Phone", "phone"),
    ("Mobile", "mobile_phone"),
    ("Job title", "job_title"),
    ("Department", "department"),
    ("Lifecycle stage", "lifecycle_stage"),
    ("Source", "lead_source"),
    ("Tags", "tags"),
    ("Birthday", "birthday"),
    ("LinkedIn", "linkedin_url"),
    ("Street", "street"),
    ("City", "city"),
    ("Region", "region"),
    ("Postal code", "postal_code"),
    ("Country", "country"),
)
MAPPING = {header: field for header, field in CSV_COLUMNS}


def plan(n: int, seed: int = 42) -> Any:
    countries = generate._build_pools(seed)
    generate._fill_text_pools(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    p = generate.Plan(
        n=n,
        seed=seed,
        now=now,
        start=now - timedelta(days=730),
        countries=countries,
        reps=[1],
        managers=[1],
        rep_weights=[1.0],
    )
    generate.make_companies(p)
    return p


def people(n: int, seed: int = 42, chunk: int = 20_000) -> Any:
    """Contact dicts 1..n from the shared generator, unique emails, in chunks."""
    p = plan(n, seed)
    emails: set[str] = set()
    for first in range(1, n + 1, chunk):
        yield from generate.make_contacts(p, first, min(chunk, n - first + 1), emails)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(value)
    return str(value)


def write_csv(path: Path, n: int, seed: int = 42) -> Path:
    """The CSV of n contacts (cached by n and seed: generating a million takes a while)."""
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([h for h, _ in CSV_COLUMNS])
        for person in people(n, seed):
            writer.writerow([cell(person[f]) for _, f in CSV_COLUMNS])
    tmp.rename(path)
    return path


def fresh(db: str, target: str) -> str:
    """A new, migrated database with one admin; returns its SQLAlchemy URL and points the app at it."""
    from sextant.accounts import service
    from sextant.bootstrap import upgrade
    from sextant.core.config import get_settings
    from sextant.core.db import reset_engine, session_scope
    from sextant.core.permissions import SYSTEM

    generate.fresh_database(db, target)
    url = generate.sqlalchemy_url(db, target)
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engine()
    upgrade(url)
    with session_scope() as s:
        service.create_user(
            s, SYSTEM, {"email": "bench@example.com", "password": "bench-password-42", "role": "admin"}
        )
    return url


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
