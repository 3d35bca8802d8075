"""Full-text search over every object: SQLite FTS5 or PostgreSQL full text.

The index (search_entries) holds, for every live record, one row per searchable field and one row with all
of them together (field "*"). Matching is by word prefix, and every query word must match some field of the
record that the user may read.

Ranking: records where every query word is a whole word of theirs come first, then prefix matches; within
each tier the most recently indexed (created or changed) records first. That order can be read straight off
the index, newest first, so a query stops as soon as a page is full: a broad prefix ("mar") over millions of
records costs about what a rare one does, instead of scoring every match (bm25 over 100k+ rows took ~1 s).

How a query runs, per tier: one stream over the combined rows of every object searched, newest first (FTS5
rowid order on SQLite; on PostgreSQL a bounded newest-first walk, then the GIN index for older matches, see
_pg_combined), each row joined to its record for liveness and visibility (OWD + peers), up to the page size.
Visibility is applied inside that query, before the limit, so a restricted user still gets a full page of
what they may see. A user whose role hides a searchable field of an object cannot use its combined rows (the
hidden field would match); for that object the per-field rows of the fields they may read are matched and
grouped by record instead (same results, slower on broad prefixes).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from typing import Any

import phonenumbers
from sqlalchemy import (
    Index,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    column,
    delete,
    distinct,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    union_all,
)
from sqlalchemy.orm import Mapped, Session, aliased, mapped_column

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
    return [
        f.name
        for f in view.fields.values()
        if f.searchable or (f.custom and f.type in SEARCHABLE_CUSTOM_TYPES)
    ]


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
        rows.append(
            {
                "object_name": view.name,
                "record_id": record.id,
                "field": ALL_FIELDS,
                "content": " ".join(r["content"] for r in rows),
            }
        )
    return rows


def index_record(session: Session, view: ObjectView, record: Any) -> None:
    remove_record(session, view.name, record.id)
    rows = entries_for(view, record)
    if rows:
        session.execute(SearchEntry.__table__.insert(), rows)


def remove_record(session: Session, object_name: str, record_id: int) -> None:
    session.execute(
        delete(SearchEntry).where(SearchEntry.object_name == object_name, SearchEntry.record_id == record_id)
    )


def query_words(q: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(q)][:8]


def search(
    session: Session, actor: Actor, q: str, *, objects: list[str] | None = None, limit: int = 20
) -> list[dict[str, Any]]:
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
    if dialect == "postgresql":
        # For this transaction only: no JIT and no parallel workers (the walks below are cheap but look costly
        # to the planner, which cannot tell where a LIMIT stops them, enough for it to compile them first,
        # 300-450 ms of JIT for a 5 ms query, or to start worker processes for a 2,000-row walk, 70 ms each),
        # and a plan for each statement's own words: psycopg prepares a statement run often, and PostgreSQL's
        # generic plan for "these words, any words" walked the wrong way.
        session.execute(_PG_SEARCH_SETTINGS)
    views = {name: load_view(session, name) for name in dict.fromkeys(names) if actor.can(name, "read")}
    # One newest-first stream over every object the actor reads in full; objects where the actor's role
    # hides a searchable field go through their per-field rows, one by one.
    whole = [v for v in views.values() if not _hidden(actor, v)]
    found: list[Hit] = []
    if whole:
        found += _tiers(lambda prefix, k: _combined(session, actor, whole, words, dialect, prefix, k), limit)
    for view in views.values():
        if _hidden(actor, view):
            found += _tiers(
                lambda prefix, k, view=view: _per_field(session, actor, view, words, dialect, prefix, k),
                limit,
            )
    for key in [k for k in session.info if isinstance(k, tuple) and k[:1] == ("search_bounds",)]:
        del session.info[key]  # good for this search only: rows may come and go before the next
    found.sort(reverse=True)
    return _results(session, actor, views, found[:limit])


_PG_SEARCH_SETTINGS = text(
    "SELECT set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true)"
)
Hit = tuple[int, int, str, int]  # (tier, entry id, object, record id): sorts best first when reversed


def _hidden(actor: Actor, view: ObjectView) -> list[str]:
    return sorted(actor.hidden_fields(view.name) & set(searchable_fields(view)))


def _tiers(stream: Any, limit: int) -> list[Hit]:
    """Whole-word matches first, then prefix matches (which include them again: skipped)."""
    exact = stream(False, limit)
    out = [(EXACT, eid, name, rid) for eid, name, rid in exact]
    if len(out) < limit:
        seen = {(name, rid) for _eid, name, rid in exact}
        more = stream(True, limit + len(exact))
        fresh = [(PREFIX, eid, name, rid) for eid, name, rid in more if (name, rid) not in seen]
        out += fresh[: limit - len(out)]
    return out


def _fts_query(words: list[str], prefix: bool) -> str:
    return " AND ".join(f'"{w}"*' if prefix else f'"{w}"' for w in words)


def _tsquery(words: list[str], prefix: bool, name: str = "tsq") -> Any:
    return func.to_tsquery("simple", bindparam(name, " & ".join(f"{w}:*" if prefix else w for w in words)))


@functools.lru_cache(maxsize=256)
def _alias(model: type, index: int) -> Any:
    return aliased(model, name=f"r{index}")  # built once: making one proxies every column


def _visible_join(actor: Actor, view: ObjectView, index: int, entry_rid: Any) -> tuple[Any, Any]:
    """The object's table (aliased), and the join condition: that record, live, and visible to the actor."""
    from sextant.core.permissions import visibility_clause

    record = _alias(view.model, index)
    on = [record.id == entry_rid, record.deleted_at.is_(None)]
    clause = visibility_clause(actor, record.owner_id, view.sharing, "read")
    if clause is not None:
        on.append(clause)
    return record, and_(*on)


