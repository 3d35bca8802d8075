"""Pipelines (admin), the board, weighted pipeline, people on a deal, and stage history."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from sextant.core.audit import record_change
from sextant.core.db import utcnow
from sextant.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from sextant.core.filters import compile_filter
from sextant.core.metadata import load_view
from sextant.core.pagination import encode_cursor, order_by, parse_sort
from sextant.core.permissions import Actor
from sextant.core.records import base_query, fetch, serialize
from sextant.deals import totals
from sextant.deals.models import STAGE_KINDS, Deal, DealContact, DealStageChange, Pipeline, Stage


def stage_dict(stage: Stage) -> dict[str, Any]:
    return {
        "id": stage.id,
        "name": stage.name,
        "position": stage.position,
        "probability": stage.probability,
        "kind": stage.kind,
    }


def pipeline_dict(p: Pipeline) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "is_default": p.is_default,
        "position": p.position,
        "archived": p.archived_at is not None,
        "stages": [stage_dict(s) for s in p.stages],
    }


def list_pipelines(session: Session, actor: Actor, include_archived: bool = False) -> list[dict[str, Any]]:
    stmt = select(Pipeline).order_by(Pipeline.position, Pipeline.id)
    if not include_archived:
        stmt = stmt.where(Pipeline.archived_at.is_(None))
    return [pipeline_dict(p) for p in session.scalars(stmt)]


def get_pipeline(session: Session, pipeline_id: int) -> Pipeline:
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound("Pipeline")
    return pipeline


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may change pipelines")


def _clean_stages(raw: Any) -> list[dict[str, Any]]:
    errors: list[FieldError] = []
    if not isinstance(raw, list) or not 2 <= len(raw) <= 30:
        raise ValidationFailed([FieldError("stages", "expected 2 to 30 stages", "type")])
    out, names = [], set()
    for i, item in enumerate(raw):
        path = f"stages.{i}"  # the same paths as the request model's own errors (stages.1.probability)
        if not isinstance(item, dict):
            errors.append(FieldError(path, "expected {name, probability, kind}", "type"))
            continue
        name, prob, kind = item.get("name"), item.get("probability", 0), item.get("kind", "open")
        if not isinstance(name, str) or not name.strip() or len(name) > 120:
            errors.append(FieldError(f"{path}.name", "is required (at most 120 characters)", "required"))
        elif name.strip().lower() in names:
            errors.append(FieldError(f"{path}.name", "duplicate stage name", "duplicate"))
        else:
            names.add(name.strip().lower())
        if isinstance(prob, bool) or not isinstance(prob, int | float) or not 0 <= prob <= 100:
            errors.append(
                FieldError(f"{path}.probability", "must be a number between 0 and 100", "out_of_range")
            )
        if kind not in STAGE_KINDS:
            errors.append(
                FieldError(f"{path}.kind", f"must be one of {', '.join(STAGE_KINDS)}", "invalid_choice")
            )
        sid = item.get("id")
        if sid is not None and (isinstance(sid, bool) or not isinstance(sid, int)):
            errors.append(FieldError(f"{path}.id", "expected a stage id", "type"))
        out.append({"id": sid, "name": (name or "").strip(), "probability": prob, "kind": kind})
    kinds = [s["kind"] for s in out]
    if not errors and ("open" not in kinds or "won" not in kinds or "lost" not in kinds):
        errors.append(
            FieldError("stages", "a pipeline needs at least one open, one won and one lost stage", "invalid")
        )
    if errors:
        raise ValidationFailed(errors)
    return out


def create_pipeline(session: Session, actor: Actor, data: dict[str, Any]) -> Pipeline:
    _admin(actor)
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 120:
        raise ValidationFailed([FieldError("name", "is required (at most 120 characters)", "required")])
    stages = _clean_stages(data.get("stages"))
    if session.scalar(select(Pipeline.id).where(Pipeline.name == name.strip())):
        raise Conflict("A pipeline with this name already exists")
    first = session.scalar(select(Pipeline.id).limit(1)) is None
    pipeline = Pipeline(
        name=name.strip(),
        is_default=bool(data.get("is_default")) or first,
        position=int(session.scalar(select(func.count(Pipeline.id))) or 0),
    )
    session.add(pipeline)
    session.flush()
    for i, s in enumerate(stages):
        session.add(
            Stage(
                pipeline_id=pipeline.id,
                name=s["name"],
                probability=s["probability"],
                kind=s["kind"],
                position=i,
            )
        )
    if pipeline.is_default:
        _only_default(session, pipeline)
    session.flush()
    session.refresh(pipeline)
    record_change(session, actor, "pipelines", pipeline.id, "create", {"name": [None, pipeline.name]})
    return pipeline


def _only_default(session: Session, pipeline: Pipeline) -> None:
    for other in session.scalars(select(Pipeline).where(Pipeline.id != pipeline.id, Pipeline.is_default)):
        other.is_default = False


def update_pipeline(session: Session, actor: Actor, pipeline_id: int, data: dict[str, Any]) -> Pipeline:
    _admin(actor)
    pipeline = get_pipeline(session, pipeline_id)
    changes: dict[str, Any] = {}
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 120:
            raise ValidationFailed([FieldError("name", "is required (at most 120 characters)", "required")])
        if session.scalar(
            select(Pipeline.id).where(Pipeline.name == name.strip(), Pipeline.id != pipeline_id)
        ):
            raise Conflict("A pipeline with this name already exists")
        changes["name"] = [pipeline.name, name.strip()]
        pipeline.name = name.strip()
    if data.get("is_default") is True:
        pipeline.is_default = True
        _only_default(session, pipeline)
    if "archived" in data:
        pipeline.archived_at = utcnow() if data["archived"] else None
    if "stages" in data:
        _replace_stages(session, pipeline, _clean_stages(data["stages"]))
        changes["stages"] = [None, [s["name"] for s in data["stages"]]]
    session.flush()
    session.refresh(pipeline)
    record_change(session, actor, "pipelines", pipeline.id, "update", changes)
    return pipeline


def _replace_stages(session: Session, pipeline: Pipeline, stages: list[dict[str, Any]]) -> None:
    existing = {s.id: s for s in pipeline.stages}
    keep = {s["id"] for s in stages if s["id"] is not None}
    unknown = keep - set(existing)
    if unknown:
        raise ValidationFailed(
            [FieldError("stages", f"stage {sorted(unknown)[0]} is not in this pipeline", "invalid_reference")]
        )
    for sid in set(existing) - keep:
        in_use = session.scalar(select(func.count(Deal.id)).where(Deal.stage_id == sid))
        if in_use:
            raise Conflict(f"Stage '{existing[sid].name}' still holds {in_use} deal(s); move them first")
        session.delete(existing[sid])
    session.flush()
    # Two passes: names are unique per pipeline, so park renamed stages first.
    for s in stages:
        if s["id"] is not None:
            existing[s["id"]].name = f"__tmp_{s['id']}"
    session.flush()
    for i, s in enumerate(stages):
        if s["id"] is None:
            session.add(
                Stage(
                    pipeline_id=pipeline.id,
                    name=s["name"],
                    probability=s["probability"],
                    kind=s["kind"],
                    position=i,
                )
            )
        else:
            stage = existing[s["id"]]
            if stage.kind != s["kind"] and session.scalar(
                select(func.count(Deal.id)).where(Deal.stage_id == stage.id)
            ):
                raise Conflict(f"Stage '{s['name']}' holds deals; its kind (open/won/lost) cannot change")
            stage.name, stage.probability, stage.kind, stage.position = (
                s["name"],
                s["probability"],
                s["kind"],
                i,
            )


def stage_exists(session: Session, actor: Actor, stage_id: int) -> bool:
    return session.get(Stage, stage_id) is not None


def pipeline_exists(session: Session, actor: Actor, pipeline_id: int) -> bool:
    p = session.get(Pipeline, pipeline_id)
    return p is not None and p.archived_at is None


# -- board and weighted pipeline --


def _visible_deals(session: Session, actor: Actor, filter: Any) -> Any:
    view = load_view(session, "deals")
    actor.require("deals", "read")
    stmt = base_query(session, actor, view)
    where = compile_filter(view, actor, filter, session.get_bind().dialect.name)
    return (stmt.where(where) if where is not None else stmt), view


def _hidden_sums(actor: Actor) -> tuple[bool, bool]:
    """Whether the amount and the weighted amount must be left out of totals: a role that may not see a
    deal's amount (or probability, which weighted amount reveals beside it) sees no sums of it either."""
    hidden = actor.hidden_fields("deals")
    return "amount" in hidden, bool({"amount", "probability"} & hidden)


