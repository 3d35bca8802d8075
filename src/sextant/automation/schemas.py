"""Request bodies of the automation API (the definitions themselves are checked by the service)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WorkflowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    object_name: str | None = Field(default=None, max_length=64)
    enabled: bool | None = None
    trigger: dict[str, Any] | None = Field(
        default=None, description='{"type": "record.updated", ...options}; see GET /api/v1/workflows/catalog'
    )
    conditions: dict[str, Any] | None = Field(default=None, description="The shared filter language")
    actions: list[dict[str, Any]] | None = Field(default=None, description='[{"type": "update_fields", ...}]')
    max_runs_per_minute: int | None = Field(default=None, ge=1, le=100_000)


class DryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_id: int | None = Field(default=None, ge=1)


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_ids: list[int] = Field(min_length=1, max_length=1000)


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, max_length=2000)
    event_types: list[str] | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = None
