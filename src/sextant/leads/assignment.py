"""Who owns a new unowned lead: the first active rule that matches (a fixed user, or team round-robin)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sextant.accounts.models import User
from sextant.core.filters import compile_filter
from sextant.core.metadata import load_view
from sextant.core.permissions import SYSTEM, Actor
from sextant.leads.models import AssignmentRule, Lead


def assign(session: Session, lead: Lead) -> int | None:
    """Give an unowned lead to the first matching rule's user; returns the new owner (or None)."""
    view = load_view(session, "leads")
    dialect = session.get_bind().dialect.name
    rules = session.scalars(
        select(AssignmentRule)
        .where(AssignmentRule.active)
        .order_by(AssignmentRule.position, AssignmentRule.id)
        .with_for_update()
    )
    for rule in rules:
        if rule.condition:
            clause = compile_filter(view, SYSTEM, rule.condition, dialect)
            if session.scalar(select(Lead.id).where(Lead.id == lead.id, clause)) is None:
                continue
        owner = rule.user_id if rule.strategy == "user" else _next_in_team(session, rule)
        if owner is not None:
            lead.owner_id = owner
            session.flush()
            return owner
    return None


def _next_in_team(session: Session, rule: AssignmentRule) -> int | None:
    members = list(
        session.scalars(select(User.id).where(User.team_id == rule.team_id, User.is_active).order_by(User.id))
    )
    if not members:
        return None
    later = [m for m in members if rule.last_user_id is None or m > rule.last_user_id]
    chosen = later[0] if later else members[0]
    rule.last_user_id = chosen
    return chosen


def assign_new_lead(
    session: Session, actor: Actor, view: Any, record: Lead, changes: dict[str, Any], created: bool
) -> None:
    if created and record.owner_id is None:
        owner = assign(session, record)
        if owner is not None:
            changes["owner_id"] = [None, owner]
