"""The bulk write path of an import: one chunk of rows validated in Python, written in a few statements.

Per chunk: references resolved and upsert keys looked up with one query per field, every row cleaned by the
record service's rules (`convert.clean`), then new records, their search-index rows, audit entries and outbox
events written with executemany (SQLite) or COPY (PostgreSQL), and changed records updated with one
executemany. The result is what `core.records` stores for the same input: normalised values, version 1
(then +1 per change), owner and created/updated by the importing user, custom-field defaults, the object's
own rules (`before_save`), the same search rows (`core.search.entries_for`) and the same audit changes.

Objects with rules that run after the save (a lead's assignment, a deal's stage history) or inputs that are
not columns go through the record service row by row instead (`SlowWriter`), in the same chunks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, and_, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from sextant.core import fieldtypes as ft
from sextant.core import records, search
from sextant.core.audit import AuditEntry, OutboxEvent, past_tense
from sextant.core.db import utcnow
from sextant.core.errors import DomainError
from sextant.core.filters import field_expression
from sextant.core.metadata import FieldDef, ObjectView, load_view, registry
from sextant.core.permissions import Actor, can_reach_owner, visibility_clause
from sextant.dataquality.convert import NATIONAL, CellError, FieldReader, clean

LOOKUP_BATCH = 500
STAGE = "import_search_stage"  # SQLite: a chunk's search rows on their way to search_entries (temp table)
RowError = dict[str, Any]


@dataclass
class MappedColumn:
    index: int
    header: str
    field: FieldDef
    match: str | None = None  # references: the target's field that the cell names ("id", "name", "email")
    reader: Callable[[str], Any] | None = None


@dataclass
class Plan:
    view: ObjectView
    actor: Actor
    columns: list[MappedColumn]
    key: FieldDef | None
    emit: bool = True
    blank_clears: bool = False
    import_id: int | None = None
    region: str = "US"

    def __post_init__(self) -> None:
        for col in self.columns:
            col.reader = FieldReader(col.field)


@dataclass
class ChunkResult:
    created_ids: list[int] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)  # {id, version, before}
    unchanged: int = 0
    rejected: list[tuple[int, list[RowError], list[str]]] = field(
        default_factory=list
    )  # (row no, errs, cells)


@dataclass
class Pending:
    row_no: int
    cells: list[str]
    data: dict[str, Any]
    errors: list[RowError]
    target: Any = None  # the existing record (SimpleNamespace) for an update
    earlier: bool = False  # dry run: its key is new in the database but an earlier chunk creates it


def fast_path(view: ObjectView, plan_fields: Iterable[str]) -> bool:
    """Whether the object's rules are all in `before_save` (contacts, companies ...)."""
    virtual = {name.split(".", 1)[0] for name in plan_fields}
    return view.objdef.after_save is None and not (virtual & set(view.objdef.virtual_inputs))


# -- parsing and references ----------------------------------------------------------------------------------


def parse(plan: Plan, rows: list[tuple[int, list[str]]]) -> list[Pending]:
    out = []
    for row_no, cells in rows:
        data: dict[str, Any] = {}
        errors: list[RowError] = []
        for col in plan.columns:
            text = cells[col.index] if col.index < len(cells) else ""
            try:
                data[col.field.name] = col.reader(text) if col.reader else text
            except CellError as exc:
                errors.append(_err(col, exc.message, exc.code))
        out.append(Pending(row_no, cells, data, errors))
    return out


def _err(col: MappedColumn | None, message: str, code: str, fname: str | None = None) -> RowError:
    return {
        "column": col.header if col else None,
        "field": col.field.name if col else fname,
        "message": message,
        "code": code,
    }


def _column_of(plan: Plan, fname: str) -> MappedColumn | None:
    return next((c for c in plan.columns if c.field.name == fname), None)


