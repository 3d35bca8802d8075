"""Organisation-wide sharing defaults per object, set by admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sextant.core.audit import record_change
from sextant.core.errors import FieldError, Forbidden, ValidationFailed
from sextant.core.metadata import ObjectSetting, registry
from sextant.core.permissions import SHARING_MODELS, Actor


def set_sharing(session: Session, actor: Actor, object_name: str, sharing: Any) -> dict[str, Any]:
    if not actor.is_admin:
        raise Forbidden("Only administrators may change sharing")
    registry.get(object_name)
    if sharing not in SHARING_MODELS:
        raise ValidationFailed(
            [FieldError("sharing", f"must be one of {', '.join(SHARING_MODELS)}", "invalid_choice")]
        )
    row = session.get(ObjectSetting, object_name)
    before = row.sharing if row else None
    if row is None:
        row = ObjectSetting(object_name=object_name, sharing=sharing)
        session.add(row)
    row.sharing = sharing
    session.flush()
    record_change(
        session,
        actor,
        "object_settings",
        0,
        "update",
        {f"{object_name}.sharing": [before, sharing]},
        event=True,
    )
    return {"object": object_name, "sharing": sharing}
