"""The sales side of the benchmark data: pipelines, deals with stage history, activities, tasks and links.

    python bench/generate_sales.py --n 1000000 --db sqlite       [--path FILE]
    python bench/generate_sales.py --n 1000000 --db postgresql   [--url URL]

Builds on bench/generate.py (the shared generator of users, N contacts and N/5 companies; run first, into
the same database, unless that data is already there) and adds, deterministically for a given --seed:

* the two pipelines of the demo (sextant.demo_sales.PIPELINES) created through the deals service;
* N/5 deals (200k at N=1M) over the last two years, on companies skewed towards old ones, owned by the
  company's owner, with a primary contact at that company, moved through their pipeline's stages like the
  demo does (4-32 days per stage, losses on the way, a few stalled for good), so recent deals are mostly
  open and old ones mostly won or lost; one stage-change row per stage entered, the deal's people, and the
  audit entries the services would have written (create, one update per stage move);
* 10 * N activities (10M at N=1M: calls, emails, meetings, notes) spread over two years, each linked to a
  contact, half of them to that contact's company too and some to one of that company's deals. The load
  is skewed as in real CRMs: 3% of the activities go to 2,000 "key account" contacts with Zipf weights
  (the busiest have thousands of activities), the rest to any contact that existed at the time (older
  contacts gather more). Activities are owned mostly by the contact's owner;
* N/4 tasks (250k at N=1M) assigned to the sellers: old ones mostly done, recent ones open with due dates
  around today (overdue, today, upcoming), linked to a contact and sometimes a deal, with audit entries;
* the search index rows the app writes for deals, activities and tasks (sextant.core.search.entries_for).

Loading bypasses the services (hours at this size): executemany (SQLite) or COPY (PostgreSQL) with the
secondary indexes, FTS triggers and foreign-key checks off, then the indexes rebuilt from the DDL the
migrations created and the database ANALYZEd, exactly as bench/generate.py does. The summary tables the
database triggers keep (board totals, activities per day: migration 0015) are recounted after the load, as
the triggers are off during it.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import json
import multiprocessing
import os
import random
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import generate  # noqa: E402  (bench/generate.py, the shared data generator)

DAY = 86400.0
SPAN_DAYS = 730
ACTIVITY_CHUNK = 50_000
HOT_CONTACTS = 2000
HOT_SHARE = 0.03

DEAL_COLS = (
    "id",
    "name",
    "pipeline_id",
    "stage_id",
    "status",
    "amount",
    "currency",
    "probability",
    "expected_close_date",
    "closed_at",
    "stage_entered_at",
    "lost_reason",
    "lost_reason_detail",
    "company_id",
    "primary_contact_id",
    "source",
    "tags",
    "description",
    "owner_id",
    "created_by_id",
    "updated_by_id",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "custom",
)
STAGE_CHANGE_COLS = (
    "id",
    "deal_id",
    "pipeline_id",
    "from_stage_id",
    "to_stage_id",
    "changed_at",
    "actor_id",
    "amount",
)
DEAL_CONTACT_COLS = ("id", "deal_id", "contact_id", "role", "created_at")
ACTIVITY_COLS = (
    "id",
    "kind",
    "subject",
    "body",
    "occurred_at",
    "direction",
    "duration_seconds",
    "outcome",
    "start_at",
    "end_at",
    "location",
    "attendees",
    "owner_id",
    "created_by_id",
    "updated_by_id",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "custom",
)
TASK_COLS = (
    "id",
    "title",
    "description",
    "due_at",
    "timezone",
    "priority",
    "status",
    "completed_at",
    "reminder_at",
    "reminded_at",
    "recurrence",
    "recurrence_parent_id",
    "owner_id",
    "created_by_id",
    "updated_by_id",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "custom",
)
LINK_COLS = ("item_object", "item_id", "object_name", "record_id", "at")
AUDIT_COLS = ("at", "actor_id", "actor_label", "object_name", "record_id", "action", "changes", "context")
SALES_TABLES = (
    "deals",
    "deal_stage_changes",
    "deal_contacts",
    "activities",
    "tasks",
    "record_links",
    "audit_log",
    "search_entries",
)
DEAL_ROLES = ("Decision maker", "Champion", "Economic buyer", "Influencer", "User", None)
ACTIVITY_KINDS = (("call", 40), ("email", 30), ("meeting", 18), ("note", 12))
PRIORITY_WEIGHTS = (("low", 15), ("normal", 60), ("high", 20), ("urgent", 5))


# -- time: epoch seconds while generating, the column's form when written ------------------------------------


class Clock:
    def __init__(self, dialect: str, now: float) -> None:
        self.dialect = dialect
        self.now = now
        self.start = now - SPAN_DAYS * DAY

    def dt(self, ts: float | None) -> Any:
        if ts is None:
            return None
        value = datetime.fromtimestamp(ts, UTC)
        if self.dialect == "sqlite":  # SQLAlchemy's SQLite storage form of UTCDateTime
            return f"{value:%Y-%m-%d %H:%M:%S.%f}"
        return value

    def date(self, ts: float) -> Any:
        value = datetime.fromtimestamp(ts, UTC).date()
        return value.isoformat() if self.dialect == "sqlite" else value

    def json(self, value: Any) -> str:
        return json.dumps(value)


# -- what the database already holds ---------------------------------------------------------------------


class World:
    """Users, contacts and companies of the base data, in compact arrays (shared with forked workers)."""

    def __init__(self, conn: Any, dialect: str) -> None:
        def rows(sql: str) -> list[Any]:
            return list(conn.execute(sql).fetchall())

        users = rows(
            "SELECT u.id, u.email, r.name FROM users u JOIN roles r ON r.id = u.role_id ORDER BY u.id"
        )
        self.email = {uid: email for uid, email, _role in users}
        self.sellers = [uid for uid, _e, role in users if role in ("sales", "manager")]
        self.reps = [uid for uid, _e, role in users if role == "sales"]
        ((max_contact,),) = rows("SELECT max(id) FROM contacts")
        ((max_company,),) = rows("SELECT max(id) FROM companies")
        self.n_contacts, self.n_companies = max_contact, max_company
        self.contact_owner = [0] * (max_contact + 1)
        self.contact_live = bytearray(max_contact + 1)
        self.contact_created: list[float] = [0.0] * (max_contact + 1)
        for cid, owner, deleted, created in rows(
            "SELECT id, owner_id, deleted_at IS NULL, created_at FROM contacts"
        ):
            self.contact_owner[cid] = owner or 0
            self.contact_live[cid] = 1 if deleted else 0
            self.contact_created[cid] = _epoch(created)
        self.company_owner = [0] * (max_company + 1)
        self.company_created: list[float] = [0.0] * (max_company + 1)
        self.company_name = [""] * (max_company + 1)
        for cid, owner, created, name in rows("SELECT id, owner_id, created_at, name FROM companies"):
            self.company_owner[cid] = owner or 0
            self.company_created[cid] = _epoch(created)
            self.company_name[cid] = name
        self.primary_company = [0] * (max_contact + 1)
        self.people: dict[int, list[int]] = {}
        for contact_id, company_id in rows(
            "SELECT contact_id, company_id FROM contact_companies WHERE is_primary ORDER BY contact_id"
        ):
            self.primary_company[contact_id] = company_id
            self.people.setdefault(company_id, []).append(contact_id)
        self.deals_of: dict[int, list[int]] = {}  # company -> its deals (filled by make_deals)


def _epoch(value: Any) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _cum(pairs: Any) -> tuple[list[Any], list[float]]:
    return generate._cum(pairs)


def _pick(rng: random.Random, cum: tuple[list[Any], list[float]]) -> Any:
    return generate._pick(rng, cum)


# -- deals --------------------------------------------------------------------------------------------------


def make_pipelines(url: str) -> list[tuple[int, list[tuple[int, str, float, str]]]]:
    """The demo's two pipelines through the deals service: [(pipeline id, [(stage id, name, prob, kind)])]."""
    from sqlalchemy.orm import Session

    from sextant.core.db import make_engine
    from sextant.core.permissions import SYSTEM
    from sextant.deals.service import create_pipeline
    from sextant.demo_sales import PIPELINES

    engine = make_engine(url)
    out = []
    try:
        with Session(engine) as s:
            for i, (name, stages) in enumerate(PIPELINES):
                p = create_pipeline(
                    s,
                    SYSTEM,
                    {
                        "name": name,
                        "is_default": i == 0,
                        "stages": [{"name": n, "probability": pr, "kind": k} for n, pr, k in stages],
                    },
                )
                out.append((p.id, [(st.id, st.name, st.probability, st.kind) for st in p.stages]))
            s.commit()
    finally:
        engine.dispose()
    return out


