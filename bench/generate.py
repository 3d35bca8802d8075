"""The shared benchmark data generator: N contacts and N/5 companies that look like a real sales team's CRM.

    python bench/generate.py --n 1000000 --db sqlite [--path /tmp/sextant-bench-1000000.db]
    python bench/generate.py --n 1000000 --db postgresql [--url postgresql+psycopg://postgres@127.0.0.1/bench_x]

What it makes (deterministic for a given --seed):
* users through `sextant.accounts.service` (so sign-in works): an admin, a VP of sales, 8 sales teams each
  with a manager, 50 sales reps spread over the teams; every password is PASSWORD;
* N/5 companies (name, unique domain, industry, size, revenue, phone, address, tags, a few parent companies)
  and N contacts (names from eight locales with their real frequency, a unique email at their company's
  domain, E.164 phones, job, lifecycle stage, source, tags, birthday, LinkedIn, address, a few soft-deleted),
  owned mostly by their company's owner, created over the last two years (ids follow creation time);
* one contact-company link per contact (the primary one) and a second one for about 8% of them;
* the search index: for every live record exactly the rows `sextant.core.search.entries_for` produces (the
  generator calls it), so the FTS5 table (SQLite) or the GIN index (PostgreSQL) is what the app would build.

Loading bypasses the per-record service on purpose (it would take hours at 1M): rows go in with executemany
(SQLite) or COPY (PostgreSQL) after the secondary indexes and FTS triggers are dropped, and those are
recreated afterwards from the exact DDL the migrations created, so the schema ends identical. The database is
migrated first with `sextant.bootstrap.upgrade`, and ANALYZEd at the end, as an operator would after a bulk
import.
"""

from __future__ import annotations

import argparse
import bisect
import functools
import json
import multiprocessing
import os
import random
import sqlite3
import sys
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg

PASSWORD = "bench-password-42"
DOMAIN = "bench.example.com"
ADMIN_EMAIL = f"admin@{DOMAIN}"
N_TEAMS = 8
N_REPS = 50
CHUNK = 20_000
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def rep_email(i: int) -> str:
    return f"rep{i:02d}@{DOMAIN}"


def manager_email(i: int) -> str:
    return f"manager{i}@{DOMAIN}"


# -- reference data ------------------------------------------------------------------------------------------


@dataclass
class Country:
    name: str
    locale: str
    weight: float
    tlds: tuple[str, ...]
    suffixes: tuple[str, ...]
    cities: tuple[str, ...]  # biggest first; picked with Zipf weights
    mobile: Callable[[random.Random], str]
    landline: Callable[[random.Random], str]
    first: tuple[list[str], list[float]] = field(default=([], []))
    last: tuple[list[str], list[float]] = field(default=([], []))
    streets: list[str] = field(default_factory=list)
    postcodes: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randrange(10 ** (n - 1), 10**n))


# fmt: off
US_AREAS = (212, 213, 214, 206, 305, 312, 404, 415, 503, 512, 602, 617, 646, 702, 713, 718, 720, 773, 818,
            917)