def _money(value: Any, hide: bool) -> float | None:
    return None if hide else round(float(value or 0), 2)


def weighted_expr() -> Any:
    return func.coalesce(Deal.amount, 0) * func.coalesce(Deal.probability, 0) / 100.0


def board(
    session: Session, actor: Actor, pipeline_id: int, *, filter: Any = None, per_stage: int = 25
) -> dict[str, Any]:
    pipeline = get_pipeline(session, pipeline_id)
    if not 1 <= per_stage <= 200:
        raise ValidationFailed([FieldError("per_stage", "must be between 1 and 200", "range")])
    by_stage = board_totals(session, actor, pipeline, filter)
    pages = _first_pages(
        session, actor, pipeline, [sid for sid, t in by_stage.items() if t[0]], filter, per_stage
    )
    columns = []
    hide_amount, hide_weighted = _hidden_sums(actor)
    for stage in pipeline.stages:
        n, amount, weighted = by_stage.get(stage.id, (0, 0, 0))
        items, next_cursor = pages.get(stage.id, ([], None))
        columns.append(
            {
                "stage": stage_dict(stage),
                "count": n,
                "amount": _money(amount, hide_amount),
                "weighted": _money(weighted, hide_weighted),
                "deals": items,
                "next_cursor": next_cursor,
            }
        )
    return {"pipeline": pipeline_dict(pipeline), "columns": columns}