def make_deals(world: World, clock: Clock, pipelines: Any, count: int, seed: int) -> dict[str, list[Any]]:
    from sextant.deals.objects import LOST_REASONS
    from sextant.demo_sales import PRODUCTS

    rng = random.Random(seed * 101 + 5)
    lost_reasons = [r["value"] for r in LOST_REASONS]
    sources = ("website", "referral", "event", "cold_outreach", "partner", "advertising", None)
    out: dict[str, list[Any]] = {"deals": [], "changes": [], "people": [], "audit": [], "entries": []}
    entry_view = _view("deals")
    now = clock.now
    for did in range(1, count + 1):
        created = clock.start + (now - clock.start) * (did - 1 + rng.random()) / count
        # a company that existed then, older ones (bigger, more business) more often
        reach = max(1, bisect.bisect(world.company_created, created, 1) - 1)
        company = 1 + int(reach * rng.random() ** 1.6)
        company = min(company, world.n_companies)
        owner = world.company_owner[company] or rng.choice(world.sellers)
        people = world.people.get(company) or [0]
        contact = rng.choice(people) or None
        renewal = rng.random() < 0.2
        pid, stages = pipelines[1 if renewal else 0]
        opens = [s for s in stages if s[3] == "open"]
        won = next(s for s in stages if s[3] == "won")
        lost = next(s for s in stages if s[3] == "lost")
        amount = round(
            rng.uniform(8_000, 60_000)
            if renewal
            else min(250_000, max(3_000, rng.lognormvariate(10.1, 0.8))),
            -2,
        )
        at, stage, status, reason = created, opens[0], "open", None
        moves = [(None, opens[0][0], created)]
        for i in range(len(opens)):
            at += rng.uniform(4, 32) * DAY + rng.uniform(0, 9) * 3600
            if at > now - 3600 or rng.random() < 0.05:
                break
            last = i == len(opens) - 1
            if rng.random() < (0.35 if last else 0.13):
                target, status, reason = lost, "lost", rng.choice(lost_reasons)
            elif last:
                target, status = won, "won"
            else:
                target = opens[i + 1]
            moves.append((stage[0], target[0], at))
            stage = target
            if status != "open":
                break
        closed = moves[-1][2] if status != "open" else None
        close_day = closed if closed else created + rng.uniform(30, 150) * DAY
        name = (
            f"{world.company_name[company]} renewal {datetime.fromtimestamp(created, UTC).year + 1}"
            if renewal
            else f"{world.company_name[company]} — {rng.choice(PRODUCTS)}"
        )
        currency = "USD" if rng.random() < 0.55 else "EUR"
        deleted = clock.dt(moves[-1][2] + 3600) if rng.random() < 0.003 else None
        out["deals"].append(
            (
                did,
                name[:255],
                pid,
                stage[0],
                status,
                amount,
                currency,
                stage[2],
                clock.date(close_day),
                clock.dt(closed),
                clock.dt(moves[-1][2]),
                reason,
                None,
                company,
                contact,
                None if renewal else rng.choice(sources),
                "[]",
                None,
                owner,
                owner,
                owner,
                clock.dt(created),
                clock.dt(moves[-1][2]),
                len(moves),
                deleted,
                "{}",
            )
        )
        world.deals_of.setdefault(company, []).append(did)
        email = world.email.get(owner, "system")
        for before, after, when in moves:
            out["changes"].append((did, pid, before, after, clock.dt(when), owner, amount))
            if before is None:
                changes = {"name": [None, name[:255]], "stage_id": [None, after], "amount": [None, amount]}
                action = "create"
            else:
                changes = {"stage_id": [before, after]}
                action = "update"
            out["audit"].append(
                (clock.dt(when), owner, email, "deals", did, action, clock.json(changes), None)
            )
        if contact:
            out["people"].append((did, contact, rng.choice(DEAL_ROLES), clock.dt(created)))
        if deleted is None:
            out["entries"] += _entries(entry_view, "deals", did, name=name[:255])
    return out


