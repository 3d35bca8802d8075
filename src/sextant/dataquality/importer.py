"""Imports: upload -> mapping (suggested) -> dry run -> run -> (undo), for any object, custom ones included.

The run commits in chunks. Each commit holds the chunk's records, search rows, audit entries, events,
rejected rows, its undo information (`import_batches`) and the checkpoint (`import_jobs.rows_done`): a crash
or `kill -9` loses at most the chunk in flight, which left nothing behind, and the run resumes at the
checkpoint. Nothing is ever dropped silently: every row is written or rejected with its reasons, and the
rejected rows download as a CSV with an error column, ready to fix and import again.
"""

from __future__ import annotations

import csv
import gc
import io
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from sextant.core import records, search
from sextant.core.config import get_settings
from sextant.core.db import new_session, utcnow
from sextant.core.errors import Conflict, DomainError, FieldError, Forbidden, NotFound, ValidationFailed
from sextant.core.metadata import load_view, registry
from sextant.core.permissions import Actor
from sextant.dataquality import bulk, dedupe, mapping, readers
from sextant.dataquality.models import ImportBatch, ImportError_, ImportJob, ImportTemplate

CHUNK = 5000
MAX_CHUNK = 50_000
PREVIEW_ROWS = 5
FINISHED = ("succeeded", "undone")
OPTION_KEYS = {"emit_events", "blank_clears", "chunk_size", "check_duplicates"}


def import_dir() -> Path:
    configured = os.environ.get("SEXTANT_IMPORT_DIR")
    if configured:
        return Path(configured)
    db_path = get_settings().sqlite_path()
    base = db_path.parent if db_path is not None else Path("data")
    return base / "imports"


def actor_for(session: Session, user_id: int | None) -> Actor:
    from sextant.accounts.models import User
    from sextant.accounts.service import build_actor

    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.is_active:
        raise Forbidden("The user who started this import can no longer sign in")
    return build_actor(session, user)


# -- upload and mapping --------------------------------------------------------------------------------------


def upload(session: Session, actor: Actor, object_name: str, file_name: str, stream: BinaryIO) -> ImportJob:
    if not registry.has(object_name):
        raise ValidationFailed([FieldError("object", f"unknown object '{object_name}'", "invalid_choice")])
    actor.require(object_name, "create")
    name = Path(file_name or "upload").name[:200] or "upload"
    job = ImportJob(
        object_name=object_name, file_name=name, file_path="", file_format="csv", actor_id=actor.user_id
    )
    session.add(job)
    session.flush()
    folder = import_dir() / str(job.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "source"
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out, 1024 * 1024)
    if path.stat().st_size == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise ValidationFailed([FieldError("file", "the file is empty", "required")])
    try:
        info = readers.inspect(path, name)
    except DomainError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise ValidationFailed([FieldError("file", f"could not read the file: {exc}", "invalid")]) from exc
    job.file_path = str(path)
    job.file_format, job.encoding, job.delimiter, job.headers = (
        info.format,
        info.encoding,
        info.delimiter,
        info.headers,
    )
    view = load_view(session, object_name)
    suggested = mapping.suggest(session, view, actor, info.headers)
    job.mapping = {h: s for h, s in suggested.items() if s}
    job.key_field = _default_key(view, job.mapping)
    session.flush()
    return job


def _default_key(view: Any, spec: dict[str, Any]) -> str | None:
    mapped = {s["field"] for s in spec.values()}
    for candidate in ("email", "domain"):
        if candidate in mapped and view.fields[candidate].type in mapping.KEY_TYPES:
            return candidate
    return None


def get_import(session: Session, actor: Actor, import_id: int) -> ImportJob:
    job = session.get(ImportJob, import_id)
    if job is None or (job.actor_id != actor.user_id and not actor.is_admin):
        raise NotFound("Import")
    return job


