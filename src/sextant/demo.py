"""A believable small company to explore: teams, a manager hierarchy, people and companies with history.

Everything goes through the same services as real use, so audit entries, events and the search index exist.
"""

from __future__ import annotations

import random
from datetime import timedelta

from faker import Faker
from sqlalchemy import select
from sqlalchemy.orm import Session

import sextant.app  # noqa: F401 - registers every object
from sextant.accounts import service as accounts
from sextant.accounts.models import User
from sextant.contacts import service as links
from sextant.contacts.objects import INDUSTRIES, LIFECYCLE, SOURCES
from sextant.core import records
from sextant.core.db import utcnow
from sextant.core.permissions import SYSTEM
from sextant.demo_sales import seed_sales

TEAMS = {
    "Sales EMEA": "Field and inside sales, Europe",
    "Sales Americas": "North and South America",
    "Marketing": "Demand generation",
    "Customer Success": "Support and renewals",
}
TAGS = ["vip", "newsletter", "partner", "webinar-2026", "trade-show", "champion", "decision-maker", "renewal"]


def seed_demo(
    session: Session,
    *,
    contacts: int = 400,
    companies: int = 120,
    admin_email: str,
    admin_password: str,
    seed: int = 7,
) -> str:
    if session.scalar(select(User.id).where(User.email == admin_email)) is not None:
        return f"demo data already present; sign in as {admin_email}"
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    teams = {
        name: accounts.create_team(session, SYSTEM, {"name": name, "description": desc})
        for name, desc in TEAMS.items()
    }

    def user(
        email: str,
        name: str,
        role: str,
        team: str | None,
        manager: User | None = None,
        password: str = "demo-password",  # noqa: S107 - the demo's published sign-in
    ) -> User:
        return accounts.create_user(
            session,
            SYSTEM,
            {
                "email": email,
                "password": password,
                "full_name": name,
                "role": role,
                "team_id": teams[team].id if team else None,
                "manager_id": manager.id if manager else None,
            },
        )

    admin = user(admin_email, "Ada Admin", "admin", None, password=admin_password)
    vp = user("vp.sales@example.com", "Victor Price", "manager", None)
    emea = user("emea.manager@example.com", "Elena Moretti", "manager", "Sales EMEA", vp)
    amer = user("americas.manager@example.com", "Marcus Hill", "manager", "Sales Americas", vp)
    reps = [
        user(f"{first.lower()}@example.com", f"{first} {last}", "sales", team, mgr)
        for first, last, team, mgr in [
            ("Sofia", "Lindqvist", "Sales EMEA", emea),
            ("Jonas", "Becker", "Sales EMEA", emea),
            ("Amelie", "Durand", "Sales EMEA", emea),
            ("Noah", "Carter", "Sales Americas", amer),
            ("Lucia", "Alvarez", "Sales Americas", amer),
            ("Ethan", "Brooks", "Sales Americas", amer),
        ]
    ]
    marketer = user("maya@example.com", "Maya Patel", "marketing", "Marketing")
    agent = user("sam@example.com", "Sam Okafor", "support", "Customer Success")
    user("auditor@example.com", "Rita Reader", "read_only", None)
    owners = [*reps, emea, amer, marketer, agent]
    actor_of = {u.id: accounts.build_actor(session, u) for u in owners}

    company_ids: list[tuple[int, str, int]] = []
    used_domains: set[str] = set()
    for _ in range(companies):
        name = fake.unique.company()
        stem = name.lower().split(",")[0].replace(" and ", "-")
        domain = "".join(c for c in stem if c.isalnum() or c == "-")
        domain = f"{domain.strip('-')[:40] or 'company'}.{rng.choice(['com', 'io', 'co', 'net', 'eu'])}"
        if domain in used_domains:
            continue
        used_domains.add(domain)
        owner = rng.choice(reps)
        rec = records.create_record(
            session,
            actor_of[owner.id],
            "companies",
            {
                "name": name,
                "domain": domain,
                "industry": rng.choice(INDUSTRIES)["value"],
                "employee_count": rng.choice([8, 25, 60, 140, 400, 1200, 5000]),
                "annual_revenue": round(rng.uniform(0.3, 250) * 1_000_000, 2),
                "phone": f"+1 415 555 {rng.randint(100, 199):04d}",
                "city": fake.city(),
                "country": "United States"
                if owner.team_id == teams["Sales Americas"].id
                else rng.choice(["France", "Germany", "Sweden", "Italy"]),
                "tags": rng.sample(TAGS, k=rng.randint(0, 2)),
            },
        )
        company_ids.append((rec["id"], domain, owner.id))

    people = 0
    for i in range(contacts):
        company_id, domain, owner_id = (
            rng.choice(company_ids) if company_ids else (None, "example.net", rng.choice(reps).id)
        )
        first, last = fake.first_name(), fake.last_name()
        rec = records.create_record(
            session,
            actor_of[owner_id],
            "contacts",
            {
                "first_name": first,
                "last_name": last,
                "email": f"{first.lower()}.{last.lower()}{i}@{domain}",
                "phone": f"+1 212 555 {rng.randint(100, 199):04d}",
                "job_title": fake.job()[:200],
                "lifecycle_stage": rng.choice(LIFECYCLE)["value"],
                "lead_source": rng.choice(SOURCES)["value"],
                "tags": rng.sample(TAGS, k=rng.randint(0, 3)),
                "city": fake.city(),
                "country": rng.choice(["United States", "France", "Germany", "Sweden", "Canada"]),
                "do_not_contact": rng.random() < 0.05,
            },
        )
        if company_id is not None:
            role = rng.choice(["Buyer", "Champion", "User", "Decision maker", None])
            links.link(session, actor_of[owner_id], rec["id"], {"company_id": company_id, "role": role})
        people += 1
    _spread_history(session, rng)
    sales = seed_sales(session, rng=rng, sellers=[*reps, emea, amer])
    return (
        f"demo data created: {len(company_ids)} companies, {people} people, {len(owners) + 3} users; "
        f"{sales}.\n"
        f"sign in as {admin.email} / {admin_password} (reps: sofia@example.com / demo-password)"
    )


def _spread_history(session: Session, rng: random.Random) -> None:
    """Back-date creation over the last year so lists, filters and (later) dashboards show real shapes."""
    from sextant.contacts.models import Company, Contact

    now = utcnow()
    for model in (Company, Contact):
        for record in session.scalars(select(model)):
            created = now - timedelta(days=rng.uniform(0, 365), hours=rng.uniform(0, 24))
            record.created_at = created
            record.updated_at = created + timedelta(days=rng.uniform(0, (now - created).days or 1))
    session.flush()
