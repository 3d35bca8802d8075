"""Property-based fuzz of the whole OpenAPI document (schemathesis 4, in process over ASGI).

Every documented operation is called with generated valid and invalid input, as an administrator, against a
database that holds records of every object. No answer may be a 5xx, and each must keep the promises the
document makes for its operation: a documented status code, the documented content type (problem+json for
errors) and a body that validates against the documented schema.

The run is deterministic by default. SEXTANT_FUZZ_RANDOM=1 draws new inputs every run, and
SEXTANT_FUZZ_EXAMPLES=40 fuzzes deeper (locally, before a release).
"""

from __future__ import annotations

import os
import time
import traceback
from typing import Any

import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = int(os.environ.get("SEXTANT_FUZZ_EXAMPLES", "6"))  # per operation and kind of input
DERANDOMIZE = os.environ.get("SEXTANT_FUZZ_RANDOM", "") == ""
FUZZ_ADMIN = "fuzz-admin@example.com"
PASSWORD = "correct-horse-battery"


class FuzzAdmin:
    """An administrator the fuzzer cannot lock itself out of.

    Generated calls may deactivate this user, demote them, reset their password (which ends their sessions)
    or sign them out; before each call the account is put back and a live bearer token handed out, so every
    operation keeps being exercised with valid credentials.
    """

    def __init__(self) -> None:
        from sextant.accounts import service
        from sextant.core.db import session_scope
        from sextant.core.permissions import SYSTEM

        with session_scope() as s:
            self.user_id = service.create_user(s, SYSTEM, {"email": FUZZ_ADMIN, "password": PASSWORD,
                                                           "role": "admin", "full_name": "Fuzz"}).id
        self.token: str | None = None

    def headers(self) -> dict[str, str]:
        from sqlalchemy import select

        from sextant.accounts import service
        from sextant.accounts.models import Role, User
        from sextant.core.db import session_scope

        with session_scope() as s:
            user = s.get(User, self.user_id)
            assert user is not None
            admin_role = s.scalar(select(Role.id).where(Role.name == "admin"))
            if not user.is_active or user.role_id != admin_role:
                user.is_active, user.role_id = True, admin_role
            if self.token is None or service.resolve_session_token(s, self.token, kind="token") is None:
                self.token = service.start_session(s, user, "token").raw_token
        return {"Authorization": f"Bearer {self.token}"}


def _ok(r: Any, status: int = 201) -> dict[str, Any]:
    assert r.status_code == status, r.text
    return r.json()


def _seed(crm: Any) -> None:
    """A few records of every kind, linked to each other, one in the trash, with custom field values."""
    admin = crm.admin
    crm.user(role="sales", team=crm.team("Fuzzers"))
    _ok(admin.post("/api/v1/api-keys", json={"name": "fuzz key"}))
    for name, ftype, extra in (("score", "number", {}), ("renewal", "date", {}),
                               ("tier", "single_select", {"options": ["gold", "silver"]}),
                               ("flags", "multi_select", {"options": ["a", "b"]}),
                               ("partner", "reference", {"reference": "companies"})):
        field = {"name": name, "type": ftype, **extra}
        _ok(admin.post("/api/v1/metadata/objects/contacts/fields", json=field))
    companies = [admin.create("companies", name=f"Company {i}", domain=f"company{i}.com", tags=["vip"],
                              employee_count=10 * i, annual_revenue=1000.5 * i) for i in range(1, 5)]
    contacts = []
    for i in range(1, 9):
        company = companies[i % len(companies)]["id"]
        contacts.append(admin.create("contacts", first_name=f"Person{i}", last_name="Fuzz", tags=["a"],
                                     email=f"p{i}@example.com", birthday=f"1990-01-0{i}", score=i,
                                     tier="gold", flags=["a"], partner=company, renewal="2030-05-01"))
        _ok(admin.post(f"/api/v1/contacts/{contacts[-1]['id']}/companies", json={"company_id": company}))
    gone = admin.create("contacts", first_name="Deleted", last_name="Person")
    assert admin.delete(f"/api/v1/contacts/{gone['id']}").status_code == 204
    pipeline = _ok(admin.post("/api/v1/pipelines", json={"name": "Sales", "is_default": True, "stages": [
        {"name": "New", "probability": 10}, {"name": "Won", "probability": 100, "kind": "won"},
        {"name": "Lost", "kind": "lost"}]}))
    for i in range(1, 4):
        deal = admin.create("deals", name=f"Deal {i}", pipeline_id=pipeline["id"])
        _ok(admin.post(f"/api/v1/deals/{deal['id']}/contacts", json={"contact_id": contacts[i]["id"]}))
    for i in range(1, 4):
        admin.create("leads", last_name=f"Lead{i}", email=f"lead{i}@example.com", company_name="Prospect Ltd")
        admin.create("activities", kind="call", subject=f"Call {i}")
        admin.create("tasks", title=f"Task {i}")


@pytest.fixture
def fuzz_admin(crm: Any, monkeypatch: pytest.MonkeyPatch) -> FuzzAdmin:
    from sextant.accounts import security

    # argon2id at a fraction of the production cost: generated sign-ins and user creations hash a lot.
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(security, "_hasher", fast)
    monkeypatch.setattr(security, "_DUMMY_HASH", fast.hash("sextant-dummy-password"))
    _seed(crm)
    return FuzzAdmin()


