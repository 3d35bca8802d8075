"""Domain errors, rendered by the API as RFC 9457 problem+json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FieldError:
    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "code": self.code}


@dataclass
class DomainError(Exception):
    detail: str = ""
    status: int = 400
    title: str = "Bad request"
    type_slug: str = "bad-request"
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def as_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://sextant.dev/problems/{self.type_slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail or self.title,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        body.update(self.extra)
        return body


def ValidationFailed(errors: list[FieldError], detail: str | None = None) -> DomainError:
    first = errors[0] if errors else None
    return DomainError(
        detail=detail or (f"{first.field}: {first.message}" if first else "Invalid input"),
        status=422,
        title="Validation failed",
        type_slug="validation",
        errors=errors,
    )


def field_error(field_name: str, message: str, code: str = "invalid") -> DomainError:
    return ValidationFailed([FieldError(field_name, message, code)])


def NotFound(what: str = "Record") -> DomainError:
    return DomainError(detail=f"{what} not found", status=404, title="Not found", type_slug="not-found")


def Forbidden(detail: str = "You do not have permission to do this") -> DomainError:
    return DomainError(detail=detail, status=403, title="Forbidden", type_slug="forbidden")


def Unauthorized(detail: str = "Authentication required") -> DomainError:
    return DomainError(detail=detail, status=401, title="Unauthorized", type_slug="unauthorized")


def Conflict(detail: str, **extra: Any) -> DomainError:
    return DomainError(detail=detail, status=409, title="Conflict", type_slug="conflict", extra=extra)


def TooManyRequests(detail: str, retry_after: int) -> DomainError:
    return DomainError(
        detail=detail,
        status=429,
        title="Too many requests",
        type_slug="rate-limited",
        extra={"retry_after": retry_after},
    )
