"""Saved list views: private or shared with a team, validated like a list request, owner/admin edits."""

from __future__ import annotations

from typing import Any

from tests.helpers import error_fields, problem

URL = "/api/v1/saved-views"
LYON = {
    "and": [
        {"field": "city", "op": "eq", "value": "Lyon"},
        {
            "or": [
                {"field": "lifecycle_stage", "op": "eq", "value": "customer"},
                {"field": "created_at", "op": "in_last", "value": {"amount": 30, "unit": "days"}},
            ]
        },
    ]
}


def _view(caller: Any, **body: Any) -> dict[str, Any]:
    r = caller.post(URL, json={"object": "contacts", "name": "Lyon customers", **body})
    assert r.status_code == 201, r.text
    return r.json()


def test_private_view_round_trip_and_its_list_opens(crm: Any) -> None:
    rep = crm.user("sales", team=crm.team("North"))
    rep.create("contacts", first_name="Ana", last_name="A", city="Lyon", lifecycle_stage="customer")
    rep.create("contacts", first_name="Bo", last_name="B", city="Paris")
    view = _view(rep, columns=["email", "city"], sort="-last_name", filter=LYON)
    assert view["shared"] is False and view["team_id"] is None and view["editable"] is True
    assert (view["columns"], view["sort"], view["filter"], view["version"]) == (
        ["email", "city"],
        "-last_name",
        LYON,
        1,
    )
    assert [v["id"] for v in rep.get(URL, params={"object": "contacts"}).json()] == [view["id"]]
    assert rep.get(URL, params={"object": "deals"}).json() == []
    # the saved filter is a list request as it stands
    import json

    page = rep.get("/api/v1/contacts", params={"filter": json.dumps(view["filter"]), "sort": view["sort"]})
    assert [c["first_name"] for c in page.json()["items"]] == ["Ana"]


def test_shared_with_a_team_is_seen_by_team_mates_only_and_changed_by_the_owner_only(crm: Any) -> None:
    north, south = crm.team("North"), crm.team("South")
    owner = crm.user("sales", team=north)
    mate = crm.user("sales", team=north)
    outsider = crm.user("sales", team=south)
    private = _view(owner, name="Mine only")
    shared = _view(owner, name="Team view", team_id=north["id"], filter=LYON)
    assert shared["shared"] is True and shared["team"] == "North"

    seen = {v["name"]: v for v in mate.get(URL).json()}
    assert set(seen) == {"Team view"} and seen["Team view"]["editable"] is False
    assert mate.get(f"{URL}/{shared['id']}").status_code == 200
    problem(mate.get(f"{URL}/{private['id']}"), 404)
    assert outsider.get(URL).json() == []
    problem(outsider.get(f"{URL}/{shared['id']}"), 404)
    problem(outsider.patch(f"{URL}/{shared['id']}", json={"name": "x"}), 404)

    problem(mate.patch(f"{URL}/{shared['id']}", json={"name": "Hijacked"}), 403)
    problem(mate.delete(f"{URL}/{shared['id']}"), 403)
    # a rep may share with their own team only
    assert error_fields(
        owner.post(URL, json={"object": "contacts", "name": "x", "team_id": south["id"]})
    ) == ["team_id"]
    # unsharing makes it private again: the team-mate loses it
    r = owner.patch(f"{URL}/{shared['id']}", json={"team_id": None}, headers={"If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["shared"] is False
    problem(mate.get(f"{URL}/{shared['id']}"), 404)


def test_admin_sees_shared_views_not_private_ones_and_may_change_them(crm: Any) -> None:
    north = crm.team("North")
    owner = crm.user("sales", team=north)
    private = _view(owner, name="Private")
    shared = _view(owner, name="Shared", team_id=north["id"])
    admin = crm.admin
    names = {v["name"] for v in admin.get(URL).json()}
    assert names == {"Shared"}
    problem(admin.get(f"{URL}/{private['id']}"), 404)
    r = admin.patch(f"{URL}/{shared['id']}", json={"name": "Renamed by admin"})
    assert r.status_code == 200 and r.json()["editable"] is True
    assert admin.delete(f"{URL}/{shared['id']}").status_code == 204
    assert owner.get(URL).json()[0]["name"] == "Private"


def test_stale_version_is_a_conflict(crm: Any) -> None:
    rep = crm.user("sales")
    view = _view(rep)
    assert rep.patch(f"{URL}/{view['id']}", json={"sort": "city"}).status_code == 200
    body = problem(rep.patch(f"{URL}/{view['id']}", json={"name": "Old"}, headers={"If-Match": '"1"'}), 409)
    assert body["current_version"] == 2
    problem(rep.patch(f"{URL}/{view['id']}", json={"name": "Old", "version": 1}), 409)
    assert rep.get(f"{URL}/{view['id']}").json()["name"] == "Lyon customers"


def test_content_is_validated_like_a_list_request(crm: Any) -> None:
    rep = crm.user("sales")
    bad_filter = {
        "and": [{"field": "nope", "op": "eq", "value": 1}, {"field": "city", "op": "zz", "value": 1}]
    }
    fields = error_fields(rep.post(URL, json={"object": "contacts", "name": "x", "filter": bad_filter}))
    assert fields and all(f.startswith("filter") for f in fields)
    assert error_fields(rep.post(URL, json={"object": "contacts", "name": "x", "columns": ["nope"]})) == [
        "columns"
    ]
    assert error_fields(rep.post(URL, json={"object": "contacts", "name": "x", "sort": "-nope"})) == ["sort"]
    assert error_fields(rep.post(URL, json={"object": "nope", "name": "x"})) == ["object"]
    assert set(error_fields(rep.post(URL, json={}))) == {"object", "name"}
    assert error_fields(rep.post(URL, json={"object": "contacts", "name": "  "})) == ["name"]
    problem(rep.post(URL, json={"object": "contacts", "name": "x", "surprise": 1}), 422)
    view = _view(rep)
    assert error_fields(rep.patch(f"{URL}/{view['id']}", json={"object": "deals"})) == ["object"]


def test_objects_the_role_cannot_read_have_no_views(crm: Any) -> None:
    support = crm.user("support")  # support may not read deals
    problem(support.post(URL, json={"object": "deals", "name": "x"}), 403)
    problem(support.get(URL, params={"object": "deals"}), 403)


def test_anonymous_is_refused(client: Any) -> None:
    problem(client.get(URL), 401)
