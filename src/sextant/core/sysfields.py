"""Field definitions shared by every record object (id, owner, timestamps, version)."""

from __future__ import annotations

from sextant.core.metadata import FieldDef

SYSTEM_FIELDS: list[FieldDef] = [
    FieldDef("id", "ID", "number", system=True, integer=True, section="System", position=-10),
    FieldDef("owner_id", "Owner", "reference", reference="users", section="System", position=900),
    FieldDef("created_at", "Created", "datetime", system=True, section="System", position=901),
    FieldDef("updated_at", "Last modified", "datetime", system=True, section="System", position=902),
    FieldDef(
        "created_by_id",
        "Created by",
        "reference",
        reference="users",
        system=True,
        section="System",
        position=903,
    ),
    FieldDef(
        "updated_by_id",
        "Last modified by",
        "reference",
        reference="users",
        system=True,
        section="System",
        position=904,
    ),
    FieldDef("version", "Version", "number", system=True, integer=True, section="System", position=905),
]
