"""Duplicate detection: blocking, then a Fellegi–Sunter model scored with rapidfuzz comparisons.

Each compared field (configurable per object, custom fields included) has agreement levels (exact, close,
different ...) with an m probability (the level's frequency among true matches, fixed, sensible defaults) and
a u probability (its frequency among random pairs, estimated from the data on every full scan). A pair's
match weight is the prior log-odds plus the sum of log2(m/u) of its levels; its match probability follows,
and the per-field weights say what drove it. Pairs are only scored inside blocks (same email, same phone,
same name key, same value of an exact field), which keeps a scan of 100k records to a few hundred thousand
comparisons.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from sextant.core import fieldtypes as ft
from sextant.core.db import utcnow
from sextant.core.errors import DomainError, FieldError, Forbidden, ValidationFailed
from sextant.core.metadata import ObjectView, load_view, registry
from sextant.core.permissions import Actor
from sextant.dataquality.models import DedupeSetting, DuplicatePair

COMPARATORS = ("email", "phone", "person_name", "org_name", "text", "exact", "date", "domain")
DEFAULT_THRESHOLD = 0.8
DUPLICATE_RATE = 0.05  # share of records expected to have a duplicate: the prior (λ) of a pair
MAX_BLOCK = 40  # a name key shared by more records than this (a very common name) is not a block
U_SAMPLE = 20_000

DEFAULT_FIELDS: dict[str, list[dict[str, Any]]] = {
    "contacts": [
        {"fields": ["email", "additional_emails"], "compare": "email"},
        {"fields": ["first_name", "last_name"], "compare": "person_name"},
        {"fields": ["phone", "mobile_phone"], "compare": "phone"},
        {"fields": ["street"], "compare": "text"},
        {"fields": ["city"], "compare": "text"},
        {"fields": ["postal_code"], "compare": "text"},
        {"fields": ["birthday"], "compare": "date"},
    ],
    "companies": [
        {"fields": ["name"], "compare": "org_name"},
        {"fields": ["domain"], "compare": "domain"},
        {"fields": ["phone"], "compare": "phone"},
        {"fields": ["street"], "compare": "text"},
        {"fields": ["city"], "compare": "text"},
    ],
    "leads": [
        {"fields": ["email"], "compare": "email"},
        {"fields": ["first_name", "last_name"], "compare": "person_name"},
        {"fields": ["phone"], "compare": "phone"},
        {"fields": ["company_name"], "compare": "text"},
    ],
}
# Levels per comparator, best first: (name, m). The last level is "different"; no value on a side: "null".
LEVELS: dict[str, list[tuple[str, float]]] = {
    "email": [("exact", 0.85), ("same_local_part", 0.05), ("different", 0.10)],
    "phone": [("exact", 0.70), ("different", 0.30)],
    "person_name": [("exact", 0.70), ("close", 0.20), ("similar", 0.06), ("different", 0.04)],
    "org_name": [("exact", 0.75), ("close", 0.15), ("different", 0.10)],
    "text": [("exact", 0.75), ("close", 0.15), ("different", 0.10)],
    "exact": [("exact", 0.90), ("different", 0.10)],
    "date": [("exact", 0.90), ("different", 0.10)],
    "domain": [("exact", 0.90), ("different", 0.10)],
}
DEFAULT_U: dict[str, list[float]] = {
    # the same local part mostly repeats the name (first.last@): kept weak, or it would count the name twice
    "email": [1e-6, 0.01, 1.0],
    "phone": [1e-6, 1.0],
    "person_name": [1e-4, 5e-4, 0.01, 1.0],
    "org_name": [1e-4, 1e-3, 1.0],
    "text": [0.05, 0.05, 0.9],
    "exact": [1e-3, 0.999],
    "date": [1e-3, 0.999],
    "domain": [1e-5, 1.0],
}
U_FLOOR = 1e-7

# Set while an import writes in bulk: it scans its new records afterwards instead of per row.
in_bulk: ContextVar[bool] = ContextVar("dataquality_in_bulk", default=False)


# -- settings ------------------------------------------------------------------------------------------------


def supported(object_name: str) -> bool:
    return registry.has(object_name)


def get_settings(session: Session, object_name: str) -> dict[str, Any]:
    row = session.get(DedupeSetting, object_name)
    fields = row.fields if row is not None and row.fields else DEFAULT_FIELDS.get(object_name, [])
    return {
        "object": object_name,
        "fields": fields,
        "threshold": row.threshold if row is not None else DEFAULT_THRESHOLD,
        "block_threshold": row.block_threshold if row is not None else None,
        "default": row is None,
    }


def put_settings(session: Session, actor: Actor, object_name: str, body: Any) -> dict[str, Any]:
    if not actor.is_admin:
        raise Forbidden("Only administrators may change duplicate rules")
    view = load_view(session, object_name)
    if not isinstance(body, dict):
        raise ValidationFailed([FieldError("body", "expected a JSON object", "type")])
    errors = [
        FieldError(k, f"unknown property '{k}'", "unknown_field")
        for k in body
        if k not in ("fields", "threshold", "block_threshold")
    ]
    fields = body.get("fields", DEFAULT_FIELDS.get(object_name, []))
    if not isinstance(fields, list) or not fields or len(fields) > 30:
        errors.append(FieldError("fields", "expected a list of 1 to 30 comparisons", "type"))
        fields = []
    clean_fields = []
    for i, spec in enumerate(fields):
        where = f"fields[{i}]"
        if not isinstance(spec, dict) or spec.get("compare") not in COMPARATORS:
            errors.append(
                FieldError(f"{where}.compare", f"one of: {', '.join(COMPARATORS)}", "invalid_choice")
            )
            continue
        names = spec.get("fields")
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            errors.append(FieldError(f"{where}.fields", "expected a list of field names", "type"))
            continue
        unknown = [n for n in names if n not in view.fields]
        if unknown:
            errors.append(
                FieldError(f"{where}.fields", f"unknown field(s): {', '.join(unknown)}", "unknown_field")
            )
            continue
        if spec["compare"] == "person_name" and len(names) != 2:
            errors.append(FieldError(f"{where}.fields", "person_name compares [first, last]", "invalid"))
            continue
        clean_fields.append({"fields": names, "compare": spec["compare"]})
    thresholds = {}
    for key in ("threshold", "block_threshold"):
        value = body.get(key, DEFAULT_THRESHOLD if key == "threshold" else None)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1
        ):
            errors.append(FieldError(key, "a probability between 0 and 1", "range"))
        thresholds[key] = value
    if errors:
        raise ValidationFailed(errors)
    row = session.get(DedupeSetting, object_name) or DedupeSetting(object_name=object_name)
    row.fields, row.threshold, row.block_threshold = (
        clean_fields,
        thresholds["threshold"],
        thresholds["block_threshold"],
    )
    session.add(row)
    session.flush()
    return get_settings(session, object_name)


# -- normalised values ---------------------------------------------------------------------------------------


def fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9 ]+", " ", folded).strip()


@dataclass
class Spec:
    fields: list[str]
    compare: str

    @property
    def label(self) -> str:
        return "name" if self.compare == "person_name" else self.fields[0]


def specs_for(view: ObjectView, settings: dict[str, Any]) -> list[Spec]:
    out = []
    for spec in settings["fields"]:
        names = [n for n in spec["fields"] if n in view.fields]
        if names and (spec["compare"] != "person_name" or len(names) == 2):
            out.append(Spec(names, spec["compare"]))
    return out


def value_of(spec: Spec, get: Callable[[str], Any]) -> Any:
    """The comparable form of a record's values for one comparison (None when it has none)."""
    kind = spec.compare
    if kind == "person_name":
        first, last = (fold(str(get(n) or "")) for n in spec.fields)
        return (first, last) if first or last else None
    raw: list[Any] = []
    for name in spec.fields:
        value = get(name)
        raw.extend(value if isinstance(value, list) else [value])
    raw = [v for v in raw if v not in (None, "")]
    if not raw:
        return None
    if kind == "email":
        return tuple(dict.fromkeys(str(v).lower() for v in raw))
    if kind == "phone":
        return tuple(dict.fromkeys(re.sub(r"\D", "", str(v))[-9:] for v in raw if re.sub(r"\D", "", str(v))))
    if kind == "domain":
        out = []
        for v in raw:
            try:
                out.append(ft.normalise_domain(str(v).rsplit("@", 1)[-1]))
            except ft.ValueError_:
                out.append(str(v).lower())
        return tuple(out)
    if kind == "date":
        return str(ft.to_json("date", raw[0]) if not isinstance(raw[0], str) else raw[0])[:10]
    if kind == "exact":
        return fold(str(raw[0])) or None
    return fold(" ".join(str(v) for v in raw)) or None