COUNTRIES = [
    Country("United States", "en_US", 44, ("com", "com", "io", "co"), ("Inc", "LLC", "Corp", "Group", ""),
            ("New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Philadelphia", "San Antonio",
             "San Diego", "Dallas", "Austin", "San Francisco", "Seattle", "Denver", "Boston", "Atlanta",
             "Miami", "Portland", "Nashville", "Detroit", "Minneapolis", "Charlotte", "Columbus", "Raleigh",
             "Pittsburgh", "Salt Lake City", "Sacramento", "Kansas City", "Las Vegas", "Baltimore",
             "Milwaukee"),
            lambda r: f"+1{r.choice(US_AREAS)}{r.randint(201, 989)}{_digits(r, 4)}",
            lambda r: f"+1{r.choice(US_AREAS)}{r.randint(201, 989)}{_digits(r, 4)}"),
    Country("United Kingdom", "en_GB", 12, ("co.uk", "com"), ("Ltd", "plc", "Group", ""),
            ("London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol", "Edinburgh", "Liverpool",
             "Sheffield", "Cardiff", "Newcastle upon Tyne", "Nottingham", "Cambridge", "Oxford", "Belfast"),
            lambda r: f"+447{r.randint(400, 999)}{_digits(r, 6)}",
            lambda r: f"+44{r.choice(('20', '161', '121', '113', '141', '117', '131'))}{_digits(r, 7)}"),
    Country("Germany", "de_DE", 12, ("de", "com"), ("GmbH", "AG", "GmbH & Co. KG", ""),
            ("Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart", "Düsseldorf",
             "Leipzig", "Dortmund", "Essen", "Bremen", "Dresden", "Hannover", "Nürnberg", "Karlsruhe",
             "Mannheim"),
            lambda r: f"+49{r.choice(('151', '152', '160', '170', '171', '176'))}{_digits(r, 8)}",
            lambda r: f"+49{r.choice(('30', '40', '89', '221', '69', '711'))}{_digits(r, 7)}"),
    Country("France", "fr_FR", 10, ("fr", "com"), ("SA", "SAS", "SARL", ""),
            ("Paris", "Marseille", "Lyon", "Toulouse", "Nice", "Nantes", "Strasbourg", "Montpellier",
             "Bordeaux", "Lille", "Rennes", "Reims", "Grenoble", "Dijon", "Angers"),
            lambda r: f"+33{r.choice('67')}{_digits(r, 8)}",
            lambda r: f"+33{r.randint(1, 5)}{_digits(r, 8)}"),
    Country("Spain", "es_ES", 6, ("es", "com"), ("S.L.", "S.A.", ""),
            ("Madrid", "Barcelona", "Valencia", "Sevilla", "Zaragoza", "Málaga", "Bilbao", "Alicante",
             "Córdoba", "Valladolid", "Vigo", "Gijón"),
            lambda r: f"+346{_digits(r, 8)}",
            lambda r: f"+349{r.randint(1, 8)}{_digits(r, 7)}"),
    Country("Italy", "it_IT", 6, ("it", "com"), ("S.p.A.", "S.r.l.", ""),
            ("Roma", "Milano", "Napoli", "Torino", "Palermo", "Genova", "Bologna", "Firenze", "Bari",
             "Verona", "Venezia", "Padova"),
            lambda r: f"+393{r.randint(20, 49)}{_digits(r, 7)}",
            lambda r: f"+390{r.choice(('2', '6', '11', '51', '55'))}{_digits(r, 7)}"),
    Country("Netherlands", "nl_NL", 5, ("nl", "com"), ("B.V.", "N.V.", ""),
            ("Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg", "Almere",
             "Breda", "Nijmegen"),
            lambda r: f"+316{_digits(r, 8)}",
            lambda r: f"+31{r.choice(('20', '10', '70', '30', '40'))}{_digits(r, 7)}"),
    Country("Sweden", "sv_SE", 5, ("se", "com"), ("AB", ""),
            ("Stockholm", "Göteborg", "Malmö", "Uppsala", "Västerås", "Örebro", "Linköping", "Helsingborg",
             "Jönköping", "Norrköping", "Lund", "Umeå"),
            lambda r: f"+467{r.choice('0236')}{_digits(r, 7)}",
            lambda r: f"+46{r.choice(('8', '31', '40', '18'))}{_digits(r, 7)}"),
]
# fmt: on
LIFECYCLE = (
    ("subscriber", 15),
    ("lead", 30),
    ("marketing_qualified", 12),
    ("sales_qualified", 8),
    ("opportunity", 8),
    ("customer", 18),
    ("evangelist", 2),
    ("churned", 4),
    ("other", 3),
)
SOURCES = (
    ("website", 28),
    ("referral", 14),
    ("event", 10),
    ("cold_outreach", 12),
    ("partner", 8),
    ("advertising", 9),
    ("social", 7),
    ("email", 6),
    ("import", 4),
    ("other", 2),
)
INDUSTRIES = (
    "software",
    "finance",
    "healthcare",
    "manufacturing",
    "retail",
    "education",
    "media",
    "logistics",
    "energy",
    "construction",
    "hospitality",
    "government",
    "nonprofit",
    "other",
)
COMPANY_WORDS = (
    "Systems",
    "Logistics",
    "Partners",
    "Analytics",
    "Foods",
    "Consulting",
    "Labs",
    "Industries",
    "Holdings",
    "Software",
    "Energy",
    "Health",
    "Media",
    "Robotics",
    "Capital",
    "Solutions",
    "Digital",
    "Networks",
    "Pharma",
    "Motors",
    "Textiles",
    "Design",
    "Ventures",
    "Security",
)
TAGS = (
    ("newsletter", 30),
    ("vip", 5),
    ("partner", 6),
    ("webinar-2025", 10),
    ("webinar-2026", 9),
    ("trade-show", 8),
    ("champion", 4),
    ("decision-maker", 9),
    ("renewal", 5),
    ("churn-risk", 3),
    ("beta", 2),
    ("referral", 4),
    ("enterprise", 6),
    ("smb", 8),
    ("do-not-call", 2),
)
DEPARTMENTS = (
    "Sales",
    "Marketing",
    "Engineering",
    "Finance",
    "Operations",
    "IT",
    "Human Resources",
    "Procurement",
    "Legal",
    "Customer Success",
    "Executive",
    "Product",
)
PERSONAL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "proton.me")
LINK_ROLES = ("Buyer", "Champion", "User", "Decision maker", "Economic buyer", "Influencer", None, None)
TEAM_NAMES = (
    "EMEA North",
    "EMEA South",
    "DACH",
    "UK & Ireland",
    "Americas East",
    "Americas West",
    "Americas Central",
    "Strategic Accounts",
)


