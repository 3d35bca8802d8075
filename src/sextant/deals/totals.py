"""The board's per-stage totals from `deal_board_totals` (kept by database triggers, migration 0015).

The rows are summed over the owners the user may see (`permissions.visibility_clause`, the rule that scopes
every deal query), so the answer equals counting the visible deals themselves; `board` falls back to that
count when a filter narrows the deals.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sextant.core.metadata import ObjectView
from sextant.core.permissions import Actor, visibility_clause
from sextant.deals.models import DealBoardTotal

Totals = dict[int, tuple[int, float, float]]  # stage id -> (count, amount, weighted amount)


def stage_totals(
    session: Session, actor: Actor, view: ObjectView, pipeline_id: int, stage_ids: list[int]
) -> Totals:
    t = DealBoardTotal
    stmt = (
        select(t.stage_id, func.sum(t.deal_count), func.sum(t.amount), func.sum(t.weighted))
        .where(t.pipeline_id == pipeline_id, t.stage_id.in_(stage_ids))
        .group_by(t.stage_id)
    )
    visible = visibility_clause(actor, t.owner_id, view.sharing, "read")  # owner 0 ("none") is no peer
    if visible is not None:
        stmt = stmt.where(visible)
    return {sid: (int(n), a, w) for sid, n, a, w in session.execute(stmt) if n}


# Recount every row from the deals, for loads that bypass the triggers (the bench generator's COPY runs with
# triggers off). Plain SQL for both databases, run in this order in one transaction.
REBUILD_SQL = [
    "DELETE FROM deal_board_totals",
    "INSERT INTO deal_board_totals (pipeline_id, stage_id, owner_id, currency, deal_count, amount, weighted) "
    "SELECT pipeline_id, stage_id, coalesce(owner_id, 0), currency, count(*), coalesce(sum(amount), 0), "
    "coalesce(sum(coalesce(amount, 0) * coalesce(probability, 0) / 100.0), 0) FROM deals "
    "WHERE deleted_at IS NULL GROUP BY pipeline_id, stage_id, coalesce(owner_id, 0), currency",
]
