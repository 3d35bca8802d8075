"""The registry of objects and fields: built-in ones declared in code, custom fields stored in the database.

Everything generic — validation, the filter language, list/record APIs, export, search, history — reads
field definitions from here, never from per-object code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, Integer, String, Text, UniqueConstraint, bindparam, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from sextant.core.db import Base, JSONType, UTCDateTime, utcnow
from sextant.core.errors import NotFound


@dataclass(frozen=True)
class FieldDef:
    name: str
    label: str
    type: str
    required: bool = False
    unique: bool = False
    options: tuple[dict[str, Any], ...] | None = None
    default: Any = None
    help_text: str = ""
    max_length: int | None = None
    reference: str | None = None  # object name a `reference` points to ("companies", "users")
    system: bool = False  # set by Sextant (id, created_at, version ...): never written by clients
    custom: bool = False
    free_values: bool = False  # multi_select without a fixed option list (tags)
    searchable: bool = False
    sortable: bool = True
    filterable: bool = True
    integer: bool = False
    section: str = "Details"
    position: int = 0
    custom_field_id: int | None = None

    def describe(self, access: str) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "required": self.required,
            "unique": self.unique,
            "options": list(self.options) if self.options is not None else None,
            "default": self.default,
            "help_text": self.help_text,
            "max_length": self.max_length,
            "reference": self.reference,
            "system": self.system,
            "custom": self.custom,
            "searchable": self.searchable,
            "sortable": self.sortable,
            "filterable": self.filterable,
            "section": self.section,
            "readable": access != "hidden",
            "writable": access == "edit" and not self.system,
        }


@dataclass
class ObjectDef:
    name: str
    label: str
    singular: str
    model: type
    fields: list[FieldDef]
    title_fields: tuple[str, ...]
    default_sort: tuple[str, ...] = ("-created_at",)
    subtitle_fields: tuple[str, ...] = ()
    searchable: bool = True
    icon: str = "box"
    # Hook that normalises/validates object-specific rules (dedupe a domain, derive a full name).
    before_save: Callable[..., None] | None = None
    # After the row is flushed: (session, actor, view, record, changes, created) -> None (stage history ...).
    after_save: Callable[..., None] | None = None
    # Inputs that are not columns, handled after the flush: name -> (session, actor, view, record, value)
    # returning the audit changes they made (an activity's links to records ...).
    virtual_inputs: dict[str, Callable[..., dict[str, Any]]] = field(default_factory=dict)
    # Related lists: (label, object name, via) shown on a record page.
    related: list[dict[str, Any]] = field(default_factory=list)

    def standard(self) -> dict[str, FieldDef]:
        return {f.name: f for f in self.fields}

    def title_of(self, values: dict[str, Any]) -> str:
        parts = [str(values.get(f) or "").strip() for f in self.title_fields]
        return " ".join(p for p in parts if p) or f"{self.singular} #{values.get('id')}"

    def subtitle_of(self, values: dict[str, Any]) -> str:
        return " · ".join(str(values[f]) for f in self.subtitle_fields if values.get(f))


class Registry:
    def __init__(self) -> None:
        self._objects: dict[str, ObjectDef] = {}

    def register(self, objdef: ObjectDef) -> ObjectDef:
        self._objects[objdef.name] = objdef
        return objdef

    def get(self, name: str) -> ObjectDef:
        try:
            return self._objects[name]
        except KeyError:
            raise NotFound(f"Object '{name}'") from None

    def has(self, name: str) -> bool:
        return name in self._objects

    def names(self) -> list[str]:
        return list(self._objects)

    def all(self) -> list[ObjectDef]:
        return list(self._objects.values())


registry = Registry()


class CustomField(Base):
    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_name: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(32))
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    unique: Mapped[bool] = mapped_column(Boolean, default=False)
    options: Mapped[list | None] = mapped_column(JSONType)
    default: Mapped[Any] = mapped_column(JSONType, nullable=True)
    help_text: Mapped[str] = mapped_column(Text, default="")
    reference: Mapped[str | None] = mapped_column(String(64))
    max_length: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    section: Mapped[str] = mapped_column(String(120), default="Custom fields")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("object_name", "name", name="uq_custom_fields_object_name_name"),
        Index("ix_custom_fields_object_name", "object_name"),
    )

    def to_field_def(self) -> FieldDef:
        return FieldDef(
            name=self.name,
            label=self.label,
            type=self.type,
            required=self.required,
            unique=self.unique,
            options=tuple(self.options) if self.options is not None else None,
            default=self.default,
            help_text=self.help_text or "",
            max_length=self.max_length,
            reference=self.reference,
            custom=True,
            sortable=self.type != "multi_select",
            section=self.section or "Custom fields",
            position=1000 + self.position,
            custom_field_id=self.id,
        )


class ObjectSetting(Base):
    """Per-object organisation-wide defaults, editable by admins at run time."""

    __tablename__ = "object_settings"

    object_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    sharing: Mapped[str] = mapped_column(String(16), default="private")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


DEFAULT_SHARING = "private"


def sharing_for(session: Session, object_name: str) -> str:
    row = session.get(ObjectSetting, object_name)
    return row.sharing if row else DEFAULT_SHARING


def custom_fields(session: Session, object_name: str, include_retired: bool = False) -> list[CustomField]:
    stmt = (
        select(CustomField)
        .where(CustomField.object_name == object_name)
        .order_by(CustomField.position, CustomField.id)
    )
    if not include_retired:
        stmt = stmt.where(CustomField.retired_at.is_(None))
    return list(session.scalars(stmt))


@dataclass
class ObjectView:
    """An object's effective definition for one request: built-in plus active custom fields, and its OWD."""

    objdef: ObjectDef
    fields: dict[str, FieldDef]
    sharing: str
    # API names of retired custom fields: their stored values stay, but nothing may show them (history ...).
    retired: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.objdef.name

    @property
    def model(self) -> type:
        return self.objdef.model