class References:
    """Cell text -> record id for reference columns, looked up once per distinct value (per import)."""

    def __init__(self, session: Session, actor: Actor) -> None:
        self.session, self.actor = session, actor
        self.cache: dict[tuple[str, str, str], int | str] = {}

    def resolve(self, plan: Plan, pending: list[Pending]) -> None:
        for col in plan.columns:
            if col.field.type != "reference":
                continue
            target, match = col.field.reference or "", col.match or "id"
            wanted = {
                str(p.data[col.field.name])
                for p in pending
                if p.data.get(col.field.name) is not None
                and (target, match, str(p.data[col.field.name])) not in self.cache
            }
            if wanted:
                self._lookup(target, match, sorted(wanted))
            for p in pending:
                raw = p.data.get(col.field.name)
                if raw is None:
                    continue
                found = self.cache.get((target, match, str(raw)))
                if isinstance(found, int):
                    p.data[col.field.name] = found
                else:
                    p.errors.append(
                        _err(col, found or f"no {target} record matches '{raw}'", "invalid_reference")
                    )
                    p.data.pop(col.field.name)

    def _lookup(self, target: str, match: str, values: list[str]) -> None:
        for value in values:
            self.cache[(target, match, value)] = f"no {target} record with {match} '{value}' that you can see"
        if target == "users":
            from sextant.accounts.models import User

            column = User.id if match == "id" else User.email
            keys = _keys_for(match, values, "email")
            for chunk in _chunks(list(keys), LOOKUP_BATCH):
                for uid, value in self.session.execute(
                    select(User.id, column).where(column.in_(chunk), User.is_active.is_(True))
                ):
                    for original in keys[value]:
                        self.cache[(target, match, original)] = int(uid)
            return
        if not registry.has(target) or not self.actor.can(target, "read"):
            return
        view = load_view(self.session, target)
        model = view.model
        if match == "id":
            expr: Any = model.id
            keys = _keys_for("id", values, "number")
        else:
            fdef = view.fields.get(match)
            if fdef is None or match in self.actor.hidden_fields(target):
                return
            expr = field_expression(view, fdef, self.session.get_bind().dialect.name)
            keys = _keys_for(match, values, fdef.type)
        clause = visibility_clause(self.actor, model.owner_id, view.sharing, "read")
        for chunk in _chunks(list(keys), LOOKUP_BATCH):
            stmt = select(model.id, expr).where(model.deleted_at.is_(None), expr.in_(chunk))
            if clause is not None:
                stmt = stmt.where(clause)
            hits: dict[Any, list[int]] = defaultdict(list)
            for rid, value in self.session.execute(stmt):
                hits[value].append(int(rid))
            for value, ids in hits.items():
                for original in keys.get(value, []):
                    self.cache[(target, match, original)] = (
                        ids[0] if len(ids) == 1 else f"'{original}' matches {len(ids)} {target} records"
                    )


def _keys_for(match: str, values: list[str], ftype: str) -> dict[Any, list[str]]:
    """Stored form of each looked-up text (a normalised email, an integer id) -> the texts that give it."""
    out: dict[Any, list[str]] = defaultdict(list)
    for value in values:
        try:
            if ftype in ("number", "reference") or match == "id":
                key: Any = int(value)
            elif ftype == "email":
                key = ft.normalise_email(value)
            elif match == "domain":
                key = ft.normalise_domain(value)
            else:
                key = value.strip()
        except (ValueError, ft.ValueError_):
            continue
        out[key].append(value)
    return out


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- upsert keys and uniqueness ----------------------------------------------------------------------------


def _stored(fdef: FieldDef, value: Any) -> Any:
    return ft.to_json(fdef.type, value) if fdef.custom else value


