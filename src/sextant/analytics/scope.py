"""What a dashboard's filters mean: a date range and a set of owners, shared by every widget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.filters import PERIODS, period_bounds

MAX_RANGE_DAYS = 366 * 20


@dataclass
class Scope:
    start: datetime  # inclusive, UTC
    end: datetime  # exclusive, UTC
    owner_ids: list[int] | None = None  # None: every owner the actor may see
    pipeline_id: int | None = None
    now: datetime | None = None

    @property
    def start_date(self) -> date:
        return self.start.date()

    @property
    def end_date(self) -> date:
        """The last day inside the range."""
        return (self.end - timedelta(microseconds=1)).date()

    def describe(self) -> dict[str, Any]:
        return {
            "from": self.start_date.isoformat(),
            "to": self.end_date.isoformat(),
            "owner_ids": self.owner_ids,
            "pipeline_id": self.pipeline_id,
        }


def _day(raw: Any, name: str) -> datetime:
    try:
        if isinstance(raw, date) and not isinstance(raw, datetime):
            d = raw
        else:
            d = date.fromisoformat(str(raw)[:10])
    except ValueError as exc:
        raise ValidationFailed([FieldError(name, "expected a date as YYYY-MM-DD", "type")]) from exc
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def team_members(session: Session, team_id: int) -> list[int]:
    from sextant.accounts.models import Team, User

    if session.get(Team, team_id) is None:
        raise ValidationFailed([FieldError("team_id", f"no team #{team_id}", "invalid_reference")])
    return list(session.scalars(select(User.id).where(User.team_id == team_id).order_by(User.id)))


def make_scope(
    session: Session,
    *,
    period: str | None = None,
    start: Any = None,
    end: Any = None,
    owner_ids: list[int] | None = None,
    team_id: int | None = None,
    pipeline_id: int | None = None,
    default_period: str = "this_quarter",
    now: datetime | None = None,
) -> Scope:
    """`period` (this_month, last_quarter ...) or `from`/`to` (dates, `to` inclusive); owners or a team."""
    now = now or datetime.now(UTC)
    if period is not None and (start is not None or end is not None):
        raise ValidationFailed([FieldError("period", "give a period or from/to, not both", "invalid")])
    if start is not None or end is not None:
        if start is None or end is None:
            raise ValidationFailed([FieldError("from", "from and to go together", "required")])
        lo, hi = _day(start, "from"), _day(end, "to") + timedelta(days=1)
        if hi <= lo:
            raise ValidationFailed([FieldError("to", "must not be before from", "invalid")])
        if (hi - lo).days > MAX_RANGE_DAYS:
            raise ValidationFailed([FieldError("to", "a range of at most 20 years", "out_of_range")])
    else:
        period = period or default_period
        if period not in PERIODS:
            raise ValidationFailed(
                [FieldError("period", f"must be one of: {', '.join(sorted(PERIODS))}", "invalid_choice")]
            )
        lo, hi = period_bounds(period, now)
    owners = None
    if owner_ids:
        owners = sorted(set(owner_ids))
    if team_id is not None:
        members = team_members(session, team_id)
        owners = sorted(set(members) & set(owners)) if owners is not None else members
    return Scope(lo, hi, owners, pipeline_id, now)