_fts = table("search_fts", column("rowid"))
_ALL = literal_column("'*'")  # literal, so PostgreSQL can use the partial indexes on combined rows


def _combined(
    session: Session,
    actor: Actor,
    views: list[ObjectView],
    words: list[str],
    dialect: str,
    prefix: bool,
    limit: int,
) -> list[tuple[int, str, int]]:
    """(entry id, object, record id) of the newest visible records, of any of these objects, matching every
    word: read off the combined rows newest first, stopping at `limit`."""
    entry = SearchEntry
    if dialect == "postgresql":
        return _pg_combined(session, actor, views, words, prefix, limit)
    # FTS5 hands matches over newest first (rowid order); each is checked against its record (live,
    # visible) with one primary-key lookup, and the LIMIT ends the scan.
    stmt = (
        select(entry.id, entry.object_name, entry.record_id)
        .select_from(_fts)
        .join(entry, entry.id == _fts.c.rowid)
        .where(
            text("search_fts MATCH :fts").bindparams(fts=_fts_query(words, prefix)),
            entry.field == _ALL,
            entry.object_name.in_([v.name for v in views]),
        )
    )
    present = []
    for i, view in enumerate(views):
        record, on = _visible_join(actor, view, i, entry.record_id)
        stmt = stmt.outerjoin(record, and_(entry.object_name == view.name, on))
        present.append(record.id.is_not(None))
    stmt = stmt.where(or_(*present)).order_by(_fts.c.rowid.desc()).limit(limit)
    return [(int(eid), name, int(rid)) for eid, name, rid in session.execute(stmt).all()]


PG_WINDOW = 2_000  # newest combined rows of an object walked before its older matches are looked for
PG_GIN_COST = 30  # a GIN match costs about this many walked rows (a table page read, then its recheck)


