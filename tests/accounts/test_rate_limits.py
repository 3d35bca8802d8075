"""Failed sign-ins are limited per account and per client address, with counters in the database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from sextant.accounts.models import RateLimitBucket
from sextant.accounts.service import IP_LIMIT_FACTOR
from sextant.core.config import get_settings
from sextant.core.db import utcnow
from tests.accounts.support import execute, problem, rows
from tests.helpers import PASSWORD

LOGIN = "/api/v1/auth/login"
TOKEN = "/api/v1/auth/token"
WRONG = "not-the-password"
ACCOUNT_LIMIT = 5  # the rule: five failures per account within the window, then 429


def login(client: TestClient, email: str, password: str):
    return client.post(LOGIN, json={"email": email, "password": password})


def assert_rate_limited(r) -> int:
    body = problem(r, 429)
    retry_after = int(r.headers["retry-after"])
    assert 0 < retry_after <= get_settings().login_window_seconds
    assert body["retry_after"] == retry_after
    assert "set-cookie" not in r.headers
    return retry_after


def test_the_default_limit_is_five_failures_per_account():
    assert get_settings().login_max_failures == ACCOUNT_LIMIT


def test_the_sixth_attempt_after_five_failures_is_429_even_with_the_right_password(crm, client):
    user = crm.user()
    email = user.user["email"]
    for _ in range(ACCOUNT_LIMIT):
        problem(login(client, email, WRONG), 401)
    assert_rate_limited(login(client, email, PASSWORD))
    assert_rate_limited(client.post(TOKEN, data={"username": email, "password": PASSWORD}))


def test_failures_on_the_token_endpoint_count_towards_the_same_account_limit(crm, client):
    user = crm.user()
    email = user.user["email"]
    for _ in range(3):
        problem(client.post(TOKEN, data={"username": email, "password": WRONG}), 401)
    for _ in range(ACCOUNT_LIMIT - 3):
        problem(login(client, email, WRONG), 401)
    assert_rate_limited(login(client, email, PASSWORD))


def test_the_account_limit_holds_whatever_the_case_of_the_email(crm, client):
    crm.user(email="case@example.com")
    variants = ["case@example.com", "CASE@example.com", "Case@Example.COM", " case@EXAMPLE.com",
                "cAsE@example.com"]
    for variant in variants:
        problem(login(client, variant, WRONG), 401)
    assert_rate_limited(login(client, "case@example.com", PASSWORD))


def test_the_account_limit_holds_from_another_address(crm, app, client):
    user = crm.user()
    email = user.user["email"]
    for _ in range(ACCOUNT_LIMIT):
        problem(login(client, email, WRONG), 401)
    elsewhere = TestClient(app, client=("198.51.100.7", 40000))
    assert_rate_limited(login(elsewhere, email, PASSWORD))


def test_a_locked_account_does_not_lock_other_accounts(crm, client):
    locked, other = crm.user(), crm.user()
    for _ in range(ACCOUNT_LIMIT + 2):
        login(client, locked.user["email"], WRONG)
    assert login(client, other.user["email"], PASSWORD).status_code == 200


def test_unknown_emails_are_limited_like_real_ones(client):
    for _ in range(ACCOUNT_LIMIT):
        problem(login(client, "nobody@example.com", WRONG), 401)
    assert_rate_limited(login(client, "nobody@example.com", WRONG))


def test_one_address_failing_on_many_accounts_is_stopped_but_other_addresses_are_not(crm, app):
    victim = crm.user()
    attacker = TestClient(app, client=("203.0.113.9", 50000))
    ip_limit = ACCOUNT_LIMIT * IP_LIMIT_FACTOR
    for i in range(ip_limit):  # never more than the account limit on any one account
        problem(login(attacker, f"guess{i % 7}-{i}@example.com", WRONG), 401)
    assert_rate_limited(login(attacker, victim.user["email"], PASSWORD))
    colleague = TestClient(app, client=("203.0.113.10", 50000))
    assert login(colleague, victim.user["email"], PASSWORD).status_code == 200


def test_successful_sign_ins_do_not_use_up_the_address_allowance(crm, app):
    user = crm.user()
    office = TestClient(app, client=("192.0.2.44", 50000))
    for _ in range(ACCOUNT_LIMIT * IP_LIMIT_FACTOR + 3):
        assert login(office, user.user["email"], PASSWORD).status_code == 200


def test_a_successful_sign_in_forgives_the_accounts_earlier_failures(crm, client):
    user = crm.user()
    email = user.user["email"]
    for _ in range(ACCOUNT_LIMIT - 1):
        problem(login(client, email, WRONG), 401)
    assert login(client, email, PASSWORD).status_code == 200
    for _ in range(ACCOUNT_LIMIT):
        problem(login(client, email, WRONG), 401)
    assert_rate_limited(login(client, email, PASSWORD))


def test_the_counters_live_in_the_database_so_another_server_process_sees_them(crm, client, db):
    from sextant.app import create_app

    user = crm.user()
    email = user.user["email"]
    for _ in range(ACCOUNT_LIMIT):
        problem(login(client, email, WRONG), 401)
    [bucket] = rows(RateLimitBucket, RateLimitBucket.key == f"login:email:{email}")
    assert bucket.count == ACCOUNT_LIMIT
    with TestClient(create_app(dispatcher=False)) as second_server:
        assert_rate_limited(login(second_server, email, PASSWORD))


def test_the_limit_lifts_when_the_window_is_over(crm, client):
    user = crm.user()
    email = user.user["email"]
    for _ in range(ACCOUNT_LIMIT + 1):
        login(client, email, WRONG)
    assert_rate_limited(login(client, email, PASSWORD))
    window = get_settings().login_window_seconds
    execute(update(RateLimitBucket).values(window_start=utcnow() - timedelta(seconds=window + 1)))
    assert login(client, email, PASSWORD).status_code == 200


def test_retry_after_counts_down_to_the_end_of_the_window(crm, client):
    user = crm.user()
    email = user.user["email"]
    for _ in range(ACCOUNT_LIMIT):
        login(client, email, WRONG)
    window = get_settings().login_window_seconds
    execute(update(RateLimitBucket).where(RateLimitBucket.key == f"login:email:{email}")
            .values(window_start=utcnow() - timedelta(seconds=window - 30)))
    assert 1 <= assert_rate_limited(login(client, email, PASSWORD)) <= 31


def test_parallel_guesses_cannot_slip_past_the_limit(app, monkeypatch):
    from argon2 import PasswordHasher

    from sextant.accounts import security

    # A slow check (as in production) leaves a wide gap between "may this attempt go ahead" and "it failed":
    # attempts must be counted before the check, atomically, or all of these would be let through.
    slow = PasswordHasher(time_cost=4, memory_cost=32 * 1024, parallelism=1)
    monkeypatch.setattr(security, "_DUMMY_HASH", slow.hash("sextant-dummy-password"))
    attempts = ACCOUNT_LIMIT * 2

    def guess(i: int) -> int:
        c = TestClient(app, client=(f"198.51.100.{i + 20}", 40000))
        return login(c, "target@example.com", WRONG).status_code

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        statuses = sorted(pool.map(guess, range(attempts)))
    assert statuses == [401] * ACCOUNT_LIMIT + [429] * (attempts - ACCOUNT_LIMIT)
    [bucket] = rows(RateLimitBucket, RateLimitBucket.key == "login:email:target@example.com")
    assert bucket.count == attempts


def test_stale_counters_are_cleared_on_a_later_successful_sign_in(crm, client):
    user = crm.user()
    login(client, "typo@example.com", WRONG)
    window = get_settings().login_window_seconds
    execute(update(RateLimitBucket).where(RateLimitBucket.key == "login:email:typo@example.com")
            .values(window_start=utcnow() - timedelta(seconds=3 * window)))
    assert login(client, user.user["email"], PASSWORD).status_code == 200
    assert rows(RateLimitBucket, RateLimitBucket.key == "login:email:typo@example.com") == []