def find_targets(session: Session, plan: Plan, pending: list[Pending], region: str) -> None:
    """For rows whose key matches a live record: that record (writable by the actor), else an error."""
    key = plan.key
    if key is None:
        return
    view = plan.view
    model = view.model
    by_key: dict[Any, list[Pending]] = defaultdict(list)
    for p in pending:
        raw = p.data.get(key.name)
        if raw is None or p.errors:
            continue
        try:
            from sextant.dataquality.convert import coerce

            value = coerce(key, raw, region)
            if view.objdef.name == "companies" and key.name == "domain" and value:
                value = ft.normalise_domain(value)
        except ft.ValueError_:
            continue  # the row's own validation reports it
        if value is not None:
            by_key[_stored(key, value)].append(p)
    if not by_key:
        return
    table = model.__table__
    for chunk in _chunks(list(by_key), LOOKUP_BATCH):
        for row in _live_matches(session, view, key, [table], chunk).mappings():
            for p in by_key.get(row["_key"], []):
                if p.target is not None:
                    p.errors.append(_err(_column_of(plan, key.name), "matches several records", "ambiguous"))
                    continue
                if not can_reach_owner(plan.actor, row["owner_id"], view.sharing, "write"):
                    p.errors.append(
                        _err(
                            _column_of(plan, key.name),
                            f"a {view.objdef.singular.lower()} with this {key.label.lower()} exists that "
                            "you may not edit",
                            "forbidden",
                        )
                    )
                    continue
                p.target = SimpleNamespace(**{k: v for k, v in row.items() if k != "_key"})


def _live_matches(
    session: Session, view: ObjectView, fdef: FieldDef, columns: list[Any], keys: list[Any]
) -> Any:
    """Live records whose `fdef` is one of `keys` (at most two per key): `columns` and the value as `_key`.

    PostgreSQL, on an indexed column: one index probe per key (a LATERAL join to the unnested keys). Written
    as `column IN (...500 values)` or as a plain join, the planner goes by the statistics of the table, which
    an import is filling faster than autovacuum analyses it: it expects a handful of rows and reads the whole
    table for every batch, so the import slowed down as the table grew (issue #5's PostgreSQL ratio 0.05)."""
    dialect = session.get_bind().dialect.name
    model = view.model
    expr = field_expression(view, fdef, dialect)
    if dialect == "postgresql" and _indexed(model.__table__, fdef.name) and not fdef.custom:
        wanted = (
            func.unnest(bindparam("_keys", list(keys), type_=ARRAY(expr.type)))
            .table_valued("key")
            .render_derived(name="wanted")
        )
        probe = (
            select(*columns, expr.label("_key"))
            .where(expr == wanted.c.key, model.deleted_at.is_(None))
            .limit(2)
            .lateral("probe")
        )
        return session.execute(select(probe).select_from(wanted).join(probe, true()))
    stmt = select(*columns, expr.label("_key")).where(model.deleted_at.is_(None), expr.in_(keys))
    return session.execute(stmt)


def _indexed(table: Table, column: str) -> bool:
    return any(next(iter(ix.columns)).name == column for ix in table.indexes if ix.columns)


def check_unique(
    session: Session, plan: Plan, items: list[tuple[Pending, records.Cleaned]]
) -> list[tuple[Pending, records.Cleaned]]:
    """Unique fields (other than by the key's own match) must not collide with another live record, nor with
    another row of this chunk; a colliding row is rejected, as the API answers 409."""
    view = plan.view
    kept = items
    for fdef in view.fields.values():
        if not fdef.unique:
            continue
        seen: dict[Any, int] = {}
        values: dict[Any, list[int]] = defaultdict(list)
        ok = []
        for pending, cleaned in kept:
            value = cleaned.get(fdef.name) if cleaned.has(fdef.name) else None
            if value in (None, ""):
                ok.append((pending, cleaned))
                continue
            if value in seen:
                pending.errors.append(
                    _err(
                        _column_of(plan, fdef.name),
                        f"the same {fdef.label.lower()} as row {seen[value]} of this file",
                        "duplicate",
                    )
                )
                continue
            seen[value] = pending.row_no
            values[value].append(len(ok))
            ok.append((pending, cleaned))
        if values:
            taken: dict[Any, int] = {}
            for chunk in _chunks(list(values), LOOKUP_BATCH):
                for rid, value in _live_matches(session, view, fdef, [view.model.id], chunk):
                    taken[value] = int(rid)
            bad = set()
            for value, rid in taken.items():
                for i in values.get(value, []):
                    pending = ok[i][0]
                    if pending.target is None or pending.target.id != rid:
                        bad.add(i)
                        pending.errors.append(
                            _err(
                                _column_of(plan, fdef.name),
                                f"another {view.objdef.singular.lower()} already has this "
                                f"{fdef.label.lower()}",
                                "duplicate",
                            )
                        )
            ok = [item for i, item in enumerate(ok) if i not in bad]
        kept = ok
    return kept


