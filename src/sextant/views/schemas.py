"""Request and response shapes of the saved views API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**31 - 1


class SavedViewIn(BaseModel):
    """Create: object and name are required. Update: any subset; `team_id: null` makes the view private."""

    model_config = ConfigDict(extra="forbid", strict=True)
    object: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=120)
    team_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    columns: list[str] | None = Field(default=None, max_length=100)
    sort: str | None = Field(default=None, max_length=500)
    filter: Any = Field(default=None, description="Filter language expression, or null for none")
    version: int | None = Field(default=None, ge=1, description="Optimistic concurrency (or If-Match)")


class SavedViewOut(BaseModel):
    id: int
    object: str
    name: str
    owner_id: int
    owner: str
    team_id: int | None
    team: str | None
    shared: bool
    columns: list[str]
    sort: str
    filter: Any
    version: int
    editable: bool
    created_at: datetime
    updated_at: datetime
