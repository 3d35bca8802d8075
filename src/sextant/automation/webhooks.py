"""Outgoing webhooks: subscriptions per event type, signed payloads, retries with backoff, a delivery log, and
auto-disable after repeated failures.

Verifying a delivery (receiver side): every request carries

    Sextant-Event: deals.updated
    Sextant-Delivery: 1234                      (the same on every retry of one delivery: de-duplicate on it)
    Sextant-Signature: t=1764000000,v1=<hex>

where <hex> = HMAC-SHA256(key=the subscription's secret, message=f"{t}.{raw request body}"). Recompute it,
compare in constant time, and refuse a `t` older than a few minutes (replays). `verify()` below does exactly
that and is what our tests use.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from sextant.automation.models import WebhookDelivery, WebhookSubscription
from sextant.core import jobs, outbound
from sextant.core.audit import OutboxEvent
from sextant.core.db import utcnow
from sextant.core.errors import FieldError, Forbidden, NotFound, ValidationFailed
from sextant.core.events import subscribe_batch
from sextant.core.metadata import registry
from sextant.core.pagination import newest_first
from sextant.core.permissions import Actor

MAX_RESPONSE_KEPT = 2000
DELIVERY_ATTEMPTS = 8
DISABLE_AFTER_DEAD_DELIVERIES = 5


def url_problem(url: Any) -> str | None:
    if not isinstance(url, str) or len(url) > 2000:
        return "a URL of at most 2000 characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "an http:// or https:// URL"
    return None


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def signature_headers(secret: str, body: bytes) -> dict[str, str]:
    return {"Sextant-Signature": sign(secret, body, int(time.time()))}


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs(time.time() - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), f"t={timestamp},v1={fields.get('v1', '')}")


# -- subscriptions -------------------------------------------------------------------------------------------


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may manage webhooks")


def _clean(data: dict[str, Any], partial: bool) -> dict[str, Any]:
    errors: list[FieldError] = []
    out: dict[str, Any] = {}
    if "url" in data or not partial:
        problem = url_problem(data.get("url"))
        if problem:
            errors.append(FieldError("url", problem))
        else:
            out["url"] = data["url"]
    if "event_types" in data or not partial:
        types = data.get("event_types")
        if (
            not isinstance(types, list)
            or not types
            or len(types) > 50
            or not all(isinstance(t, str) and 0 < len(t) <= 100 for t in types)
        ):
            errors.append(FieldError("event_types", "a list of 1-50 event types or patterns, e.g. 'deals.*'"))
        else:
            out["event_types"] = types
    if "description" in data:
        if data["description"] is not None and not isinstance(data["description"], str):
            errors.append(FieldError("description", "text"))
        else:
            out["description"] = (data["description"] or "")[:500] or None
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            errors.append(FieldError("enabled", "true or false"))
        else:
            out["enabled"] = data["enabled"]
    unknown = set(data) - {"url", "event_types", "description", "enabled"}
    errors += [FieldError(u, "unknown field", "unknown_field") for u in sorted(unknown)]
    if errors:
        raise ValidationFailed(errors)
    return out


def subscription_dict(sub: WebhookSubscription, *, with_secret: bool = False) -> dict[str, Any]:
    out = {
        "id": sub.id,
        "url": sub.url,
        "description": sub.description,
        "event_types": sub.event_types,
        "enabled": sub.enabled,
        "consecutive_failures": sub.consecutive_failures,
        "disabled_reason": sub.disabled_reason,
        "created_at": sub.created_at,
    }
    if with_secret:
        out["secret"] = sub.secret  # shown once, at creation
    return out


def create_subscription(session: Session, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    _admin(actor)
    clean = _clean(data, partial=False)
    sub = WebhookSubscription(
        **clean, secret="whsec_" + secrets.token_urlsafe(32), created_by_id=actor.user_id
    )
    session.add(sub)
    session.flush()
    return subscription_dict(sub, with_secret=True)


def get_subscription(session: Session, actor: Actor, sub_id: int) -> WebhookSubscription:
    _admin(actor)
    sub = session.get(WebhookSubscription, sub_id)
    if sub is None:
        raise NotFound("Webhook subscription")
    return sub


def update_subscription(session: Session, actor: Actor, sub_id: int, data: dict[str, Any]) -> dict[str, Any]:
    sub = get_subscription(session, actor, sub_id)
    for name, value in _clean(data, partial=True).items():
        setattr(sub, name, value)
    if data.get("enabled") is True:  # re-enabled by hand: a fresh start
        sub.consecutive_failures, sub.disabled_reason = 0, None
    session.flush()
    return subscription_dict(sub)


def delete_subscription(session: Session, actor: Actor, sub_id: int) -> None:
    session.delete(get_subscription(session, actor, sub_id))


def list_subscriptions(session: Session, actor: Actor) -> list[dict[str, Any]]:
    _admin(actor)
    return [
        subscription_dict(s)
        for s in session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id))
    ]


def event_types() -> list[str]:
    """What a subscription can name: every object's record events (patterns like `deals.*` work too)."""
    actions = ("created", "updated", "deleted", "restored")
    return [f"{name}.{a}" for name in registry.names() for a in actions] + ["webhook.test"]