def level(kind: str, a: Any, b: Any) -> int:
    """Index into LEVELS[kind] for two non-null values."""
    if kind == "email":
        if set(a) & set(b):
            return 0
        return 1 if {e.split("@")[0] for e in a} & {e.split("@")[0] for e in b} else 2
    if kind in ("phone", "domain"):
        return 0 if set(a) & set(b) else len(LEVELS[kind]) - 1
    if kind == "person_name":
        if a == b:
            return 0
        direct = (JaroWinkler.similarity(a[0], b[0]) + JaroWinkler.similarity(a[1], b[1])) / 2
        swapped = (JaroWinkler.similarity(a[0], b[1]) + JaroWinkler.similarity(a[1], b[0])) / 2
        best = max(direct, swapped)
        if best >= 0.999:
            return 0
        return 1 if best >= 0.92 else 2 if best >= 0.82 else 3
    if kind in ("text", "org_name"):
        if a == b:
            return 0
        return 1 if fuzz.token_sort_ratio(a, b) >= 88 else 2
    return 0 if a == b else 1


# -- the model -----------------------------------------------------------------------------------------------


def prior_log2(n: int) -> float:
    """log2 odds that two records of n are the same before comparing them: λ = 2·rate/(n-1)."""
    return min(math.log2(max(2 * DUPLICATE_RATE / max(n - 1, 1), 1e-15)), -3.0)


