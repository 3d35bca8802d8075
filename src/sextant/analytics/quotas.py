"""Quotas: a seller's closed-won target per month, quarter or year. Managers and admins set them; a user reads
their own and those of the users they can see records of (their peers)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sextant.analytics.models import Quota
from sextant.core.audit import record_change
from sextant.core.db import utcnow
from sextant.core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from sextant.core.permissions import Actor

KINDS = ("month", "quarter", "year")


def can_manage(actor: Actor) -> bool:
    return actor.is_admin or actor.role_name == "manager"


def period_start(kind: str, raw: str) -> date:
    """'2026-03' (month), '2026-Q1' (quarter), '2026' (year) -> the first day of that period."""
    try:
        if kind == "month":
            y, m = raw.split("-")
            return date(int(y), int(m), 1)
        if kind == "quarter":
            y, q = raw.upper().split("-Q")
            if not 1 <= int(q) <= 4:
                raise ValueError(q)
            return date(int(y), (int(q) - 1) * 3 + 1, 1)
        if kind == "year" and raw.isdigit():
            return date(int(raw), 1, 1)
    except (ValueError, TypeError):
        pass
    examples = {"month": "2026-03", "quarter": "2026-Q1", "year": "2026"}
    raise ValidationFailed(
        [FieldError("period", f"expected a {kind} like {examples.get(kind, '2026-Q1')}", "invalid")]
    )


def period_name(kind: str, start: date) -> str:
    if kind == "month":
        return f"{start.year}-{start.month:02d}"
    if kind == "quarter":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    return str(start.year)


def quota_dict(q: Quota) -> dict[str, Any]:
    return {
        "id": q.id,
        "user_id": q.user_id,
        "period_kind": q.period_kind,
        "period": period_name(q.period_kind, q.period_start),
        "period_start": q.period_start,
        "amount": q.amount,
        "currency": q.currency,
        "updated_at": q.updated_at,
    }


def _visible_users(actor: Actor) -> list[int] | None:
    if actor.is_admin or actor.role_name == "manager":
        return None
    return sorted(actor.peer_ids | ({actor.user_id} if actor.user_id else set()))


def list_quotas(
    session: Session,
    actor: Actor,
    *,
    user_id: int | None = None,
    kind: str | None = None,
    year: int | None = None,
) -> list[Quota]:
    stmt = select(Quota)
    allowed = _visible_users(actor)
    if allowed is not None:
        stmt = stmt.where(Quota.user_id.in_(allowed or [-1]))
    if user_id is not None:
        stmt = stmt.where(Quota.user_id == user_id)
    if kind is not None:
        stmt = stmt.where(Quota.period_kind == kind)
    if year is not None:
        stmt = stmt.where(Quota.period_start >= date(year, 1, 1), Quota.period_start < date(year + 1, 1, 1))
    return list(session.scalars(stmt.order_by(Quota.period_start, Quota.user_id)))


def set_quota(session: Session, actor: Actor, data: dict[str, Any]) -> tuple[Quota, bool]:
    """Create or replace the quota of one user for one period (idempotent PUT semantics)."""
    from sextant.accounts.models import User

    if not can_manage(actor):
        raise Forbidden("Only managers and administrators set quotas")
    errors: list[FieldError] = []
    kind = data.get("period_kind")
    if kind not in KINDS:
        raise ValidationFailed(
            [FieldError("period_kind", "must be month, quarter or year", "invalid_choice")]
        )
    start = period_start(kind, str(data.get("period") or ""))
    user_id = data.get("user_id")
    if session.get(User, user_id) is None:
        errors.append(FieldError("user_id", f"no user #{user_id}", "invalid_reference"))
    amount = data.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not 0 <= amount <= 1e13:
        errors.append(FieldError("amount", "a number between 0 and 1e13", "out_of_range"))
    if errors:
        raise ValidationFailed(errors)
    q = session.scalar(
        select(Quota).where(Quota.user_id == user_id, Quota.period_kind == kind, Quota.period_start == start)
    )
    created = q is None
    now = utcnow()
    if q is None:
        q = Quota(user_id=user_id, period_kind=kind, period_start=start, created_at=now)
        session.add(q)
    before = None if created else q.amount
    q.amount = float(amount)
    q.currency = (data.get("currency") or "USD").upper()
    q.updated_at = now
    session.flush()
    record_change(
        session,
        actor,
        "analytics_quotas",
        q.id,
        "create" if created else "update",
        {"amount": [before, q.amount]},
    )
    return q, created


def delete_quota(session: Session, actor: Actor, quota_id: int) -> None:
    if not can_manage(actor):
        raise Forbidden("Only managers and administrators change quotas")
    q = session.get(Quota, quota_id)
    if q is None:
        raise NotFound("Quota")
    session.delete(q)
    session.flush()
    record_change(session, actor, "analytics_quotas", quota_id, "delete", {"amount": [q.amount, None]})