# -- search rows (the app's own entries_for, memoised per distinct text) ---------------------------------

_VIEWS: dict[str, Any] = {}
_ENTRY_CACHE: dict[tuple[str, str], list[tuple[str, str]]] = {}


def _view(name: str) -> Any:
    if name not in _VIEWS:
        import sextant.app  # noqa: F401 - registers every object
        from sextant.core.metadata import ObjectView, registry

        objdef = registry.get(name)
        _VIEWS[name] = ObjectView(objdef, objdef.standard(), "private")
    return _VIEWS[name]


def _entries(view: Any, object_name: str, record_id: int, **values: Any) -> list[tuple[Any, ...]]:
    from sextant.core.search import entries_for

    key = (object_name, repr(sorted(values.items())))
    cached = _ENTRY_CACHE.get(key)
    if cached is None:
        fields = {f: None for f in view.fields}
        record = SimpleNamespace(**{**fields, **values, "id": 0, "custom": {}})
        cached = [(e["field"], e["content"]) for e in entries_for(view, record)]
        if len(_ENTRY_CACHE) < 200_000:
            _ENTRY_CACHE[key] = cached
    return [(object_name, record_id, f, c) for f, c in cached]


# -- activities (generated in worker processes, chunk by chunk) ----------------------------------------------

_STATE: dict[str, Any] = {}


