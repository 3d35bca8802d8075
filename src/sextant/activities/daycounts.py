"""Activities per owner, UTC day and kind from `activity_day_counts` (kept by database triggers, migration
0015), for counts over whole days ("activities per rep").

The rows are summed over the owners the user may see (`permissions.visibility_clause`, the rule that scopes
every activity query), so the answer equals counting the visible activities themselves.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sextant.activities.models import ActivityDayCount
from sextant.core.metadata import ObjectView
from sextant.core.permissions import Actor, visibility_clause

NO_OWNER = 0  # the owner_id of activities without an owner


def per_owner_and_kind(
    session: Session,
    actor: Actor,
    view: ObjectView,
    first_day: date,
    end_day: date,
    owners: list[int],
    kinds: list[str] | None,
) -> dict[tuple[int | None, str], int]:
    """Visible activities in [first_day, end_day) of these owners (NO_OWNER: none) per (owner, kind); an
    owner of None in the answer is "no owner". `kinds` None: every kind."""
    t = ActivityDayCount
    stmt = (
        select(t.owner_id, t.kind, func.sum(t.activity_count))
        .where(t.owner_id.in_(owners or [-1]), t.day >= first_day, t.day < end_day)
        .group_by(t.owner_id, t.kind)
    )
    if kinds is not None:
        stmt = stmt.where(t.kind.in_(kinds))
    visible = visibility_clause(actor, t.owner_id, view.sharing, "read")  # NO_OWNER is nobody's peer
    if visible is not None:
        stmt = stmt.where(visible)
    return {
        (owner if owner != NO_OWNER else None, kind): int(n) for owner, kind, n in session.execute(stmt) if n
    }


def rebuild_sql(dialect: str) -> list[str]:
    """Recount every row from the activities, for loads that bypass the triggers (the bench generator's COPY
    runs with triggers off); run in this order in one transaction."""
    day = "(occurred_at AT TIME ZONE 'UTC')::date" if dialect == "postgresql" else "date(occurred_at)"
    return [
        "DELETE FROM activity_day_counts",
        "INSERT INTO activity_day_counts (owner_id, day, kind, activity_count) "
        f"SELECT coalesce(owner_id, 0), {day}, kind, count(*) FROM activities "
        "WHERE deleted_at IS NULL AND occurred_at IS NOT NULL "
        f"GROUP BY coalesce(owner_id, 0), {day}, kind",
    ]
