"""The `sextant` command line: migrate, create-user, seed --demo, reindex (typer's CliRunner, in process)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text
from typer.testing import CliRunner

from sextant.cli import app as cli

runner = CliRunner()


def sextant(db_url: str, *args: str) -> Any:
    return runner.invoke(cli, list(args), env={"DATABASE_URL": db_url})


def _count(model: Any) -> int:
    from sextant.core.db import session_scope

    with session_scope() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def pointed_at(scratch_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DATABASE_URL names the scratch database for this test (the `db` fixture's URL is restored after)."""
    from sextant.core.config import get_settings
    from sextant.core.db import reset_engine

    monkeypatch.setenv("DATABASE_URL", scratch_db_url)
    get_settings.cache_clear()
    reset_engine()
    yield scratch_db_url
    reset_engine()
    monkeypatch.undo()
    get_settings.cache_clear()


def test_migrate_brings_an_empty_database_to_head_with_the_default_roles(pointed_at: str) -> None:
    from alembic.script import ScriptDirectory

    from sextant.accounts.models import Role
    from sextant.core.db import session_scope
    from sextant.core.metadata import ObjectSetting, registry
    from sextant.core.migrate import alembic_config

    result = sextant(pointed_at, "migrate")
    assert result.exit_code == 0, result.output
    assert "database is up to date" in result.output
    head = ScriptDirectory.from_config(alembic_config(pointed_at)).get_current_head()
    with session_scope() as s:
        assert s.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
        assert {"admin", "manager", "sales", "read_only"} <= set(s.scalars(select(Role.name)))
        assert set(s.scalars(select(ObjectSetting.object_name))) == set(registry.names())
    again = sextant(pointed_at, "migrate")  # nothing left to do, and no harm done
    assert again.exit_code == 0, again.output
    assert _count(Role) == 6


def test_create_user_makes_an_administrator_who_can_sign_in(db: str, client: Any) -> None:
    result = sextant(db, "create-user", "--email", "Boss@Example.com", "--password", "a-long-password",
                     "--role", "admin", "--name", "The Boss")
    assert result.exit_code == 0, result.output
    assert "created user #" in result.output and "boss@example.com (admin)" in result.output
    r = client.post("/api/v1/auth/token", data={"username": "boss@example.com",
                                                "password": "a-long-password"})
    assert r.status_code == 200, r.text
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()
    assert me["is_admin"] is True and me["user"]["full_name"] == "The Boss"


def test_create_user_refuses_a_bad_email_and_a_taken_one(db: str) -> None:
    from sextant.accounts.models import User

    bad = sextant(db, "create-user", "--email", "not-an-email", "--password", "a-long-password",
                  "--role", "admin")
    assert bad.exit_code == 1
    assert "error: email:" in bad.output and "Traceback" not in bad.output
    assert _count(User) == 0

    first = sextant(db, "create-user", "--email", "a@example.com", "--password", "a-long-password")
    assert first.exit_code == 0, first.output
    taken = sextant(db, "create-user", "--email", "A@example.com", "--password", "another-password")
    assert taken.exit_code == 1
    assert "already exists" in taken.output
    assert _count(User) == 1

    weak = sextant(db, "create-user", "--email", "b@example.com", "--password", "short")
    assert weak.exit_code == 1 and "error: password:" in weak.output


def test_seed_demo_fills_a_company_once_and_a_second_run_changes_nothing(db: str, client: Any) -> None:
    from sextant.accounts.models import User
    from sextant.contacts.models import Company, Contact, ContactCompany
    from sextant.core.audit import AuditEntry

    assert "nothing to do" in sextant(db, "seed").output
    result = sextant(db, "seed", "--demo", "--contacts", "30", "--companies", "10")
    assert result.exit_code == 0, result.output
    assert "demo data created" in result.output
    counts = {m.__name__: _count(m) for m in (User, Company, Contact, ContactCompany, AuditEntry)}
    assert counts["User"] == 13 and counts["Contact"] == 30 and 1 <= counts["Company"] <= 10
    assert counts["ContactCompany"] == 30  # every person works somewhere

    again = sextant(db, "seed", "--demo", "--contacts", "30", "--companies", "10")
    assert again.exit_code == 0, again.output
    assert "already present" in again.output
    assert {m.__name__: _count(m) for m in (User, Company, Contact, ContactCompany, AuditEntry)} == counts

    r = client.post("/api/v1/auth/token", data={"username": "admin@example.com", "password": "sextant-admin"})
    assert r.status_code == 200, r.text
    found = client.get("/api/v1/contacts", params={"total": "true", "limit": 1},
                       headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()
    assert found["total"] == 30


def test_reindex_rebuilds_a_lost_search_index(db: str) -> None:
    from sextant.core import search
    from sextant.core.db import session_scope
    from sextant.core.permissions import SYSTEM
    from sextant.core.records import create_record

    with session_scope() as s:
        create_record(s, SYSTEM, "contacts", {"first_name": "Grace", "last_name": "Hopper"})
        create_record(s, SYSTEM, "companies", {"name": "Hopper Compilers"})
    with session_scope() as s:
        s.execute(delete(search.SearchEntry))
    with session_scope() as s:
        assert search.search(s, SYSTEM, "hopper") == []

    result = sextant(db, "reindex")
    assert result.exit_code == 0, result.output
    assert "indexed 2 record(s)" in result.output
    with session_scope() as s:
        assert {hit["object"] for hit in search.search(s, SYSTEM, "hopper")} == {"contacts", "companies"}

    only = sextant(db, "reindex", "contacts")
    assert only.exit_code == 0 and "indexed 1 record(s)" in only.output
    unknown = sextant(db, "reindex", "spaceships")
    assert unknown.exit_code == 1 and "no object named 'spaceships'" in unknown.output
