"""HTTP plumbing shared by routers: problem+json rendering and its OpenAPI description."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sextant.core.errors import DomainError, FieldError, ValidationFailed

log = logging.getLogger("sextant")
PROBLEM = "application/problem+json"

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message", "code"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "code": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Bad request",
        401: "Not signed in",
        403: "Forbidden",
        404: "Not found",
        409: "Conflict (stale version or duplicate value)",
        422: "Validation failed",
        429: "Too many requests",
    }
    return {
        c: {"description": descriptions[c], "content": {PROBLEM: {"schema": PROBLEM_SCHEMA}}} for c in codes
    }


STANDARD_PROBLEMS = problem_responses(400, 401, 403, 404, 409, 422, 429)


class FastJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


def problem(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM, headers=headers)


def _loc(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or (str(loc[0]) if loc else "body")


def refused_value(exc: BaseException) -> FieldError | None:
    """When the database refused a value the request carried — an integer beyond an INTEGER column or a NUL
    byte in text — the client's error to report (422), not a crash. Anything else is None."""
    too_large = FieldError(
        "request", "a number is too large (ids and whole numbers are 32-bit)", "out_of_range"
    )
    if isinstance(exc, OverflowError) and "SQLite INTEGER" in str(exc):
        return too_large
    if isinstance(exc, DataError):
        if getattr(exc.orig, "sqlstate", None) == "22003":  # numeric_value_out_of_range
            return too_large
        if "NUL (0x00)" in str(exc.orig):
            return FieldError("request", "text must not contain NUL characters", "invalid")
    return None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        headers = {"Retry-After": str(exc.extra["retry_after"])} if exc.status == 429 else None
        if exc.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return problem(exc.status, exc.as_problem(request.url.path), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for err in exc.errors():
            code = "malformed_json" if err.get("type") == "json_invalid" else err.get("type", "invalid")
            errors.append(FieldError(_loc(tuple(err.get("loc", ()))), err.get("msg", "invalid"), code))
        return problem(422, ValidationFailed(errors).as_problem(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        err = DomainError(
            detail=str(exc.detail),
            status=exc.status_code,
            title=str(exc.detail),
            type_slug=f"http-{exc.status_code}",
        )
        return problem(exc.status_code, err.as_problem(request.url.path), getattr(exc, "headers", None))

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _refused(request: Request, exc: Exception) -> Response:
        error = refused_value(exc)
        if error is None:
            raise exc
        # Safety net for parameters no validator bounded: a 422 for the client, a trace for the developers.
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path, exc)
        return problem(422, ValidationFailed([error]).as_problem(request.url.path))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        err = DomainError(
            detail="Internal error; it has been logged",
            status=500,
            title="Internal error",
            type_slug="internal",
        )
        return problem(500, err.as_problem(request.url.path))
