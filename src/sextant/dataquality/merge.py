"""Merge duplicates into a master record, and take a merge back.

Related rows are found generically, so objects added later are covered without code here: every foreign key
in the schema that points at the object's table (a deal's company, a person's company links, a lead's
converted contact ...) and every polymorphic reference (`object_name` + `record_id` columns: activity and task
links, hence the timeline; notifications; `item_object` + `item_id` as well). Logs and history tables
(audit trail, outbox, search index, run logs) are not moved: the merged records keep their own history.
A moved row that would repeat one the master already has (a link to the same company) is removed instead,
and kept in the merge record so that un-merge can put it back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Table, and_, delete, select, update
from sqlalchemy.orm import Session

from sextant.core import records, search
from sextant.core.audit import record_change
from sextant.core.db import Base, UTCDateTime, utcnow
from sextant.core.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from sextant.core.metadata import ObjectView, load_view, registry
from sextant.core.permissions import Actor
from sextant.dataquality.models import DuplicatePair, Merge

NOT_MOVED = {"audit_log", "search_entries", "outbox_events", "duplicate_pairs", "merges", "import_batches"}
POLYMORPHIC = (("object_name", "record_id"), ("item_object", "item_id"))
MAX_DUPLICATES = 10


def _is_log(table: Table) -> bool:
    return table.name in NOT_MOVED or table.name.endswith(("_log", "_runs", "_events", "_changes"))


def relations(table_name: str, object_name: str) -> list[tuple[Table, str, str | None]]:
    """(table, column, object column) pointing at records of this object: foreign keys (object column None)
    and polymorphic pairs."""
    out: list[tuple[Table, str, str | None]] = []
    for table in Base.metadata.sorted_tables:
        if _is_log(table):
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == table_name and fk.column.name == "id":
                out.append((table, fk.parent.name, None))
        for obj_col, id_col in POLYMORPHIC:
            if obj_col in table.c and id_col in table.c:
                out.append((table, id_col, obj_col))
    return out


def _row_key(table: Table, row: dict[str, Any], moved: str) -> dict[str, Any]:
    """The values that make a moved row a repeat: every column but the key, the moved one and times."""
    return {
        c.name: row[c.name]
        for c in table.columns
        if not c.primary_key
        and c.name != moved
        and not isinstance(row[c.name], datetime)
        and c.name not in ("is_primary", "role")
    }


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def survivors(
    view: ObjectView,
    actor: Actor,
    master: dict[str, Any],
    others: list[dict[str, Any]],
    choices: dict[str, Any],
) -> dict[str, Any]:
    """Each writable field's surviving value: the caller's choice (a record id, or {"value": v}), else the
    newest non-empty one (lists: the union)."""
    everyone = sorted([master, *others], key=lambda r: r.get("updated_at") or "", reverse=True)
    by_id = {r["id"]: r for r in everyone}
    out: dict[str, Any] = {}
    errors = []
    for name, fdef in view.fields.items():
        if fdef.system or actor.field_level(view.name, name) != "edit" or name not in master:
            continue
        choice = choices.get(name)
        if isinstance(choice, dict) and "value" in choice:
            out[name] = choice["value"]
        elif isinstance(choice, int) and not isinstance(choice, bool):
            if choice not in by_id:
                errors.append(
                    FieldError(f"values.{name}", f"record #{choice} is not part of this merge", "invalid")
                )
                continue
            out[name] = by_id[choice].get(name)
        elif choice is not None:
            errors.append(FieldError(f"values.{name}", "expected a record id or {value}", "type"))
        elif fdef.type == "multi_select":
            merged: list[Any] = []
            for r in [master, *others]:
                merged += [v for v in r.get(name) or [] if v not in merged]
            out[name] = merged
        else:
            out[name] = next((r[name] for r in everyone if not _empty(r.get(name))), None)
    unknown = [k for k in choices if k not in view.fields]
    errors += [FieldError(f"values.{k}", f"unknown field '{k}'", "unknown_field") for k in unknown]
    if errors:
        raise ValidationFailed(errors)
    # A losing email of a person stays findable: it joins the other addresses.
    if "additional_emails" in out and "email" in out:
        for r in [master, *others]:
            lost = r.get("email")
            if lost and lost != out["email"] and lost not in out["additional_emails"]:
                out["additional_emails"] = [*out["additional_emails"], lost]
    return out


def preview(session: Session, actor: Actor, object_name: str, body: Any) -> dict[str, Any]:
    """The surviving value of each field and the records side by side, as a merge would take them."""
    view, master, dups, choices = _parties(session, actor, object_name, body)
    master_values = records.serialize(view, actor, master)
    others = [records.serialize(view, actor, d) for d in dups]
    final = survivors(view, actor, master_values, others, choices)
    everyone = [master_values, *others]
    fields = {
        name: {
            "value": value,
            "from": [r["id"] for r in everyone if r.get(name) == value],
            "differs": len({repr(r.get(name)) for r in everyone}) > 1,
        }
        for name, value in final.items()
    }
    return {"object": object_name, "master": master_values, "duplicates": others, "fields": fields}


def _parties(session: Session, actor: Actor, object_name: str, body: Any) -> tuple[Any, Any, list[Any], dict]:
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    view = load_view(session, object_name)
    actor.require(object_name, "edit")
    actor.require(object_name, "delete")
    master_id, dup_ids, choices = body.get("master_id"), body.get("duplicate_ids"), body.get("values") or {}
    errors = []
    if isinstance(master_id, bool) or not isinstance(master_id, int):
        errors.append(FieldError("master_id", "expected a record id", "type"))
    if (
        not isinstance(dup_ids, list)
        or not dup_ids
        or len(dup_ids) > MAX_DUPLICATES
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in dup_ids)
    ):
        errors.append(FieldError("duplicate_ids", f"expected 1 to {MAX_DUPLICATES} record ids", "type"))
    if not isinstance(choices, dict):
        errors.append(FieldError("values", "expected an object {field: record id}", "type"))
    if errors:
        raise ValidationFailed(errors)
    dup_ids = list(dict.fromkeys(dup_ids))
    if master_id in dup_ids:
        raise ValidationFailed(
            [FieldError("duplicate_ids", "the master cannot be its own duplicate", "invalid")]
        )
    master = records.fetch(session, actor, view, master_id, for_write=True)
    dups = [records.fetch(session, actor, view, d, for_write=True) for d in dup_ids]
    return view, master, dups, choices


def merge(session: Session, actor: Actor, object_name: str, body: Any) -> dict[str, Any]:
    view, master, dups, choices = _parties(session, actor, object_name, body)
    master_id, dup_ids = master.id, [d.id for d in dups]
    master_values = records.serialize(view, actor, master)
    others = [records.serialize(view, actor, d) for d in dups]
    final = survivors(view, actor, master_values, others, choices)
    table = view.model.__table__
    moved: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    for rel_table, column, obj_col in relations(table.name, view.name):
        pk = next(iter(rel_table.primary_key.columns)).name
        cond = rel_table.c[column].in_(dup_ids)
        if obj_col is not None:
            cond = and_(cond, rel_table.c[obj_col] == view.name)
        for row in session.execute(select(rel_table).where(cond)).mappings().all():
            row = dict(row)
            if rel_table is table and row["id"] == master_id:
                session.execute(update(rel_table).where(rel_table.c.id == master_id).values({column: None}))
                moved.append(
                    {
                        "table": rel_table.name,
                        "pk": row[pk],
                        "column": column,
                        "from": row[column],
                        "to": None,
                    }
                )
                continue
            key = _row_key(rel_table, row, column)
            repeat = session.execute(
                select(rel_table.c[pk])
                .where(
                    rel_table.c[column] == master_id,
                    *[rel_table.c[k] == v for k, v in key.items() if v is not None],
                )
                .limit(1)
            ).first()
            if repeat is not None and rel_table is not table:
                session.execute(delete(rel_table).where(rel_table.c[pk] == row[pk]))
                removed.append({"table": rel_table.name, "row": _jsonable(row)})
            else:
                session.execute(
                    update(rel_table).where(rel_table.c[pk] == row[pk]).values({column: master_id})
                )
                moved.append(
                    {
                        "table": rel_table.name,
                        "pk": row[pk],
                        "column": column,
                        "from": row[column],
                        "to": master_id,
                    }
                )
    now = utcnow()
    for dup in dups:
        dup.deleted_at = now
        dup.updated_by_id = actor.user_id
        session.flush()
        search.remove_record(session, view.name, dup.id)
        record_change(session, actor, view.name, dup.id, "merge", {"merged_into": [None, master_id]})
    changes = {k: v for k, v in final.items() if master_values.get(k) != v}
    after = (
        records.update_record(session, actor, object_name, master_id, changes) if changes else master_values
    )
    row = Merge(
        object_name=object_name,
        master_id=master_id,
        duplicate_ids=dup_ids,
        master_before={k: master_values.get(k) for k in changes},
        master_after={k: after.get(k) for k in changes},
        moved=moved,
        removed=removed,
        actor_id=actor.user_id,
    )
    session.add(row)
    session.flush()
    record_change(
        session,
        actor,
        view.name,
        master_id,
        "merge",
        {"merged": [None, dup_ids], "merge_id": [None, row.id], "moved": [None, len(moved)]},
        event=False,
    )
    a, b = DuplicatePair.record_a_id, DuplicatePair.record_b_id
    ids = [master_id, *dup_ids]
    session.execute(
        update(DuplicatePair)
        .where(
            DuplicatePair.object_name == object_name, a.in_(ids), b.in_(ids), DuplicatePair.status == "open"
        )
        .values(status="merged", resolved_by_id=actor.user_id, updated_at=now)
    )
    session.flush()
    return {**merge_dict(row), "record": records.get_record(session, actor, object_name, master_id)}


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def merge_dict(row: Merge) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": row.object_name,
        "master_id": row.master_id,
        "duplicate_ids": row.duplicate_ids,
        "changed": sorted(row.master_before),
        "moved": len(row.moved),
        "removed": len(row.removed),
        "created_at": row.created_at,
        "undone_at": row.undone_at,
    }


def get_merge(session: Session, actor: Actor, merge_id: int) -> Merge:
    row = session.get(Merge, merge_id)
    if row is None or not registry.has(row.object_name) or not actor.can(row.object_name, "read"):
        raise NotFound("Merge")
    records.fetch(session, actor, load_view(session, row.object_name), row.master_id, deleted=None)
    return row


def unmerge(session: Session, actor: Actor, merge_id: int) -> dict[str, Any]:
    """Restore the merged records, move their related rows back, put removed rows back and give the master
    its previous values (those nobody changed since)."""
    row = get_merge(session, actor, merge_id)
    if row.undone_at is not None:
        raise Conflict("This merge was already taken back")
    view = load_view(session, row.object_name)
    actor.require(row.object_name, "edit")
    actor.require(row.object_name, "delete")
    master = records.fetch(session, actor, view, row.master_id, for_write=True)
    tables = Base.metadata.tables
    # The master gives back what it took first: a unique value (an email) that came from a duplicate must be
    # free again before that duplicate comes back.
    current = records.serialize(view, actor, master)
    restore = {k: v for k, v in row.master_before.items() if current.get(k) == row.master_after.get(k)}
    if restore:
        records.update_record(session, actor, row.object_name, row.master_id, restore)
    for dup_id in row.duplicate_ids:
        dup = records.fetch(session, actor, view, dup_id, deleted=True, for_write=True)
        dup.deleted_at = None
        dup.updated_by_id = actor.user_id
    session.flush()
    for m in reversed(row.moved):
        table = tables[m["table"]]
        pk = next(iter(table.primary_key.columns))
        session.execute(update(table).where(pk == m["pk"]).values({m["column"]: m["from"]}))
    for r in row.removed:
        table = tables[r["table"]]
        values = {k: _restore_value(table, k, v) for k, v in r["row"].items()}
        session.execute(table.insert().values(values))
    for dup_id in row.duplicate_ids:
        dup = records.fetch(session, actor, view, dup_id)
        search.index_record(session, view, dup)
        record_change(session, actor, view.name, dup_id, "unmerge", {"merged_into": [row.master_id, None]})
    record_change(
        session, actor, view.name, row.master_id, "unmerge", {"merge_id": [row.id, None]}, event=False
    )
    row.undone_at = utcnow()
    session.flush()
    return {**merge_dict(row), "record": records.get_record(session, actor, row.object_name, row.master_id)}


def dismiss(session: Session, actor: Actor, pair_id: int) -> dict[str, Any]:
    pair = session.get(DuplicatePair, pair_id)
    if pair is None or not registry.has(pair.object_name):
        raise NotFound("Duplicate pair")
    view = load_view(session, pair.object_name)
    actor.require(pair.object_name, "edit")
    try:
        for rid in (pair.record_a_id, pair.record_b_id):
            records.fetch(session, actor, view, rid, for_write=True)
    except DomainError as exc:
        raise NotFound("Duplicate pair") from exc
    pair.status, pair.resolved_by_id, pair.updated_at = "dismissed", actor.user_id, utcnow()
    session.flush()
    return {"id": pair.id, "status": pair.status}


def _restore_value(table: Table, name: str, value: Any) -> Any:
    kind = table.c[name].type
    if isinstance(value, str) and isinstance(kind, UTCDateTime | DateTime):
        return datetime.fromisoformat(value)
    return value
