"""The sales benchmark (bench/generate_sales.py + bench/sales_latency.py) keeps working at a tiny size.

Generates 200 contacts with their deals, activities and tasks on the test backend, checks what the benchmark
relies on (links point at live rows, the search rows are the app's own, stage history and audit agree with
the deals), then runs sales_latency.py in smoke mode against a real server process and reads its summary.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("bench_generate", BENCH / "generate.py")
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


def test_the_sales_benchmark_generates_consistent_data_and_reports(backend: str, tmp_path: Path) -> None:
    gen = _generator()
    if backend == "postgresql":
        admin = os.environ.get("SEXTANT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
        server = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        target = f"{server}/bench_sales_smoke_{os.getpid()}"
        where = ["--db", "postgresql", "--url", target]
    else:
        target = str(tmp_path / "sales.db")
        where = ["--db", "sqlite", "--path", target]
    try:
        run = subprocess.run(
            [sys.executable, str(BENCH / "generate_sales.py"), "--n", "200", "--workers", "1", *where],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=ROOT,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        assert f"generate_sales {backend} n=200 deals=40 " in run.stdout
        assert "activities=2000 tasks=50 " in run.stdout
        previous = os.environ.get("DATABASE_URL")
        _use(gen.sqlalchemy_url(backend, target))
        try:
            _check_data()
        finally:
            _use(previous)
        run = subprocess.run(
            [sys.executable, str(BENCH / "sales_latency.py"), "--n", "200", "--requests", "5", *where],
            capture_output=True,
            text=True,
            timeout=180,
            cwd=ROOT,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        summary = run.stdout.strip().splitlines()[-1]
        assert re.match(
            rf"sales_latency {backend} n=200 timeline_p95_ms=[\d.]+ timeline_typical_p95_ms=[\d.]+ "
            r"board_mgr_p95_ms=[\d.]+ board_rep_p95_ms=[\d.]+ myday_p95_ms=[\d.]+ ",
            summary,
        ), summary
    finally:
        if backend == "postgresql":
            gen.drop_database(target)


def _check_data() -> None:
    from sqlalchemy import func, select

    import sextant.app  # noqa: F401 - registers every object
    from sextant.activities.models import Activity, RecordLink, Task
    from sextant.core.audit import AuditEntry
    from sextant.core.db import session_scope
    from sextant.core.metadata import load_view
    from sextant.core.search import SearchEntry, entries_for
    from sextant.deals.models import Deal, DealStageChange, Stage

    with session_scope() as s:
        deals = list(s.scalars(select(Deal)))
        assert len(deals) == 40
        stages = {st.id: st for st in s.scalars(select(Stage))}
        for deal in deals:
            stage = stages[deal.stage_id]
            assert stage.pipeline_id == deal.pipeline_id and stage.kind == deal.status
            assert (deal.closed_at is not None) == (deal.status != "open")
            assert deal.lost_reason is not None or deal.status != "lost"
            moves = s.scalar(select(func.count()).where(DealStageChange.deal_id == deal.id))
            audits = s.scalar(
                select(func.count()).where(AuditEntry.object_name == "deals", AuditEntry.record_id == deal.id)
            )
            assert moves == audits == deal.version
        for item, model in (("activities", Activity), ("tasks", Task)):
            orphans = s.scalar(
                select(func.count())
                .select_from(RecordLink)
                .outerjoin(model, model.id == RecordLink.item_id)
                .where(RecordLink.item_object == item, model.id.is_(None))
            )
            assert orphans == 0, item
        for name, model in (("deals", Deal), ("activities", Activity), ("tasks", Task)):
            view = load_view(s, name)
            expected = {
                (e["record_id"], e["field"], e["content"])
                for record in s.scalars(select(model).where(model.deleted_at.is_(None)))
                for e in entries_for(view, record)
            }
            stored = {
                tuple(row)
                for row in s.execute(
                    select(SearchEntry.record_id, SearchEntry.field, SearchEntry.content).where(
                        SearchEntry.object_name == name
                    )
                )
            }
            assert stored == expected, name
    _check_summaries()


def _check_summaries() -> None:
    """The tables the database triggers keep were recounted after the trigger-less load, and the triggers
    are back: a write after it is counted."""
    from sqlalchemy import select, update

    from sextant.activities.models import Activity, ActivityDayCount
    from sextant.core.db import session_scope
    from sextant.deals.models import Deal, DealBoardTotal

    def stored() -> tuple[dict[Any, Any], dict[Any, Any]]:
        with session_scope() as s:
            deals = {
                (t.pipeline_id, t.stage_id, t.owner_id, t.currency): (t.deal_count, round(t.amount, 2))
                for t in s.scalars(select(DealBoardTotal))
                if t.deal_count
            }
            acts = {
                (a.owner_id, a.day, a.kind): a.activity_count for a in s.scalars(select(ActivityDayCount))
            }
        return deals, {k: n for k, n in acts.items() if n}

    def counted() -> tuple[dict[Any, Any], dict[Any, Any]]:
        deals: dict[Any, Any] = {}
        acts: dict[Any, int] = {}
        with session_scope() as s:
            for d in s.scalars(select(Deal).where(Deal.deleted_at.is_(None))):
                n, amount = deals.get((d.pipeline_id, d.stage_id, d.owner_id or 0, d.currency), (0, 0.0))
                deals[(d.pipeline_id, d.stage_id, d.owner_id or 0, d.currency)] = (
                    n + 1,
                    amount + (d.amount or 0),
                )
            for a in s.scalars(select(Activity).where(Activity.deleted_at.is_(None))):
                key = (a.owner_id or 0, a.occurred_at.date(), a.kind)
                acts[key] = acts.get(key, 0) + 1
        return {k: (n, round(x, 2)) for k, (n, x) in deals.items()}, acts

    assert stored() == counted()
    with session_scope() as s:
        s.execute(update(Deal).where(Deal.id == 1).values(amount=Deal.amount + 1, owner_id=None))
        s.execute(update(Activity).where(Activity.id == 1).values(kind="note", owner_id=None))
    assert stored() == counted()