def _cum(pairs: Any) -> tuple[list[Any], list[float]]:
    values, total, cum = [], 0.0, []
    for value, weight in pairs:
        values.append(value)
        total += weight
        cum.append(total)
    return values, cum


@functools.lru_cache(maxsize=65536)
def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def _build_pools(seed: int) -> list[Country]:
    """Names with their locale's frequency, streets, post codes and regions (Faker, sampled once)."""
    import importlib

    from faker import Faker

    for country in COUNTRIES:
        person = importlib.import_module(f"faker.providers.person.{country.locale}").Provider
        for attr, target in (("first_names", "first"), ("last_names", "last")):
            data = getattr(person, attr)
            pairs = data.items() if isinstance(data, dict) else ((v, 1.0) for v in data)
            setattr(country, target, _cum(pairs))
        fake = Faker(country.locale)
        fake.seed_instance(seed)
        country.streets = [fake.street_address() for _ in range(300)]
        country.postcodes = [fake.postcode() for _ in range(300)]
        for attr in ("state", "administrative_unit"):
            if hasattr(fake, attr):
                country.regions = [getattr(fake, attr)() for _ in range(40)]
                break
    return COUNTRIES


def _zipf_cum(n: int, s: float = 1.0) -> list[float]:
    total, out = 0.0, []
    for k in range(1, n + 1):
        total += 1.0 / k**s
        out.append(total)
    return out


def _pick(rng: random.Random, cum: tuple[list[Any], list[float]]) -> Any:
    values, weights = cum
    return values[bisect.bisect(weights, rng.random() * weights[-1])]


# -- rows ----------------------------------------------------------------------------------------------------

CONTACT_COLS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "additional_emails",
    "phone",
    "mobile_phone",
    "job_title",
    "department",
    "lifecycle_stage",
    "lead_source",
    "tags",
    "birthday",
    "linkedin_url",
    "do_not_contact",
    "description",
    "last_activity_at",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "custom",
    "owner_id",
    "created_by_id",
    "updated_by_id",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
)
COMPANY_COLS = (
    "id",
    "name",
    "domain",
    "industry",
    "employee_count",
    "annual_revenue",
    "phone",
    "linkedin_url",
    "parent_company_id",
    "tags",
    "description",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "custom",
    "owner_id",
    "created_by_id",
    "updated_by_id",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
)
LINK_COLS = ("id", "contact_id", "company_id", "role", "is_primary", "created_at")
ENTRY_COLS = ("object_name", "record_id", "field", "content")
JSON_COLS = {"additional_emails", "tags", "custom"}
BOOL_COLS = {"do_not_contact", "is_primary"}
DATETIME_COLS = {"last_activity_at", "created_at", "updated_at", "deleted_at"}


@dataclass
class Plan:
    n: int
    seed: int
    now: datetime
    start: datetime
    countries: list[Country]
    reps: list[int]  # user ids of sales reps
    managers: list[int]
    rep_weights: list[float]
    companies: list[tuple[int, str, int, int, str]] = field(
        default_factory=list
    )  # id, domain, owner, country, city
    company_cum: list[float] = field(default_factory=list)


def _when(plan: Plan, i: int, total: int, rng: random.Random) -> datetime:
    span = (plan.now - plan.start).total_seconds()
    return plan.start + timedelta(seconds=span * (i - 1 + rng.random()) / total)


def _later(plan: Plan, moment: datetime, rng: random.Random) -> datetime:
    return moment + (plan.now - moment) * rng.random() ** 2