def list_imports(
    session: Session, actor: Actor, object_name: str | None, limit: int = 50
) -> list[dict[str, Any]]:
    stmt = select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)
    if not actor.is_admin:
        stmt = stmt.where(ImportJob.actor_id == actor.user_id)
    if object_name:
        stmt = stmt.where(ImportJob.object_name == object_name)
    return [describe(job) for job in session.scalars(stmt)]


def set_mapping(session: Session, actor: Actor, import_id: int, body: Any) -> dict[str, Any]:
    job = get_import(session, actor, import_id)
    if job.status not in ("uploaded", "validated", "failed") or job.rows_done:
        raise Conflict("This import has started; its mapping can no longer change")
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    unknown = [k for k in body if k not in {"mapping", "key", "options", "save_template"}]
    if unknown:
        raise ValidationFailed([FieldError(k, f"unknown property '{k}'", "unknown_field") for k in unknown])
    view = load_view(session, job.object_name)
    spec, key, warnings = mapping.check(view, actor, job.headers, body.get("mapping"), body.get("key"))
    options = _options(body.get("options"))
    job.mapping, job.key_field, job.options = spec, key, options
    job.status, job.dry_run = "uploaded", None
    template = body.get("save_template")
    if template is not None:
        if not isinstance(template, str) or not template.strip() or len(template) > 120:
            raise ValidationFailed([FieldError("save_template", "a name of 1 to 120 characters", "invalid")])
        save_template(session, actor, job.object_name, template.strip(), spec, key)
    session.flush()
    return {**describe(job), "warnings": warnings}


