"""Imports (with their checkpoints, rejected rows and templates), duplicate pairs, dedupe settings, merges."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sextant.core.db import Base, JSONType, UTCDateTime, utcnow


class ImportJob(Base):
    """One uploaded file and its way through mapping, dry run, run and (maybe) undo.

    `rows_done` is the checkpoint: the rows before it are committed (written or rejected) together with it,
    so a run that dies resumes at that row and never writes a row twice.
    """

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_name: Mapped[str] = mapped_column(String(64))
    # uploaded | validating | validated | queued | running | succeeded | failed | undone
    status: Mapped[str] = mapped_column(String(16), default="uploaded")
    file_name: Mapped[str] = mapped_column(String(255))
    file_path: Mapped[str] = mapped_column(String(1024))
    file_format: Mapped[str] = mapped_column(String(8))  # csv | xlsx | vcard
    encoding: Mapped[str | None] = mapped_column(String(32))
    delimiter: Mapped[str | None] = mapped_column(String(4))
    headers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    rows_total: Mapped[int | None] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    unchanged_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicates_found: Mapped[int] = mapped_column(Integer, default=0)
    mapping: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    key_field: Mapped[str | None] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    dry_run: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ImportBatch(Base):
    """What one committed chunk did: the ids it created (as ranges) and the values it overwrote, for undo."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    first_row: Mapped[int] = mapped_column(Integer)
    last_row: Mapped[int] = mapped_column(Integer)
    created_ids: Mapped[list[list[int]]] = mapped_column(JSONType, default=list)  # [[first, last], ...]
    updated: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # [{id, version, before}]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_import_batches_import", "import_id", "first_row"),)


class ImportError_(Base):
    """A rejected row: its number in the file (1 = first data row), what was wrong, and the row itself."""

    __tablename__ = "import_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # [{column, field, ...}]
    values: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_import_errors_import", "import_id", "dry_run", "row_number"),)


class ImportTemplate(Base):
    """A saved column mapping; also what later uploads' suggestions learn from."""

    __tablename__ = "import_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_name: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    key_field: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("object_name", "name", name="uq_import_templates_object_name"),)


class DuplicatePair(Base):
    """Two records that may be the same: a < b, the match probability and what each field contributed."""

    __tablename__ = "duplicate_pairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_name: Mapped[str] = mapped_column(String(64))
    record_a_id: Mapped[int] = mapped_column(Integer)
    record_b_id: Mapped[int] = mapped_column(Integer)
    probability: Mapped[float] = mapped_column(Float)
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | dismissed | merged
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("object_name", "record_a_id", "record_b_id", name="uq_duplicate_pairs_pair"),
        Index("ix_duplicate_pairs_queue", "object_name", "status", "probability"),
        Index("ix_duplicate_pairs_b", "object_name", "record_b_id"),
    )


class DedupeSetting(Base):
    """Per object: the compared fields (custom ones included), the listing threshold, the create block."""

    __tablename__ = "dedupe_settings"

    object_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    threshold: Mapped[float] = mapped_column(Float, default=0.8)
    block_threshold: Mapped[float | None] = mapped_column(Float)  # None: warn only
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Merge(Base):
    """A merge, with everything needed to take it back: the master's values before, the related rows moved
    (table, primary key, column) and the link rows dropped because the master already had them."""

    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_name: Mapped[str] = mapped_column(String(64))
    master_id: Mapped[int] = mapped_column(Integer)
    duplicate_ids: Mapped[list[int]] = mapped_column(JSONType, default=list)
    master_before: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    master_after: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    moved: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    removed: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_merges_object_master", "object_name", "master_id"),)