def _pg_combined(
    session: Session, actor: Actor, views: list[ObjectView], words: list[str], prefix: bool, limit: int
) -> list[tuple[int, str, int]]:
    """PostgreSQL has no newest-first GIN scan. Per object, then:

    1. walk its newest PG_WINDOW combined rows (ix_search_entries_newest, index-only, words checked row by
       row), each match checked against its record by primary key (live, visible), up to 10 * limit matches;
    2. if that leaves the page short and the object has older rows, go on the cheaper way, judged from what
       the window showed: how many rows matched there (the density), how many of those the user may see, and
       how many older rows there are (from the ids):
       * few matches expected: all of the older ones from the object's GIN index
         (ix_search_entries_tsv_<object>, that object's combined rows only), sorted newest first before any
         record is looked up, then checked by primary key until the page is full;
       * many: walk on, newest first, until the page is full.

    Either way a query costs about what its page needs, whether its words are rare or common in that object
    (PostgreSQL's planner, which knows word frequencies only for the whole table, picked badly between the
    two). Words shorter than three letters are checked on the rows found rather than looked up in GIN (a
    prefix scan of "s:*" reads a good part of the index); a query of only such words walks."""
    entry = SearchEntry
    tsq = _tsquery(words, prefix)
    row_by_row = _tsv().op("||")(literal_column("''::tsvector"))  # `|| ''`: not indexable, so not the GIN
    bounds = _pg_bounds(session, views)
    views = [v for v in views if v.name in bounds]
    if not views:
        return []
    cap = 10 * limit
    walks = []
    for i, view in enumerate(views):
        floor = bounds[view.name][1]
        raw = select(entry.id, entry.record_id).where(
            entry.object_name == _literal(view.name), entry.field == _ALL, row_by_row.op("@@")(tsq)
        )
        if floor is not None:
            raw = raw.where(entry.id >= _inline(floor))
        raw = raw.order_by(entry.id.desc()).limit(_inline(cap)).subquery(f"n{i}")
        record, on = _visible_join(actor, view, i, raw.c.record_id)
        walks.append(
            select(raw.c.id, _name(view), raw.c.record_id, record.id.is_not(None).label("ok")).outerjoin(
                record, on
            )
        )
    rows = session.execute(union_all(*walks)).all()
    found: list[tuple[int, str, int]] = []
    seen: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        seen[row[1]].append(row)
    gin: list[tuple[ObjectView, int]] = []
    on_foot: list[tuple[ObjectView, int]] = []
    for view in views:
        floor, rows_in_all = bounds[view.name][1:]
        mine = sorted(seen[view.name], key=lambda r: -r[0])
        visible = [(int(r[0]), view.name, int(r[2])) for r in mine if r[3]]
        found += visible[:limit]
        if len(visible) >= limit:
            continue
        if len(mine) >= cap:  # dense: the window was not even walked to its end
            on_foot.append((view, int(mine[-1][0])))
        elif floor is not None:
            # Matches expected among the older rows if they match as densely as the window did (unknown size:
            # as many as the window had, times ten); rows to walk for the rest of the page if the user sees
            # as much of them as of the window. An object without its own GIN index (added by a plugin after
            # migration 0014) is always walked.
            older = rows_in_all - PG_WINDOW if rows_in_all and rows_in_all > PG_WINDOW else 10 * PG_WINDOW
            expected = len(mine) * older / PG_WINDOW
            to_walk = (limit - len(visible)) * PG_WINDOW / max(len(visible), 0.5)
            selective = any(len(w) >= 3 for w in words)
            if rows_in_all is not None and selective and expected * PG_GIN_COST <= to_walk:
                gin.append((view, floor))
            else:
                on_foot.append((view, floor))
    if gin or on_foot:
        found += _pg_older(session, actor, gin, on_foot, words, prefix, limit)
    return sorted(found, reverse=True)[:limit]


def _pg_bounds(session: Session, views: list[ObjectView]) -> dict[str, tuple[int, int | None, float | None]]:
    """Per object with combined rows: its newest id, the id PG_WINDOW rows below it (None: no older rows) and
    about how many combined rows it has: the planner's count for its GIN index (ix_search_entries_tsv_<name>,
    None if it has none, -1 or 0 if never counted). The same for both tiers of one search: asked once
    (search() drops it when it is done)."""
    entry = SearchEntry
    key = ("search_bounds", tuple(v.name for v in views))
    bounds = session.info.get(key)
    if bounds is None:

        def nth_newest(view: ObjectView, n: int) -> Any:
            return (
                select(entry.id)
                .where(entry.object_name == _literal(view.name), entry.field == _ALL)
                .order_by(entry.id.desc())
                .offset(_inline(n - 1))
                .limit(_inline(1))
                .scalar_subquery()
            )

        def size(view: ObjectView) -> Any:
            index = func.to_regclass(_literal(f"ix_search_entries_tsv_{view.name}"))
            return select(_reltuples).where(_oid == index).scalar_subquery()

        stmt = select(*[q for v in views for q in (nth_newest(v, 1), nth_newest(v, PG_WINDOW), size(v))])
        values = session.execute(stmt).one()
        bounds = session.info[key] = {
            v.name: (values[3 * i], values[3 * i + 1], values[3 * i + 2])
            for i, v in enumerate(views)
            if values[3 * i] is not None
        }
    return bounds