@dataclass
class Model:
    specs: list[Spec]
    u: list[list[float]]
    prior: float = -16.0

    def table(self) -> list[list[float]]:
        """log2(m/u) per comparison and level."""
        return [
            [math.log2(m / max(self.u[i][lv], U_FLOOR)) for lv, (_name, m) in enumerate(LEVELS[spec.compare])]
            for i, spec in enumerate(self.specs)
        ]

    def weights(self, values_a: list[Any], values_b: list[Any]) -> tuple[float, dict[str, Any]]:
        table = self.__dict__.get("_table") or self.__dict__.setdefault("_table", self.table())
        total = self.prior
        explained: dict[str, Any] = {}
        for i, spec in enumerate(self.specs):
            a, b = values_a[i], values_b[i]
            if a is None or b is None:
                continue
            lv = level(spec.compare, a, b)
            w = table[i][lv]
            total += w
            explained[spec.label] = {"level": LEVELS[spec.compare][lv][0], "weight": round(w, 2)}
        return total, explained

    def probability(self, values_a: list[Any], values_b: list[Any]) -> tuple[float, dict[str, Any]]:
        score, explained = self.weights(values_a, values_b)
        return 1.0 / (1.0 + 2.0 ** (-score)), explained


def default_model(specs: list[Spec], n: int = 100_000) -> Model:
    return Model(specs, [list(DEFAULT_U[s.compare]) for s in specs], prior_log2(n))


def estimate_u(specs: list[Spec], values: list[list[Any]], seed: int = 7) -> Model:
    """u probabilities from random pairs (almost all non-matches), smoothed; defaults when data is thin."""
    n = len(values)
    model = default_model(specs, n)
    if n < 200:
        return model
    rng = random.Random(seed)
    counts = [[0] * len(LEVELS[s.compare]) for s in specs]
    seen = [0] * len(specs)
    for _ in range(U_SAMPLE):
        i, j = rng.randrange(n), rng.randrange(n)
        if i == j:
            continue
        for k, spec in enumerate(specs):
            a, b = values[i][k], values[j][k]
            if a is None or b is None:
                continue
            counts[k][level(spec.compare, a, b)] += 1
            seen[k] += 1
    for k, spec in enumerate(specs):
        if seen[k] < 100:
            continue
        levels = len(LEVELS[spec.compare])
        # A level seen often enough among random pairs gets its measured frequency; a rare one (an email in
        # common) cannot be measured on a sample and keeps its default.
        model.u[k] = [
            min((counts[k][lv] + 0.5) / (seen[k] + 0.5 * levels), 1.0)
            if counts[k][lv] >= 20
            else DEFAULT_U[spec.compare][lv]
            for lv in range(levels)
        ]
    return model


