"""Request and response shapes of the accounts API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**31 - 1
# An id in a body or path: a 32-bit primary key, never a bool or a numeric string.
Id = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
# Input models are strict: "5" is not an id and "yes" is not a boolean; unknown fields are errors.
STRICT_INPUT = ConfigDict(extra="forbid", strict=True)


class LoginIn(BaseModel):
    model_config = STRICT_INPUT
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    id: int
    email: str
    full_name: str
    team_id: int | None = None
    is_active: bool
    role: str | None = None
    manager_id: int | None = None
    timezone: str | None = None
    created_at: datetime | None = None
    last_login_at: datetime | None = None


class MeOut(BaseModel):
    user: UserOut
    role: str
    is_admin: bool
    permissions: dict[str, list[str]]
    field_access: dict[str, dict[str, str]]
    csrf_token: str | None = None


class LoginOut(MeOut):
    pass


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class ApiKeyIn(BaseModel):
    model_config = STRICT_INPUT
    name: str = Field(min_length=1, max_length=120)
    expires_at: datetime | None = Field(
        default=None,
        strict=False,  # parsed from its ISO 8601 string
        description="ISO 8601; without an offset it is UTC",
    )


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret. Shown once: only its hash is stored.")


class UserIn(BaseModel):
    model_config = STRICT_INPUT
    email: str | None = Field(default=None, max_length=254)
    full_name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=1024)
    role: str | None = Field(default=None, max_length=64)
    team_id: Id | None = None
    manager_id: Id | None = None
    is_active: bool | None = None
    timezone: str | None = Field(default=None, max_length=64)


class TeamIn(BaseModel):
    model_config = STRICT_INPUT
    name: str | None = Field(default=None, max_length=120)
    description: str | None = Field(default=None, max_length=1000)


class TeamOut(BaseModel):
    id: int
    name: str
    description: str | None = None


class RoleIn(BaseModel):
    model_config = STRICT_INPUT
    name: str | None = Field(default=None, max_length=64)
    label: str | None = Field(default=None, max_length=120)
    permissions: dict[str, list[str]] | None = None
    field_access: dict[str, dict[str, str]] | None = None


class RoleOut(BaseModel):
    id: int
    name: str
    label: str
    is_admin: bool
    permissions: dict[str, list[str]]
    field_access: dict[str, dict[str, str]]


def set_fields(model: BaseModel) -> dict[str, Any]:
    """Only what the client sent: absent keys are left unchanged, explicit nulls clear."""
    return model.model_dump(exclude_unset=True)
