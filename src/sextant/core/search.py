"""Full-text search over every object: SQLite FTS5 or PostgreSQL full text, one row per (record, field).

One row per field (not per record) lets a query skip the fields a role may not read, so a hidden field can
never make a record show up. Matching is by word prefix and every query word must match some field of the
record; ranking is bm25 (SQLite) or ts_rank (PostgreSQL). Visibility is applied inside the query, before the
limit, so a restricted user still gets a full page of what they may see.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
from sqlalchemy import Float, Index, Integer, String, Text, bindparam, delete, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from sextant.core.db import Base
from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.metadata import ObjectView, load_view, registry
from sextant.core.permissions import Actor

SEARCHABLE_CUSTOM_TYPES = {"text", "email", "phone", "url"}
_WORD = re.compile(r"\w+", re.UNICODE)


class SearchEntry(Base):
    __tablename__ = "search_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_name: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_search_entries_record", "object_name", "record_id"),)


def searchable_fields(view: ObjectView) -> list[str]:
    return [f.name for f in view.fields.values()
            if f.searchable or (f.custom and f.type in SEARCHABLE_CUSTOM_TYPES)]


def _content(ftype: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    text_value = str(value)
    if ftype == "phone" and text_value.startswith("+"):
        # Index the national digits too, so "415555" finds "+14155550100".
        try:
            national = str(phonenumbers.parse(text_value).national_number)
        except phonenumbers.NumberParseException:
            national = ""
        return f"{text_value[1:]} {national}"
    return text_value


def entries_for(view: ObjectView, record: Any) -> list[dict[str, Any]]:
    rows = []
    custom = record.custom or {}
    for name in searchable_fields(view):
        fdef = view.fields[name]
        value = custom.get(name) if fdef.custom else getattr(record, name)
        content = _content(fdef.type, value).strip()
        if content:
            rows.append({"object_name": view.name, "record_id": record.id, "field": name, "content": content})
    return rows


def index_record(session: Session, view: ObjectView, record: Any) -> None:
    remove_record(session, view.name, record.id)
    rows = entries_for(view, record)
    if rows:
        session.execute(SearchEntry.__table__.insert(), rows)


def remove_record(session: Session, object_name: str, record_id: int) -> None:
    session.execute(delete(SearchEntry).where(SearchEntry.object_name == object_name,
                                              SearchEntry.record_id == record_id))


def query_words(q: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(q)][:8]


def _match_sql(dialect: str, n_words: int) -> str:
    parts = []
    for i in range(n_words):
        if dialect == "postgresql":
            parts.append(
                f"SELECT e.id AS eid, ts_rank(to_tsvector('simple', e.content), to_tsquery('simple', :w{i})) AS score,"
                f" {i} AS tok FROM search_entries e WHERE to_tsvector('simple', e.content) @@ "
                f"to_tsquery('simple', :w{i}) AND e.object_name = :object")
        else:
            parts.append(f"SELECT rowid AS eid, -rank AS score, {i} AS tok FROM search_fts WHERE search_fts MATCH :w{i}")
    return " UNION ALL ".join(parts)


def search(session: Session, actor: Actor, q: str, *, objects: list[str] | None = None,
           limit: int = 20) -> list[dict[str, Any]]:
    if not isinstance(q, str) or not q.strip():
        raise ValidationFailed([FieldError("q", "is required", "required")])
    if len(q) > 200:
        raise ValidationFailed([FieldError("q", "must be at most 200 characters", "too_long")])
    if not (1 <= limit <= 100):
        raise ValidationFailed([FieldError("limit", "must be between 1 and 100", "range")])
    words = query_words(q)
    if not words:
        return []
    names = objects or [o.name for o in registry.all() if o.searchable]
    for name in names:
        if not registry.has(name) or not registry.get(name).searchable:
            raise ValidationFailed([FieldError("objects", f"'{name}' is not searchable", "invalid_choice")])
    dialect = session.get_bind().dialect.name
    results: list[dict[str, Any]] = []
    for name in names:
        if not actor.can(name, "read"):
            continue
        results.extend(_search_object(session, actor, load_view(session, name), words, dialect, limit))
    results.sort(key=lambda r: -r["score"])
    return results[:limit]


def _search_object(session: Session, actor: Actor, view: ObjectView, words: list[str], dialect: str,
                   limit: int) -> list[dict[str, Any]]:
    from sextant.core.records import serialize, visible_clause

    hidden = sorted(actor.hidden_fields(view.name) & set(searchable_fields(view)))
    model = view.model
    table = model.__table__.name
    params: dict[str, Any] = {"object": view.name, "n": len(words), "limit": limit}
    for i, w in enumerate(words):
        params[f"w{i}"] = f"{w}:*" if dialect == "postgresql" else f'"{w}"*'
    hidden_sql = " AND e.field NOT IN :hidden" if hidden else ""
    if hidden:
        params["hidden"] = hidden
    # Candidates: records where every word matched some (visible) field.
    sql = (
        f"SELECT e.record_id AS rid, SUM(m.score) AS score FROM ({_match_sql(dialect, len(words))}) m "
        f"JOIN search_entries e ON e.id = m.eid WHERE e.object_name = :object{hidden_sql} "
        f"GROUP BY e.record_id HAVING COUNT(DISTINCT m.tok) = :n"
    )
    stmt = text(sql)
    if hidden:
        stmt = stmt.bindparams(bindparam("hidden", expanding=True))
    ranked = stmt.columns(rid=Integer, score=Float).subquery("ranked")
    query = (select(model, ranked.c.score).join(ranked, ranked.c.rid == model.id)
             .where(model.deleted_at.is_(None)).order_by(ranked.c.score.desc(), model.id).limit(limit))
    clause = visible_clause(session, actor, view)
    if clause is not None:
        query = query.where(clause)
    rows = session.execute(query, params).all()
    out = []
    for record, score in rows:
        values = serialize(view, actor, record)
        out.append({"object": view.name, "id": record.id, "title": view.objdef.title_of(values),
                    "subtitle": view.objdef.subtitle_of(values), "score": float(score or 0), "record": values})
    return out


def rebuild(session: Session, object_name: str | None = None) -> int:
    """Re-index every live record (after a bulk load or a change of searchable fields)."""
    names = [object_name] if object_name else [o.name for o in registry.all() if o.searchable]
    total = 0
    for name in names:
        view = load_view(session, name)
        session.execute(delete(SearchEntry).where(SearchEntry.object_name == name))
        for record in session.scalars(select(view.model).where(view.model.deleted_at.is_(None))
                                      .execution_options(yield_per=2000)):
            rows = entries_for(view, record)
            if rows:
                session.execute(SearchEntry.__table__.insert(), rows)
            total += 1
    return total


SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(content, content='search_entries', "
    "content_rowid='id', tokenize=\"unicode61 remove_diacritics 2\", prefix='2 3')",
    "CREATE TRIGGER IF NOT EXISTS search_entries_ai AFTER INSERT ON search_entries BEGIN "
    "INSERT INTO search_fts(rowid, content) VALUES (new.id, new.content); END",
    "CREATE TRIGGER IF NOT EXISTS search_entries_ad AFTER DELETE ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, content) VALUES ('delete', old.id, old.content); END",
    "CREATE TRIGGER IF NOT EXISTS search_entries_au AFTER UPDATE ON search_entries BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, content) VALUES ('delete', old.id, old.content); "
    "INSERT INTO search_fts(rowid, content) VALUES (new.id, new.content); END",
]
POSTGRES_DDL = [
    "CREATE INDEX IF NOT EXISTS ix_search_entries_tsv ON search_entries "
    "USING gin (to_tsvector('simple', content))",
]
# Objects the migration created outside the ORM metadata; the drift check ignores them.
UNMANAGED_NAMES = {"search_fts", "search_fts_data", "search_fts_idx", "search_fts_docsize", "search_fts_config",
                   "search_fts_content", "ix_search_entries_tsv"}