def _owner(plan: Plan, rng: random.Random) -> int:
    if rng.random() < 0.05:
        return rng.choice(plan.managers)
    return plan.reps[bisect.bisect(plan.rep_weights, rng.random() * plan.rep_weights[-1])]


def make_companies(plan: Plan) -> list[dict[str, Any]]:
    rng = random.Random(plan.seed * 7919 + 1)
    total = max(1, plan.n // 5)
    country_cum = _cum((i, c.weight) for i, c in enumerate(plan.countries))
    city_cums = {i: _zipf_cum(len(c.cities)) for i, c in enumerate(plan.countries)}
    domains: set[str] = set()
    rows = []
    for cid in range(1, total + 1):
        ci = _pick(rng, country_cum)
        country = plan.countries[ci]
        a, b = _pick(rng, country.last), _pick(rng, country.last)
        style = rng.random()
        base = (
            a
            if style < 0.4
            else f"{a} & {b}"
            if style < 0.55
            else f"{a} {rng.choice(COMPANY_WORDS)}"
            if style < 0.9
            else f"{a}-{b}"
        )
        suffix = rng.choice(country.suffixes)
        name = f"{base} {suffix}".strip() if suffix else base
        slug = "-".join(p for p in (_ascii(w) for w in base.replace("&", " ").split()) if p) or "company"
        tld = rng.choice(country.tlds)
        domain = f"{slug}.{tld}"
        k = 2
        while domain in domains:
            domain = f"{slug}{k}.{tld}"
            k += 1
        domains.add(domain)
        city = country.cities[bisect.bisect(city_cums[ci], rng.random() * city_cums[ci][-1])]
        created = _when(plan, cid, total, rng)
        owner = _owner(plan, rng)
        size = int(rng.lognormvariate(3.6, 1.6)) + 1
        rows.append(
            {
                "id": cid,
                "name": name,
                "domain": domain,
                "industry": rng.choice(INDUSTRIES),
                "employee_count": size if rng.random() < 0.85 else None,
                "annual_revenue": round(size * rng.uniform(60_000, 400_000), 2)
                if rng.random() < 0.6
                else None,
                "phone": country.landline(rng) if rng.random() < 0.8 else None,
                "linkedin_url": f"https://www.linkedin.com/company/{slug}" if rng.random() < 0.5 else None,
                "parent_company_id": rng.randint(1, cid - 1) if cid > 50 and rng.random() < 0.02 else None,
                "tags": _tags(rng, 0.5),
                "description": None,
                "created_at": created,
                "updated_at": _later(plan, created, rng) if rng.random() < 0.5 else created,
                "version": 1,
                "deleted_at": None,
                "custom": {},
                "owner_id": owner,
                "created_by_id": owner,
                "updated_by_id": owner,
                "street": rng.choice(country.streets),
                "city": city,
                "region": rng.choice(country.regions) if country.regions else None,
                "postal_code": rng.choice(country.postcodes),
                "country": country.name,
            }
        )
        plan.companies.append((cid, domain, owner, ci, city))
    # Older companies have more people: contacts pick a company with a mild skew towards low ids.
    plan.company_cum = list(_zipf_cum(total, 0.35))
    return rows


_TAG_CUM = _cum(TAGS)


def _tags(rng: random.Random, p_any: float) -> list[str]:
    if rng.random() >= p_any:
        return []
    count = 1 if rng.random() < 0.6 else 2 if rng.random() < 0.7 else 3
    return list(dict.fromkeys(_pick(rng, _TAG_CUM) for _ in range(count)))


_STAGE_CUM = _cum(LIFECYCLE)
_SOURCE_CUM = _cum(SOURCES)


def make_contacts(plan: Plan, first_id: int, count: int, emails: set[str]) -> list[dict[str, Any]]:
    """Contacts first_id .. first_id+count-1 (each chunk has its own random stream, independent of others)."""
    rng = random.Random(plan.seed * 1_000_003 + first_id)
    rows = []
    for cid in range(first_id, first_id + count):
        company = plan.companies[bisect.bisect(plan.company_cum, rng.random() * plan.company_cum[-1])]
        comp_id, domain, comp_owner, ci, comp_city = company
        if rng.random() < 0.08:
            ci = rng.randrange(len(plan.countries))
        country = plan.countries[ci]
        first, last = _pick(rng, country.first), _pick(rng, country.last)
        fa, la = _ascii(first) or "x", _ascii(last) or "y"
        style = rng.random()
        local = (
            f"{fa}.{la}"
            if style < 0.6
            else f"{fa[0]}{la}"
            if style < 0.8
            else f"{fa}{la[0]}"
            if style < 0.9
            else fa
        )
        email = f"{local}@{domain}"
        k = 2
        while email in emails:
            email = f"{fa}.{la}{k}@{domain}"
            k += 1
        emails.add(email)
        created = _when(plan, cid, plan.n, rng)
        owner = comp_owner if rng.random() < 0.85 else _owner(plan, rng)
        updated = _later(plan, created, rng) if rng.random() < 0.6 else created
        city = (
            comp_city
            if rng.random() < 0.4
            else country.cities[min(int(len(country.cities) * rng.random() ** 2), len(country.cities) - 1)]
        )
        rows.append(
            {
                "id": cid,
                "first_name": first,
                "last_name": last,
                "email": email,
                "additional_emails": [f"{fa}.{la}{rng.randint(1, 99)}@{rng.choice(PERSONAL_DOMAINS)}"]
                if rng.random() < 0.08
                else [],
                "phone": country.landline(rng) if rng.random() < 0.75 else None,
                "mobile_phone": country.mobile(rng) if rng.random() < 0.45 else None,
                "job_title": rng.choice(JOBS) if rng.random() < 0.85 else None,
                "department": rng.choice(DEPARTMENTS) if rng.random() < 0.6 else None,
                "lifecycle_stage": _pick(rng, _STAGE_CUM),
                "lead_source": _pick(rng, _SOURCE_CUM) if rng.random() < 0.8 else None,
                "tags": _tags(rng, 0.45),
                "birthday": date(rng.randint(1955, 2002), rng.randint(1, 12), rng.randint(1, 28))
                if rng.random() < 0.2
                else None,
                "linkedin_url": f"https://www.linkedin.com/in/{fa}-{la}-{rng.randrange(16**6):06x}"
                if rng.random() < 0.5
                else None,
                "do_not_contact": rng.random() < 0.03,
                "description": rng.choice(NOTES) if rng.random() < 0.08 else None,
                "last_activity_at": _later(plan, created, rng) if rng.random() < 0.6 else None,
                "created_at": created,
                "updated_at": updated,
                "version": 1 if updated == created else 2,
                "deleted_at": _later(plan, updated, rng) if rng.random() < 0.005 else None,
                "custom": {},
                "owner_id": owner,
                "created_by_id": owner,
                "updated_by_id": owner,
                "street": rng.choice(country.streets) if rng.random() < 0.5 else None,
                "city": city,
                "region": rng.choice(country.regions) if country.regions and rng.random() < 0.6 else None,
                "postal_code": rng.choice(country.postcodes) if rng.random() < 0.5 else None,
                "country": country.name,
                "_company": comp_id,
            }
        )
    return rows


JOBS: list[str] = []
NOTES: list[str] = []


def _fill_text_pools(seed: int) -> None:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    JOBS[:] = sorted({fake.job()[:200] for _ in range(1500)})
    NOTES[:] = [f"{fake.sentence(nb_words=12)} {fake.sentence(nb_words=8)}" for _ in range(400)]


def links_for(contacts: list[dict[str, Any]], plan: Plan) -> list[dict[str, Any]]:
    """Each contact's primary company, and a second, non-primary one for about 8% of them (ids: later)."""
    rng = random.Random(plan.seed * 31 + contacts[0]["id"]) if contacts else random.Random(0)
    out = []
    for c in contacts:
        out.append(
            {
                "contact_id": c["id"],
                "company_id": c["_company"],
                "role": rng.choice(LINK_ROLES),
                "is_primary": True,
                "created_at": c["created_at"],
            }
        )
        if rng.random() < 0.08 and len(plan.companies) > 1:
            other = rng.choice(plan.companies)[0]
            if other != c["_company"]:
                out.append(
                    {
                        "contact_id": c["id"],
                        "company_id": other,
                        "role": rng.choice(LINK_ROLES),
                        "is_primary": False,
                        "created_at": _later(plan, c["created_at"], rng),
                    }
                )
    return out


def entries(view: Any, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The app's own search rows (core/search.py `entries_for`) of every live record, as ENTRY_COLS tuples."""
    from sextant.core.search import entries_for

    out = []
    for row in rows:
        if row["deleted_at"] is None:
            out.extend(tuple(e[c] for c in ENTRY_COLS) for e in entries_for(view, SimpleNamespace(**row)))
    return out


# -- value conversion (done in the worker processes) ---------------------------------------------------------


def _sqlite_datetime(value: datetime) -> str:
    # SQLAlchemy's SQLite DATETIME storage format, UTC, always with microseconds (what UTCDateTime writes).
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
    return text if len(text) > 19 else text + ".000000"


def _converters(dialect: str, cols: tuple[str, ...]) -> list[tuple[str, Callable[[Any], Any] | None]]:
    spec: list[tuple[str, Callable[[Any], Any] | None]] = []
    for col in cols:
        fn: Callable[[Any], Any] | None = None
        if col in JSON_COLS:
            fn = json.dumps
        elif dialect == "sqlite" and col in DATETIME_COLS:
            fn = _sqlite_datetime
        elif dialect == "sqlite" and col == "birthday":
            fn = date.isoformat
        elif dialect == "sqlite" and col in BOOL_COLS:
            fn = int
        spec.append((col, fn))
    return spec


def convert(dialect: str, cols: tuple[str, ...], rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    spec = _converters(dialect, cols)
    out = []
    for r in rows:
        out.append(tuple([r[c] if fn is None or r[c] is None else fn(r[c]) for c, fn in spec]))
    return out


_STATE: dict[str, Any] = {}  # set before the worker processes fork


def _company_task(rows: list[dict[str, Any]]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    dialect, views = _STATE["dialect"], _STATE["views"]
    return convert(dialect, COMPANY_COLS, rows), entries(views["companies"], rows)


def _contact_task(
    span: tuple[int, int],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    plan, dialect, views = _STATE["plan"], _STATE["dialect"], _STATE["views"]
    rows = make_contacts(plan, span[0], span[1], set())
    links = links_for(rows, plan)
    return (
        convert(dialect, CONTACT_COLS, rows),
        convert(dialect, LINK_COLS[1:], links),
        entries(views["contacts"], rows),
    )


# -- writers -------------------------------------------------------------------------------------------------


class Writer:
    dialect: str

    def begin_load(self) -> None: ...
    def insert(self, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None: ...
    def end_load(self, log: Callable[[str], None]) -> None: ...
    def close(self) -> None: ...


class SqliteWriter(Writer):
    dialect = "sqlite"
    TABLES = ("contacts", "companies", "contact_companies", "search_entries")

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.indexes: list[tuple[str, str]] = []
        self.triggers: list[tuple[str, str]] = []

    def begin_load(self) -> None:
        c = self.conn
        c.execute("PRAGMA journal_mode=OFF")
        c.execute("PRAGMA synchronous=OFF")
        c.execute("PRAGMA foreign_keys=OFF")
        c.execute("PRAGMA cache_size=-1048576")
        c.execute("PRAGMA temp_store=MEMORY")
        marks = ",".join("?" * len(self.TABLES))
        self.indexes = c.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({marks})",
            self.TABLES,
        ).fetchall()
        self.triggers = c.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='trigger' AND tbl_name='search_entries'"
        ).fetchall()
        for name, _sql in self.indexes:
            c.execute(f'DROP INDEX "{name}"')
        for name, _sql in self.triggers:
            c.execute(f'DROP TRIGGER "{name}"')
        c.execute("BEGIN")

    def insert(self, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        self.conn.executemany(sql, rows)

    def end_load(self, log: Callable[[str], None]) -> None:
        c = self.conn
        c.execute("COMMIT")
        t = time.perf_counter()
        for _name, sql in self.indexes:
            c.execute(sql)
        log(f"indexes rebuilt in {time.perf_counter() - t:.1f}s")
        t = time.perf_counter()
        c.execute("INSERT INTO search_fts(search_fts) VALUES ('rebuild')")
        for _name, sql in self.triggers:
            c.execute(sql)
        log(f"FTS5 index rebuilt in {time.perf_counter() - t:.1f}s")
        t = time.perf_counter()
        c.execute("ANALYZE")
        c.execute("PRAGMA journal_mode=WAL")
        log(f"ANALYZE in {time.perf_counter() - t:.1f}s")

    def close(self) -> None:
        self.conn.close()


class PostgresWriter(Writer):
    dialect = "postgresql"
    TABLES = ("contacts", "companies", "contact_companies", "search_entries")

    def __init__(self, url: str) -> None:
        self.conn = psycopg.connect(_libpq_url(url), autocommit=True)
        self.indexes: list[tuple[str, str]] = []

    def begin_load(self) -> None:
        c = self.conn
        c.execute(
            "SET session_replication_role = replica"
        )  # no FK triggers during the load (data is consistent)
        c.execute("SET maintenance_work_mem = '1GB'")
        self.indexes = c.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            "AND i.tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)",
            (list(self.TABLES),),
        ).fetchall()
        for name, _sql in self.indexes:
            c.execute(f'DROP INDEX "{name}"')
        c.execute("BEGIN")

    def insert(self, table: str, cols: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        with self.conn.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row(r)

    def end_load(self, log: Callable[[str], None]) -> None:
        c = self.conn
        c.execute("COMMIT")
        for table in self.TABLES:
            c.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT max(id) FROM {table}), 1))"
            )
        t = time.perf_counter()
        for _name, sql in self.indexes:
            c.execute(sql)
        log(f"indexes (with the full-text GIN index) rebuilt in {time.perf_counter() - t:.1f}s")
        c.execute("SET session_replication_role = DEFAULT")
        t = time.perf_counter()
        c.execute("VACUUM ANALYZE")
        log(f"VACUUM ANALYZE in {time.perf_counter() - t:.1f}s")

    def close(self) -> None:
        self.conn.close()


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _sa_url(url: str) -> str:
    return (
        url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    )


def default_target(db: str, n: int) -> str:
    if db == "sqlite":
        return f"/tmp/sextant-bench-{n}.db"  # noqa: S108 - a throwaway benchmark database
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/bench_n{n}"


def sqlalchemy_url(db: str, target: str) -> str:
    return f"sqlite:///{target}" if db == "sqlite" else _sa_url(target)


def fresh_database(db: str, target: str) -> None:
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(target + suffix).unlink(missing_ok=True)
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        return
    name = target.rsplit("/", 1)[1].split("?")[0]
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"refusing odd database name {name!r}")
    admin = _libpq_url(target).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(target: str) -> None:
    name = target.rsplit("/", 1)[1].split("?")[0]
    admin = _libpq_url(target).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- users ---------------------------------------------------------------------------------------------------