BOARD_SORT = "expected_close_date"


def _first_pages(
    session: Session, actor: Actor, pipeline: Pipeline, stage_ids: list[int], filter: Any, per_stage: int
) -> dict[int, tuple[list[dict[str, Any]], str | None]]:
    """The first page of deals of each stage, in close-date order, with its next cursor: what `list_records`
    gives a column (`GET /deals?filter=stage...&sort=expected_close_date`, the next pages' request), read in
    two statements instead of a round trip per stage: a UNION ALL of one ix_deals_board walk per stage for
    the ids and sort keys (narrow, so cheap to build and compile too), then those deals by id."""
    if not stage_ids:
        return {}
    view = load_view(session, "deals")
    dialect = session.get_bind().dialect.name
    keys = parse_sort(view, actor, BOARD_SORT, dialect)
    stmt = base_query(session, actor, view).where(Deal.pipeline_id == pipeline.id)
    where = compile_filter(view, actor, filter, dialect)
    if where is not None:
        stmt = stmt.where(where)
    stmt = stmt.with_only_columns(
        Deal.id.label("_id"),
        Deal.stage_id.label("_stage"),
        *[k.expr.label(f"_k{i}") for i, k in enumerate(keys)],
    )
    walks = [
        select(stmt.where(Deal.stage_id == sid).order_by(*order_by(keys)).limit(per_stage + 1).subquery())
        for sid in stage_ids
    ]
    pages = union_all(*walks).subquery("pages")
    sort_columns = [pages.c[f"_k{i}"] for i in range(len(keys))]
    outer = [replace(k, expr=c) for k, c in zip(keys, sort_columns, strict=True)]
    rows = session.execute(
        select(pages.c._id, pages.c._stage, *sort_columns).order_by(pages.c._stage, *order_by(outer))
    ).all()
    deals = {
        d.id: d
        for d in session.scalars(base_query(session, actor, view).where(Deal.id.in_([r[0] for r in rows])))
    }
    out: dict[int, tuple[list[dict[str, Any]], str | None]] = {}
    for sid in stage_ids:
        mine = [r for r in rows if r[1] == sid]
        cursor = encode_cursor(keys, list(mine[per_stage - 1][2:])) if len(mine) > per_stage else None
        out[sid] = ([serialize(view, actor, deals[r[0]]) for r in mine[:per_stage]], cursor)
    return out


