"""The sales side of the demo company: two pipelines, a few hundred deals that moved through their stages over
the last twelve months, and the calls, meetings, notes, emails and tasks around them.

Everything goes through the real services (validation, stage history, audit entries, events, links and the
search index exist) as the rep who owns it, and is then back-dated, because the services stamp "now" and the
demo wants a year of history. Back-dating moves every copy of a time together: created_at/updated_at, the
audit entries' `at` (what timelines show), a deal's stage stamps and stage-change rows, a task's completion,
and record_links.at (where an activity or task sits in a record's timeline).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from sextant.accounts import service as accounts
from sextant.accounts.models import Role, User
from sextant.activities.models import Activity, RecordLink, Task
from sextant.contacts.models import Company, Contact, ContactCompany
from sextant.contacts.objects import SOURCES
from sextant.core import records
from sextant.core.audit import AuditEntry
from sextant.core.db import utcnow
from sextant.core.permissions import SYSTEM, Actor
from sextant.deals.models import Deal, DealStageChange, Pipeline
from sextant.deals.objects import LOST_REASONS
from sextant.deals.service import create_pipeline

PIPELINES = [
    (
        "New business",
        [
            ("Qualified", 10, "open"),
            ("Demo", 30, "open"),
            ("Proposal", 55, "open"),
            ("Negotiation", 80, "open"),
            ("Closed won", 100, "won"),
            ("Closed lost", 0, "lost"),
        ],
    ),
    (
        "Renewals",
        [
            ("Upcoming", 60, "open"),
            ("In negotiation", 85, "open"),
            ("Renewed", 100, "won"),
            ("Churned", 0, "lost"),
        ],
    ),
]
# Reps work their own book: the built-in sales role only reads deals, activities and tasks.
REP_OBJECTS = ("contacts", "companies", "deals", "leads", "activities", "tasks")
PRODUCTS = [
    "Platform licence",
    "Analytics add-on",
    "Team plan",
    "Enterprise plan",
    "Onboarding package",
    "Pilot",
    "Expansion",
    "Data connector",
    "Premium support",
]
CALL_SUBJECTS = [
    "Discovery call",
    "Follow-up call",
    "Pricing questions",
    "Check-in",
    "Intro call",
    "Call about the proposal",
    "Reference call",
    "Budget call",
]
EMAIL_SUBJECTS = [
    "Proposal attached",
    "Re: next steps",
    "Meeting recap",
    "Pricing overview",
    "Contract draft",
    "Re: security questionnaire",
    "Case studies you asked for",
    "Following up",
]
MEETING_SUBJECTS = [
    "Product demo",
    "Kick-off",
    "Technical deep dive",
    "Executive briefing",
    "Negotiation",
    "Quarterly business review",
    "Workshop",
    "Contract review",
]
NOTES = [
    "Champion is keen; procurement is the bottleneck.",
    "Budget approved for Q{q}; decision in {w} weeks.",
    "Competitor in the running; we win on integrations.",
    "Needs SSO and audit logs before signing.",
    "Legal asked for a DPA; sent the template.",
    "Wants a pilot with {n} users first.",
]
TASK_TITLES = [
    "Send the proposal",
    "Follow up on pricing",
    "Book the demo",
    "Prepare the QBR deck",
    "Chase the signed contract",
    "Send case studies",
    "Call the champion",
    "Confirm budget",
    "Loop in legal",
    "Schedule technical review",
    "Update the close plan",
]
LOCATIONS = ["Zoom", "Google Meet", "Customer office", "Our office", "Teams"]
OUTCOMES = ["connected"] * 5 + ["left_voicemail"] * 2 + ["no_answer", "busy", "scheduled_follow_up"]


@dataclass
class Org:
    """The data the sales story is built on, read from what the base demo created."""

    sellers: list[User]
    actors: dict[int, Actor]
    companies: list[Company]
    contacts_of: dict[int, list[Contact]]  # company id -> its people


@dataclass
class Clock:
    """Times to stamp, per record, in the order the services wrote its audit entries."""

    now: datetime
    audit: dict[tuple[str, int], list[datetime]] = field(default_factory=lambda: defaultdict(list))
    deals: dict[int, dict[str, Any]] = field(default_factory=dict)
    stage_moves: dict[int, list[datetime]] = field(default_factory=dict)
    activities: dict[int, datetime] = field(default_factory=dict)
    tasks: dict[int, dict[str, Any]] = field(default_factory=dict)

    def logged(self, object_name: str, record_id: int, at: datetime) -> None:
        self.audit[(object_name, record_id)].append(at)


def seed_sales(
    session: Session,
    *,
    rng: random.Random,
    sellers: list[User],
    now: datetime | None = None,
    deals: int | None = None,
) -> str:
    """Pipelines, deals with their stage history (`deals`, or 2.5 per company), activities and tasks for the
    companies and people that already exist, owned by `sellers` (reps and their managers). Returns a one-line
    summary."""
    clock = Clock(now or utcnow())
    org = _org(session, sellers)
    pipelines = [
        create_pipeline(
            session,
            SYSTEM,
            {
                "name": name,
                "is_default": i == 0,
                "stages": [{"name": n, "probability": p, "kind": k} for n, p, k in stages],
            },
        )
        for i, (name, stages) in enumerate(PIPELINES)
    ]
    deals = round(2.5 * len(org.companies)) if deals is None else deals  # 300 for the default 120 companies
    renewals = max(1, deals // 5)
    made = [_deal(session, rng, org, clock, pipelines[0]) for _ in range(deals - renewals)]
    made += [_deal(session, rng, org, clock, pipelines[1]) for _ in range(renewals)]
    made = [d for d in made if d is not None]
    n_activities = sum(_deal_activities(session, rng, org, clock, d) for d in made)
    n_activities += _loose_activities(session, rng, org, clock)
    n_tasks = sum(_deal_tasks(session, rng, org, clock, d) for d in made)
    n_tasks += _routine_tasks(session, rng, org, clock)
    _stamp(session, clock)
    won = sum(1 for d in made if d["outcome"] == "won")
    return (
        f"{len(made)} deals in {len(pipelines)} pipelines ({won} won), {n_activities} activities, "
        f"{n_tasks} tasks"
    )


def _org(session: Session, sellers: list[User]) -> Org:
    role = session.scalar(select(Role).where(Role.name == "sales"))
    if role is not None:
        grants = dict(role.permissions or {})
        grants.update({name: ["read", "create", "edit", "delete"] for name in REP_OBJECTS})
        accounts.update_role(session, SYSTEM, role.id, {"permissions": grants})
    actors = {u.id: accounts.build_actor(session, u) for u in sellers}
    companies = [
        c
        for c in session.scalars(select(Company).where(Company.deleted_at.is_(None)).order_by(Company.id))
        if c.owner_id in actors
    ]
    contacts_of: dict[int, list[Contact]] = defaultdict(list)
    rows = session.execute(
        select(Contact, ContactCompany.company_id)
        .join(ContactCompany, ContactCompany.contact_id == Contact.id)
        .where(Contact.deleted_at.is_(None))
        .order_by(Contact.id)
    )
    for person, company_id in rows:
        contacts_of[company_id].append(person)
    return Org(sellers, actors, companies, contacts_of)


# -- deals ---------------------------------------------------------------------------------------------------


def _deal(
    session: Session, rng: random.Random, org: Org, clock: Clock, pipeline: Pipeline
) -> dict[str, Any] | None:
    if not org.companies:
        return None
    # Somewhat more deals lately (a growing business), each with a company that already existed then.
    created = clock.now - timedelta(days=1 + 364 * rng.random() ** 1.25, hours=rng.uniform(0, 24))
    existing = [c for c in org.companies if c.created_at < created - timedelta(days=1)]
    company = rng.choice(existing) if existing else min(org.companies, key=lambda c: c.created_at)
    created = max(created, company.created_at + timedelta(days=1))
    if created >= clock.now - timedelta(hours=1):
        return None
    actor = org.actors[company.owner_id]
    people = org.contacts_of.get(company.id, [])
    known = [p for p in people if p.created_at <= created] or people
    contact = rng.choice(known) if known else None
    renewal = pipeline.name == "Renewals"
    amount = round(
        rng.uniform(8_000, 60_000)
        if renewal
        else min(250_000, max(3_000, rng.lognormvariate(math.log(24_000), 0.8))),
        -2,
    )
    euro = company.country not in (None, "United States")
    rec = records.create_record(
        session,
        actor,
        "deals",
        {
            "name": f"{company.name} renewal {created.year + 1}"
            if renewal
            else f"{company.name} — {rng.choice(PRODUCTS)}",
            "pipeline_id": pipeline.id,
            "amount": amount,
            "currency": "EUR" if euro else "USD",
            "company_id": company.id,
            "primary_contact_id": contact.id if contact else None,
            "source": None if renewal else rng.choice(SOURCES)["value"],
        },
    )
    clock.logged("deals", rec["id"], created)
    opens = [s for s in pipeline.stages if s.kind == "open"]
    won = next(s for s in pipeline.stages if s.kind == "won")
    lost = next(s for s in pipeline.stages if s.kind == "lost")
    moves: list[datetime] = [created]
    at, outcome = created, "open"
    for i in range(len(opens)):
        at += timedelta(days=rng.uniform(4, 32), hours=rng.uniform(0, 9))
        if at > clock.now - timedelta(hours=1) or rng.random() < 0.05:
            break  # still in this stage (or stalled there)
        last = i == len(opens) - 1
        if rng.random() < (0.35 if last else 0.13):
            outcome, target = "lost", lost
        elif last:
            outcome, target = "won", won
        else:
            target = opens[i + 1]
        body: dict[str, Any] = {"stage_id": target.id}
        if outcome == "lost":
            body["lost_reason"] = rng.choice(LOST_REASONS)["value"]
        if target.name in ("Negotiation", "In negotiation") and rng.random() < 0.35:
            body["amount"] = round(amount * rng.uniform(0.8, 0.95), -2)  # the discount that closes it
        records.update_record(session, actor, "deals", rec["id"], body)
        clock.logged("deals", rec["id"], at)
        moves.append(at)
        if outcome != "open":
            break
    closed = moves[-1] if outcome != "open" else None
    close_day = closed.date() if closed else (created + timedelta(days=rng.uniform(30, 150))).date()
    clock.deals[rec["id"]] = {
        "created_at": created,
        "updated_at": moves[-1],
        "stage_entered_at": moves[-1],
        "closed_at": closed,
        "expected_close_date": close_day,
    }
    clock.stage_moves[rec["id"]] = moves
    return {
        "id": rec["id"],
        "actor": actor,
        "company": company,
        "contact": contact,
        "created": created,
        "ended": closed or clock.now,
        "outcome": outcome,
        "stages": len(moves),
    }


# -- activities ----------------------------------------------------------------------------------------------


def _activity(
    session: Session,
    rng: random.Random,
    actor: Actor,
    clock: Clock,
    at: datetime,
    links: list[dict[str, Any]],
    contact: Contact | None,
) -> None:
    kind = rng.choices(["call", "email", "meeting", "note"], weights=[40, 30, 18, 12])[0]
    body: dict[str, Any] = {"kind": kind, "occurred_at": at.isoformat(), "links": links}
    if kind == "call":
        body.update(
            subject=rng.choice(CALL_SUBJECTS),
            direction=rng.choice(["outbound"] * 4 + ["inbound"]),
            duration_seconds=rng.randint(60, 2400),
            outcome=rng.choice(OUTCOMES),
        )
    elif kind == "email":
        body.update(
            subject=rng.choice(EMAIL_SUBJECTS),
            direction=rng.choice(["outbound", "outbound", "inbound"]),
            body="<p>Hi,</p><p>As promised, here is what we discussed. Let me know your thoughts.</p>",
        )
    elif kind == "meeting":
        start = at.replace(minute=rng.choice([0, 30]), second=0, microsecond=0)
        body.update(
            subject=rng.choice(MEETING_SUBJECTS),
            start_at=start.isoformat(),
            end_at=(start + timedelta(minutes=rng.choice([30, 45, 60, 90]))).isoformat(),
            location=rng.choice(LOCATIONS),
            attendees=[actor.email] + ([contact.email] if contact is not None and contact.email else []),
        )
        at = start
    else:
        text = rng.choice(NOTES).format(q=rng.randint(1, 4), w=rng.randint(2, 8), n=rng.choice([5, 10, 25]))
        body.update(subject="Note", body=f"<p>{text}</p>")
    rec = records.create_record(session, actor, "activities", body)
    clock.logged("activities", rec["id"], min(at, clock.now))
    clock.activities[rec["id"]] = min(at, clock.now)


def _deal_links(deal: dict[str, Any]) -> list[dict[str, Any]]:
    links = [{"object": "deals", "id": deal["id"]}, {"object": "companies", "id": deal["company"].id}]
    if deal["contact"] is not None:
        links.append({"object": "contacts", "id": deal["contact"].id})
    return links


def _deal_activities(
    session: Session, rng: random.Random, org: Org, clock: Clock, deal: dict[str, Any]
) -> int:
    count = 1 + deal["stages"] // 2 + rng.randint(0, 2)
    span = (deal["ended"] - deal["created"]).total_seconds()
    for _ in range(count):
        at = _office_hours(rng, deal["created"] + timedelta(seconds=rng.uniform(0, span)))
        at = min(at, clock.now - timedelta(minutes=rng.randint(5, 600)))
        _activity(session, rng, deal["actor"], clock, at, _deal_links(deal), deal["contact"])
    if deal["outcome"] == "open" and rng.random() < 0.3:  # something on the calendar
        start = clock.now + timedelta(days=rng.choice([0, 0, 1, 2, 3, 5, 8, 12]))
        start = _office_hours(rng, start)
        rec = records.create_record(
            session,
            deal["actor"],
            "activities",
            {
                "kind": "meeting",
                "subject": rng.choice(MEETING_SUBJECTS),
                "start_at": start.isoformat(),
                "end_at": (start + timedelta(minutes=45)).isoformat(),
                "location": rng.choice(LOCATIONS),
                "links": _deal_links(deal),
            },
        )
        booked = clock.now - timedelta(days=rng.uniform(1, 10))
        clock.logged("activities", rec["id"], booked)
        clock.activities[rec["id"]] = booked
        count += 1
    return count


def _loose_activities(session: Session, rng: random.Random, org: Org, clock: Clock) -> int:
    """Calls and emails with people who are not (yet) in a deal."""
    count = 0
    for company in org.companies:
        for person in org.contacts_of.get(company.id, []):
            if rng.random() < 0.75:
                continue
            start = max(person.created_at, clock.now - timedelta(days=365))
            at = _office_hours(rng, start + (clock.now - start) * rng.random())
            at = min(at, clock.now - timedelta(minutes=rng.randint(5, 600)))
            _activity(
                session,
                rng,
                org.actors[company.owner_id],
                clock,
                at,
                [{"object": "contacts", "id": person.id}, {"object": "companies", "id": company.id}],
                person,
            )
            count += 1
    return count


def _office_hours(rng: random.Random, at: datetime) -> datetime:
    """The same day, between 08:00 and 18:00 UTC, and on a weekday."""
    while at.weekday() >= 5:
        at += timedelta(days=1)
    return at.replace(
        hour=rng.randint(8, 17), minute=rng.randint(0, 59), second=rng.randint(0, 59), microsecond=0
    )


# -- tasks ---------------------------------------------------------------------------------------------------


def _task(
    session: Session,
    actor: Actor,
    clock: Clock,
    created: datetime,
    body: dict[str, Any],
    completed: datetime | None = None,
) -> None:
    rec = records.create_record(session, actor, "tasks", body)
    clock.logged("tasks", rec["id"], created)
    clock.tasks[rec["id"]] = {
        "created_at": created,
        "updated_at": completed or created,
        "completed_at": completed,
    }


def _deal_tasks(session: Session, rng: random.Random, org: Org, clock: Clock, deal: dict[str, Any]) -> int:
    actor, links = deal["actor"], _deal_links(deal)
    span = (deal["ended"] - deal["created"]).total_seconds()
    done = rng.choice([0, 1, 1, 2])
    for _ in range(done):
        created = deal["created"] + timedelta(seconds=rng.uniform(0, span * 0.8))
        due = created + timedelta(days=rng.uniform(1, 7))
        finished = min(due + timedelta(days=rng.uniform(-1, 3)), deal["ended"], clock.now)
        _task(
            session,
            actor,
            clock,
            created,
            {
                "title": rng.choice(TASK_TITLES),
                "due_at": due.isoformat(),
                "status": "done",
                "priority": rng.choice(["normal", "normal", "high", "low"]),
                "links": links,
            },
            completed=max(finished, created + timedelta(minutes=5)),
        )
    if deal["outcome"] != "open":
        return done
    # The next step of every open deal: some late, some today, most coming up.
    when = rng.choices(["overdue", "today", "upcoming", "someday"], weights=[25, 20, 45, 10])[0]
    today = clock.now.date()
    due: datetime | None = {
        "overdue": _at(today - timedelta(days=rng.randint(1, 12)), rng),
        "today": _at(today, rng),
        "upcoming": _at(today + timedelta(days=rng.randint(1, 14)), rng),
        "someday": None,
    }[when]
    created = max(deal["created"], (due or clock.now) - timedelta(days=rng.uniform(1, 10)))
    created = min(created, clock.now - timedelta(hours=1))
    body: dict[str, Any] = {
        "title": rng.choice(TASK_TITLES),
        "priority": rng.choice(["normal", "high", "urgent"]),
        "links": links,
    }
    if due is not None:
        body["due_at"] = due.isoformat()
        if due > clock.now and rng.random() < 0.5:
            body["reminder_at"] = (due - timedelta(minutes=30)).isoformat()
    if rng.random() < 0.2:
        body["status"] = "in_progress"
    _task(session, actor, clock, created, body)
    return done + 1


def _routine_tasks(session: Session, rng: random.Random, org: Org, clock: Clock) -> int:
    """A weekly pipeline review for everyone who sells."""
    monday = clock.now.date() + timedelta(days=(7 - clock.now.weekday()) % 7 or 7)
    for user in org.sellers:
        _task(
            session,
            org.actors[user.id],
            clock,
            clock.now - timedelta(days=rng.uniform(7, 60)),
            {
                "title": "Weekly pipeline review",
                "due_at": datetime.combine(monday, time(9), UTC).isoformat(),
                "recurrence": "FREQ=WEEKLY;BYDAY=MO",
                "priority": "normal",
            },
        )
    return len(org.sellers)


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 17), rng.choice([0, 15, 30, 45])), UTC)


# -- back-dating ---------------------------------------------------------------------------------------------


def _stamp(session: Session, clock: Clock) -> None:
    session.flush()
    names = sorted({name for name, _ in clock.audit})
    entries: dict[tuple[str, int], list[int]] = defaultdict(list)
    for entry_id, name, record_id in session.execute(
        select(AuditEntry.id, AuditEntry.object_name, AuditEntry.record_id)
        .where(AuditEntry.object_name.in_(names))
        .order_by(AuditEntry.id)
    ):
        entries[(name, record_id)].append(entry_id)
    rows = [
        {"id": entry_id, "at": at}
        for key, times in clock.audit.items()
        for entry_id, at in zip(entries.get(key, []), times, strict=False)
    ]
    _bulk(session, AuditEntry, rows)
    _bulk(session, Deal, [{"id": i, **v} for i, v in clock.deals.items()])
    changes = defaultdict(list)
    for change_id, deal_id in session.execute(
        select(DealStageChange.id, DealStageChange.deal_id).order_by(DealStageChange.id)
    ):
        changes[deal_id].append(change_id)
    _bulk(
        session,
        DealStageChange,
        [
            {"id": c, "changed_at": at}
            for deal_id, times in clock.stage_moves.items()
            for c, at in zip(changes.get(deal_id, []), times, strict=False)
        ],
    )
    _bulk(
        session,
        Activity,
        [{"id": i, "created_at": at, "updated_at": at} for i, at in clock.activities.items()],
    )
    _bulk(session, Task, [{"id": i, **v} for i, v in clock.tasks.items()])
    # A task sits in a timeline where it was created; an activity where it happened (already so).
    task_links = [
        {"id": link_id, "at": clock.tasks[item_id]["created_at"]}
        for link_id, item_id in session.execute(
            select(RecordLink.id, RecordLink.item_id).where(RecordLink.item_object == "tasks")
        )
        if item_id in clock.tasks
    ]
    _bulk(session, RecordLink, task_links)
    _align_people(session)
    session.flush()


def _align_people(session: Session) -> None:
    """The base demo back-dates people and companies; their audit entries (their timeline's first items)
    follow, so a timeline does not start with a creation dated today."""
    for model, name in ((Contact, "contacts"), (Company, "companies")):
        created = dict(session.execute(select(model.id, model.created_at)).all())
        rows = [
            {"id": entry_id, "at": created[record_id]}
            for entry_id, record_id in session.execute(
                select(AuditEntry.id, AuditEntry.record_id).where(AuditEntry.object_name == name)
            )
            if record_id in created
        ]
        _bulk(session, AuditEntry, rows)


def _bulk(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """UPDATE by primary key, many rows in one statement: not user edits, so no version bump and no audit."""
    if rows:
        table = model.__table__
        session.execute(
            table.update().where(table.c.id == bindparam("_id")),
            [{"_id": row.pop("id"), **row} for row in rows],
        )
