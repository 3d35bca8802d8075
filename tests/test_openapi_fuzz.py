"""Property-based fuzz of the whole OpenAPI document (schemathesis 4, in-process over ASGI).

Every documented operation is called with generated valid and invalid input, as an administrator, against a
database that holds records; each response must not be a 5xx and must match what the document promises for
that operation: a documented status code, the documented content type and the documented body schema.
"""

from __future__ import annotations

import os
import time
import traceback
from typing import Any

import pytest
import schemathesis
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
# Examples per operation and input kind; raise SEXTANT_FUZZ_EXAMPLES for a deeper local run.
MAX_EXAMPLES = int(os.environ.get("SEXTANT_FUZZ_EXAMPLES", "8"))
DERANDOMIZE = os.environ.get("SEXTANT_FUZZ_RANDOM", "") == ""
FUZZ_ADMIN = "fuzz-admin@example.com"


class FuzzAdmin:
    """An administrator the fuzzer cannot lock itself out of.

    Generated calls may deactivate this user, demote them, reset their password (which ends their sessions)
    or log them out; before each call the account is put back and a live bearer token is handed out, so every
    operation keeps being exercised with valid credentials.
    """

    def __init__(self) -> None:
        from sextant.accounts import service
        from sextant.core.db import session_scope
        from sextant.core.permissions import SYSTEM
        from tests.helpers import PASSWORD

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


def _seed(crm: Any) -> None:
    admin = crm.admin
    team = crm.team("Fuzzers")
    crm.user(role="sales", team=team)
    for name, ftype, extra in (("score", "number", {}), ("renewal", "date", {}),
                               ("tier", "single_select", {"options": ["gold", "silver"]}),
                               ("flags", "multi_select", {"options": ["a", "b"]}),
                               ("partner", "reference", {"reference": "companies"})):
        r = admin.post("/api/v1/metadata/objects/contacts/fields", json={"name": name, "type": ftype, **extra})
        assert r.status_code == 201, r.text
    companies = [admin.create("companies", name=f"Company {i}", domain=f"company{i}.com", employee_count=10 * i,
                              annual_revenue=1000.5 * i, tags=["vip"] if i % 2 else [])
                 for i in range(1, 6)]
    for i in range(1, 13):
        contact = admin.create("contacts", first_name=f"Person{i}", last_name="Fuzz", email=f"p{i}@example.com",
                               birthday="1990-01-0" + str(1 + i % 9), tags=["a"], score=i, tier="gold",
                               partner=companies[i % 5]["id"], renewal="2030-05-01")
        r = admin.post(f"/api/v1/contacts/{contact['id']}/companies", json={"company_id": companies[i % 5]["id"]})
        assert r.status_code == 201, r.text
    gone = admin.create("contacts", first_name="Deleted", last_name="Person")
    assert admin.delete(f"/api/v1/contacts/{gone['id']}").status_code == 204


@pytest.fixture
def fuzz_admin(crm: Any) -> FuzzAdmin:
    _seed(crm)
    return FuzzAdmin()


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
    assert len(operations) > 40, "the document lost its operations"
    failures: list[str] = []
    timings: list[tuple[float, str]] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            started = time.perf_counter()
            try:
                _fuzz(operation, mode, fuzz_admin)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid input can be generated"
            except (Exception, FailureGroup) as exc:  # collect every broken operation, then fail once
                failures.append(f"--- {operation.label} ({mode.value} input)\n{_describe(exc)}")
            timings.append((time.perf_counter() - started, f"{operation.label} ({mode.value})"))
    print("slowest:", *(f"{t:5.2f}s {label}" for t, label in sorted(timings, reverse=True)[:15]), sep="\n  ")
    assert not failures, f"{len(failures)} operation(s) broke their contract:\n" + "\n".join(failures)
