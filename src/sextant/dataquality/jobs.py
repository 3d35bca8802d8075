"""Background jobs of data quality: an import's dry run and run, and the duplicate scan."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sextant.core import jobs
from sextant.dataquality import dedupe, importer
from sextant.dataquality.models import ImportJob

MAX_ATTEMPTS = 5


@jobs.job("dataquality.run_import", max_attempts=MAX_ATTEMPTS, lease_seconds=600)
def run_import(ctx: jobs.JobContext, import_id: int, dry_run: bool = False) -> None:
    """Resumes from the import's checkpoint when a previous attempt died (a retry, or a swept lease)."""
    try:
        job = importer.run(ctx.session, import_id, dry_run=dry_run, heartbeat=ctx.heartbeat)
        if not dry_run:
            after_run(ctx.session, job)
    except Exception as exc:
        ctx.session.rollback()
        if ctx.attempt >= MAX_ATTEMPTS:
            importer.fail(import_id, f"{type(exc).__name__}: {exc}")
        raise


@jobs.job("dataquality.scan_duplicates", max_attempts=3, lease_seconds=600)
def scan_duplicates(
    ctx: jobs.JobContext, object_name: str, record_ids: list[int] | None = None, import_id: int | None = None
) -> None:
    dedupe.scan(ctx.session, object_name, record_ids=record_ids, import_id=import_id, heartbeat=ctx.heartbeat)


def after_run(session: Session, job: ImportJob) -> None:
    """A finished import's new records are checked for duplicates by a scan job of their own."""
    check = (job.options or {}).get("check_duplicates", True) and job.object_name in dedupe.DEFAULT_FIELDS
    if job.status == "succeeded" and job.created_count and check:
        jobs.enqueue(session, "dataquality.scan_duplicates", job.object_name, import_id=job.id)
        session.commit()
