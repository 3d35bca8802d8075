"""REST endpoints: imports (upload, mapping, dry run, run, status, rejected rows, undo, templates),
duplicates (settings, scan, candidate pairs, check, merge, un-merge)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Path, Query, UploadFile
from fastapi.responses import StreamingResponse

from sextant.core import fieldtypes as ft
from sextant.core import jobs
from sextant.core.deps import ActorDep, SessionDep
from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.http import STANDARD_PROBLEMS, FastJSON
from sextant.dataquality import dedupe, importer, merge
from sextant.dataquality import jobs as dq_jobs
from sextant.dataquality import vcard as _vcard  # noqa: F401 - registers the vCard export format

router = APIRouter(
    prefix="/api/v1", tags=["data quality"], responses=STANDARD_PROBLEMS, default_response_class=FastJSON
)
ImportId = Annotated[int, Path(ge=1, le=ft.MAX_INTEGER)]
JsonBody = Annotated[dict[str, Any], Body()]


@router.post("/imports", status_code=201, summary="Upload a CSV, XLSX or vCard file to import")
def upload(
    session: SessionDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="CSV (any delimiter/encoding), XLSX or vCard 3/4")],
    object: Annotated[str, Form(max_length=64, description="The object to import into")],
) -> Any:
    job = importer.upload(session, actor, object, file.filename or "upload", file.file)
    return {**importer.describe(job), "preview": importer.preview(job)}


@router.get("/imports", summary="Your imports (admins: everyone's), newest first")
def list_imports(
    session: SessionDep,
    actor: ActorDep,
    object: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    return {"items": importer.list_imports(session, actor, object, limit)}


@router.get("/imports/templates", summary="Saved column mappings of an object")
def templates(session: SessionDep, actor: ActorDep, object: Annotated[str, Query(max_length=64)]) -> Any:
    return {"items": importer.list_templates(session, actor, object)}


@router.get("/imports/fields", summary="What columns can be mapped to for an object (custom fields, links)")
def importable_fields(
    session: SessionDep, actor: ActorDep, object: Annotated[str, Query(max_length=64)]
) -> Any:
    return {"items": importer.importable_fields(session, actor, object)}


@router.get("/imports/{import_id}", summary="An import's status: rows done/total, rate, ETA, counts")
def status(import_id: ImportId, session: SessionDep, actor: ActorDep) -> Any:
    job = importer.get_import(session, actor, import_id)
    return {**importer.describe(job), "preview": importer.preview(job)}


@router.put("/imports/{import_id}/mapping", summary="Set the column mapping, upsert key and options")
def set_mapping(import_id: ImportId, session: SessionDep, actor: ActorDep, body: JsonBody) -> Any:
    return importer.set_mapping(session, actor, import_id, body)


@router.post("/imports/{import_id}/dry-run", status_code=202, summary="Validate every row without writing")
def dry_run(import_id: ImportId, session: SessionDep, actor: ActorDep) -> Any:
    job = importer.start(session, actor, import_id, dry_run=True)
    dq_jobs.run_import.enqueue(session, job.id, True)
    return importer.describe(job)


@router.post("/imports/{import_id}/run", status_code=202, summary="Run the import (a background job)")
def run(import_id: ImportId, session: SessionDep, actor: ActorDep) -> Any:
    job = importer.start(session, actor, import_id, dry_run=False)
    jobs.enqueue(session, "dataquality.run_import", job.id, key=f"import:{job.id}:{job.attempts}")
    return importer.describe(job)


@router.get("/imports/{import_id}/errors", summary="Rejected rows with row number, column and reason")
def errors(
    import_id: ImportId,
    session: SessionDep,
    actor: ActorDep,
    dry_run: Annotated[bool, Query(description="The dry run's errors instead of the run's")] = False,
    after: Annotated[int, Query(ge=0, le=ft.MAX_INTEGER)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    return importer.errors_page(session, actor, import_id, dry_run=dry_run, after=after, limit=limit)


@router.get(
    "/imports/{import_id}/errors.csv",
    summary="The rejected rows as CSV with an error column, ready to fix and import again",
    response_class=StreamingResponse,
    responses={200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def errors_csv(
    import_id: ImportId, session: SessionDep, actor: ActorDep, dry_run: bool = False
) -> StreamingResponse:
    stream = importer.rejected_csv(session, actor, import_id, dry_run=dry_run)
    return StreamingResponse(
        stream,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{import_id}-rejected.csv"'},
    )


@router.post("/imports/{import_id}/undo", summary="Undo an import as one unit")
def undo(
    import_id: ImportId,
    session: SessionDep,
    actor: ActorDep,
    force: Annotated[bool, Query(description="Also take back records edited since the import")] = False,
) -> Any:
    return importer.undo(session, actor, import_id, force=force)


# -- duplicates ----------------------------------------------------------------------------------------------

dedupe.install_create_check()
PairId = Annotated[int, Path(ge=1, le=ft.MAX_INTEGER)]


@router.get("/duplicates/settings/{object_name}", summary="Compared fields and thresholds of an object")
def dedupe_settings(object_name: str, session: SessionDep, actor: ActorDep) -> Any:
    actor.require(object_name, "read")
    return dedupe.get_settings(session, object_name)


@router.put("/duplicates/settings/{object_name}", summary="Set compared fields (custom ones too), thresholds")
def put_dedupe_settings(object_name: str, session: SessionDep, actor: ActorDep, body: JsonBody) -> Any:
    return dedupe.put_settings(session, actor, object_name, body)


@router.post("/duplicates/scan", status_code=202, summary="Scan an object for duplicates (a background job)")
def scan(session: SessionDep, actor: ActorDep, body: JsonBody) -> Any:
    object_name = body.get("object")
    if not isinstance(object_name, str) or object_name not in dedupe.DEFAULT_FIELDS:
        raise ValidationFailed(
            [FieldError("object", f"one of: {', '.join(dedupe.DEFAULT_FIELDS)}", "invalid_choice")]
        )
    actor.require(object_name, "edit")
    run_id = dq_jobs.scan_duplicates.enqueue(session, object_name)
    return {"object": object_name, "job_run_id": run_id}


@router.get("/duplicates", summary="Candidate duplicate pairs with their match probability, best first")
def pairs(
    session: SessionDep,
    actor: ActorDep,
    object: Annotated[str, Query(max_length=64)],
    status: Annotated[str, Query(max_length=16)] = "open",
    min_probability: Annotated[float, Query(ge=0, le=1)] = 0.0,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    after = None
    if cursor:
        try:
            p, pid = cursor.split(":")
            after = (float(p), int(pid))
        except ValueError as exc:
            raise ValidationFailed([FieldError("cursor", "malformed cursor", "invalid_cursor")]) from exc
    return dedupe.list_pairs(
        session, actor, object, status=status, min_probability=min_probability, after=after, limit=limit
    )


@router.post("/duplicates/check", summary="Possible duplicates of a record being entered")
def check(session: SessionDep, actor: ActorDep, body: JsonBody) -> Any:
    object_name, values = body.get("object"), body.get("values")
    if not isinstance(object_name, str) or not isinstance(values, dict):
        raise ValidationFailed([FieldError("body", "expected {object, values}", "type")])
    exclude = body.get("exclude_id")
    exclude = exclude if isinstance(exclude, int) and not isinstance(exclude, bool) else None
    return {"items": dedupe.check(session, actor, object_name, values, exclude_id=exclude)}


@router.post("/duplicates/{pair_id}/dismiss", summary="Not duplicates: leave the queue")
def dismiss(pair_id: PairId, session: SessionDep, actor: ActorDep) -> Any:
    return merge.dismiss(session, actor, pair_id)


@router.post("/merges", status_code=201, summary="Merge duplicates into a master record")
def merge_records(session: SessionDep, actor: ActorDep, body: JsonBody) -> Any:
    object_name = body.get("object")
    if not isinstance(object_name, str):
        raise ValidationFailed([FieldError("object", "is required", "required")])
    return merge.merge(session, actor, object_name, {k: v for k, v in body.items() if k != "object"})


@router.post("/merges/preview", summary="The values a merge would keep (nothing is written)")
def merge_preview(session: SessionDep, actor: ActorDep, body: JsonBody) -> Any:
    object_name = body.get("object")
    if not isinstance(object_name, str):
        raise ValidationFailed([FieldError("object", "is required", "required")])
    return merge.preview(session, actor, object_name, {k: v for k, v in body.items() if k != "object"})


@router.get("/merges/{merge_id}", summary="A merge")
def get_merge(merge_id: PairId, session: SessionDep, actor: ActorDep) -> Any:
    return merge.merge_dict(merge.get_merge(session, actor, merge_id))


@router.post("/merges/{merge_id}/undo", summary="Un-merge: restore the merged records and their relations")
def unmerge(merge_id: PairId, session: SessionDep, actor: ActorDep) -> Any:
    return merge.unmerge(session, actor, merge_id)