def _can_be_invalid(operation: Any) -> bool:
    """Whether negative input exists at all: a body, a constrained parameter or a required non-path one.
    (A path segment documented as any string cannot be sent invalid; generating it only wastes the budget.)"""
    raw = operation.definition.raw
    if "requestBody" in raw:
        return True
    for param in raw.get("parameters", []):
        schema = {k: v for k, v in param.get("schema", {}).items() if k not in ("title", "description")}
        if schema != {"type": "string"} or (param.get("required") and param["in"] != "path"):
            return True
    return False


def _describe(exc: BaseException) -> str:
    if isinstance(exc, FailureGroup):
        return str(exc)  # schemathesis' report: the broken check, the response and a curl line
    if isinstance(exc, BaseExceptionGroup):
        return "\n".join(_describe(e) for e in exc.exceptions)
    # The in-process client re-raises what the application raised: that request was answered with a 500.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/sextant/" in f.filename]
    where = f"  at {frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}\n" if frames else ""
    return where + "".join(traceback.format_exception_only(exc))


def _fuzz(operation: Any, mode: GenerationMode, fuzz_admin: FuzzAdmin) -> None:
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        case.call_and_validate(headers=fuzz_admin.headers(), checks=CHECKS)

    run()


def test_every_operation_keeps_its_documented_contract(app: Any, fuzz_admin: FuzzAdmin) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]  # an unreadable operation raises
    assert len(operations) > 100, "the document lost its operations"
    failures: list[str] = []
    timings: list[tuple[float, str]] = []
    for operation in operations:
        modes = [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if _can_be_invalid(operation) else [])
        for mode in modes:
            started = time.perf_counter()
            try:
                _fuzz(operation, mode, fuzz_admin)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid input can be generated"
            except (Exception, FailureGroup) as exc:  # collect every broken operation, then fail once
                failures.append(f"--- {operation.label} ({mode.value} input)\n{_describe(exc)}")
            timings.append((time.perf_counter() - started, f"{operation.label} ({mode.value})"))
    print("slowest:", *(f"{t:5.2f}s {label}" for t, label in sorted(timings, reverse=True)[:10]), sep="\n  ")
    assert not failures, f"{len(failures)} operation(s) broke their contract:\n" + "\n".join(failures)


# -- what the fuzz found, pinned down ----------------------------------------------------------------------

BIG = 2**40  # beyond every INTEGER column (32-bit on PostgreSQL); 2**70 is beyond SQLite's 64 bits too


def _problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


def test_numbers_beyond_the_columns_are_refused_with_422_never_a_500(crm: Any) -> None:
    admin = crm.admin
    company = admin.create("companies", name="Acme")
    for huge in (BIG, 2**70):
        _problem(admin.get(f"/api/v1/contacts/{huge}"), 422)
        _problem(admin.get(f"/api/v1/users/{huge}"), 422)  # a router without bounds: the safety net
        _problem(admin.post(f"/api/v1/contacts/{huge}/companies", json={"company_id": company["id"]}), 404)
        _problem(admin.patch("/api/v1/companies/bulk", json={"records": [{"id": huge, "name": "X"}]}), 422)
        _problem(admin.post("/api/v1/companies", json={"name": "Big", "employee_count": huge}), 422)
        _problem(admin.post("/api/v1/companies", json={"name": "Child", "parent_company_id": huge}), 422)
        _problem(admin.post("/api/v1/companies/query", json={
            "filter": {"field": "employee_count", "op": "gt", "value": huge}}), 422)
        _problem(admin.post("/api/v1/companies/query", json={
            "filter": {"field": "owner_id", "op": "eq", "value": huge}}), 422)
    assert admin.get(f"/api/v1/companies/{company['id']}").status_code == 200


def test_unknown_api_paths_answer_a_problem_404() -> None:
    from fastapi.testclient import TestClient

    from sextant.app import create_app

    with TestClient(create_app(dispatcher=False)) as client:
        assert _problem(client.get("/api/v1/no-such-thing"), 404)["instance"] == "/api/v1/no-such-thing"


def test_dates_before_the_year_1000_come_back_as_valid_iso_8601(crm: Any) -> None:
    admin = crm.admin
    activity = admin.create("activities", kind="meeting", subject="Ancient", start_at="0154-12-24T01:08:44Z")
    assert activity["start_at"] == "0154-12-24T01:08:44.000000Z"


def test_a_query_with_a_sort_that_is_not_text_is_a_422(crm: Any) -> None:
    for sort in (130, -5.0e16, True, {"by": "name"}, ["name", 3]):
        body = _problem(crm.admin.post("/api/v1/contacts/query", json={"sort": sort}), 422)
        assert body["errors"][0]["field"] == "sort"


def test_an_unparseable_url_or_domain_is_a_422(crm: Any) -> None:
    body = _problem(crm.admin.post("/api/v1/companies", json={"name": "X", "linkedin_url": "http://[x"}), 422)
    assert body["errors"][0]["field"] == "linkedin_url"
    body = _problem(crm.admin.post("/api/v1/companies", json={"name": "X", "domain": "http://[x"}), 422)
    assert body["errors"][0]["field"] == "domain"