def create_users(url: str) -> tuple[list[int], list[int]]:
    """Teams, managers and reps through the accounts service (argon2 hashing memoised: one password)."""
    from sqlalchemy.orm import Session

    from sextant.accounts import service
    from sextant.core.db import make_engine
    from sextant.core.permissions import SYSTEM

    original = service.hash_password
    service.hash_password = functools.lru_cache(maxsize=4)(original)
    engine = make_engine(url)
    try:
        with Session(engine) as s:

            def user(email: str, name: str, role: str, team: int | None, manager: int | None) -> int:
                return service.create_user(
                    s,
                    SYSTEM,
                    {
                        "email": email,
                        "password": PASSWORD,
                        "full_name": name,
                        "role": role,
                        "team_id": team,
                        "manager_id": manager,
                    },
                ).id

            user(ADMIN_EMAIL, "Bench Admin", "admin", None, None)
            vp = user(f"vp@{DOMAIN}", "Valerie Park", "manager", None, None)
            teams, managers = [], []
            for i, team_name in enumerate(TEAM_NAMES[:N_TEAMS], start=1):
                team = service.create_team(s, SYSTEM, {"name": team_name, "description": f"Sales team {i}"})
                teams.append(team.id)
                managers.append(user(manager_email(i), f"Manager {team_name}", "manager", team.id, vp))
            reps = [
                user(
                    rep_email(i),
                    f"Rep {i:02d}",
                    "sales",
                    teams[(i - 1) % len(teams)],
                    managers[(i - 1) % len(teams)],
                )
                for i in range(1, N_REPS + 1)
            ]
            s.commit()
    finally:
        service.hash_password = original
        engine.dispose()
    return reps, managers