def _hot_cum(count: int) -> tuple[list[int], list[float]]:
    return list(range(count)), generate._zipf_cum(count, 0.6)


def _activity_chunk(span: tuple[int, int]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[Any]]:
    from sextant.demo_sales import CALL_SUBJECTS, EMAIL_SUBJECTS, LOCATIONS, MEETING_SUBJECTS, OUTCOMES

    world: World = _STATE["world"]
    clock: Clock = _STATE["clock"]
    total: int = _STATE["activities"]
    hot: list[int] = _STATE["hot"]
    hot_cum = _STATE["hot_cum"]
    notes: list[str] = _STATE["notes"]
    view = _view("activities")
    first, count = span
    rng = random.Random(_STATE["seed"] * 7_000_003 + first)
    kinds = _cum(ACTIVITY_KINDS)
    rows, links, ents = [], [], []
    # the last 1% of activities are next week's meetings and calls scheduled ahead
    end = clock.now + 7 * DAY
    n_contacts = world.n_contacts
    created_at = world.contact_created
    for aid in range(first, first + count):
        at = clock.start + (end - clock.start) * (aid - 1 + rng.random()) / total
        reach = max(1, bisect.bisect(created_at, min(at, clock.now), 1) - 1)
        if rng.random() < HOT_SHARE:
            contact = hot[bisect.bisect(hot_cum[1], rng.random() * hot_cum[1][-1])]
            if contact > reach:
                contact = 1 + int(reach * rng.random())
        else:
            contact = 1 + int(reach * rng.random())
        contact = min(contact, n_contacts)
        kind = _pick(rng, kinds)
        if at > clock.now and kind != "meeting":
            at = clock.now - rng.random() * DAY
        owner = world.contact_owner[contact] if rng.random() < 0.8 else 0
        if not owner:
            owner = world.sellers[int(rng.random() * len(world.sellers))]
        subject = body = direction = duration = outcome = start = stop = location = None
        attendees = "[]"
        if kind == "call":
            subject = CALL_SUBJECTS[int(rng.random() * len(CALL_SUBJECTS))]
            direction = "outbound" if rng.random() < 0.8 else "inbound"
            duration = rng.randint(30, 2400)
            outcome = OUTCOMES[int(rng.random() * len(OUTCOMES))]
        elif kind == "email":
            subject = EMAIL_SUBJECTS[int(rng.random() * len(EMAIL_SUBJECTS))]
            direction = "outbound" if rng.random() < 0.6 else "inbound"
            body = f"<p>{notes[int(rng.random() * len(notes))]}</p>" if rng.random() < 0.5 else None
        elif kind == "meeting":
            subject = MEETING_SUBJECTS[int(rng.random() * len(MEETING_SUBJECTS))]
            start = at
            stop = at + rng.choice((30, 30, 45, 60, 60, 90)) * 60
            location = LOCATIONS[int(rng.random() * len(LOCATIONS))]
            attendees = '["' + world.email.get(owner, "x@example.com") + '"]'
        else:
            body = f"<p>{notes[int(rng.random() * len(notes))]}</p>"
        stamp = clock.dt(at)
        made = stamp if at <= clock.now else clock.dt(clock.now - rng.random() * 14 * DAY)
        deleted = clock.dt(min(at, clock.now) + DAY) if rng.random() < 0.002 else None
        rows.append(
            (
                aid,
                kind,
                subject,
                body,
                stamp,
                direction,
                duration,
                outcome,
                clock.dt(start),
                clock.dt(stop),
                location,
                attendees,
                owner,
                owner,
                owner,
                made,
                made,
                1,
                deleted,
                "{}",
            )
        )
        links.append(("activities", aid, "contacts", contact, stamp))
        company = world.primary_company[contact]
        if company and rng.random() < 0.5:
            links.append(("activities", aid, "companies", company, stamp))
        deals = world.deals_of.get(company) if company else None
        if deals and rng.random() < 0.35:
            links.append(("activities", aid, "deals", deals[int(rng.random() * len(deals))], stamp))
        if deleted is None and subject:
            ents += _entries(view, "activities", aid, subject=subject)
    return rows, links, ents


