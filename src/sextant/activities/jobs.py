"""Periodic work of the activities domain."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sextant.activities.service import fire_due_reminders
from sextant.core.scheduler import periodic


@periodic("activities.task_reminders", every_seconds=30)
def task_reminders(session: Session) -> None:
    fire_due_reminders(session)
