"""Background work of analytics: nightly retraining and rescoring, and rescoring a record when it changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from sextant.analytics import scoring
from sextant.core import jobs
from sextant.core.audit import OutboxEvent
from sextant.core.events import subscribe
from sextant.core.scheduler import periodic


@periodic("analytics.retrain", cron="15 3 * * *")
def nightly_retrain(session: Session) -> Any:
    """Retrain the win and lead models on the history so far and rescore every open deal and live lead."""
    return scoring.retrain_all(session)


@jobs.job("analytics.retrain_now", max_attempts=2, lease_seconds=3600)
def retrain_now(ctx: jobs.JobContext, kind: str) -> Any:
    model = scoring.train(ctx.session, kind)
    return {"model_id": model.id, **scoring.score_records(ctx.session, kind)}


@subscribe(
    "analytics.rescore",
    "deals.created",
    "deals.updated",
    "deals.restored",
    "leads.created",
    "leads.updated",
    "leads.restored",
)
def rescore_changed(session: Session, event: OutboxEvent) -> None:
    """A created or edited deal/lead gets its score from the active model at once (idempotent)."""
    if event.record_id is None or event.object_name not in ("deals", "leads"):
        return
    scoring.score_records(session, event.object_name, [event.record_id])