def make_tasks(world: World, clock: Clock, count: int, seed: int) -> dict[str, list[Any]]:
    from sextant.demo_sales import TASK_TITLES

    rng = random.Random(seed * 13 + 3)
    view = _view("tasks")
    prio = _cum(PRIORITY_WEIGHTS)
    out: dict[str, list[Any]] = {"tasks": [], "links": [], "audit": [], "entries": []}
    now = clock.now
    for tid in range(1, count + 1):
        created = clock.start + (now - clock.start) * (tid - 1 + rng.random()) / count
        due = created + rng.uniform(0.5, 21) * DAY
        age = now - created
        owner = world.sellers[int(rng.random() * len(world.sellers))]
        # done when due long ago (mostly); recent ones are open: overdue, due today or upcoming
        if due < now - 2 * DAY and rng.random() < (0.97 if age > 60 * DAY else 0.8):
            status, completed = (
                ("done", min(due + rng.uniform(-1, 2) * DAY, now))
                if rng.random() < 0.95
                else (
                    "cancelled",
                    None,
                )
            )
        else:
            status, completed = ("in_progress" if rng.random() < 0.15 else "open"), None
        reminder = due - 3600 if rng.random() < 0.3 else None
        title = TASK_TITLES[int(rng.random() * len(TASK_TITLES))]
        contact = 1 + int((max(1, bisect.bisect(world.contact_created, created, 1) - 1)) * rng.random())
        contact = min(contact, world.n_contacts)
        updated = completed or created
        out["tasks"].append(
            (
                tid,
                title,
                None,
                clock.dt(due),
                None,
                _pick(rng, prio),
                status,
                clock.dt(completed),
                clock.dt(reminder),
                clock.dt(reminder) if reminder is not None and reminder < now else None,
                None,
                None,
                owner,
                owner,
                owner,
                clock.dt(created),
                clock.dt(updated),
                2 if completed else 1,
                None,
                "{}",
            )
        )
        out["links"].append(("tasks", tid, "contacts", contact, clock.dt(created)))
        company = world.primary_company[contact]
        deals = world.deals_of.get(company) if company else None
        if deals and rng.random() < 0.4:
            out["links"].append(("tasks", tid, "deals", deals[-1], clock.dt(created)))
        changes = {"title": [None, title], "status": [None, "open"]}
        out["audit"].append(
            (
                clock.dt(created),
                owner,
                world.email.get(owner, ""),
                "tasks",
                tid,
                "create",
                clock.json(changes),
                None,
            )
        )
        out["entries"] += _entries(view, "tasks", tid, title=title)
    return out