# -- the chunk ----------------------------------------------------------------------------------------------


def prepare(
    session: Session,
    plan: Plan,
    refs: References,
    rows: list[tuple[int, list[str]]],
    seen_keys: set[Any] | None = None,
) -> tuple[list[tuple[Pending, records.Cleaned]], list[Pending]]:
    """Parse, resolve, clean and check a chunk: the rows to write (with their cleaned values), and all rows
    (the rejected ones carry their errors)."""
    pending = parse(plan, rows)
    refs.resolve(plan, pending)
    for p in pending:  # "links.contacts" -> 7 becomes the `links` input: [{"object": "contacts", "id": 7}]
        linked = [k for k in p.data if k.startswith("links.")]
        if linked:
            p.data["links"] = [
                {"object": k.split(".", 1)[1], "id": p.data[k]} for k in linked if p.data[k] is not None
            ]
            for k in linked:
                del p.data[k]
    find_targets(session, plan, pending, plan.region)
    # Rows of this chunk with the same key: the later ones update what the earlier ones wrote.
    merged: dict[Any, Pending] = {}
    items: list[tuple[Pending, records.Cleaned]] = []
    for p in pending:
        if p.errors:
            continue
        cleaned = clean(
            session,
            plan.actor,
            plan.view,
            p.data,
            record=p.target,
            region=plan.region,
            blank_clears=plan.blank_clears,
        )
        for e in cleaned.errors:
            p.errors.append(_err(_column_of(plan, e.field.split("[")[0]), e.message, e.code, e.field))
        if p.errors:
            continue
        if plan.key is not None and cleaned.get(plan.key.name) is not None:
            k = cleaned.get(plan.key.name)
            if seen_keys is not None and k not in merged and p.target is None and k in seen_keys:
                p.earlier = True  # a dry run writes nothing: the run would update what an earlier chunk made
            if k in merged:
                first = merged[k]
                p.errors.append(
                    _err(
                        _column_of(plan, plan.key.name),
                        f"the same {plan.key.label.lower()} as row {first.row_no}: import it again to update",
                        "duplicate_key",
                    )
                )
                continue
            merged[k] = p
            if seen_keys is not None:
                seen_keys.add(k)
        items.append((p, cleaned))
    return check_unique(session, plan, items), pending


def _changes_for_create(view: ObjectView, columns: dict[str, Any], custom: dict[str, Any]) -> dict[str, Any]:
    fields = view.fields
    changes = {
        k: [None, ft.to_json(fields[k].type, v) if isinstance(v, date) else v]
        for k, v in columns.items()
        if v is not None and v != []
    }
    changes.update({k: [None, v] for k, v in custom.items() if v not in (None, [])})
    return changes


def _json(value: Any) -> str:
    """json.dumps, without the encoder's set-up for the empty lists and objects most rows carry."""
    if not value and type(value) in (list, dict):
        return "[]" if type(value) is list else "{}"
    return json.dumps(value)