def delivery_dict(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "subscription_id": d.subscription_id,
        "event_id": d.event_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "response_status": d.response_status,
        "response_body": d.response_body,
        "error": d.error,
        "duration_ms": d.duration_ms,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
    }


def list_deliveries(
    session: Session, actor: Actor, sub_id: int, *, limit: int = 50, before: int | None = None
) -> dict[str, Any]:
    get_subscription(session, actor, sub_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == sub_id)
    rows, next_before = newest_first(session, stmt, WebhookDelivery.id, limit=limit, before=before)
    return {"items": [delivery_dict(d) for d in rows], "next_before": next_before}


def send_test(session: Session, actor: Actor, sub_id: int) -> dict[str, Any]:
    """Queue a `webhook.test` delivery to check the receiver and its signature check."""
    sub = get_subscription(session, actor, sub_id)
    delivery = WebhookDelivery(
        subscription_id=sub.id,
        event_id=None,
        event_type="webhook.test",
        payload={"type": "webhook.test", "created_at": utcnow().isoformat(), "data": {}},
    )
    session.add(delivery)
    session.flush()
    jobs.enqueue(session, "webhooks.deliver", delivery.id, key=f"webhook-delivery:{delivery.id}")
    return delivery_dict(delivery)


# -- delivery ------------------------------------------------------------------------------------------------


def _wants(sub: WebhookSubscription, event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, p) for p in sub.event_types)


def event_body(event: OutboxEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "object": event.object_name,
        "record_id": event.record_id,
        "actor_id": event.actor_id,
        "data": event.payload,
    }


@subscribe_batch("webhooks", "*")
def fan_out(session: Session, events: list[OutboxEvent]) -> None:
    """One delivery per subscription that wants each event, queued with the event's payload frozen."""
    subs = list(session.scalars(select(WebhookSubscription).where(WebhookSubscription.enabled)))
    wanted = [(sub, event) for event in events for sub in subs if _wants(sub, event.type)]
    if not wanted:
        return
    done = {
        (sub_id, event_id)
        for sub_id, event_id in session.execute(
            select(WebhookDelivery.subscription_id, WebhookDelivery.event_id).where(
                WebhookDelivery.subscription_id.in_({sub.id for sub, _ in wanted}),
                WebhookDelivery.event_id.between(events[0].id, events[-1].id),
            )
        )
    }  # fanned out before a crash made these events replay
    deliveries = [
        WebhookDelivery(
            subscription_id=sub.id, event_id=event.id, event_type=event.type, payload=event_body(event)
        )
        for sub, event in wanted
        if (sub.id, event.id) not in done
    ]
    session.add_all(deliveries)
    session.flush()  # one multi-row insert; a clash with another writer fails the batch (then one by one)
    jobs.enqueue_many(
        session, "webhooks.deliver", [((d.id,), f"webhook-delivery:{d.id}") for d in deliveries]
    )


@jobs.job("webhooks.deliver", max_attempts=DELIVERY_ATTEMPTS, backoff_seconds=10)
def deliver(ctx: jobs.JobContext, delivery_id: int) -> None:
    session = ctx.session
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.status == "succeeded":
        return
    sub = session.get(WebhookSubscription, delivery.subscription_id)
    if sub is None or (not sub.enabled and delivery.event_type != "webhook.test"):
        delivery.status, delivery.error = "failed", "the subscription is disabled"
        return
    body = json.dumps(delivery.payload, default=str, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Sextant-Webhooks/1",
        "Sextant-Event": delivery.event_type,
        "Sextant-Delivery": str(delivery.id),
        **signature_headers(sub.secret, body),
    }
    url = sub.url
    session.commit()  # no transaction open during the call (on SQLite it would hold every other writer)
    started = time.monotonic()
    error: str | None = None
    status: int | None = None
    answer: str | None = None
    try:
        r = outbound.post(url, content=body, headers=headers)
        status, answer = r.status_code, r.text[:MAX_RESPONSE_KEPT]
        if not 200 <= r.status_code < 300:
            error = f"the receiver answered {r.status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    sub = session.get(WebhookSubscription, delivery.subscription_id) if delivery is not None else None
    if delivery is None or sub is None:
        return  # deleted while we called
    delivery.attempts += 1
    delivery.response_status, delivery.response_body = status, answer
    delivery.duration_ms = round((time.monotonic() - started) * 1000)
    if error is None:
        delivery.status, delivery.error, delivery.delivered_at = "succeeded", None, utcnow()
        sub.consecutive_failures = 0
        return
    delivery.error = error
    if not ctx.last_attempt:
        delivery.status = "failed"
        session.commit()  # keep this attempt in the log, then let the queue retry with backoff
        raise RuntimeError(error)
    delivery.status = "dead"
    sub.consecutive_failures += 1
    if sub.consecutive_failures >= DISABLE_AFTER_DEAD_DELIVERIES and sub.enabled:
        sub.enabled = False
        sub.disabled_reason = (
            f"disabled after {sub.consecutive_failures} deliveries in a row failed; last: {error}"
        )[:500]