def board_totals(
    session: Session, actor: Actor, pipeline: Pipeline, filter: Any = None, *, from_summary: bool = True
) -> totals.Totals:
    """Count, amount and weighted amount of the visible deals per stage of the pipeline (closed included).

    Without a filter they are summed from `deal_board_totals` over the owners the user may see (a few hundred
    rows, where counting the deals themselves reads every deal of the pipeline); with one, or with
    `from_summary=False`, they are counted from the deals."""
    view = load_view(session, "deals")
    actor.require("deals", "read")
    stage_ids = [s.id for s in pipeline.stages]
    where = compile_filter(view, actor, filter, session.get_bind().dialect.name)
    if where is None and from_summary:
        return totals.stage_totals(session, actor, view, pipeline.id, stage_ids)
    stmt = base_query(session, actor, view)
    if where is not None:
        stmt = stmt.where(where)
    # Naming the stages lets the count seek (pipeline, stage, owner) in ix_deals_board_totals for each owner
    # a restricted user may see, instead of reading every deal of the pipeline.
    stmt = stmt.where(Deal.pipeline_id == pipeline.id, Deal.stage_id.in_(stage_ids))
    totals_q = stmt.with_only_columns(
        Deal.stage_id, func.count(Deal.id), func.sum(Deal.amount), func.sum(weighted_expr())
    ).group_by(Deal.stage_id)
    return {sid: (n, amount or 0, weighted or 0) for sid, n, amount, weighted in session.execute(totals_q)}


def summary(
    session: Session,
    actor: Actor,
    *,
    pipeline_id: int | None = None,
    group_by: str = "stage",
    filter: Any = None,
) -> list[dict[str, Any]]:
    """Open pipeline value per stage or per owner (amount, probability-weighted amount, count)."""
    keys = {"stage": [Deal.stage_id], "owner": [Deal.owner_id], "stage_owner": [Deal.stage_id, Deal.owner_id]}
    if group_by not in keys:
        raise ValidationFailed(
            [FieldError("group_by", "must be stage, owner or stage_owner", "invalid_choice")]
        )
    stmt, _ = _visible_deals(session, actor, filter)
    stmt = stmt.where(Deal.status == "open")
    if pipeline_id is not None:
        stmt = stmt.where(Deal.pipeline_id == pipeline_id)
    cols = keys[group_by]
    q = stmt.with_only_columns(
        *cols, Deal.currency, func.count(Deal.id), func.sum(Deal.amount), func.sum(weighted_expr())
    ).group_by(*cols, Deal.currency)
    out = []
    hide_amount, hide_weighted = _hidden_sums(actor)
    for row in session.execute(q):
        key = dict(zip([c.key for c in cols], row[: len(cols)], strict=True))
        currency, n, amount, weighted = row[len(cols) :]
        out.append(
            {
                **key,
                "currency": currency,
                "count": n,
                "amount": _money(amount, hide_amount),
                "weighted": _money(weighted, hide_weighted),
            }
        )
    return out


# -- people on a deal --


def _deal(session: Session, actor: Actor, deal_id: int, write: bool) -> Deal:
    actor.require("deals", "edit" if write else "read")
    return fetch(session, actor, load_view(session, "deals"), deal_id, for_write=write)


