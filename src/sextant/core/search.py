"""Full-text search over every object: SQLite FTS5 or PostgreSQL full text.

The index (search_entries) holds, for every live record, one row per searchable field and one row with all
of them together (field "*"). Matching is by word prefix, and every query word must match some field of the
record that the user may read.

Ranking: records where every query word is a whole word of theirs come first, then prefix matches; within
each tier the most recently indexed (created or changed) records first. That order can be read straight off
the index, newest first, so a query stops as soon as a page is full: a broad prefix ("mar") over millions of
records costs about what a rare one does, instead of scoring every match (bm25 over 100k+ rows took ~1 s).

How a query runs, per object and tier: the combined rows are walked newest first (FTS5 rowid order on SQLite;
on PostgreSQL an ordered walk or the GIN index, as the planner prefers), joined to the record for liveness and
visibility (OWD + peers), up to the page size. Visibility is applied inside that query, before the limit, so
a restricted user still gets a full page of what they may see. A user whose role hides a searchable field of
the object cannot use the combined row (it would let the hidden field match); for them the per-field rows of
the fields they may read are matched and grouped by record instead (same results, slower on broad prefixes).
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import phonenumbers
from sqlalchemy import (
    Index,
    Integer,
    String,
    Text,
    bindparam,
    column,
    delete,
    distinct,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from sextant.core.db import Base
from sextant.core.errors import FieldError, ValidationFailed
from sextant.core.metadata import ObjectView, load_view, registry
from sextant.core.permissions import Actor

SEARCHABLE_CUSTOM_TYPES = {"text", "email", "phone", "url"}
# `field` of the row holding all of a record's searchable fields (field names are identifiers: no clash).
ALL_FIELDS = "*"
EXACT, PREFIX = 2, 1  # ranking tiers
_ID_SPAN = float(2**31)  # ids are 32-bit: eid / _ID_SPAN orders by recency within a tier
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
    """The index rows of one record: one per non-empty searchable field, then the combined row ("*")."""
    rows = []
    custom = record.custom or {}
    for name in searchable_fields(view):
        fdef = view.fields[name]
        value = custom.get(name) if fdef.custom else getattr(record, name)
        content = _content(fdef.type, value).strip()
        if content:
            rows.append({"object_name": view.name, "record_id": record.id, "field": name, "content": content})
    if rows:
        rows.append({"object_name": view.name, "record_id": record.id, "field": ALL_FIELDS,
                     "content": " ".join(r["content"] for r in rows)})
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
    views: dict[str, ObjectView] = {}
    found: list[tuple[int, int, str, int]] = []  # (tier, entry id, object, record id)
    for name in dict.fromkeys(names):
        if not actor.can(name, "read"):
            continue
        view = views[name] = load_view(session, name)
        matches = _matches(session, actor, view, words, dialect, limit)
        found.extend((tier, eid, name, rid) for tier, eid, rid in matches)
    found.sort(reverse=True)
    found = found[:limit]
    return _results(session, actor, views, found)


def _matches(session: Session, actor: Actor, view: ObjectView, words: list[str], dialect: str,
             limit: int) -> list[tuple[int, int, int]]:
    """Up to `limit` (tier, entry id, record id) of one object, best first: whole words, then prefixes."""
    hidden = sorted(actor.hidden_fields(view.name) & set(searchable_fields(view)))
    exact = _stream(session, actor, view, words, dialect, hidden, prefix=False, limit=limit)
    out = [(EXACT, eid, rid) for eid, rid in exact]
    if len(out) < limit:
        seen = {rid for _eid, rid in exact}
        more = _stream(session, actor, view, words, dialect, hidden, prefix=True, limit=limit + len(exact))
        out += [(PREFIX, eid, rid) for eid, rid in more if rid not in seen][:limit - len(out)]
    return out


_fts = table("search_fts", column("rowid"))


def _stream(session: Session, actor: Actor, view: ObjectView, words: list[str], dialect: str,
            hidden: list[str], *, prefix: bool, limit: int) -> list[tuple[int, int]]:
    """(entry id, record id) of the newest visible records matching every word, newest first."""
    from sextant.core.records import visible_clause

    entry = SearchEntry
    model = view.model
    clause = visible_clause(session, actor, view)

    def finish(stmt: Any, record_id: Any = entry.record_id) -> list[tuple[int, int]]:
        """Only live records the actor may see, up to the page size."""
        stmt = stmt.join(model, model.id == record_id).where(model.deleted_at.is_(None)).limit(limit)
        if clause is not None:
            stmt = stmt.where(clause)
        return [(int(eid), int(rid)) for eid, rid in session.execute(stmt).all()]

    if dialect == "postgresql":
        pg_terms = [f"{w}:*" if prefix else w for w in words]
        if hidden:
            return finish(_per_field(view, pg_terms, dialect, hidden))
        tsq = func.to_tsquery("simple", bindparam("tsq", " & ".join(pg_terms)))
        return _pg_combined(session, view, tsq, finish, limit)
    terms = [f'"{w}"*' if prefix else f'"{w}"' for w in words]
    if hidden:
        return finish(_per_field(view, terms, dialect, hidden))
    # FTS5 hands its matches over in rowid order, newest first, and the LIMIT stops the scan.
    return finish(select(entry.id, entry.record_id).select_from(_fts)
                  .join(entry, entry.id == _fts.c.rowid)
                  .where(text("search_fts MATCH :fts").bindparams(fts=" AND ".join(terms)),
                         entry.object_name == view.name, entry.field == ALL_FIELDS)
                  .order_by(_fts.c.rowid.desc()))


PG_WINDOW = 10_000  # newest combined rows walked before asking the GIN index for every (older) match


def _pg_combined(session: Session, view: ObjectView, tsq: Any, finish: Any,
                 limit: int) -> list[tuple[int, int]]:
    """PostgreSQL has no newest-first GIN scan, and its planner guesses poorly between walking newest first
    (cheap when matches are dense) and collecting every match (cheap when they are rare). So both are
    bounded here: walk the newest PG_WINDOW combined rows of the object; if they do not fill the page, take
    the rest from every older match, collected through the GIN index. The literal '*' lets the planner use
    the partial indexes on combined rows (ix_search_entries_newest, ix_search_entries_all_tsv)."""
    entry = SearchEntry
    combined = [entry.object_name == view.name, entry.field == literal_column("'*'")]
    floor = session.scalar(select(entry.id).where(*combined).order_by(entry.id.desc())
                           .offset(PG_WINDOW - 1).limit(1))
    walk = select(entry.id, entry.record_id).where(
        *combined, _tsv().op("||")(literal_column("''::tsvector")).op("@@")(tsq))  # `|| ''`: no GIN here
    if floor is not None:
        walk = walk.where(entry.id >= floor)
    found = finish(walk.order_by(entry.id.desc()))
    if len(found) >= limit or floor is None:
        return found
    older = (select(entry.id, entry.record_id).where(*combined, _tsv().op("@@")(tsq), entry.id < floor)
             .cte("older").prefix_with("MATERIALIZED"))
    rest = finish(select(older.c.id, older.c.record_id).order_by(older.c.id.desc()), older.c.record_id)
    return found + rest[:limit - len(found)]


def _tsv() -> Any:
    """PostgreSQL: the stored tsvector of an entry (see PG_SEARCH_TSV)."""
    return literal_column("search_entries.search_tsv")


def _per_field(view: ObjectView, terms: list[str], dialect: str, hidden: list[str]) -> Any:
    """Records where every term matches one of the fields the user may read (per-field rows, grouped)."""
    entry = SearchEntry
    readable = [entry.object_name == view.name, entry.field != literal_column("'*'"),
                entry.field.not_in(bindparam("hidden", hidden, expanding=True))]
    eid = func.max(entry.id).label("eid")
    if dialect == "postgresql":
        queries = [func.to_tsquery("simple", bindparam(f"tsq{i}", t)) for i, t in enumerate(terms)]
        anyq = func.to_tsquery("simple", bindparam("tsq_any", " | ".join(f"({t})" for t in terms)))
        stmt = (select(eid, entry.record_id).where(*readable, _tsv().op("@@")(anyq))
                .group_by(entry.record_id))
        for query in queries:
            stmt = stmt.having(func.bool_or(_tsv().op("@@")(query)))
        return stmt.order_by(eid.desc())
    parts = " UNION ALL ".join(f"SELECT rowid AS eid, {i} AS tok FROM search_fts WHERE search_fts MATCH :w{i}"
                               for i in range(len(terms)))
    matched = (text(parts).bindparams(**{f"w{i}": t for i, t in enumerate(terms)})
               .columns(eid=Integer, tok=Integer).subquery("m"))
    return (select(eid, entry.record_id).select_from(matched).join(entry, entry.id == matched.c.eid)
            .where(*readable).group_by(entry.record_id)
            .having(func.count(distinct(matched.c.tok)) == len(terms)).order_by(eid.desc()))


def _results(session: Session, actor: Actor, views: dict[str, ObjectView],
             found: list[tuple[int, int, str, int]]) -> list[dict[str, Any]]:
    from sextant.core.records import serialize, visible_clause

    wanted: dict[str, list[int]] = defaultdict(list)
    for _tier, _eid, name, rid in found:
        wanted[name].append(rid)
    records: dict[tuple[str, int], Any] = {}
    for name, ids in wanted.items():
        view = views[name]
        model = view.model
        stmt = select(model).where(model.id.in_(ids), model.deleted_at.is_(None))
        clause = visible_clause(session, actor, view)  # again: the index may lag a change of owner
        if clause is not None:
            stmt = stmt.where(clause)
        for record in session.scalars(stmt):
            records[(name, record.id)] = record
    out = []
    for tier, eid, name, rid in found:
        record = records.get((name, rid))
        if record is None:
            continue
        view = views[name]
        values = serialize(view, actor, record)
        out.append({"object": name, "id": rid, "title": view.objdef.title_of(values),
                    "subtitle": view.objdef.subtitle_of(values), "score": tier + eid / _ID_SPAN,
                    "record": values})
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


# Run by migration 0001: never change these (later migrations carry their own DDL).
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
# PostgreSQL (migration 0003): each entry's words as a stored tsvector, split as FTS5's unicode61 splits them
# (emails, domains and URLs become their words), GIN indexes, and the newest-first walk over combined rows.
PG_SEARCH_TSV = ("to_tsvector('simple'::regconfig, translate(content, '@./:_+-', '       '))")
# Objects the migrations create outside the ORM metadata; the drift check ignores them.
UNMANAGED_NAMES = {"search_fts", "search_fts_data", "search_fts_idx", "search_fts_docsize",
                   "search_fts_config", "search_fts_content", "ix_search_entries_tsv", "search_tsv",
                   "ix_search_entries_search_tsv", "ix_search_entries_all_tsv", "ix_search_entries_newest"}