def _options(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValidationFailed([FieldError("options", "expected an object", "type")])
    errors = [
        FieldError(f"options.{k}", f"unknown option '{k}'", "unknown_field")
        for k in raw
        if k not in OPTION_KEYS
    ]
    for k in ("emit_events", "blank_clears", "check_duplicates"):
        if k in raw and not isinstance(raw[k], bool):
            errors.append(FieldError(f"options.{k}", "expected true or false", "type"))
    size = raw.get("chunk_size")
    if size is not None and (
        isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_CHUNK
    ):
        errors.append(FieldError("options.chunk_size", f"expected 1..{MAX_CHUNK}", "range"))
    if errors:
        raise ValidationFailed(errors)
    return dict(raw)


def save_template(
    session: Session, actor: Actor, object_name: str, name: str, spec: dict[str, Any], key: str | None
) -> ImportTemplate:
    template = session.scalar(
        select(ImportTemplate).where(ImportTemplate.object_name == object_name, ImportTemplate.name == name)
    )
    if template is None:
        template = ImportTemplate(object_name=object_name, name=name, created_by_id=actor.user_id)
        session.add(template)
    template.mapping, template.key_field, template.updated_at = spec, key, utcnow()
    session.flush()
    return template


def list_templates(session: Session, actor: Actor, object_name: str) -> list[dict[str, Any]]:
    actor.require(object_name, "create")
    stmt = (
        select(ImportTemplate).where(ImportTemplate.object_name == object_name).order_by(ImportTemplate.name)
    )
    return [
        {"id": t.id, "name": t.name, "object": t.object_name, "mapping": t.mapping, "key": t.key_field}
        for t in session.scalars(stmt)
    ]


def importable_fields(session: Session, actor: Actor, object_name: str) -> list[dict[str, Any]]:
    """What a column can be mapped to (custom fields and link targets included), for the mapping screen."""
    if not registry.has(object_name):
        raise ValidationFailed([FieldError("object", f"unknown object '{object_name}'", "invalid_choice")])
    actor.require(object_name, "create")
    view = load_view(session, object_name)
    out = []
    for name, fdef in mapping.writable_fields(view, actor).items():
        item = {
            "name": name,
            "label": fdef.label,
            "type": fdef.type,
            "required": fdef.required,
            "unique": fdef.unique,
            "custom": fdef.custom,
            "can_be_key": fdef.type in mapping.KEY_TYPES,
        }
        if fdef.type == "reference":
            item["reference"] = fdef.reference
            item["default_match"] = mapping.default_match(fdef)
        out.append(item)
    return out


def preview(job: ImportJob, n: int = PREVIEW_ROWS) -> list[list[str]]:
    rows = readers.iter_rows(Path(job.file_path), job.file_format, job.encoding, job.delimiter)
    return [row for _, row in zip(range(n), rows, strict=False)]


def describe(job: ImportJob) -> dict[str, Any]:
    elapsed = None
    rate = eta = None
    if job.started_at is not None:
        end = job.finished_at or utcnow()
        elapsed = max((end - job.started_at).total_seconds(), 1e-6)
        done = job.rows_done - int((job.options or {}).get("_run_from", 0))
        if job.status == "validating":
            done = int((job.dry_run or {}).get("rows_checked", 0))
        rate = done / elapsed if done > 0 else None
        if rate and job.rows_total is not None and job.status in ("running", "validating"):
            current = job.rows_done if job.status == "running" else done
            eta = max(job.rows_total - current, 0) / rate
    return {
        "id": job.id,
        "object": job.object_name,
        "status": job.status,
        "file_name": job.file_name,
        "format": job.file_format,
        "encoding": job.encoding,
        "delimiter": job.delimiter,
        "headers": job.headers,
        "mapping": job.mapping,
        "key": job.key_field,
        "options": {k: v for k, v in (job.options or {}).items() if not k.startswith("_")},
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "rejected": job.rejected_count,
        "possible_duplicates": job.duplicates_found,
        "dry_run": job.dry_run,
        "error": job.error,
        "rate_rows_per_second": round(rate, 1) if rate else None,
        "eta_seconds": round(eta, 1) if eta is not None else None,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "undone_at": job.undone_at,
        "created_at": job.created_at,
    }


# -- running -------------------------------------------------------------------------------------------------


def start(session: Session, actor: Actor, import_id: int, *, dry_run: bool) -> ImportJob:
    """Check the import may run now and mark it queued; the caller enqueues (or runs) the job."""
    job = get_import(session, actor, import_id)
    if not job.mapping:
        raise ValidationFailed([FieldError("mapping", "map the columns first", "required")])
    if job.status in ("queued", "running", "validating"):
        raise Conflict("This import is already running")
    if job.status in FINISHED:
        raise Conflict(f"This import has {job.status}")
    actor.require(job.object_name, "create")
    if job.key_field:
        actor.require(job.object_name, "edit")
    job.status = "validating" if dry_run else "queued"
    job.error = None
    session.flush()
    return job


def _plan(session: Session, job: ImportJob, actor: Actor) -> bulk.Plan:
    view = load_view(session, job.object_name)
    # The mapping is checked again: rights or fields may have changed since it was saved.
    spec, key, _warnings = mapping.check(view, actor, job.headers, job.mapping, job.key_field)
    opts = job.options or {}
    return bulk.Plan(
        view=view,
        actor=actor,
        columns=mapping.columns(view, actor, job.headers, spec),
        key=view.fields[key] if key else None,
        emit=bool(opts.get("emit_events", True)),
        blank_clears=bool(opts.get("blank_clears", False)),
        import_id=job.id,
        region=get_settings().default_phone_region,
    )


def run(
    session: Session,
    import_id: int,
    *,
    dry_run: bool = False,
    heartbeat: Callable[[], None] | None = None,
    progress: Callable[[ImportJob], None] | None = None,
) -> ImportJob:
    """The job body: validate (dry run) or write every row from the checkpoint on, committing per chunk."""
    job = session.get(ImportJob, import_id)
    if job is None:
        raise NotFound("Import")
    if job.status in FINISHED:
        return job
    try:
        actor = actor_for(session, job.actor_id)
        plan = _plan(session, job, actor)
    except DomainError as exc:
        job.status, job.error, job.finished_at = "failed", exc.detail, utcnow()
        session.commit()
        return job
    path = Path(job.file_path)
    if job.rows_total is None:
        job.rows_total = readers.count_rows(path, job.file_format, job.encoding, job.delimiter)
    size = int((job.options or {}).get("chunk_size") or CHUNK)
    refs = bulk.References(session, actor)
    fast = bulk.fast_path(plan.view, [c.field.name for c in plan.columns])
    writer: Any = bulk.Writer(session, plan) if fast else bulk.SlowWriter(session, plan)
    start_row = 0 if dry_run else job.rows_done
    summary = {"would_create": 0, "would_update": 0, "rejected": 0, "rows_checked": 0}
    if dry_run:
        session.execute(
            delete(ImportError_).where(ImportError_.import_id == job.id, ImportError_.dry_run.is_(True))
        )
        job.status, job.dry_run = "validating", dict(summary)
    else:
        job.status = "running"
        job.attempts += 1
        job.options = {**(job.options or {}), "_run_from": start_row}
    job.started_at, job.finished_at = utcnow(), None
    session.commit()
    token = dedupe.in_bulk.set(True)  # no per-row duplicate check: the import scans afterwards
    try:
        with _young_collections_only():
            return _chunks(
                session,
                job,
                plan,
                refs,
                writer,
                (path, start_row, size),
                dry_run,
                summary,
                heartbeat,
                progress,
            )
    finally:
        dedupe.in_bulk.reset(token)


@contextmanager
def _young_collections_only() -> Iterator[None]:
    """A chunk allocates a few objects per cell, and CPython's automatic collections then keep walking every
    object that is still alive (a quarter of a 100k-row import went there). The rows need no collector:
    reference counting frees them; the few cycles a chunk leaves (its ORM objects) wait for the collector's
    return after the run. Runs in other threads only ever delay collections: it is on again once none runs."""
    global _running
    with _gc_lock:
        if _running == 0:
            gc.disable()
        _running += 1
    try:
        yield
    finally:
        with _gc_lock:
            _running -= 1
            if _running == 0:
                gc.enable()


_gc_lock = threading.Lock()
_running = 0


def _chunks(
    session: Session,
    job: ImportJob,
    plan: bulk.Plan,
    refs: bulk.References,
    writer: Any,
    where: tuple[Path, int, int],
    dry_run: bool,
    summary: dict[str, int],
    heartbeat: Callable[[], None] | None,
    progress: Callable[[ImportJob], None] | None,
) -> ImportJob:
    path, start_row, size = where
    import_id = job.id
    seen_keys: set[Any] | None = set() if dry_run and plan.key is not None else None
    rows = readers.iter_rows(path, job.file_format, job.encoding, job.delimiter, start=start_row)
    row_no = start_row
    while True:
        chunk = []
        for cells in rows:
            row_no += 1
            chunk.append((row_no, cells))
            if len(chunk) >= size:
                break
        if not chunk:
            break
        if not dry_run and _checkpoint(session, import_id) != chunk[0][0] - 1:
            session.rollback()  # another runner has moved on past this chunk: it finishes the import
            return job
        items, pending = bulk.prepare(session, plan, refs, chunk, seen_keys)
        result = bulk.ChunkResult()
        if dry_run:
            for p, _c in items:
                summary["would_update" if p.target is not None or p.earlier else "would_create"] += 1
        else:
            writer.write(items, result)
        rejected = [p for p in pending if p.errors]
        _save_errors(session, job.id, rejected, dry_run)
        if dry_run:
            summary["rejected"] += len(rejected)
            summary["rows_checked"] += len(chunk)
            job.dry_run = dict(summary)
        else:
            _save_batch(session, job, chunk[0][0], chunk[-1][0], result)
            job.created_count += len(result.created_ids)
            job.updated_count += len(result.updated)
            job.unchanged_count += result.unchanged
            job.rejected_count += len(rejected)
            job.rows_done = chunk[-1][0]
        session.commit()  # the checkpoint
        session.expunge_all()
        job = session.get(ImportJob, import_id)
        assert job is not None
        if heartbeat:
            heartbeat()
        if progress:
            progress(job)
    job.status = "validated" if dry_run else "succeeded"
    job.finished_at = utcnow()
    if dry_run:
        job.rows_total = summary["rows_checked"]
    session.commit()
    return job


def _checkpoint(session: Session, import_id: int) -> int:
    """The committed checkpoint, read under the row's lock (SQLite: the write lock of BEGIN IMMEDIATE), so
    two runners of one import (a swept lease, a CLI resume) never write the same chunk twice."""
    stmt = select(ImportJob.rows_done).where(ImportJob.id == import_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return int(session.scalar(stmt) or 0)


def _save_errors(session: Session, import_id: int, rejected: list[bulk.Pending], dry_run: bool) -> None:
    if rejected:
        session.execute(
            ImportError_.__table__.insert(),
            [
                {
                    "import_id": import_id,
                    "row_number": p.row_no,
                    "errors": p.errors,
                    "values": p.cells,
                    "dry_run": dry_run,
                }
                for p in rejected
            ],
        )


def _save_batch(session: Session, job: ImportJob, first: int, last: int, result: bulk.ChunkResult) -> None:
    ranges: list[list[int]] = []
    for rid in sorted(result.created_ids):
        if ranges and ranges[-1][1] == rid - 1:
            ranges[-1][1] = rid
        else:
            ranges.append([rid, rid])
    session.execute(
        ImportBatch.__table__.insert(),
        [
            {
                "import_id": job.id,
                "first_row": first,
                "last_row": last,
                "created_ids": ranges,
                "updated": result.updated,
                "created_at": utcnow(),
            }
        ],
    )


def fail(import_id: int, message: str) -> None:
    """Mark a run failed after an unexpected error (in a session of its own: the run's was rolled back)."""
    session = new_session()
    try:
        job = session.get(ImportJob, import_id)
        if job is not None and job.status in ("running", "validating", "queued"):
            job.status, job.error, job.finished_at = "failed", message[:2000], utcnow()
            session.commit()
    finally:
        session.close()


# -- rejected rows -------------------------------------------------------------------------------------------


def rejected_csv(session: Session, actor: Actor, import_id: int, *, dry_run: bool = False) -> Iterator[bytes]:
    job = get_import(session, actor, import_id)
    headers = list(job.headers)
    stmt = (
        select(ImportError_.row_number, ImportError_.errors, ImportError_.values)
        .where(ImportError_.import_id == job.id, ImportError_.dry_run.is_(dry_run))
        .order_by(ImportError_.row_number)
        .execution_options(yield_per=2000)
    )

    def stream() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([*headers, "error", "row"])
        yield ("\ufeff" + buffer.getvalue()).encode()
        reader = new_session(write=False)
        try:
            buffer.seek(0)
            buffer.truncate()
            for count, (row_number, errors, values) in enumerate(reader.execute(stmt), start=1):
                cells = list(values) + [""] * (len(headers) - len(values))
                message = "; ".join(
                    f"{e.get('column') or e.get('field') or 'row'}: {e['message']}" for e in errors or []
                )
                writer.writerow([*cells[: len(headers)], message, row_number])
                if count % 2000 == 0:
                    yield buffer.getvalue().encode()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue().encode()
        finally:
            reader.close()

    return stream()


def errors_page(
    session: Session, actor: Actor, import_id: int, *, dry_run: bool, after: int, limit: int
) -> dict[str, Any]:
    job = get_import(session, actor, import_id)
    rows = session.execute(
        select(ImportError_.row_number, ImportError_.errors, ImportError_.values)
        .where(
            ImportError_.import_id == job.id,
            ImportError_.dry_run.is_(dry_run),
            ImportError_.row_number > after,
        )
        .order_by(ImportError_.row_number)
        .limit(limit + 1)
    ).all()
    items = [
        {"row": r, "errors": e, "values": dict(zip(job.headers, v, strict=False))} for r, e, v in rows[:limit]
    ]
    return {"items": items, "next_after": items[-1]["row"] if len(rows) > limit else None}


# -- undo ----------------------------------------------------------------------------------------------------


def undo(session: Session, actor: Actor, import_id: int, *, force: bool = False) -> dict[str, Any]:
    """Take an import back as one unit: its new records go to the trash, the records it changed get their
    previous values back. Records edited since the import are not silently overwritten: without `force`
    the undo is refused (409) and names how many."""
    job = get_import(session, actor, import_id)
    if job.status == "undone":
        raise Conflict("This import was already undone")
    if job.status in ("queued", "running", "validating"):
        raise Conflict("This import is still running")
    actor.require(job.object_name, "delete")
    view = load_view(session, job.object_name)
    model = view.model
    batches = list(
        session.scalars(select(ImportBatch).where(ImportBatch.import_id == job.id).order_by(ImportBatch.id))
    )
    created = [rid for b in batches for first, last in b.created_ids for rid in range(first, last + 1)]
    updated: dict[int, dict[str, Any]] = {}
    for b in batches:
        for u in b.updated:
            updated.setdefault(u["id"], u)  # the first change of a record holds its values before the import
            updated[u["id"]]["version"] = u["version"]
    changed_since = 0
    created_set = set(created)
    for part in bulk._chunks(created, bulk.LOOKUP_BATCH):
        for rid, version in session.execute(
            select(model.id, model.version).where(model.id.in_(part), model.deleted_at.is_(None))
        ):
            expected = updated[rid]["version"] if rid in updated else 1
            changed_since += int(version != expected)
    for rid, u in updated.items():
        if rid in created_set:
            continue
        current = session.scalar(select(model.version).where(model.id == rid))
        if current is not None and current != u["version"]:
            changed_since += 1
    if changed_since and not force:
        raise Conflict(
            f"{changed_since} record(s) were changed after the import; "
            "undo with force to take them back anyway",
            changed_since=changed_since,
        )
    now = utcnow()
    emit = bool((job.options or {}).get("emit_events", True))
    deleted = 0
    for part in bulk._chunks(created, bulk.LOOKUP_BATCH):
        live = list(session.scalars(select(model.id).where(model.id.in_(part), model.deleted_at.is_(None))))
        if not live:
            continue
        session.execute(
            update(model.__table__)
            .where(model.__table__.c.id.in_(live))
            .values(deleted_at=now, updated_by_id=actor.user_id, version=model.__table__.c.version + 1)
        )
        session.execute(
            delete(search.SearchEntry).where(
                search.SearchEntry.object_name == view.name, search.SearchEntry.record_id.in_(live)
            )
        )
        _bulk_audit(session, actor, view.name, live, emit, {"undo_import": job.id})
        deleted += len(live)
    restored = 0
    for rid, u in updated.items():
        if rid in created_set:
            continue
        try:
            records._update(session, actor, view, rid, dict(u["before"]), None, emit=emit)
            restored += 1
        except DomainError as exc:
            if exc.status != 404:
                raise
    job.status, job.undone_at = "undone", now
    session.flush()
    return {**describe(job), "undo": {"deleted": deleted, "restored": restored}}


def purge_file(job: ImportJob) -> None:
    shutil.rmtree(Path(job.file_path).parent, ignore_errors=True)


def _bulk_audit(
    session: Session, actor: Actor, object_name: str, ids: list[int], emit: bool, context: dict[str, Any]
) -> None:
    """`record_change(..., "delete", {})` for many records in two statements."""
    from sextant.core.audit import AuditEntry, OutboxEvent

    now = utcnow()
    session.execute(
        AuditEntry.__table__.insert(),
        [
            {
                "at": now,
                "actor_id": actor.user_id,
                "actor_label": actor.email,
                "object_name": object_name,
                "record_id": rid,
                "action": "delete",
                "changes": {},
                "context": context,
            }
            for rid in ids
        ],
    )
    if emit:
        session.execute(
            OutboxEvent.__table__.insert(),
            [
                {
                    "created_at": now,
                    "type": f"{object_name}.deleted",
                    "object_name": object_name,
                    "record_id": rid,
                    "actor_id": actor.user_id,
                    "payload": {"changes": {}},
                }
                for rid in ids
            ],
        )
