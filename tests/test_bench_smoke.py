"""The benchmark data generator (bench/generate.py) keeps producing a database the app fully works on.

Runs the real command for 200 contacts on the test backend, then checks what the benchmarks rely on: the
row counts, the search index being exactly what the app itself writes for those records, unique emails, and
a sales rep signing in and seeing only their team's records through the API.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
GENERATE = ROOT / "bench" / "generate.py"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("bench_generate", GENERATE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _use(url: str | None) -> None:
    from sextant.core.config import get_settings
    from sextant.core.db import reset_engine

    if url is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engine()


def test_the_benchmark_generator_builds_a_database_the_app_works_on(backend: str, tmp_path: Path) -> None:
    gen = _generator()
    if backend == "postgresql":
        admin = os.environ.get("SEXTANT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
        server = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        target = f"{server}/bench_smoke_{os.getpid()}"
        where = ["--db", "postgresql", "--url", target]
    else:
        target = str(tmp_path / "bench.db")
        where = ["--db", "sqlite", "--path", target]
    run = subprocess.run([sys.executable, str(GENERATE), "--n", "200", "--workers", "1", *where],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"generate {backend} n=200 contacts=200 companies=40" in run.stdout
    previous = os.environ.get("DATABASE_URL")
    _use(gen.sqlalchemy_url(backend, target))
    try:
        _check_data()
        _check_api(gen)
    finally:
        _use(previous)
        if backend == "postgresql":
            gen.drop_database(target)


def _check_data() -> None:
    import sextant.app  # noqa: F401 - registers every object
    from sextant.contacts.models import Company, Contact
    from sextant.core.db import session_scope
    from sextant.core.metadata import load_view
    from sextant.core.search import SearchEntry, entries_for

    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 200
        assert s.scalar(select(func.count()).select_from(Company)) == 40
        emails = list(s.scalars(select(Contact.email).where(Contact.deleted_at.is_(None))))
        assert len(emails) == len(set(emails)) and all("@" in e for e in emails)
        for name, model in (("contacts", Contact), ("companies", Company)):
            view = load_view(s, name)
            expected = {(e["record_id"], e["field"], e["content"])
                        for record in s.scalars(select(model).where(model.deleted_at.is_(None)))
                        for e in entries_for(view, record)}
            stored = {tuple(row) for row in s.execute(
                select(SearchEntry.record_id, SearchEntry.field, SearchEntry.content)
                .where(SearchEntry.object_name == name))}
            assert stored == expected, name


def _check_api(gen: Any) -> None:
    from fastapi.testclient import TestClient

    from sextant.app import create_app

    with TestClient(create_app(dispatcher=False)) as client:
        r = client.post("/api/v1/auth/token", data={"username": gen.rep_email(1), "password": gen.PASSWORD})
        assert r.status_code == 200, r.text
        rep = {"Authorization": f"Bearer {r.json()['access_token']}"}
        me = client.get("/api/v1/auth/me", headers=rep).json()["user"]
        users = {u["id"]: u for u in client.get("/api/v1/users", headers=rep).json()}
        team = {uid for uid, u in users.items() if u["team_id"] == me["team_id"]}
        mine = client.get("/api/v1/contacts", params={"limit": 500}, headers=rep).json()["items"]
        assert mine and {c["owner_id"] for c in mine} <= team
        name = mine[0]["last_name"]
        found = client.get("/api/v1/search", params={"q": name[:3]}, headers=rep).json()["items"]
        assert found and all(i["record"]["owner_id"] in team for i in found)


def _bench(script: str, backend: str, n: int = 1000) -> str:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--n", str(n), "--db", backend],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout.strip().splitlines()[-1]


def test_the_import_benchmark_runs_and_prints_its_summary(backend: str) -> None:
    line = _bench("import_contacts.py", backend)
    assert line.startswith(f"import_contacts {backend} n=1000 rows/s=") and " ratio=" in line


def test_the_export_benchmark_runs_and_prints_its_summary(backend: str) -> None:
    line = _bench("export_contacts.py", backend)
    assert line.startswith(f"export_contacts {backend} n=1000 csv_rows/s=") and "xlsx_rows/s=" in line


def test_the_dedupe_benchmark_finds_the_planted_duplicates(backend: str) -> None:
    line = _bench("dedupe_scan.py", backend)
    fields = dict(part.split("=", 1) for part in line.split()[2:])
    assert fields["planted"] == "100" and float(fields["f1"]) >= 0.9, line


def test_the_dashboard_benchmark_runs_in_smoke_mode(backend: str, tmp_path: Path) -> None:
    """bench/dashboard_latency.py --n 200: generates its sales data, times every default-dashboard widget as
    an admin and as a rep, trains and scores the win model, times the forecasts, prints its summary line."""
    gen = _generator()
    if backend == "postgresql":
        admin = os.environ.get("SEXTANT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
        server = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        target = f"{server}/dash_smoke_{os.getpid()}"
        gen.fresh_database("postgresql", target)  # the generator expects it to exist
        where = ["--db", "postgresql", "--url", target]
    else:
        target = str(tmp_path / "dash.db")
        where = ["--db", "sqlite", "--path", target]
    script = ROOT / "bench" / "dashboard_latency.py"
    try:
        args = [sys.executable, str(script), "--n", "200", "--repeat", "2", "--workers", "1", *where]
        run = subprocess.run(args, capture_output=True, text=True, timeout=300, cwd=ROOT)
    finally:
        if backend == "postgresql":
            gen.drop_database(target)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = run.stdout.strip().splitlines()[-1]
    expected = f"dashboard_latency {backend} n=200 deals=40 activities=2000 widgets=18 "
    assert summary.startswith(expected), summary
    assert "over_target=" in summary and "train_rows=" in summary and "forecast_ms=" in summary
