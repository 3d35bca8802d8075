"""Personal API keys: shown once, stored hashed, listed without the secret, revocable at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from sextant.accounts.models import ApiKey
from sextant.core.db import utcnow
from tests.accounts.support import bearer, error_fields, execute, problem, rows, sha256, sign_in

KEYS = "/api/v1/api-keys"
ME = "/api/v1/auth/me"


def new_key(caller, name: str = "CI", **extra) -> dict:
    r = caller.post(KEYS, json={"name": name, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_creating_a_key_returns_the_secret_once(crm):
    user = crm.user()
    created = new_key(user, "Zapier")
    secret = created["key"]
    assert secret.startswith(created["prefix"] + "_") and created["prefix"].startswith("sxk_")
    assert created["name"] == "Zapier" and created["revoked_at"] is None and created["last_used_at"] is None
    listed = user.get(KEYS)
    assert listed.status_code == 200
    [item] = listed.json()
    assert item["id"] == created["id"] and item["prefix"] == created["prefix"]
    assert "key" not in item
    assert secret not in listed.text


def test_only_a_digest_of_the_key_is_stored(crm):
    user = crm.user()
    secret = new_key(user)["key"]
    [stored] = rows(ApiKey)
    assert stored.key_hash == sha256(secret)
    assert all(secret not in str(value) for value in (stored.key_hash, stored.prefix, stored.name))


@pytest.mark.parametrize("how", ["authorization", "x-api-key"])
def test_a_key_authenticates_as_its_owner(crm, client, how):
    user = crm.user()
    secret = new_key(user)["key"]
    headers = bearer(secret) if how == "authorization" else {"X-API-Key": secret}
    r = client.get(ME, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == user.user["id"]
    r = client.post("/api/v1/contacts", json={"first_name": "Made", "last_name": "ByKey"}, headers=headers)
    assert r.status_code == 201, r.text  # no cookie, so no CSRF token needed


def test_using_a_key_records_when_it_was_last_used(crm, client):
    user = crm.user()
    created = new_key(user)
    before = utcnow()
    assert client.get(ME, headers=bearer(created["key"])).status_code == 200
    [item] = user.get(KEYS).json()
    assert item["last_used_at"] is not None
    [stored] = rows(ApiKey)
    assert stored.last_used_at >= before - timedelta(seconds=1)


def test_a_revoked_key_is_refused_on_the_very_next_request(crm, client):
    user = crm.user()
    created = new_key(user)
    assert client.get(ME, headers=bearer(created["key"])).status_code == 200
    assert user.delete(f"{KEYS}/{created['id']}").status_code == 204
    problem(client.get(ME, headers=bearer(created["key"])), 401)
    [item] = user.get(KEYS).json()
    assert item["revoked_at"] is not None


def test_a_key_can_revoke_itself(crm, client):
    user = crm.user()
    created = new_key(user)
    assert client.delete(f"{KEYS}/{created['id']}", headers=bearer(created["key"])).status_code == 204
    problem(client.get(ME, headers=bearer(created["key"])), 401)


def test_revoking_one_key_leaves_the_others_working(crm, client):
    user = crm.user()
    first, second = new_key(user, "one"), new_key(user, "two")
    assert user.delete(f"{KEYS}/{first['id']}").status_code == 204
    assert client.get(ME, headers=bearer(second["key"])).status_code == 200


def test_someone_elses_key_cannot_be_seen_or_revoked(crm, client):
    owner, other = crm.user(), crm.user()
    created = new_key(owner)
    assert other.get(KEYS).json() == []
    problem(other.delete(f"{KEYS}/{created['id']}"), 404)
    assert client.get(ME, headers=bearer(created["key"])).status_code == 200


def test_an_administrator_can_revoke_anyones_key(crm, client):
    owner = crm.user()
    created = new_key(owner)
    assert crm.admin.delete(f"{KEYS}/{created['id']}").status_code == 204
    problem(client.get(ME, headers=bearer(created["key"])), 401)


def test_revoking_an_unknown_key_is_404(crm):
    problem(crm.user().delete(f"{KEYS}/999999"), 404)


def test_an_expired_key_is_refused(crm, client):
    user = crm.user()
    created = new_key(user, expires_at=(utcnow() + timedelta(days=1)).isoformat())
    assert client.get(ME, headers=bearer(created["key"])).status_code == 200
    execute(update(ApiKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    problem(client.get(ME, headers=bearer(created["key"])), 401)


def test_an_expiry_without_an_offset_is_taken_as_utc(crm):
    created = new_key(crm.user(), expires_at="2031-01-02T03:04:05")
    assert created["expires_at"] in ("2031-01-02T03:04:05Z", "2031-01-02T03:04:05+00:00")


def test_an_expiry_with_an_offset_is_stored_in_utc(crm):
    created = new_key(crm.user(), expires_at="2031-01-02T03:04:05+02:00")
    assert created["expires_at"] in ("2031-01-02T01:04:05Z", "2031-01-02T01:04:05+00:00")


def test_a_key_with_a_tampered_secret_is_refused(crm, client):
    secret = new_key(crm.user())["key"]
    problem(client.get(ME, headers=bearer(secret[:-2] + ("AA" if not secret.endswith("AA") else "BB"))), 401)


def test_creating_a_key_with_a_browser_session_needs_the_csrf_token(crm, browser):
    user = crm.user()
    csrf = sign_in(browser, user.user["email"])["csrf_token"]
    problem(browser.post(KEYS, json={"name": "forged"}), 403)
    assert rows(ApiKey) == []
    r = browser.post(KEYS, json={"name": "mine"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text


def test_api_keys_need_a_signed_in_user(client):
    problem(client.get(KEYS), 401)
    problem(client.post(KEYS, json={"name": "x"}), 401)


@pytest.mark.parametrize(("body", "field"), [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": 5}, "name"),
    ({"name": ["CI"]}, "name"),
    ({"name": "n" * 121}, "name"),
    ({"name": "CI", "expires_at": "next tuesday"}, "expires_at"),
    ({"name": "CI", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ({"name": "CI", "expires_at": "9999-12-31T23:59:59-05:00"}, "expires_at"),
    ({"name": "CI", "scopes": ["all"]}, "scopes"),
])
def test_bad_key_input_is_a_422_naming_the_field(crm, body, field):
    user = crm.user()
    assert field in error_fields(user.post(KEYS, json=body))
    assert rows(ApiKey) == []


@pytest.mark.parametrize("key_id", ["abc", "0", "-1", "99999999999999999999999", "1.5"])
def test_a_malformed_key_id_is_a_422_naming_it(crm, key_id):
    assert "key_id" in error_fields(crm.user().delete(f"{KEYS}/{key_id}"))