# -- loading ------------------------------------------------------------------------------------------------


def _writer(db: str, target: str) -> generate.Writer:
    if db == "sqlite":

        class SqliteSales(generate.SqliteWriter):
            TABLES = SALES_TABLES
            summary_triggers: list[tuple[str, str]] = []

            def begin_load(self) -> None:
                # The summary triggers would upsert once per row: off during the load (PostgreSQL's replica
                # mode skips them alike), the tables recounted after it (rebuild_summaries).
                self.summary_triggers = self.conn.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type='trigger' "
                    "AND tbl_name IN ('deals', 'activities')"
                ).fetchall()
                for name, _sql in self.summary_triggers:
                    self.conn.execute(f'DROP TRIGGER "{name}"')
                super().begin_load()

            def end_load(self, log: Callable[[str], None]) -> None:
                super().end_load(log)
                for _name, sql in self.summary_triggers:
                    self.conn.execute(sql)

        return SqliteSales(target)

    class PostgresSales(generate.PostgresWriter):
        TABLES = SALES_TABLES

    return PostgresSales(target)


def _raw(db: str, target: str) -> Any:
    if db == "sqlite":
        return sqlite3.connect(target)
    return psycopg.connect(generate._libpq_url(target))


def has_sales_data(db: str, target: str, n: int) -> bool:
    try:
        if db == "sqlite" and not Path(target).exists():
            return False
        with contextlib.closing(_raw(db, target)) as conn:
            ((deals,),) = conn.execute("SELECT count(*) FROM deals").fetchall()
            ((acts,),) = conn.execute("SELECT max(id) FROM activities").fetchall()
            return deals == max(1, n // 5) and acts == 10 * n
    except Exception:
        return False


def has_base_data(db: str, target: str, n: int) -> bool:
    try:
        if db == "sqlite" and not Path(target).exists():
            return False
        with contextlib.closing(_raw(db, target)) as conn:
            ((count,),) = conn.execute("SELECT count(*) FROM contacts").fetchall()
            ((deals,),) = conn.execute("SELECT count(*) FROM deals").fetchall()
            ((pipes,),) = conn.execute("SELECT count(*) FROM pipelines").fetchall()
            return count == n and deals == 0 and pipes == 0
    except Exception:
        return False


def generate_sales(
    db: str,
    target: str,
    n: int,
    *,
    seed: int = 42,
    workers: int = 2,
    activities: int | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    started = time.perf_counter()
    if not has_base_data(db, target, n):
        generate.generate(db, target, n, seed=seed, workers=workers, log=log)
    else:
        log(f"reusing the contacts and companies at {target}")
    url = generate.sqlalchemy_url(db, target)
    pipelines = make_pipelines(url)
    with contextlib.closing(_raw(db, target)) as conn:
        world = World(conn, db)
    generate._fill_text_pools(seed)
    clock = Clock(db, float(int(time.time())))
    n_deals = max(1, n // 5)
    n_acts = 10 * n if activities is None else activities
    n_tasks = max(1, n // 4)
    t = time.perf_counter()
    deals = make_deals(world, clock, pipelines, n_deals, seed)
    tasks = make_tasks(world, clock, n_tasks, seed)
    log(f"{n_deals} deals and {n_tasks} tasks made in {time.perf_counter() - t:.1f}s")
    rng = random.Random(seed * 17)
    pool_of_hot = range(1, max(2, world.n_contacts // 10))
    hot = rng.sample(pool_of_hot, min(HOT_CONTACTS, len(pool_of_hot)))  # key accounts: among older contacts
    _STATE.update(
        world=world,
        clock=clock,
        activities=n_acts,
        hot=hot,
        hot_cum=_hot_cum(len(hot)),
        notes=list(generate.NOTES),
        seed=seed,
    )
    counts = dict.fromkeys(SALES_TABLES, 0)
    ids = {
        "search_entries": _max_id(db, target, "search_entries") + 1,
        "audit_log": _max_id(db, target, "audit_log") + 1,
        "record_links": 1,
        "deal_stage_changes": 1,
        "deal_contacts": 1,
    }
    writer = _writer(db, target)

    def put(table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]], numbered: bool = False) -> None:
        if numbered:
            first = ids[table]
            rows = [(first + i, *r) for i, r in enumerate(rows)]
            ids[table] += len(rows)
            cols = ("id", *cols)
        writer.insert(table, cols, rows)
        counts[table] += len(rows)

    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 0 else None
    mapper: Any = pool.imap if pool else map
    try:
        writer.begin_load()
        put("deals", DEAL_COLS, deals["deals"])
        put("deal_stage_changes", STAGE_CHANGE_COLS[1:], deals["changes"], numbered=True)
        put("deal_contacts", DEAL_CONTACT_COLS[1:], deals["people"], numbered=True)
        put("audit_log", AUDIT_COLS, deals["audit"], numbered=True)
        put("search_entries", generate.ENTRY_COLS, deals["entries"], numbered=True)
        put("tasks", TASK_COLS, tasks["tasks"])
        put("record_links", LINK_COLS, tasks["links"], numbered=True)
        put("audit_log", AUDIT_COLS, tasks["audit"], numbered=True)
        put("search_entries", generate.ENTRY_COLS, tasks["entries"], numbered=True)
        del deals, tasks
        t = time.perf_counter()
        spans = [(a, min(ACTIVITY_CHUNK, n_acts - a + 1)) for a in range(1, n_acts + 1, ACTIVITY_CHUNK)]
        done = 0
        for rows, links, ents in mapper(_activity_chunk, spans):
            put("activities", ACTIVITY_COLS, rows)
            put("record_links", LINK_COLS, links, numbered=True)
            put("search_entries", generate.ENTRY_COLS, ents, numbered=True)
            done += len(rows)
            if done % 1_000_000 < ACTIVITY_CHUNK or done == n_acts:
                log(f"activities: {done}/{n_acts} ({done / (time.perf_counter() - t):,.0f}/s)")
        writer.end_load(log)
    finally:
        if pool:
            pool.terminate()
        writer.close()
    rebuild_summaries(db, target, log)
    elapsed = time.perf_counter() - started
    log(
        f"generate_sales {db} n={n} deals={counts['deals']} stage_changes={counts['deal_stage_changes']} "
        f"activities={counts['activities']} tasks={counts['tasks']} links={counts['record_links']} "
        f"audit={counts['audit_log']} search_entries={counts['search_entries']} seconds={elapsed:.1f}"
    )
    return {**counts, "seconds": elapsed, "url": url}


def rebuild_summaries(db: str, target: str, log: Callable[[str], None] = print) -> None:
    """Recount the trigger-kept summary tables from the loaded rows (the load ran with triggers off)."""
    from sextant.activities import daycounts
    from sextant.deals import totals

    t = time.perf_counter()
    with contextlib.closing(_raw(db, target)) as conn:
        for sql in [*totals.REBUILD_SQL, *daycounts.rebuild_sql(db)]:
            conn.execute(sql)
        conn.commit()
        for table in ("deal_board_totals", "activity_day_counts"):
            conn.execute(f"ANALYZE {table}")
        conn.commit()
    log(f"board totals and activities per day recounted in {time.perf_counter() - t:.1f}s")


def _max_id(db: str, target: str, table: str) -> int:
    with contextlib.closing(_raw(db, target)) as conn:
        ((value,),) = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchall()
        return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="contacts (deals n/5, activities 10n, tasks n/4)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--path", help="SQLite file (default /tmp/sextant-bench-N.db)")
    parser.add_argument(
        "--url", help="PostgreSQL URL (default postgresql+psycopg://postgres@127.0.0.1/bench_nN)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--activities", type=int, help="number of activities (default 10 * n)")
    parser.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes generating rows (0: none)"
    )
    args = parser.parse_args(argv)
    if args.n < 10:
        parser.error("--n must be at least 10")
    target = (args.path if args.db == "sqlite" else args.url) or generate.default_target(args.db, args.n)
    generate_sales(
        args.db,
        target,
        args.n,
        seed=args.seed,
        workers=args.workers,
        activities=args.activities,
        log=lambda m: print(m, flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