# -- blocking ------------------------------------------------------------------------------------------------


def block_keys(specs: list[Spec], values: list[Any]) -> Iterable[tuple[str, Any]]:
    for k, spec in enumerate(specs):
        v = values[k]
        if v is None:
            continue
        if spec.compare in ("email", "phone", "domain"):
            for item in v:
                yield (f"{k}", item)
        elif spec.compare == "person_name":
            first, last = v
            if first and last:
                yield ("n", f"{last[:3]}|{first[:1]}")
                yield ("n", f"{first[:3]}|{last[:1]}")  # swapped first and last names
                yield ("n", f"{''.join(sorted((first[:2], last[:2])))}|{len(first) + len(last)}")
        elif spec.compare in ("exact", "date"):
            yield (f"{k}", v)
        elif spec.compare == "org_name" or (spec.compare == "text" and spec.fields[0] == "company_name"):
            yield (f"{k}", v[:6])


def candidate_pairs(
    specs: list[Spec], values: list[list[Any]], only: set[int] | None = None
) -> set[tuple[int, int]]:
    blocks: dict[tuple[str, Any], list[int]] = defaultdict(list)
    for i, vals in enumerate(values):
        for key in block_keys(specs, vals):
            blocks[key].append(i)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > MAX_BLOCK:
            continue
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                i, j = members[x], members[y]
                if i == j:
                    continue
                if only is not None and i not in only and j not in only:
                    continue
                pairs.add((i, j) if i < j else (j, i))
    return pairs


# -- scan ----------------------------------------------------------------------------------------------------


def _load(session: Session, view: ObjectView, specs: list[Spec]) -> tuple[list[int], list[list[Any]]]:
    model = view.model
    names = sorted({n for s in specs for n in s.fields})
    columns = [getattr(model, n) for n in names if not view.fields[n].custom]
    needs_custom = any(view.fields[n].custom for n in names)
    stmt = select(model.id, *columns, *([model.custom] if needs_custom else [])).where(
        model.deleted_at.is_(None)
    )
    ids, values = [], []
    plain = [n for n in names if not view.fields[n].custom]
    for row in session.execute(stmt.order_by(model.id).execution_options(yield_per=5000)):
        data = dict(zip(plain, row[1 : 1 + len(plain)], strict=True))
        custom = row[-1] if needs_custom else {}
        ids.append(int(row[0]))
        values.append(
            [value_of(s, lambda n, d=data, c=custom: d[n] if n in d else (c or {}).get(n)) for s in specs]
        )
    return ids, values


