"""Administration of users, teams and roles: admin-only, validated, and effective at once."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sextant.accounts.models import ApiKey, AuthSession, Role, Team, User
from sextant.cli import app as cli_app
from tests.accounts.conftest import PRODUCTION_HASHER
from tests.accounts.support import bearer, error_fields, problem, rows, sign_in, token_for
from tests.helpers import PASSWORD

USERS = "/api/v1/users"
TEAMS = "/api/v1/teams"
ROLES = "/api/v1/roles"
ME = "/api/v1/auth/me"
NEW_PASSWORD = "a-brand-new-passphrase"


def stored_user(user_id: int) -> User:
    [user] = rows(User, User.id == user_id)
    return user


# -- passwords ---------------------------------------------------------------------------------------------

def test_passwords_are_stored_as_argon2id_hashes(crm):
    user = crm.user()
    stored = stored_user(user.user["id"])
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


def test_the_shipped_hasher_uses_at_least_the_owasp_minimum_cost():
    # OWASP: argon2id with at least 19 MiB of memory and 2 iterations.
    params = PRODUCTION_HASHER
    assert params.memory_cost >= 19 * 1024 and params.time_cost >= 2
    assert PRODUCTION_HASHER.hash("x").startswith("$argon2id$")


def test_a_hash_made_with_weaker_parameters_is_upgraded_at_the_next_sign_in(crm, client, monkeypatch):
    from argon2 import PasswordHasher

    from sextant.accounts import security

    user = crm.user()
    old_hash = stored_user(user.user["id"]).password_hash
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    token_for(client, user.user["email"])
    new_hash = stored_user(user.user["id"]).password_hash
    assert new_hash != old_hash and "m=2048,t=2,p=1" in new_hash
    token_for(client, user.user["email"])  # and the password still works


@pytest.mark.parametrize("password", ["short", "", "p" * 1025])
def test_a_password_outside_the_allowed_length_is_refused(crm, password):
    r = crm.admin.post(USERS, json={"email": "weak@example.com", "password": password})
    assert "password" in error_fields(r)
    assert rows(User, User.email == "weak@example.com") == []


# -- users -------------------------------------------------------------------------------------------------

def test_an_administrator_creates_a_user_who_can_then_sign_in(crm, client):
    r = crm.admin.post(USERS, json={"email": "New.Hire@Example.com", "password": PASSWORD, "role": "support",
                                    "full_name": "New Hire", "timezone": "Europe/Paris"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["email"] == "new.hire@example.com"
    assert created["role"] == "support" and created["timezone"] == "Europe/Paris" and created["is_active"]
    assert "password" not in created and "password_hash" not in created
    token = token_for(client, "new.hire@example.com")
    assert client.get(ME, headers=bearer(token)).json()["role"] == "support"


def test_a_user_without_a_role_is_a_sales_rep(crm):
    r = crm.admin.post(USERS, json={"email": "rep@example.com", "password": PASSWORD})
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "sales"


def test_an_email_can_belong_to_one_user_only_whatever_its_case(crm):
    crm.user(email="taken@example.com")
    r = crm.admin.post(USERS, json={"email": "TAKEN@example.com", "password": PASSWORD})
    assert problem(r, 409)["errors"][0]["field"] == "email"
    other = crm.user()
    r = crm.admin.patch(f"{USERS}/{other.user['id']}", json={"email": "Taken@Example.com"})
    assert problem(r, 409)["errors"][0]["field"] == "email"
    assert stored_user(other.user["id"]).email == other.user["email"]


def test_a_role_change_shows_in_the_answer_and_applies_to_the_next_request(crm):
    user = crm.user(role="sales")
    assert user.post("/api/v1/contacts", json={"first_name": "Before"}).status_code == 201
    r = crm.admin.patch(f"{USERS}/{user.user['id']}", json={"role": "read_only"})
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "read_only"
    problem(user.post("/api/v1/contacts", json={"first_name": "After"}), 403)
    assert user.get(ME).json()["role"] == "read_only"


def test_deactivating_a_user_ends_their_sessions_tokens_and_keys_at_once(crm, browser, client):
    user = crm.user()
    sign_in(browser, user.user["email"])
    key = user.post("/api/v1/api-keys", json={"name": "k"}).json()["key"]
    assert browser.get(ME).status_code == 200 and client.get(ME, headers=bearer(key)).status_code == 200
    r = crm.admin.patch(f"{USERS}/{user.user['id']}", json={"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False
    problem(browser.get(ME), 401)
    problem(user.get(ME), 401)
    problem(client.get(ME, headers=bearer(key)), 401)
    assert all(s.revoked_at is not None for s in rows(AuthSession, AuthSession.user_id == user.user["id"]))
    assert all(k.revoked_at is not None for k in rows(ApiKey, ApiKey.user_id == user.user["id"]))


def test_a_reactivated_user_signs_in_again_but_old_credentials_stay_dead(crm, client):
    user = crm.user()
    key = user.post("/api/v1/api-keys", json={"name": "k"}).json()["key"]
    crm.admin.patch(f"{USERS}/{user.user['id']}", json={"is_active": False})
    r = crm.admin.patch(f"{USERS}/{user.user['id']}", json={"is_active": True})
    assert r.status_code == 200 and r.json()["is_active"] is True
    problem(user.get(ME), 401)
    problem(client.get(ME, headers=bearer(key)), 401)
    assert client.get(ME, headers=bearer(token_for(client, user.user["email"]))).status_code == 200


def test_a_password_reset_ends_every_session_and_key_and_only_the_new_password_works(crm, browser, client):
    user = crm.user()
    sign_in(browser, user.user["email"])
    key = user.post("/api/v1/api-keys", json={"name": "k"}).json()["key"]
    r = crm.admin.patch(f"{USERS}/{user.user['id']}", json={"password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    problem(browser.get(ME), 401)
    problem(user.get(ME), 401)
    problem(client.get(ME, headers=bearer(key)), 401)
    old_password = {"username": user.user["email"], "password": PASSWORD}
    problem(client.post("/api/v1/auth/token", data=old_password), 401)
    token_for(client, user.user["email"], NEW_PASSWORD)


def test_an_administrator_changing_their_own_password_keeps_only_the_session_in_use(crm, client):
    admin = crm.admin
    other_token = token_for(client, "root@example.com")
    r = admin.patch(f"{USERS}/{admin.user['id']}", json={"password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    assert admin.get(ME).status_code == 200
    problem(client.get(ME, headers=bearer(other_token)), 401)


def test_editing_other_fields_leaves_sessions_alone(crm):
    user = crm.user()
    r = crm.admin.patch(f"{USERS}/{user.user['id']}", json={"full_name": "Renamed", "timezone": "Asia/Tokyo"})
    assert r.status_code == 200 and r.json()["full_name"] == "Renamed"
    assert user.get(ME).status_code == 200


def test_the_last_active_administrator_cannot_be_deactivated_or_demoted(crm):
    admin = crm.admin
    assert "is_active" in error_fields(admin.patch(f"{USERS}/{admin.user['id']}", json={"is_active": False}))
    assert "role" in error_fields(admin.patch(f"{USERS}/{admin.user['id']}", json={"role": "sales"}))
    assert admin.get(ME).json()["is_admin"] is True


def test_an_administrator_can_be_demoted_while_another_remains(crm):
    second = crm.user(role="admin")
    r = crm.admin.patch(f"{USERS}/{second.user['id']}", json={"role": "manager"})
    assert r.status_code == 200 and r.json()["role"] == "manager"
    r = second.get(ME)
    assert r.status_code == 200 and r.json()["is_admin"] is False


def test_a_user_may_not_be_their_own_manager(crm):
    user = crm.user()
    r = crm.admin.patch(f"{USERS}/{user.user['id']}", json={"manager_id": user.user["id"]})
    assert problem(r, 422)["errors"] == [{"field": "manager_id", "message": r.json()["errors"][0]["message"],
                                         "code": "cycle"}]


def test_a_manager_hierarchy_cycle_is_refused(crm):
    boss = crm.user()
    middle = crm.user(manager=boss)
    junior = crm.user(manager=middle)
    r = crm.admin.patch(f"{USERS}/{boss.user['id']}", json={"manager_id": junior.user["id"]})
    assert [e["code"] for e in problem(r, 422)["errors"]] == ["cycle"]
    assert stored_user(boss.user["id"]).manager_id is None
    r = crm.admin.patch(f"{USERS}/{junior.user['id']}", json={"manager_id": boss.user["id"]})
    assert r.status_code == 200 and r.json()["manager_id"] == boss.user["id"]  # skipping a level is fine


def test_a_manager_reaches_the_records_of_their_reports(crm):
    boss = crm.user(role="sales")
    report = crm.user(role="sales", manager=boss)
    contact = report.create("contacts", first_name="Owned", last_name="ByReport")
    assert boss.get(f"/api/v1/contacts/{contact['id']}").status_code == 200
    assert report.get("/api/v1/contacts").json()["items"][0]["id"] == contact["id"]


@pytest.mark.parametrize(("body", "field"), [
    ({"email": "not-an-email", "password": PASSWORD}, "email"),
    ({"email": 12, "password": PASSWORD}, "email"),
    ({"email": "e" * 250 + "@x.com", "password": PASSWORD}, "email"),
    ({"password": PASSWORD}, "email"),
    ({"email": "ok@example.com"}, "password"),
    ({"email": "ok@example.com", "password": PASSWORD, "role": "emperor"}, "role"),
    ({"email": "ok@example.com", "password": PASSWORD, "role": None}, "role"),
    ({"email": "ok@example.com", "password": PASSWORD, "team_id": 424242}, "team_id"),
    ({"email": "ok@example.com", "password": PASSWORD, "team_id": "1"}, "team_id"),
    ({"email": "ok@example.com", "password": PASSWORD, "team_id": 0}, "team_id"),
    ({"email": "ok@example.com", "password": PASSWORD, "team_id": 99999999999999999999}, "team_id"),
    ({"email": "ok@example.com", "password": PASSWORD, "manager_id": True}, "manager_id"),
    ({"email": "ok@example.com", "password": PASSWORD, "manager_id": 424242}, "manager_id"),
    ({"email": "ok@example.com", "password": PASSWORD, "is_active": "yes"}, "is_active"),
    ({"email": "ok@example.com", "password": PASSWORD, "timezone": "America"}, "timezone"),
    ({"email": "ok@example.com", "password": PASSWORD, "timezone": "../../etc/passwd"}, "timezone"),
    ({"email": "ok@example.com", "password": PASSWORD, "timezone": "Mars/Olympus"}, "timezone"),
    ({"email": "ok@example.com", "password": PASSWORD, "full_name": "n" * 201}, "full_name"),
    ({"email": "ok@example.com", "password": PASSWORD, "is_admin": True}, "is_admin"),
])
def test_bad_user_input_is_a_422_naming_the_field(crm, body, field):
    assert field in error_fields(crm.admin.post(USERS, json=body))
    assert rows(User, User.email == "ok@example.com") == []


@pytest.mark.parametrize("user_id", ["abc", "0", "99999999999999999999999"])
def test_a_malformed_user_id_is_a_422_naming_it(crm, user_id):
    assert "user_id" in error_fields(crm.admin.get(f"{USERS}/{user_id}"))
    assert "user_id" in error_fields(crm.admin.patch(f"{USERS}/{user_id}", json={"full_name": "x"}))


def test_an_unknown_user_is_404(crm):
    problem(crm.admin.get(f"{USERS}/424242"), 404)
    problem(crm.admin.patch(f"{USERS}/424242", json={"full_name": "x"}), 404)


def test_everyone_sees_the_directory_but_only_admins_see_roles_and_sign_in_times(crm):
    rep = crm.user()
    colleague = crm.user()
    listed = {u["id"]: u for u in rep.get(USERS).json()}
    assert {rep.user["id"], colleague.user["id"], crm.admin.user["id"]} <= set(listed)
    seen = listed[colleague.user["id"]]
    assert seen["role"] is None and seen["last_login_at"] is None
    assert listed[rep.user["id"]]["role"] == "sales"  # your own record is shown in full
    assert rep.get(f"{USERS}/{colleague.user['id']}").json()["role"] is None
    assert crm.admin.get(f"{USERS}/{colleague.user['id']}").json()["role"] == "sales"


# -- admin only --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["sales", "manager", "read_only"])
def test_non_administrators_cannot_manage_users_teams_or_roles(crm, role):
    team = crm.team("Existing")
    caller = crm.user(role=role)
    victim = crm.user()
    sales_role = next(r for r in crm.admin.get(ROLES).json() if r["name"] == "sales")
    attempts = [
        caller.post(USERS, json={"email": "intruder@example.com", "password": PASSWORD, "role": "admin"}),
        caller.patch(f"{USERS}/{victim.user['id']}", json={"is_active": False}),
        caller.patch(f"{USERS}/{caller.user['id']}", json={"role": "admin"}),
        caller.post(TEAMS, json={"name": "Shadow"}),
        caller.patch(f"{TEAMS}/{team['id']}", json={"name": "Renamed"}),
        caller.delete(f"{TEAMS}/{team['id']}"),
        caller.post(ROLES, json={"name": "superuser", "permissions": {"*": ["read"]}}),
        caller.patch(f"{ROLES}/{sales_role['id']}", json={"permissions": {"*": ["delete"]}}),
    ]
    for r in attempts:
        problem(r, 403)
    assert rows(User, User.email == "intruder@example.com") == []
    assert stored_user(victim.user["id"]).is_active
    assert caller.get(ME).json()["role"] == role
    assert [t.name for t in rows(Team)] == ["Existing"]
    assert rows(Role, Role.name == "superuser") == []
    [sales] = rows(Role, Role.name == "sales")
    assert sales.permissions == sales_role["permissions"]


def test_admin_endpoints_need_a_signed_in_user(client):
    problem(client.get(USERS), 401)
    problem(client.post(USERS, json={"email": "x@example.com", "password": PASSWORD}), 401)
    problem(client.post(TEAMS, json={"name": "x"}), 401)
    problem(client.post(ROLES, json={"name": "x"}), 401)


# -- teams -------------------------------------------------------------------------------------------------

def test_teams_are_created_renamed_and_deleted_by_administrators(crm):
    team = crm.team("Sales EMEA")
    member = crm.user(team=team)
    assert member.user["team_id"] == team["id"]
    r = crm.admin.patch(f"{TEAMS}/{team['id']}", json={"name": "Sales Europe", "description": "EU + UK"})
    assert r.status_code == 200 and r.json() == {"id": team["id"], "name": "Sales Europe",
                                                 "description": "EU + UK"}
    assert [t["name"] for t in member.get(TEAMS).json()] == ["Sales Europe"]
    assert crm.admin.delete(f"{TEAMS}/{team['id']}").status_code == 204
    assert member.get(TEAMS).json() == []
    assert stored_user(member.user["id"]).team_id is None
    problem(crm.admin.delete(f"{TEAMS}/{team['id']}"), 404)


def test_team_names_are_unique(crm):
    crm.team("Support")
    other = crm.team("Success")
    problem(crm.admin.post(TEAMS, json={"name": "Support"}), 409)
    problem(crm.admin.patch(f"{TEAMS}/{other['id']}", json={"name": "Support"}), 409)


def test_team_mates_reach_each_others_records(crm):
    team = crm.team()
    alice, bob, outsider = crm.user(team=team), crm.user(team=team), crm.user()
    contact = alice.create("contacts", first_name="Shared")
    assert bob.get(f"/api/v1/contacts/{contact['id']}").status_code == 200
    problem(outsider.get(f"/api/v1/contacts/{contact['id']}"), 404)


@pytest.mark.parametrize(("body", "field"), [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": 7}, "name"),
    ({"name": "t" * 121}, "name"),
    ({"name": "T", "description": "d" * 1001}, "description"),
    ({"name": "T", "colour": "red"}, "colour"),
])
def test_bad_team_input_is_a_422_naming_the_field(crm, body, field):
    assert field in error_fields(crm.admin.post(TEAMS, json=body))
    assert rows(Team) == []


# -- roles -------------------------------------------------------------------------------------------------

def test_a_custom_role_grants_what_it_lists_and_edits_apply_at_once(crm):
    r = crm.admin.post(ROLES, json={"name": "auditor", "label": "Auditor",
                                    "permissions": {"contacts": ["read"]}})
    assert r.status_code == 201, r.text
    role = r.json()
    assert role["is_admin"] is False and role["permissions"] == {"contacts": ["read"]}
    user = crm.user(role="auditor")
    assert user.get("/api/v1/contacts").status_code == 200
    problem(user.post("/api/v1/contacts", json={"first_name": "No"}), 403)
    r = crm.admin.patch(f"{ROLES}/{role['id']}", json={"permissions": {"contacts": ["read", "create"]}})
    assert r.status_code == 200, r.text
    assert user.post("/api/v1/contacts", json={"first_name": "Yes"}).status_code == 201


def test_the_administrator_role_cannot_be_edited(crm):
    admin_role = next(r for r in crm.admin.get(ROLES).json() if r["name"] == "admin")
    problem(crm.admin.patch(f"{ROLES}/{admin_role['id']}", json={"label": "Root"}), 422)
    [stored] = rows(Role, Role.name == "admin")
    assert stored.label == admin_role["label"] and stored.is_admin


def test_role_names_are_unique(crm):
    problem(crm.admin.post(ROLES, json={"name": "sales"}), 409)


@pytest.mark.parametrize(("body", "field"), [
    ({"label": "No name"}, "name"),
    ({"name": "Bad Name"}, "name"),
    ({"name": "x"}, "name"),
    ({"name": "ok_role", "permissions": {"spaceships": ["read"]}}, "permissions.spaceships"),
    ({"name": "ok_role", "permissions": {"contacts": ["fly"]}}, "permissions.contacts"),
    ({"name": "ok_role", "permissions": {"contacts": "read"}}, "permissions.contacts"),
    ({"name": "ok_role", "permissions": ["read"]}, "permissions"),
    ({"name": "ok_role", "field_access": {"contacts": {"email": "gone"}}}, "field_access.contacts.email"),
    ({"name": "ok_role", "field_access": {"contacts": {"nope": "hidden"}}}, "field_access.contacts.nope"),
    ({"name": "ok_role", "field_access": {"contacts": {"id": "hidden"}}}, "field_access.contacts.id"),
    ({"name": "ok_role", "is_admin": True}, "is_admin"),
])
def test_bad_role_input_is_a_422_naming_the_field(crm, body, field):
    fields = error_fields(crm.admin.post(ROLES, json=body))
    assert any(f == field or f.startswith(field + ".") for f in fields), fields
    assert rows(Role, Role.name == "ok_role") == []


@pytest.mark.parametrize("path", [f"{TEAMS}/abc", f"{TEAMS}/0", f"{ROLES}/99999999999999999999999"])
def test_a_malformed_team_or_role_id_is_a_422(crm, path):
    problem(crm.admin.patch(path, json={"name": "x"}), 422)


# -- the command line --------------------------------------------------------------------------------------

def test_create_user_on_the_command_line_makes_an_administrator_who_can_sign_in(db, client):
    result = CliRunner().invoke(cli_app, ["create-user", "--email", "Boss@Example.com",
                                          "--password", PASSWORD, "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert "boss@example.com" in result.output
    [stored] = rows(User, User.email == "boss@example.com")
    assert stored.password_hash.startswith("$argon2")
    token = token_for(client, "boss@example.com")
    me = client.get(ME, headers=bearer(token)).json()
    assert me["is_admin"] is True and me["role"] == "admin"
    assert client.post(TEAMS, json={"name": "Made by CLI admin"}, headers=bearer(token)).status_code == 201


@pytest.mark.parametrize(("args", "message"), [
    (["--email", "weak@example.com", "--password", "short", "--role", "admin"], "password"),
    (["--email", "who@example.com", "--password", PASSWORD, "--role", "emperor"], "role"),
    (["--email", "not-an-email", "--password", PASSWORD], "email"),
])
def test_create_user_on_the_command_line_refuses_bad_input(db, args, message):
    result = CliRunner().invoke(cli_app, ["create-user", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert rows(User) == []


def test_create_user_on_the_command_line_refuses_a_taken_email(db):
    runner = CliRunner()
    args = ["create-user", "--email", "dup@example.com", "--password", PASSWORD]
    assert runner.invoke(cli_app, args).exit_code == 0
    result = runner.invoke(cli_app, args)
    assert result.exit_code == 1 and "already exists" in result.output
    assert len(rows(User)) == 1