class Writer:
    """Writes one chunk's records, search rows, audit entries and events with few statements."""

    def __init__(self, session: Session, plan: Plan) -> None:
        self.session, self.plan = session, plan
        self.view = plan.view
        self.table: Table = plan.view.model.__table__
        self.dialect = session.get_bind().dialect.name
        self.cols = [c.name for c in self.table.columns]
        self.defaults: dict[str, Any] = {}
        for c in self.table.columns:
            d = c.default
            if d is not None and c.name not in ("created_at", "updated_at"):
                self.defaults[c.name] = d.arg  # a callable is called per row
        self.processors = self._processors(self.table)

    def _processors(self, table: Table) -> dict[str, Any]:
        """Python value -> driver value per column: what Core's bind processing does (JSON as json.dumps,
        the engine's serializer; SQLite's date/time text), computed once instead of per statement."""
        dialect = self.session.get_bind().dialect
        out = {}
        for c in table.columns:
            if c.type._type_affinity.__name__ in ("JSON", "JSONB"):
                out[c.name] = _json
            elif self.dialect == "postgresql":
                out[c.name] = None
            else:
                out[c.name] = c.type._cached_bind_processor(dialect)
        return out

    # -- ids --

    def _new_ids(self, n: int) -> list[int]:
        if self.dialect == "postgresql":
            rows = self.session.execute(
                select(func.nextval(func.pg_get_serial_sequence(self.table.name, "id"))).select_from(
                    func.generate_series(1, n)
                )
            )
            return [int(r[0]) for r in rows]
        last = self.session.scalar(select(func.coalesce(func.max(self.table.c.id), 0))) or 0
        return list(range(int(last) + 1, int(last) + 1 + n))

    # -- low-level writes --

    def _insert(self, table: Table, cols: list[str], rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        procs = self.processors if table is self.table else self._processors(table)
        convert = [(i, procs[c]) for i, c in enumerate(cols) if procs.get(c) is not None]
        tuples = []
        for r in rows:
            values = [r.get(c) for c in cols]
            for i, fn in convert:
                if values[i] is not None:
                    values[i] = fn(values[i])
            tuples.append(tuple(values))
        conn = self.session.connection()
        if self.dialect == "postgresql":
            raw = conn.connection.driver_connection
            with raw.cursor().copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
                for t in tuples:
                    copy.write_row(t)
        else:
            sql = f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            conn.exec_driver_sql(sql, tuples)

    def _audit(self, entries: list[dict[str, Any]]) -> None:
        now = utcnow()
        actor = self.plan.actor
        context = {"import_id": self.plan.import_id} if self.plan.import_id else None
        audit = [
            {
                "at": now,
                "actor_id": actor.user_id,
                "actor_label": actor.email,
                "object_name": self.view.name,
                "record_id": e["id"],
                "action": e["action"],
                "changes": e["changes"],
                "context": context,
            }
            for e in entries
        ]
        self._insert(AuditEntry.__table__, list(audit[0]) if audit else [], audit)
        if self.plan.emit:
            events = [
                {
                    "created_at": now,
                    "type": f"{self.view.name}.{past_tense(e['action'])}",
                    "object_name": self.view.name,
                    "record_id": e["id"],
                    "actor_id": actor.user_id,
                    "payload": {"changes": e["changes"], **e.get("payload", {})},
                }
                for e in entries
            ]
            self._insert(OutboxEvent.__table__, list(events[0]) if events else [], events)

    def _index(self, rows: list[dict[str, Any]]) -> None:
        entries = []
        for row in rows:
            entries.extend(entries_for(self.view, row))
        if not entries:
            return
        cols = ["object_name", "record_id", "field", "content"]
        if self.dialect == "postgresql":
            self._insert(search.SearchEntry.__table__, cols, entries)
            return
        # SQLite: the FTS5 index is kept by a trigger on search_entries. Fired by an executemany, that is one
        # statement per row, and FTS5 writes its pending terms out at every statement's savepoint: a segment
        # per row, merged again and again (4-5x the cost of the whole insert). Rows staged in a temporary
        # table and moved with one INSERT ... SELECT fire the same trigger inside one statement.
        conn = self.session.connection()
        conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} ({', '.join(cols)})")
        conn.exec_driver_sql(
            f"INSERT INTO temp.{STAGE} ({', '.join(cols)}) VALUES (?, ?, ?, ?)",
            [(e["object_name"], e["record_id"], e["field"], e["content"]) for e in entries],
        )
        conn.exec_driver_sql(
            f"INSERT INTO search_entries ({', '.join(cols)}) SELECT {', '.join(cols)} FROM temp.{STAGE} "
            "ORDER BY rowid"
        )
        conn.exec_driver_sql(f"DELETE FROM temp.{STAGE}")

    # -- the chunk --

    def write(self, items: list[tuple[Pending, records.Cleaned]], result: ChunkResult) -> None:
        creates = [(p, c) for p, c in items if p.target is None]
        updates = [(p, c) for p, c in items if p.target is not None]
        if creates:
            self._create(creates, result)
        if updates:
            self._update(updates, result)

    def _create(self, items: list[tuple[Pending, records.Cleaned]], result: ChunkResult) -> None:
        actor, view = self.plan.actor, self.view
        now = utcnow()
        ids = self._new_ids(len(items))
        rows, audit = [], []
        for rid, (_p, cleaned) in zip(ids, items, strict=True):
            columns = dict(cleaned.columns)
            columns.setdefault("owner_id", actor.user_id)
            row = dict.fromkeys(self.cols)
            row.update({c: (d(None) if callable(d) else d) for c, d in self.defaults.items()})
            row.update(columns)
            row.update(
                id=rid,
                custom=dict(cleaned.custom),
                created_by_id=actor.user_id,
                updated_by_id=actor.user_id,
                created_at=now,
                updated_at=now,
                version=1,
                deleted_at=None,
            )
            rows.append(row)
            audit.append(
                {"id": rid, "action": "create", "changes": _changes_for_create(view, columns, cleaned.custom)}
            )
        self._insert(self.table, self.cols, rows)
        if view.objdef.searchable:
            self._index(rows)
        self._audit(audit)
        result.created_ids.extend(ids)

    def _update(self, items: list[tuple[Pending, records.Cleaned]], result: ChunkResult) -> None:
        actor, view = self.plan.actor, self.view
        now = utcnow()
        params, audit, rows = [], [], []
        for _p, cleaned in items:
            current = _p.target
            changes: dict[str, list[Any]] = {}
            before: dict[str, Any] = {}
            values = {}
            for name, value in cleaned.columns.items():
                old = getattr(current, name)
                if old != value:
                    ftype = view.fields[name].type
                    changes[name] = [ft.to_json(ftype, old), ft.to_json(ftype, value)]
                    before[name] = ft.to_json(ftype, old)
                    values[name] = value
            custom = dict(current.custom or {})
            for name, value in cleaned.custom.items():
                if custom.get(name) != value:
                    changes[name] = [custom.get(name), value]
                    before[name] = custom.get(name)
                    if value is None:
                        custom.pop(name, None)
                    else:
                        custom[name] = value
            if not changes:
                result.unchanged += 1
                continue
            version = current.version + 1
            row = {**vars(current), **values, "custom": custom, "version": version}
            rows.append(row)
            params.append((row, current.version))
            audit.append(
                {"id": current.id, "action": "update", "changes": changes, "payload": {"version": version}}
            )
            result.updated.append({"id": current.id, "version": version, "before": before})
        if not params:
            return
        names = sorted({n for r, _v in params for n in r} - {"id", "version", "created_at", "created_by_id"})
        names = [n for n in names if n in self.cols and n not in ("updated_at", "updated_by_id")]
        t = self.table
        stmt = (
            t.update()
            .where(and_(t.c.id == bindparam("_id"), t.c.version == bindparam("_version")))
            .values(
                **{n: bindparam(f"_v_{n}") for n in names},
                version=bindparam("_new_version"),
                updated_at=now,
                updated_by_id=actor.user_id,
            )
        )
        payload = [
            {
                "_id": r["id"],
                "_version": old,
                "_new_version": r["version"],
                **{f"_v_{n}": r.get(n) for n in names},
            }
            for r, old in params
        ]
        outcome = self.session.execute(stmt, payload)
        if outcome.rowcount not in (-1, len(payload)):
            raise DomainError(
                detail="records changed while the import ran; the chunk is retried",
                status=409,
                title="Conflict",
                type_slug="conflict",
            )
        if view.objdef.searchable:
            ids = [r["id"] for r in rows]
            for chunk in _chunks(ids, LOOKUP_BATCH):
                self.session.execute(
                    search.SearchEntry.__table__.delete().where(
                        search.SearchEntry.object_name == view.name, search.SearchEntry.record_id.in_(chunk)
                    )
                )
            self._index(rows)
        self._audit(audit)