def list_deal_contacts(session: Session, actor: Actor, deal_id: int) -> list[dict[str, Any]]:
    _deal(session, actor, deal_id, write=False)
    if not actor.can("contacts", "read"):
        return []
    from sextant.contacts.models import Contact

    view = load_view(session, "contacts")
    stmt = (
        base_query(session, actor, view)
        .add_columns(DealContact.role)
        .join(DealContact, DealContact.contact_id == Contact.id)
        .where(DealContact.deal_id == deal_id)
        .order_by(DealContact.id)
    )
    return [
        {"contact_id": c.id, "role": role, "contact": serialize(view, actor, c)}
        for c, role in session.execute(stmt)
    ]


def add_deal_contact(
    session: Session, actor: Actor, deal_id: int, contact_id: Any, role: Any
) -> dict[str, Any]:
    _deal(session, actor, deal_id, write=True)
    if isinstance(contact_id, bool) or not isinstance(contact_id, int):
        raise ValidationFailed([FieldError("contact_id", "expected a contact id", "type")])
    if role is not None and (not isinstance(role, str) or len(role) > 60):
        raise ValidationFailed([FieldError("role", "at most 60 characters", "too_long")])
    try:
        actor.require("contacts", "read")
        fetch(session, actor, load_view(session, "contacts"), contact_id)
    except Exception as exc:
        raise ValidationFailed(
            [FieldError("contact_id", f"no contact #{contact_id} that you can see", "invalid_reference")]
        ) from exc
    if session.scalar(
        select(DealContact.id).where(DealContact.deal_id == deal_id, DealContact.contact_id == contact_id)
    ):
        raise Conflict("This person is already on the deal")
    session.add(DealContact(deal_id=deal_id, contact_id=contact_id, role=role))
    session.flush()
    record_change(
        session,
        actor,
        "deals",
        deal_id,
        "link",
        {"contacts": [None, {"contact_id": contact_id, "role": role}]},
    )
    return {"contact_id": contact_id, "role": role}


def remove_deal_contact(session: Session, actor: Actor, deal_id: int, contact_id: int) -> None:
    _deal(session, actor, deal_id, write=True)
    row = session.scalar(
        select(DealContact).where(DealContact.deal_id == deal_id, DealContact.contact_id == contact_id)
    )
    if row is None:
        raise NotFound("Person on this deal")
    session.delete(row)
    record_change(
        session, actor, "deals", deal_id, "unlink", {"contacts": [{"contact_id": contact_id}, None]}
    )


def stage_history(session: Session, actor: Actor, deal_id: int) -> list[dict[str, Any]]:
    deal = _deal(session, actor, deal_id, write=False)
    rows = list(
        session.scalars(
            select(DealStageChange)
            .where(DealStageChange.deal_id == deal_id)
            .order_by(DealStageChange.changed_at, DealStageChange.id)
        )
    )
    names = {
        s.id: s.name
        for s in session.scalars(
            select(Stage).where(
                Stage.id.in_(
                    {r.to_stage_id for r in rows} | {r.from_stage_id for r in rows if r.from_stage_id}
                )
            )
        )
    }
    out = []
    for i, row in enumerate(rows):
        left = (
            rows[i + 1].changed_at
            if i + 1 < len(rows)
            else (deal.closed_at if deal.status != "open" and deal.closed_at else utcnow())
        )
        out.append(
            {
                "stage_id": row.to_stage_id,
                "stage": names.get(row.to_stage_id),
                "from_stage_id": row.from_stage_id,
                "from_stage": names.get(row.from_stage_id),
                "entered_at": row.changed_at,
                "left_at": rows[i + 1].changed_at if i + 1 < len(rows) else None,
                "seconds_in_stage": max(0, int((left - row.changed_at).total_seconds())),
                "actor_id": row.actor_id,
            }
        )
    return out