# -- main ----------------------------------------------------------------------------------------------------


def _dedupe_emails(
    rows: list[tuple[Any, ...]], ents: list[tuple[Any, ...]], emails: set[str], at: int
) -> None:
    """Emails are unique among live contacts: a clash (same name at the same company, generated in two
    chunks) gets a number, in the contact row and in its search row."""
    where: dict[int, int] | None = None
    for i, row in enumerate(rows):
        email = row[at]
        if email not in emails:
            emails.add(email)
            continue
        local, domain = email.split("@")
        k = 2
        while f"{local}{k}@{domain}" in emails:
            k += 1
        email = f"{local}{k}@{domain}"
        emails.add(email)
        rows[i] = (*row[:at], email, *row[at + 1 :])
        if where is None:
            where = {r[1]: j for j, r in enumerate(ents) if r[2] == "email"}
        j = where.get(row[0])
        if j is not None:
            ents[j] = (*ents[j][:3], email)


def generate(
    db: str, target: str, n: int, *, seed: int = 42, workers: int = 2, log: Callable[[str], None] = print
) -> dict[str, Any]:
    import sextant.app  # noqa: F401 - registers every object
    from sextant.bootstrap import upgrade
    from sextant.core.metadata import ObjectView, registry

    started = time.perf_counter()
    url = sqlalchemy_url(db, target)
    fresh_database(db, target)
    upgrade(url)
    reps, managers = create_users(url)
    log(f"migrated, {len(reps)} reps and {len(managers)} managers in {time.perf_counter() - started:.1f}s")

    countries = _build_pools(seed)
    _fill_text_pools(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(seed)
    rep_weights = list(_cum((r, rng.uniform(0.4, 1.6)) for r in reps)[1])
    plan = Plan(
        n=n,
        seed=seed,
        now=now,
        start=now - timedelta(days=730),
        countries=countries,
        reps=reps,
        managers=managers,
        rep_weights=rep_weights,
    )
    views = {
        name: ObjectView(registry.get(name), registry.get(name).standard(), "private")
        for name in ("contacts", "companies")
    }

    _STATE.update(plan=plan, dialect=db, views=views)
    writer: Writer = SqliteWriter(target) if db == "sqlite" else PostgresWriter(target)
    counts = {"contacts": 0, "companies": 0, "contact_companies": 0, "search_entries": 0}
    ids = {"entry": 1, "link": 1}

    def put_entries(rows: list[tuple[Any, ...]]) -> None:
        first = ids["entry"]
        writer.insert("search_entries", ("id", *ENTRY_COLS), [(first + i, *r) for i, r in enumerate(rows)])
        ids["entry"] += len(rows)
        counts["search_entries"] += len(rows)

    t = time.perf_counter()
    companies = make_companies(plan)  # before the fork: the workers need plan.companies
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 0 else None
    mapper: Any = pool.imap if pool else map
    try:
        writer.begin_load()
        for rows, ents in mapper(
            _company_task, [companies[i : i + CHUNK] for i in range(0, len(companies), CHUNK)]
        ):
            writer.insert("companies", COMPANY_COLS, rows)
            put_entries(ents)
            counts["companies"] += len(rows)
        del companies
        log(f"companies: {counts['companies']} in {time.perf_counter() - t:.1f}s")
        emails: set[str] = set()
        email_at = CONTACT_COLS.index("email")
        t = time.perf_counter()
        spans = [(first, min(CHUNK, n - first + 1)) for first in range(1, n + 1, CHUNK)]
        for rows, links, ents in mapper(_contact_task, spans):
            _dedupe_emails(rows, ents, emails, email_at)
            writer.insert("contacts", CONTACT_COLS, rows)
            writer.insert(
                "contact_companies", LINK_COLS, [(ids["link"] + i, *r) for i, r in enumerate(links)]
            )
            ids["link"] += len(links)
            put_entries(ents)
            counts["contacts"] += len(rows)
            counts["contact_companies"] += len(links)
            done = counts["contacts"]
            if done % 200_000 < CHUNK or done == n:
                log(f"contacts: {done}/{n} ({done / (time.perf_counter() - t):,.0f}/s)")
        writer.end_load(log)
    finally:
        if pool:
            pool.terminate()
        writer.close()
    elapsed = time.perf_counter() - started
    log(
        f"generate {db} n={n} contacts={counts['contacts']} companies={counts['companies']} "
        f"links={counts['contact_companies']} search_entries={counts['search_entries']} seconds={elapsed:.1f}"
    )
    return {**counts, "seconds": elapsed, "url": url}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="number of contacts (companies: n/5)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--path", help="SQLite file (default /tmp/sextant-bench-N.db)")
    parser.add_argument(
        "--url", help="PostgreSQL URL (default postgresql+psycopg://postgres@127.0.0.1/bench_nN)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="processes generating rows (0: all in this process)",
    )
    args = parser.parse_args(argv)
    if args.n < 10:
        parser.error("--n must be at least 10")
    target = (args.path if args.db == "sqlite" else args.url) or default_target(args.db, args.n)
    generate(
        args.db, target, args.n, seed=args.seed, workers=args.workers, log=lambda m: print(m, flush=True)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
