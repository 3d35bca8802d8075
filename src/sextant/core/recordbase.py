"""Columns every CRM record carries: owner, timestamps, optimistic version, soft delete, custom values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from sextant.core.db import JSONType, UTCDateTime, utcnow

SYSTEM_COLUMNS = (
    "id",
    "owner_id",
    "created_at",
    "updated_at",
    "created_by_id",
    "updated_by_id",
    "version",
    "deleted_at",
    "custom",
)


class RecordMixin:
    id: Mapped[int] = mapped_column(Integer, primary_key=True)

    @declared_attr
    def owner_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @declared_attr
    def updated_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    custom: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        # The ORM adds "AND version = :old" to every UPDATE: a concurrent writer loses with StaleDataError.
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]