class SlowWriter:
    """Objects with rules after the save: each row through the record service, in a savepoint."""

    def __init__(self, session: Session, plan: Plan) -> None:
        self.session, self.plan = session, plan

    def write(self, items: list[tuple[Pending, records.Cleaned]], result: ChunkResult) -> None:
        view, actor = self.plan.view, self.plan.actor
        for pending, _cleaned in items:
            data = {k: v for k, v in pending.data.items() if v is not None or self.plan.blank_clears}
            savepoint = self.session.begin_nested()
            try:
                if pending.target is None:
                    record = records._create(self.session, actor, view, data, emit=self.plan.emit)
                    result.created_ids.append(record.id)
                else:
                    before_version = pending.target.version
                    before = {
                        n: (pending.target.custom or {}).get(n)
                        if view.fields[n].custom
                        else ft.to_json(view.fields[n].type, getattr(pending.target, n))
                        for n in data
                    }
                    record = records._update(
                        self.session, actor, view, pending.target.id, data, None, emit=self.plan.emit
                    )
                    if record.version == before_version:
                        result.unchanged += 1
                    else:
                        result.updated.append({"id": record.id, "version": record.version, "before": before})
                savepoint.commit()
            except DomainError as exc:
                savepoint.rollback()
                errors = exc.errors or [records.FieldError("", exc.detail, exc.type_slug)]
                for e in errors:
                    pending.errors.append(
                        _err(_column_of(self.plan, e.field.split("[")[0]), e.message, e.code, e.field)
                    )