_pg_class = table("pg_class", column("oid"), column("reltuples"))
_oid, _reltuples = _pg_class.c.oid, _pg_class.c.reltuples


def _pg_older(
    session: Session,
    actor: Actor,
    gin: list[tuple[ObjectView, int]],
    on_foot: list[tuple[ObjectView, int]],
    words: list[str],
    prefix: bool,
    limit: int,
) -> list[tuple[int, str, int]]:
    """The newest visible matches below each object's bound: from GIN or by walking on (see _pg_combined)."""
    entry = SearchEntry
    tsq = _tsquery(words, prefix)
    row_by_row = _tsv().op("||")(literal_column("''::tsvector"))
    selective = [w for w in words if len(w) >= 3]
    match = _tsv().op("@@")(tsq)
    if len(selective) < len(words):
        match = and_(_tsv().op("@@")(_tsquery(selective, prefix, "tsq_gin")), row_by_row.op("@@")(tsq))
    parts = []
    for i, (view, below) in enumerate(gin):
        # From the object's GIN index alone: `id + 0` is neither read off the newest-first index nor bounded
        # through the primary key (6M entries ANDed with 300 matches), and `field`, used outside the subquery,
        # rules out an index-only walk of ix_search_entries_newest, which PostgreSQL otherwise picks for words
        # common elsewhere (its word statistics cover the whole table: "ove", in every 24th activity, looked
        # common among contacts too, and it read 1M index rows). Newest first *before* any record is looked
        # at (OFFSET 0 keeps the subquery and its order), so the join is a primary-key lookup per match that
        # stops with the page; the other way round PostgreSQL hashed every record the user may see (160k
        # contacts of a sales rep at 1M) to keep a handful.
        eid = (entry.id + _inline(0)).label("id")
        matches = (
            select(eid, entry.record_id, entry.field)
            .where(
                entry.object_name == _literal(view.name),
                entry.field == _ALL,
                match,
                eid < _inline(below),
            )
            .order_by(eid.desc())
            .offset(_inline(0))
            .subquery(f"m{i}")
        )
        record, on = _visible_join(actor, view, i, matches.c.record_id)
        parts.append(
            select(matches.c.id, _name(view), matches.c.record_id)
            .join(record, on)
            .where(matches.c.field == _ALL)  # used outside, so PostgreSQL keeps it (see above)
            .order_by(matches.c.id.desc())
            .limit(_inline(limit))
            .subquery(f"g{i}")
            .select()
        )
    for j, (view, below) in enumerate(on_foot, start=len(gin)):
        record, on = _visible_join(actor, view, j, entry.record_id)
        parts.append(
            select(entry.id, _name(view), entry.record_id)
            .join(record, on)
            .where(
                entry.object_name == _literal(view.name),
                entry.field == _ALL,
                row_by_row.op("@@")(tsq),
                entry.id < _inline(below),
            )
            .order_by(entry.id.desc())
            .limit(_inline(limit))
            .subquery(f"w{j}")
            .select()
        )
    return [(int(eid), name, int(rid)) for eid, name, rid in session.execute(union_all(*parts)).all()]


def _literal(name: str) -> Any:
    """An object name written into the SQL text, so PostgreSQL can pick that object's partial indexes."""
    return bindparam(None, name, type_=String(64), literal_execute=True)


def _name(view: ObjectView) -> Any:
    return literal(view.name, String(64)).label("object_name")


