"""`sextant import FILE --object contacts --map mapping.json`: the same import as the API, in this process,
with a progress bar. It commits per chunk like the job does; after a crash, `--resume ID` goes on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from sqlalchemy import select

from sextant.core.errors import DomainError


def _echo_error(exc: DomainError) -> None:
    for err in exc.errors or []:
        typer.echo(f"error: {err.field}: {err.message}", err=True)
    typer.echo(f"error: {exc.detail}", err=True)


def _actor(session: Any, email: str | None) -> Any:
    from sextant.accounts.models import Role, User
    from sextant.dataquality.importer import actor_for

    stmt = select(User.id).where(User.is_active.is_(True))
    if email:
        stmt = stmt.where(User.email == email.strip().lower())
    else:
        stmt = stmt.join(Role, Role.id == User.role_id).where(Role.is_admin.is_(True)).order_by(User.id)
    uid = session.scalar(stmt.limit(1))
    if uid is None:
        raise DomainError(detail=f"no active user {email or '(admin)'}", status=404)
    return actor_for(session, uid)


def _spec(map_file: Path | None, key: str | None, events: bool) -> dict[str, Any] | None:
    if map_file is None:
        return None
    raw = json.loads(map_file.read_text(encoding="utf-8"))
    body = dict(raw) if isinstance(raw, dict) and "mapping" in raw else {"mapping": raw}
    if key is not None:
        body["key"] = key
    body["options"] = {**(body.get("options") or {}), "emit_events": events}
    return body


def run_cli_import(
    file: Path,
    object_name: str,
    map_file: Path | None,
    key: str | None,
    user: str | None,
    dry_run: bool,
    events: bool,
    resume: int | None,
) -> int:
    import sextant.app  # noqa: F401 - registers every object
    from sextant.core.db import new_session
    from sextant.dataquality import importer

    session = new_session()
    try:
        actor = _actor(session, user)
        if resume is not None:
            job = importer.get_import(session, actor, resume)
            if job.status in ("queued", "running", "failed"):
                job.status = "queued"
        else:
            with file.open("rb") as fh:
                job = importer.upload(session, actor, object_name, file.name, fh)
            body = _spec(map_file, key, events)
            if body is None:
                body = {
                    "mapping": job.mapping,
                    "key": key or job.key_field,
                    "options": {"emit_events": events},
                }
                typer.echo(f"mapping suggested from the headers: {json.dumps(job.mapping)}")
            importer.set_mapping(session, actor, job.id, body)
            importer.start(session, actor, job.id, dry_run=dry_run)
        session.commit()
        import_id = job.id
        typer.echo(f"import #{import_id}: {job.file_name} -> {job.object_name}")
        state = {"shown": job.rows_done if not dry_run else 0}
        with typer.progressbar(length=job.rows_total or 0, label="rows", show_pos=True) as bar:

            def progress(current: Any) -> None:
                if bar.length in (0, None) and current.rows_total:
                    bar.length = current.rows_total
                done = current.rows_done if not dry_run else (current.dry_run or {}).get("rows_checked", 0)
                bar.update(done - state["shown"])
                state["shown"] = done

            job = importer.run(session, import_id, dry_run=dry_run, progress=progress)
        if not dry_run:
            from sextant.dataquality.jobs import after_run

            after_run(session, job)
        info = importer.describe(job)
        if dry_run:
            typer.echo(f"dry run: {json.dumps(job.dry_run)}")
        else:
            typer.echo(
                f"{info['status']}: created={info['created']} updated={info['updated']} "
                f"unchanged={info['unchanged']} rejected={info['rejected']} rows={info['rows_done']}"
            )
        if info["rejected"] or (dry_run and (job.dry_run or {}).get("rejected")):
            typer.echo(f"rejected rows: GET /api/v1/imports/{import_id}/errors.csv")
        return 0 if job.status in ("succeeded", "validated") else 1
    except DomainError as exc:
        session.rollback()
        _echo_error(exc)
        return 1
    finally:
        session.close()