def scan(
    session: Session,
    object_name: str,
    *,
    record_ids: list[int] | None = None,
    import_id: int | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Find duplicate pairs among the object's live records (or only those involving `record_ids` or the
    records an import created) and store them; a full scan also retires open pairs no longer found."""
    view = load_view(session, object_name)
    settings = get_settings(session, object_name)
    specs = specs_for(view, settings)
    if not specs:
        return {"pairs": 0, "compared": 0}
    if import_id is not None:
        from sextant.dataquality.models import ImportBatch

        record_ids = [
            rid
            for ranges in session.scalars(
                select(ImportBatch.created_ids).where(ImportBatch.import_id == import_id)
            )
            for first, last in ranges
            for rid in range(first, last + 1)
        ]
    ids, values = _load(session, view, specs)
    index = {rid: i for i, rid in enumerate(ids)}
    only = {index[r] for r in record_ids if r in index} if record_ids is not None else None
    model = estimate_u(specs, values)
    pairs = candidate_pairs(specs, values, only)
    found: dict[tuple[int, int], tuple[float, dict[str, Any]]] = {}
    for n, (i, j) in enumerate(pairs):
        p, explained = model.probability(values[i], values[j])
        if p >= settings["threshold"]:
            found[(ids[i], ids[j])] = (p, explained)
        if heartbeat and n % 200_000 == 199_999:
            heartbeat()
    _store(session, object_name, found, full=record_ids is None)
    if import_id is not None:
        from sextant.dataquality.models import ImportJob

        job = session.get(ImportJob, import_id)
        if job is not None:
            job.duplicates_found = len(found)
    session.commit()
    return {"pairs": len(found), "compared": len(pairs), "records": len(ids)}


def _store(
    session: Session, object_name: str, found: dict[tuple[int, int], tuple[float, dict[str, Any]]], full: bool
) -> None:
    existing = {
        (a, b): (pid, status)
        for pid, a, b, status in session.execute(
            select(
                DuplicatePair.id, DuplicatePair.record_a_id, DuplicatePair.record_b_id, DuplicatePair.status
            ).where(DuplicatePair.object_name == object_name)
        )
    }
    now = utcnow()
    new = [
        {
            "object_name": object_name,
            "record_a_id": a,
            "record_b_id": b,
            "probability": round(p, 6),
            "fields": explained,
            "status": "open",
            "created_at": now,
            "updated_at": now,
        }
        for (a, b), (p, explained) in found.items()
        if (a, b) not in existing
    ]
    if new:
        session.execute(DuplicatePair.__table__.insert(), new)
    changed = [
        {"_id": existing[k][0], "_p": round(p, 6), "_f": explained}
        for k, (p, explained) in found.items()
        if k in existing and existing[k][1] == "open"
    ]
    if changed:
        from sqlalchemy import bindparam

        t = DuplicatePair.__table__
        session.execute(
            t.update()
            .where(t.c.id == bindparam("_id"))
            .values(probability=bindparam("_p"), fields=bindparam("_f"), updated_at=now),
            changed,
        )
    if full:
        gone = [pid for k, (pid, status) in existing.items() if status == "open" and k not in found]
        for part in range(0, len(gone), 500):
            session.execute(
                DuplicatePair.__table__.delete().where(DuplicatePair.id.in_(gone[part : part + 500]))
            )


# -- one record: the check on create -------------------------------------------------------------------------


def check(
    session: Session,
    actor: Actor,
    object_name: str,
    values: dict[str, Any],
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[dict[str, Any]]:
    """Records the actor can see that may be the same as `values` (a record being typed or created)."""
    from sextant.core.records import base_query, serialize

    view = load_view(session, object_name)
    actor.require(object_name, "read")
    settings = get_settings(session, object_name)
    specs = specs_for(view, settings)
    mine = [value_of(s, lambda n: values.get(n)) for s in specs]
    model_cls = view.model
    conditions = []
    for k, spec in enumerate(specs):
        v = mine[k]
        if v is None:
            continue
        cols = [n for n in spec.fields if not view.fields[n].custom and view.fields[n].type != "multi_select"]
        if spec.compare == "email":
            conditions += [getattr(model_cls, c).in_(list(v)) for c in cols]
        elif spec.compare == "phone":
            conditions += [getattr(model_cls, c).like(f"%{p}") for c in cols for p in v if len(p) >= 6]
        elif spec.compare == "domain":
            conditions += [getattr(model_cls, c).in_(list(v)) for c in cols]
        elif spec.compare == "person_name":
            first_col, last_col = (getattr(model_cls, n) for n in spec.fields)
            first, last = v
            for a_col, b_col, a, b in (
                (last_col, first_col, last, first),
                (first_col, last_col, first, last),
            ):
                if a:
                    conditions.append(and_(a_col.ilike(f"{a[:3]}%"), b_col.ilike(f"{b[:1]}%") if b else True))
        elif spec.compare == "org_name" and cols:
            conditions.append(getattr(model_cls, cols[0]).ilike(f"{str(v)[:5]}%"))
    if not conditions:
        return []
    stmt = base_query(session, actor, view).where(or_(*conditions))
    if exclude_id is not None:
        stmt = stmt.where(model_cls.id != exclude_id)
    from sqlalchemy import func

    size = session.scalar(select(func.max(model_cls.id)))  # the table's size, near enough, in O(1)
    model = default_model(specs, int(size or 0) + 1)
    out = []
    for record in session.scalars(stmt.limit(200)):
        theirs = [
            value_of(
                s, lambda n, r=record: (r.custom or {}).get(n) if view.fields[n].custom else getattr(r, n)
            )
            for s in specs
        ]
        p, explained = model.probability(mine, theirs)
        if p >= settings["threshold"]:
            out.append(
                {
                    "id": record.id,
                    "probability": round(p, 4),
                    "fields": explained,
                    "record": serialize(view, actor, record),
                }
            )
    out.sort(key=lambda c: -c["probability"])
    return out[:limit]


def enforce_on_create(session: Session, actor: Actor, view: ObjectView, cleaned: Any, record: Any) -> None:
    """The configurable block: a create matching a visible record above `block_threshold` is refused (409)."""
    if record is not None or in_bulk.get() or view.name not in DEFAULT_FIELDS:
        return
    row = session.get(DedupeSetting, view.name)
    if row is None or row.block_threshold is None:
        return
    values = {**cleaned.columns, **cleaned.custom}
    found = [c for c in check(session, actor, view.name, values) if c["probability"] >= row.block_threshold]
    if found:
        best = found[0]
        title = view.objdef.title_of(best["record"])
        raise DomainError(
            detail=f"possible duplicate of {view.objdef.singular.lower()} #{best['id']} ({title}), "
            f"match probability {best['probability']:.2f}",
            status=409,
            title="Conflict",
            type_slug="possible-duplicate",
            extra={"duplicates": [{"id": c["id"], "probability": c["probability"]} for c in found]},
        )


def install_create_check() -> None:
    """Chain `enforce_on_create` after the object rules of contacts, companies and leads (once)."""
    for name in DEFAULT_FIELDS:
        if not registry.has(name):
            continue
        objdef = registry.get(name)
        original = objdef.before_save
        if getattr(original, "_dq_chained", False):
            continue

        def chained(
            session: Session,
            actor: Actor,
            view: ObjectView,
            cleaned: Any,
            record: Any,
            _original: Any = original,
        ) -> None:
            if _original is not None:
                _original(session, actor, view, cleaned, record)
            if not cleaned.errors:
                enforce_on_create(session, actor, view, cleaned, record)

        chained._dq_chained = True  # type: ignore[attr-defined]
        objdef.before_save = chained


# -- the queue -----------------------------------------------------------------------------------------------


def list_pairs(
    session: Session,
    actor: Actor,
    object_name: str,
    *,
    status: str = "open",
    min_probability: float = 0.0,
    after: tuple[float, int] | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Candidate pairs, most probable first, where the actor can see both records (both still live)."""
    from sqlalchemy.orm import aliased

    from sextant.core.permissions import visibility_clause
    from sextant.core.records import serialize

    view = load_view(session, object_name)
    actor.require(object_name, "read")
    if status not in ("open", "dismissed", "merged"):
        raise ValidationFailed([FieldError("status", "one of: open, dismissed, merged", "invalid_choice")])
    a, b = aliased(view.model, name="ra"), aliased(view.model, name="rb")
    stmt = (
        select(DuplicatePair, a, b)
        .join(a, a.id == DuplicatePair.record_a_id)
        .join(b, b.id == DuplicatePair.record_b_id)
        .where(
            DuplicatePair.object_name == object_name,
            DuplicatePair.status == status,
            DuplicatePair.probability >= min_probability,
        )
    )
    if status != "merged":
        stmt = stmt.where(a.deleted_at.is_(None), b.deleted_at.is_(None))
    for alias in (a, b):
        clause = visibility_clause(actor, alias.owner_id, view.sharing, "read")
        if clause is not None:
            stmt = stmt.where(clause)
    if after is not None:
        p, pid = after
        stmt = stmt.where(
            or_(DuplicatePair.probability < p, and_(DuplicatePair.probability == p, DuplicatePair.id < pid))
        )
    rows = session.execute(
        stmt.order_by(DuplicatePair.probability.desc(), DuplicatePair.id.desc()).limit(limit + 1)
    ).all()
    items = [
        {
            "id": pair.id,
            "object": object_name,
            "probability": pair.probability,
            "fields": pair.fields,
            "status": pair.status,
            "records": [serialize(view, actor, ra), serialize(view, actor, rb)],
        }
        for pair, ra, rb in rows[:limit]
    ]
    cursor = f"{items[-1]['probability']}:{items[-1]['id']}" if len(rows) > limit else None
    return {"items": items, "next_cursor": cursor}