def _inline(value: int) -> Any:
    """An integer written into the SQL text: psycopg prepares a statement run often, and PostgreSQL may then
    plan it once for any LIMIT or id bound, which on these queries means walking the wrong index."""
    return bindparam(None, int(value), type_=Integer, literal_execute=True)


def _tsv() -> Any:
    """PostgreSQL: the stored tsvector of an entry (see PG_SEARCH_TSV)."""
    return literal_column("search_entries.search_tsv")


def _per_field(
    session: Session, actor: Actor, view: ObjectView, words: list[str], dialect: str, prefix: bool, limit: int
) -> list[tuple[int, str, int]]:
    """For an actor whose role hides some of the object's searchable fields: records where every word
    matches one of the fields they may read, from the per-field rows grouped by record, newest first."""
    entry = SearchEntry
    readable = [
        entry.object_name == view.name,
        entry.field != _ALL,
        entry.field.not_in(bindparam("hidden", _hidden(actor, view), expanding=True)),
    ]
    eid = func.max(entry.id).label("eid")
    if dialect == "postgresql":
        stmt = (
            select(eid, entry.record_id)
            .where(
                *readable,
                _tsv().op("@@")(
                    func.to_tsquery(
                        "simple", bindparam("tsq_any", " | ".join(f"{w}:*" if prefix else w for w in words))
                    )
                ),
            )
            .group_by(entry.record_id)
        )
        for i, w in enumerate(words):
            stmt = stmt.having(func.bool_or(_tsv().op("@@")(_tsquery([w], prefix, f"tsq{i}"))))
    else:
        parts = " UNION ALL ".join(
            f"SELECT rowid AS eid, {i} AS tok FROM search_fts WHERE search_fts MATCH :w{i}"
            for i in range(len(words))
        )
        matched = (
            text(parts)
            .bindparams(**{f"w{i}": _fts_query([w], prefix) for i, w in enumerate(words)})
            .columns(eid=Integer, tok=Integer)
            .subquery("m")
        )
        stmt = (
            select(eid, entry.record_id)
            .select_from(matched)
            .join(entry, entry.id == matched.c.eid)
            .where(*readable)
            .group_by(entry.record_id)
            .having(func.count(distinct(matched.c.tok)) == len(words))
        )
    record, on = _visible_join(actor, view, 0, entry.record_id)
    stmt = stmt.join(record, on).order_by(eid.desc()).limit(limit)
    return [(int(e), view.name, int(rid)) for e, rid in session.execute(stmt).all()]


def _results(
    session: Session, actor: Actor, views: dict[str, ObjectView], found: list[tuple[int, int, str, int]]
) -> list[dict[str, Any]]:
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
        out.append(
            {
                "object": name,
                "id": rid,
                "title": view.objdef.title_of(values),
                "subtitle": view.objdef.subtitle_of(values),
                "score": tier + eid / _ID_SPAN,
                "record": values,
            }
        )
    return out


def rebuild(session: Session, object_name: str | None = None) -> int:
    """Re-index every live record (after a bulk load or a change of searchable fields)."""
    names = [object_name] if object_name else [o.name for o in registry.all() if o.searchable]
    total = 0
    for name in names:
        view = load_view(session, name)
        session.execute(delete(SearchEntry).where(SearchEntry.object_name == name))
        for record in session.scalars(
            select(view.model).where(view.model.deleted_at.is_(None)).execution_options(yield_per=2000)
        ):
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
PG_SEARCH_TSV = "to_tsvector('simple'::regconfig, translate(content, '@./:_+-', '       '))"
# Objects the migrations create outside the ORM metadata; the drift check ignores them.
UNMANAGED_NAMES = {
    "search_fts",
    "search_fts_data",
    "search_fts_idx",
    "search_fts_docsize",
    "search_fts_config",
    "search_fts_content",
    "ix_search_entries_tsv",
    "search_tsv",
    "ix_search_entries_search_tsv",
    "ix_search_entries_all_tsv",  # dropped by migration 0014
    "ix_search_entries_newest",
    *(
        f"ix_search_entries_tsv_{name}"
        for name in ("contacts", "companies", "leads", "deals", "activities", "tasks")
    ),
}
