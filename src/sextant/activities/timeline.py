"""One reverse-chronological stream per record, assembled from registered providers.

A provider yields the items of one kind for (object, record id) that the actor may see, newest first, older
than a cursor. Activities, tasks and audited changes (field and stage changes, links, conversion) are built
in; email, tickets and orders register their own providers later. Every provider applies record-level
security to its items and field-level security to what they show: a change to a hidden field is not an item.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from sextant.activities.models import RecordLink
from sextant.core import fieldtypes as ft
from sextant.core.audit import AuditEntry
from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.metadata import load_view
from sextant.core.permissions import Actor
from sextant.core.records import _LinkReach as LinkReach  # the history's rule for link entries
from sextant.core.records import fetch, serialize, visible_clause


@dataclass(frozen=True)
class Cursor:
    at: datetime
    rank: int
    id: int


@dataclass
class Provider:
    kind: str
    rank: int  # tie-break order between kinds at the same instant
    fetch: Callable[[Session, Actor, str, int, Cursor | None, int], list[dict[str, Any]]]


_providers: dict[str, Provider] = {}


def register(kind: str, rank: int) -> Callable[[Callable[..., list[dict[str, Any]]]], Callable[..., Any]]:
    def wrap(fn: Callable[..., list[dict[str, Any]]]) -> Callable[..., list[dict[str, Any]]]:
        _providers[kind] = Provider(kind, rank, fn)
        return fn

    return wrap


def kinds() -> list[str]:
    return sorted(_providers)


def older_than(at_col: Any, id_col: Any, rank: int, cursor: Cursor | None) -> Any:
    if cursor is None:
        return None
    if rank < cursor.rank:
        return at_col <= cursor.at
    if rank > cursor.rank:
        return at_col < cursor.at
    return or_(at_col < cursor.at, and_(at_col == cursor.at, id_col < cursor.id))


def _encode(item: dict[str, Any]) -> str:
    raw = json.dumps({"at": ft.format_datetime(item["_at"]), "r": item["_rank"], "id": item["_id"]})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> Cursor:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return Cursor(ft.parse_datetime(data["at"]), int(data["r"]), int(data["id"]))
    except Exception as exc:  # any malformed cursor is the client's error
        raise ValidationFailed([FieldError("cursor", "malformed cursor", "invalid_cursor")]) from exc


def timeline(
    session: Session,
    actor: Actor,
    object_name: str,
    record_id: int,
    *,
    kinds_filter: list[str] | None = None,
    limit: int = 25,
    cursor: str | None = None,
) -> dict[str, Any]:
    if not 1 <= limit <= 100:
        raise ValidationFailed([FieldError("limit", "must be between 1 and 100", "range")])
    unknown = [k for k in kinds_filter or [] if k not in _providers]
    if unknown:
        raise ValidationFailed(
            [
                FieldError("kinds", f"unknown kind '{u}'; one of {', '.join(kinds())}", "invalid_choice")
                for u in unknown
            ]
        )
    view = load_view(session, object_name)
    actor.require(object_name, "read")
    fetch(session, actor, view, record_id, deleted=None)
    after = _decode(cursor) if cursor else None
    items: list[dict[str, Any]] = []
    for provider in _providers.values():
        if kinds_filter and provider.kind not in kinds_filter:
            continue
        # One more than a page from each: if any provider has more, there is a next page.
        for item in provider.fetch(session, actor, object_name, record_id, after, limit + 1):
            item.update(kind=item.get("kind", provider.kind), _rank=provider.rank)
            items.append(item)
    items.sort(key=lambda i: (i["_at"], i["_rank"], i["_id"]), reverse=True)
    page = items[:limit]
    next_cursor = _encode(page[-1]) if len(items) > limit else None
    return {
        "items": [
            {k: v for k, v in i.items() if not k.startswith("_")} | {"at": ft.format_datetime(i["_at"])}
            for i in page
        ],
        "next_cursor": next_cursor,
    }


def _linked(item_object: str, rank: int) -> Callable[..., list[dict[str, Any]]]:
    def provider(
        session: Session, actor: Actor, object_name: str, record_id: int, cursor: Cursor | None, limit: int
    ) -> list[dict[str, Any]]:
        if not actor.can(item_object, "read"):
            return []
        view = load_view(session, item_object)
        model = view.model
        stmt = (
            select(model, RecordLink.at, RecordLink.id)
            .join(RecordLink, and_(RecordLink.item_object == item_object, RecordLink.item_id == model.id))
            .where(
                RecordLink.object_name == object_name,
                RecordLink.record_id == record_id,
                model.deleted_at.is_(None),
            )
        )
        clause = visible_clause(session, actor, view)
        if clause is not None:
            stmt = stmt.where(clause)
        bound = older_than(RecordLink.at, RecordLink.id, rank, cursor)
        if bound is not None:
            stmt = stmt.where(bound)
        rows = session.execute(stmt.order_by(RecordLink.at.desc(), RecordLink.id.desc()).limit(limit)).all()
        singular = view.objdef.singular.lower()
        return [
            {
                "_at": at,
                "_id": link_id,
                "object": item_object,
                "id": rec.id,
                "kind": singular,
                "record": serialize(view, actor, rec),
            }
            for rec, at, link_id in rows
        ]

    return provider


register("activity", 30)(_linked("activities", 30))
register("task", 20)(_linked("tasks", 20))

RENAMED = {"stage_id": "stage_change"}


@register("change", 10)
def audited_changes(
    session: Session, actor: Actor, object_name: str, record_id: int, cursor: Cursor | None, limit: int
) -> list[dict[str, Any]]:
    hidden = actor.hidden_fields(object_name) | load_view(session, object_name).retired
    reach = LinkReach(session, actor)
    stmt = select(AuditEntry).where(AuditEntry.object_name == object_name, AuditEntry.record_id == record_id)
    bound = older_than(AuditEntry.at, AuditEntry.id, 10, cursor)
    if bound is not None:
        stmt = stmt.where(bound)
    out: list[dict[str, Any]] = []
    # Hidden-only updates are dropped, so read in batches until the page is full.
    while len(out) < limit:
        batch = list(
            session.scalars(stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit * 2))
        )
        for entry in batch:
            # As the record's history shows it: no hidden or retired field, no link to a record out of
            # reach, and no entry at all when nothing of it is left (not even that something changed).
            changes = {
                k: v for k, v in (entry.changes or {}).items() if k not in hidden and reach.shows(k, v)
            }
            if entry.action != "create" and entry.changes and not changes:
                continue
            kind = (
                "stage_change"
                if entry.action == "update" and "stage_id" in changes
                else f"record_{entry.action}"
            )
            if kind == "stage_change":
                changes = _with_stage_names(session, changes)
            out.append(
                {
                    "_at": entry.at,
                    "_id": entry.id,
                    "kind": kind,
                    "action": entry.action,
                    "actor_id": entry.actor_id,
                    "actor": entry.actor_label,
                    "changes": changes,
                }
            )
            if len(out) == limit:
                break
        if len(batch) < limit * 2:
            break
        last = batch[-1]
        stmt = stmt.where(
            or_(AuditEntry.at < last.at, and_(AuditEntry.at == last.at, AuditEntry.id < last.id))
        )
    return out


def _with_stage_names(session: Session, changes: dict[str, Any]) -> dict[str, Any]:
    from sextant.deals.models import Stage

    before, after = changes["stage_id"]
    names = {
        s.id: s.name
        for s in session.scalars(
            select(Stage).where(Stage.id.in_([x for x in (before, after) if x is not None]))
        )
    }
    return {**changes, "stage": [names.get(before), names.get(after)]}