_CF = CustomField
# What load_view reads of each custom field: everything to_field_def uses, and whether it is retired.
_VIEW_COLUMNS = (
    _CF.id,
    _CF.name,
    _CF.label,
    _CF.type,
    _CF.required,
    _CF.unique,
    _CF.options,
    _CF.default,
    _CF.help_text,
    _CF.reference,
    _CF.max_length,
    _CF.position,
    _CF.section,
    _CF.retired_at,
)
# Views built from exactly these database rows. Every request still reads the rows (one indexed query), so a
# change made by any process is seen at once; only turning the same rows into an ObjectView again is saved.
_views: dict[tuple[Any, ...], ObjectView] = {}
_VIEW_QUERY = (  # built once: executing it skips compiling and hashing a new statement
    select(ObjectSetting.sharing, *_VIEW_COLUMNS)
    .select_from(ObjectSetting)
    .outerjoin(CustomField, CustomField.object_name == ObjectSetting.object_name)
    .where(ObjectSetting.object_name == bindparam("object_name"))
    .order_by(CustomField.position, CustomField.id)
)


def _metadata_pending(session: Session) -> bool:
    """A custom field or object setting added or changed in this session and not yet flushed."""
    return any(
        isinstance(obj, CustomField | ObjectSetting)
        for changed in (session.new, session.dirty, session.deleted)
        for obj in changed
    )


@event.listens_for(Session, "before_flush")
def _metadata_flushed(session: Session, _context: Any, _instances: Any) -> None:
    if _metadata_pending(session):
        session.info.pop("sextant_views", None)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_soft_rollback")
def _transaction_over(session: Session, *_args: Any) -> None:
    # A savepoint that commits keeps what its transaction saw; any rollback may take a field away.
    if not session.in_nested_transaction() or _args:
        session.info.pop("sextant_views", None)


def load_view(session: Session, name: str) -> ObjectView:
    """The object's fields and sharing as this transaction sees them: read once per transaction (a batch of
    workflow runs or an import asks for the same object thousands of times)."""
    known = session.info.get("sextant_views")
    if known is not None and name in known and not _metadata_pending(session):
        return known[name]
    view = _read_view(session, name)
    session.info.setdefault("sextant_views", {})[name] = view
    return view


def _read_view(session: Session, name: str) -> ObjectView:
    objdef = registry.get(name)
    # Every request needs this: the OWD and the custom fields come back in one round trip (plain rows).
    rows = session.execute(_VIEW_QUERY, {"object_name": name}).all()
    if rows:
        sharing, found = rows[0][0], [tuple(r[1:]) for r in rows if r[1] is not None]
    else:  # no settings row yet (an object registered after the last start-up)
        sharing = DEFAULT_SHARING
        found = [
            tuple(getattr(cf, c.key) for c in _VIEW_COLUMNS)
            for cf in custom_fields(session, name, include_retired=True)
        ]
    key = (name, sharing, repr(found))
    view = _views.get(key)
    if view is not None and view.objdef is objdef:
        return view
    fields = objdef.standard()
    retired = set()
    for values in found:
        cf = CustomField(**{c.key: v for c, v in zip(_VIEW_COLUMNS, values, strict=True)})
        if cf.retired_at is None:
            fields[cf.name] = cf.to_field_def()
        else:
            retired.add(cf.name)
    view = ObjectView(objdef=objdef, fields=fields, sharing=sharing, retired=frozenset(retired))
    if len(_views) > 1000:
        _views.clear()
    _views[key] = view
    return view


def with_label(fdef: FieldDef, label: str) -> FieldDef:
    return replace(fdef, label=label)
