"""Sign-in (browser cookie with CSRF, OAuth2 password flow), logout, and how credentials are checked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from sextant.accounts.models import AuthSession, User
from sextant.contacts.models import Contact
from sextant.core.db import utcnow
from tests.accounts.support import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    attributes,
    bearer,
    error_fields,
    execute,
    problem,
    rows,
    set_cookies,
    sha256,
    sign_in,
    token_for,
    with_cookie,
)
from tests.helpers import PASSWORD

LOGIN = "/api/v1/auth/login"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/auth/me"
LOGOUT = "/api/v1/auth/logout"


# -- browser sign-in: the cookie -----------------------------------------------------------------------------

def test_login_sets_an_httponly_samesite_lax_session_cookie_and_a_readable_csrf_cookie(crm, browser):
    user = crm.user(email="ada@example.com")
    r = browser.post(LOGIN, json={"email": "ada@example.com", "password": PASSWORD})
    assert r.status_code == 200, r.text
    cookies = set_cookies(r)
    session_attrs = attributes(cookies[SESSION_COOKIE])
    assert "httponly" in session_attrs
    assert session_attrs["samesite"].lower() == "lax"
    assert session_attrs["path"] == "/"
    assert int(session_attrs["max-age"]) > 0
    csrf_attrs = attributes(cookies[CSRF_COOKIE])
    assert "httponly" not in csrf_attrs  # the page's script must read it to echo it
    assert csrf_attrs["samesite"].lower() == "strict"
    body = r.json()
    assert body["user"]["id"] == user.user["id"]
    assert body["csrf_token"] and body["csrf_token"] == browser.cookies.get(CSRF_COOKIE)
    assert browser.cookies.get(SESSION_COOKIE) not in r.text  # the session secret is only in the cookie


def test_the_session_is_stored_as_a_digest_of_the_cookie_never_the_cookie(crm, browser):
    user = crm.user()
    sign_in(browser, user.user["email"])
    raw = browser.cookies.get(SESSION_COOKIE)
    [stored] = rows(AuthSession, AuthSession.user_id == user.user["id"], AuthSession.kind == "cookie")
    assert stored.token_hash == sha256(raw)
    assert raw not in (stored.token_hash, stored.csrf_token)


def test_a_cookie_session_reads_without_a_csrf_header(crm, browser):
    user = crm.user()
    sign_in(browser, user.user["email"])
    r = browser.get(ME)
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == user.user["id"]
    assert r.json()["csrf_token"] == browser.cookies.get(CSRF_COOKIE)


@pytest.mark.parametrize("csrf", [None, "", "wrong-token"], ids=["no header", "empty header", "wrong header"])
def test_a_cookie_post_without_the_right_csrf_token_is_refused_and_changes_nothing(crm, browser, csrf):
    user = crm.user()
    sign_in(browser, user.user["email"])
    headers = {} if csrf is None else {"X-CSRF-Token": csrf}
    r = browser.post("/api/v1/contacts", json={"first_name": "Eve", "last_name": "Forged"}, headers=headers)
    assert "csrf" in problem(r, 403)["detail"].lower()
    r = browser.post("/api/v1/api-keys", json={"name": "forged"}, headers=headers)
    problem(r, 403)
    assert rows(Contact) == []
    assert browser.get("/api/v1/api-keys").json() == []


def test_a_cookie_post_with_the_csrf_token_of_another_session_is_refused(crm, browser, app):
    user = crm.user()
    sign_in(browser, user.user["email"])
    with TestClient(app) as other_browser:
        other_csrf = sign_in(other_browser, user.user["email"])["csrf_token"]
    r = browser.post("/api/v1/contacts", json={"first_name": "Eve"}, headers={"X-CSRF-Token": other_csrf})
    problem(r, 403)
    assert rows(Contact) == []


def test_a_cookie_post_with_the_sessions_csrf_token_goes_through(crm, browser):
    user = crm.user()
    csrf = sign_in(browser, user.user["email"])["csrf_token"]
    r = browser.post("/api/v1/contacts", json={"first_name": "Ada", "last_name": "Lovelace"},
                     headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    contact = r.json()
    r = browser.patch(f"/api/v1/contacts/{contact['id']}", json={"first_name": "Augusta", "version": 1})
    problem(r, 403)
    r = browser.delete(f"/api/v1/contacts/{contact['id']}")
    problem(r, 403)
    assert [c.first_name for c in rows(Contact)] == ["Ada"]
    r = browser.delete(f"/api/v1/contacts/{contact['id']}", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204


def test_a_cookie_session_is_not_a_bearer_token_and_a_token_is_not_a_cookie(crm, browser, app, client):
    user = crm.user()
    sign_in(browser, user.user["email"])
    raw_cookie = browser.cookies.get(SESSION_COOKIE)
    problem(client.get(ME, headers=bearer(raw_cookie)), 401)
    token = token_for(client, user.user["email"])
    fresh, headers = with_cookie(app, token)
    problem(fresh.get(ME, headers=headers), 401)


def test_login_with_an_uppercase_email_finds_the_account(crm, browser):
    user = crm.user(email="grace@example.com")
    body = sign_in(browser, "  Grace@EXAMPLE.com ")
    assert body["user"]["id"] == user.user["id"]


def test_login_records_the_time_of_the_last_sign_in(crm, browser):
    user = crm.user()
    before = utcnow()
    sign_in(browser, user.user["email"])
    [stored] = rows(User, User.id == user.user["id"])
    assert stored.last_login_at is not None and stored.last_login_at >= before - timedelta(seconds=1)


# -- the OAuth2 password flow --------------------------------------------------------------------------------

def test_the_token_endpoint_follows_the_oauth2_password_flow(crm, client):
    user = crm.user()
    form = {"grant_type": "password", "username": user.user["email"], "password": PASSWORD}
    r = client.post(TOKEN, data=form)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    assert "set-cookie" not in r.headers
    me = client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["user"]["id"] == user.user["id"]
    assert me.json()["csrf_token"] is None
    [stored] = rows(AuthSession, AuthSession.token_hash == sha256(body["access_token"]))
    assert stored.kind == "token" and stored.user_id == user.user["id"]


def test_a_bearer_token_needs_no_csrf_header_to_write(crm):
    user = crm.user()
    r = user.post("/api/v1/contacts", json={"first_name": "Ada"})
    assert r.status_code == 201, r.text


def test_the_token_endpoint_refuses_another_grant_type(crm, client):
    user = crm.user()
    r = client.post(TOKEN, data={"grant_type": "client_credentials", "username": user.user["email"],
                                 "password": PASSWORD})
    assert "grant_type" in error_fields(r)


# -- who is refused, and how -------------------------------------------------------------------------------

@pytest.mark.parametrize("endpoint", [LOGIN, TOKEN])
def test_wrong_password_and_unknown_email_get_the_same_401(crm, client, endpoint):
    crm.user(email="known@example.com")

    def attempt(email: str, password: str):
        if endpoint == LOGIN:
            return client.post(LOGIN, json={"email": email, "password": password})
        return client.post(TOKEN, data={"username": email, "password": password})

    wrong_password = attempt("known@example.com", "not-the-password")
    unknown_email = attempt("nobody@example.com", "not-the-password")
    assert problem(wrong_password, 401) == problem(unknown_email, 401)
    assert wrong_password.headers.get("www-authenticate") == unknown_email.headers.get("www-authenticate")
    assert "set-cookie" not in wrong_password.headers


def test_a_deactivated_user_cannot_log_in_and_is_told_nothing_more(crm, client):
    user = crm.user(email="gone@example.com")
    r = crm.admin.patch(f"/api/v1/users/{user.user['id']}", json={"is_active": False})
    assert r.status_code == 200, r.text
    deactivated = client.post(LOGIN, json={"email": "gone@example.com", "password": PASSWORD})
    unknown = client.post(LOGIN, json={"email": "never@example.com", "password": PASSWORD})
    assert problem(deactivated, 401) == problem(unknown, 401)
    problem(client.post(TOKEN, data={"username": "gone@example.com", "password": PASSWORD}), 401)


def test_requests_without_credentials_are_401_problems_with_a_bearer_challenge(client):
    r = client.get(ME)
    problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", [{"Authorization": "Bearer sxt_made-up"},
                                    {"Authorization": "Bearer sxk_x_y"},
                                    {"X-API-Key": "sxk_made_up"}, {"Authorization": "Bearer "}],
                         ids=["unknown token", "unknown key", "unknown key header", "empty bearer"])
def test_made_up_credentials_are_401(client, crm, header):
    crm.user()
    problem(client.get(ME, headers=header), 401)


def test_an_expired_session_or_token_is_401(crm, browser, app, client):
    user = crm.user()
    sign_in(browser, user.user["email"])
    token = token_for(client, user.user["email"])
    execute(update(AuthSession).where(AuthSession.user_id == user.user["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1)))
    problem(browser.get(ME), 401)
    problem(client.get(ME, headers=bearer(token)), 401)


# -- logout -------------------------------------------------------------------------------------------------

def test_logout_ends_the_cookie_session_at_once(crm, browser, app):
    user = crm.user()
    csrf = sign_in(browser, user.user["email"])["csrf_token"]
    raw = browser.cookies.get(SESSION_COOKIE)
    r = browser.post(LOGOUT, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204, r.text
    cleared = set_cookies(r)
    assert attributes(cleared[SESSION_COOKIE])["max-age"] == "0"
    assert attributes(cleared[CSRF_COOKIE])["max-age"] == "0"
    replay, headers = with_cookie(app, raw, csrf)  # the old cookie, sent again by hand
    problem(replay.get(ME, headers=headers), 401)
    [stored] = rows(AuthSession, AuthSession.token_hash == sha256(raw))
    assert stored.revoked_at is not None


def test_logout_by_cookie_needs_the_csrf_token(crm, browser):
    user = crm.user()
    sign_in(browser, user.user["email"])
    problem(browser.post(LOGOUT), 403)
    assert browser.get(ME).status_code == 200  # a cross-site page cannot sign the user out


def test_logout_ends_only_this_token(crm, client):
    user = crm.user()
    first, second = token_for(client, user.user["email"]), token_for(client, user.user["email"])
    assert client.post(LOGOUT, headers=bearer(first)).status_code == 204
    problem(client.get(ME, headers=bearer(first)), 401)
    assert client.get(ME, headers=bearer(second)).status_code == 200


def test_logout_without_credentials_is_401(client):
    problem(client.post(LOGOUT), 401)


# -- bad input is a 4xx problem naming the field, never a 500 ------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({"password": PASSWORD}, "email"),
    ({"email": "a@example.com"}, "password"),
    ({"email": 42, "password": PASSWORD}, "email"),
    ({"email": "a@example.com", "password": ["x"]}, "password"),
    ({"email": None, "password": PASSWORD}, "email"),
    ({"email": "", "password": PASSWORD}, "email"),
    ({"email": "a@example.com", "password": ""}, "password"),
    ({"email": "a" * 250 + "@example.com", "password": PASSWORD}, "email"),
    ({"email": "a@example.com", "password": "p" * 1025}, "password"),
    ({"email": "a@example.com", "password": PASSWORD, "remember_me": True}, "remember_me"),
])
def test_bad_login_input_is_a_422_naming_the_field(client, body, field):
    assert field in error_fields(client.post(LOGIN, json=body))


def test_login_with_malformed_json_is_a_422_problem(client):
    r = client.post(LOGIN, content=b'{"email": "a@example.com", "password": ', headers={
        "content-type": "application/json"})
    body = problem(r, 422)
    assert [e["code"] for e in body["errors"]] == ["malformed_json"]


@pytest.mark.parametrize("payload", [b"[]", b'"a@example.com"', b"null"], ids=["array", "string", "null"])
def test_login_with_a_json_body_that_is_not_an_object_is_a_422_problem(client, payload):
    problem(client.post(LOGIN, content=payload, headers={"content-type": "application/json"}), 422)


def test_login_with_a_form_body_is_refused(client, crm):
    crm.user(email="form@example.com")  # a cross-site HTML form cannot post JSON, so cannot sign anyone in
    r = client.post(LOGIN, data={"email": "form@example.com", "password": PASSWORD})
    problem(r, 422)
    assert "set-cookie" not in r.headers


@pytest.mark.parametrize(("form", "field"), [
    ({"password": PASSWORD}, "username"),
    ({"username": "a@example.com"}, "password"),
    ({"username": "", "password": PASSWORD}, "username"),
    ({"username": "a" * 250 + "@example.com", "password": PASSWORD}, "username"),
    ({"username": "a@example.com", "password": "p" * 1025}, "password"),
])
def test_bad_token_input_is_a_422_naming_the_field(client, form, field):
    assert field in error_fields(client.post(TOKEN, data=form))


def test_a_token_request_with_a_json_body_is_a_422_naming_the_form_fields(client):
    fields = error_fields(client.post(TOKEN, json={"username": "a@example.com", "password": PASSWORD}))
    assert {"username", "password"} <= set(fields)


def test_an_email_whose_lowercase_is_longer_than_the_column_fails_cleanly(client):
    # 'İ'.lower() is two characters: the account key of the failure counter must still fit its column.
    problem(client.post(LOGIN, json={"email": "İ" * 254, "password": "x"}), 401)