def _content(ftype: str, value: Any) -> str:
    """`core.search._content`, with the national digits of a phone taken from its normalisation's parse."""
    if ftype == "phone" and isinstance(value, str) and value.startswith("+"):
        national = NATIONAL.get(value)
        if national is not None:
            return f"{value[1:]} {national}"
    return search._content(ftype, value)


def entries_for(view: ObjectView, row: dict[str, Any]) -> list[dict[str, Any]]:
    """`core.search.entries_for` for a row about to be inserted (a test checks they agree)."""
    out = []
    custom = row.get("custom") or {}
    for name in _searchable(view):
        fdef = view.fields[name]
        value = custom.get(name) if fdef.custom else row.get(name)
        content = _content(fdef.type, value).strip() if value is not None else ""
        if content:
            out.append({"object_name": view.name, "record_id": row["id"], "field": name, "content": content})
    if out:
        out.append(
            {
                "object_name": view.name,
                "record_id": row["id"],
                "field": search.ALL_FIELDS,
                "content": " ".join(r["content"] for r in out),
            }
        )
    return out


def _searchable(view: ObjectView) -> list[str]:
    cached = getattr(view, "_dq_searchable", None)
    if cached is None:
        cached = search.searchable_fields(view)
        view._dq_searchable = cached  # type: ignore[attr-defined]
    return cached
