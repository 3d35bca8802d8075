"""Custom fields: added, relabelled, retired and restored at run time, and then validated, filtered, sorted
and returned exactly like built-in fields."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import add_field, error_fields, problem, query_ids

FIELDS_URL = "/api/v1/metadata/objects/contacts/fields"
TIERS = [{"value": "gold", "label": "Gold"}, {"value": "silver", "label": "Silver"},
         {"value": "bronze", "label": "Bronze"}]
COLOURS = ["red", "green", "blue"]


def _spec(ftype: str) -> dict[str, Any]:
    if ftype == "single_select":
        return {"options": TIERS}
    if ftype == "multi_select":
        return {"options": COLOURS}
    if ftype == "reference":
        return {"reference": "companies"}
    return {}


def _contact(admin, **fields: Any) -> dict[str, Any]:
    return admin.create("contacts", last_name=fields.pop("last_name", "Doe"), **fields)


# -- metadata ------------------------------------------------------------------------------------------------

def test_metadata_lists_builtin_and_custom_fields_with_types_options_and_operators(crm):
    admin = crm.admin
    add_field(admin, "contacts", "tier", "single_select", label="Tier", options=TIERS)
    add_field(admin, "contacts", "score", "number", label="Score")

    r = admin.get("/api/v1/metadata/objects/contacts")
    assert r.status_code == 200, r.text
    fields = {f["name"]: f for f in r.json()["fields"]}

    assert fields["email"]["type"] == "email" and fields["email"]["custom"] is False
    assert fields["email"]["unique"] is True
    assert "starts_with" in fields["email"]["operators"]
    assert [o["value"] for o in fields["lifecycle_stage"]["options"]][:2] == ["subscriber", "lead"]
    assert fields["tier"]["custom"] is True and fields["tier"]["type"] == "single_select"
    assert fields["tier"]["label"] == "Tier"
    assert fields["tier"]["options"] == TIERS
    assert sorted(fields["tier"]["operators"]) == ["eq", "in", "is_empty", "is_not_empty", "ne", "not_in"]
    assert {"gt", "between", "lt"} <= set(fields["score"]["operators"])
    assert "contains" not in fields["score"]["operators"]
    assert fields["score"]["writable"] is True and fields["id"]["writable"] is False


def test_field_types_endpoint_lists_all_fourteen_types(crm):
    r = crm.admin.get("/api/v1/metadata/field-types")
    assert r.status_code == 200
    types = {t["type"]: t["operators"] for t in r.json()}
    assert set(types) == {"text", "long_text", "number", "currency", "percent", "date", "datetime", "boolean",
                          "single_select", "multi_select", "email", "phone", "url", "reference"}
    assert "in_period" in types["date"] and "in_period" not in types["number"]


# -- each type: valid round-trip and invalid values ----------------------------------------------------------

VALID = [
    ("text", "  hello world  ", "hello world"),
    ("long_text", "line one\nline two", "line one\nline two"),
    ("number", 42, 42),
    ("number", "3.5", 3.5),
    ("number", -0.25, -0.25),
    ("currency", 19.999, 20.0),
    ("currency", 1234.5, 1234.5),
    ("percent", 12.5, 12.5),
    ("date", "2024-02-29", "2024-02-29"),
    ("datetime", "2024-03-01T12:30:00+02:00", "2024-03-01T10:30:00.000000Z"),
    ("datetime", "2024-03-01T10:30:00Z", "2024-03-01T10:30:00.000000Z"),
    ("boolean", True, True),
    ("boolean", False, False),
    ("single_select", "silver", "silver"),
    ("multi_select", ["blue", "red", "blue"], ["blue", "red"]),
    ("email", "Jane.Doe@Example.COM", "jane.doe@example.com"),
    ("phone", "(415) 555-0100", "+14155550100"),
    ("url", "example.com/path", "https://example.com/path"),
]


@pytest.mark.parametrize(("ftype", "given", "expected"), VALID,
                         ids=[f"{v[0]}-{i}" for i, v in enumerate(VALID)])
def test_each_custom_type_round_trips_a_valid_value(crm, ftype, given, expected):
    admin = crm.admin
    add_field(admin, "contacts", "extra", ftype, **_spec(ftype))
    created = _contact(admin, extra=given)
    assert created["extra"] == expected
    fetched = admin.get(f"/api/v1/contacts/{created['id']}").json()
    assert fetched["extra"] == expected
    listed = admin.get("/api/v1/contacts").json()["items"]
    assert listed[0]["extra"] == expected
    # clearing with null works for every type
    r = admin.patch(f"/api/v1/contacts/{created['id']}", json={"extra": None})
    assert r.status_code == 200, r.text
    assert r.json()["extra"] is None


def test_custom_reference_round_trips_the_id_of_an_existing_record(crm):
    admin = crm.admin
    add_field(admin, "contacts", "account", "reference", reference="companies")
    company = admin.create("companies", name="Acme")
    created = _contact(admin, account=company["id"])
    assert created["account"] == company["id"]
    assert admin.get(f"/api/v1/contacts/{created['id']}").json()["account"] == company["id"]


INVALID = [
    ("text", 5), ("text", "x" * 256), ("text", ["a"]), ("text", "nul\x00byte"),
    ("long_text", 5), ("long_text", "x" * 100_001),
    ("number", "abc"), ("number", True), ("number", 1e16), ("number", "NaN"), ("number", "Infinity"),
    ("number", [1]), ("number", {"a": 1}),
    ("currency", "12,50"), ("currency", False),
    ("percent", "ten"),
    ("date", "2024-02-30"), ("date", "yesterday"), ("date", 20240101), ("date", "2024-01-01T10:00:00"),
    ("datetime", "not a date"), ("datetime", 1700000000), ("datetime", "2024-13-01T00:00:00Z"),
    ("datetime", "0001-01-01T00:00:00+05:00"), ("datetime", "9999-12-31T23:00:00-05:00"),
    ("boolean", "true"), ("boolean", 1), ("boolean", "yes"),
    ("single_select", "platinum"), ("single_select", 1), ("single_select", ["gold"]),
    ("multi_select", "red"), ("multi_select", ["purple"]), ("multi_select", [1]),
    ("email", "not-an-email"), ("email", "a@"), ("email", 5),
    ("phone", "12"), ("phone", "hello"), ("phone", 4155550100),
    ("url", "ftp://example.com"), ("url", "not a url"), ("url", "javascript:alert(1)"),
    ("url", "http://exa mple.com"), ("url", "example.com/" + "x" * 2040),
    ("reference", "1"), ("reference", 1.5), ("reference", True), ("reference", 0), ("reference", -1),
    ("reference", 999_999),
]


@pytest.mark.parametrize(("ftype", "bad"), INVALID, ids=[f"{v[0]}-{i}" for i, v in enumerate(INVALID)])
def test_invalid_custom_values_are_422_naming_the_field(crm, ftype, bad):
    admin = crm.admin
    add_field(admin, "contacts", "extra", ftype, **_spec(ftype))
    r = admin.post("/api/v1/contacts", json={"last_name": "Doe", "extra": bad})
    assert error_fields(r) == ["extra"]
    existing = _contact(admin)
    r = admin.patch(f"/api/v1/contacts/{existing['id']}", json={"extra": bad})
    assert error_fields(r) == ["extra"]
    assert admin.get("/api/v1/contacts", params={"total": "true"}).json()["total"] == 1


def test_custom_text_respects_its_own_max_length(crm):
    admin = crm.admin
    add_field(admin, "contacts", "code", "text", max_length=5)
    assert _contact(admin, code="abcde")["code"] == "abcde"
    r = admin.post("/api/v1/contacts", json={"last_name": "X", "code": "abcdef"})
    body = problem(r, 422)
    assert body["errors"][0]["field"] == "code" and body["errors"][0]["code"] == "too_long"


def test_custom_reference_to_a_deleted_or_missing_record_is_refused(crm):
    admin = crm.admin
    add_field(admin, "contacts", "account", "reference", reference="companies")
    gone = admin.create("companies", name="Gone Inc")
    assert admin.delete(f"/api/v1/companies/{gone['id']}").status_code == 204
    r = admin.post("/api/v1/contacts", json={"last_name": "X", "account": gone["id"]})
    body = problem(r, 422)
    assert body["errors"][0]["field"] == "account" and body["errors"][0]["code"] == "invalid_reference"


def test_custom_reference_to_users_accepts_an_existing_user_only(crm):
    admin = crm.admin
    add_field(admin, "contacts", "csm", "reference", reference="users")
    rep = crm.user()
    assert _contact(admin, csm=rep.user["id"])["csm"] == rep.user["id"]
    assert error_fields(admin.post("/api/v1/contacts", json={"last_name": "X", "csm": 987_654})) == ["csm"]


# -- required, unique, defaults, options ---------------------------------------------------------------------

def test_required_custom_field_is_enforced_on_create_and_when_cleared(crm):
    admin = crm.admin
    before = _contact(admin, last_name="Before")  # exists before the field is required
    add_field(admin, "contacts", "region_code", "text", required=True)

    r = admin.post("/api/v1/contacts", json={"last_name": "X"})
    body = problem(r, 422)
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("region_code", "required")]
    assert error_fields(admin.post("/api/v1/contacts", json={"last_name": "X", "region_code": "   "})) == [
        "region_code"]

    ok = _contact(admin, region_code="EMEA")
    assert error_fields(admin.patch(f"/api/v1/contacts/{ok['id']}", json={"region_code": None})) == [
        "region_code"]
    # a record that predates the rule can still be edited in other fields
    r = admin.patch(f"/api/v1/contacts/{before['id']}", json={"first_name": "Still"})
    assert r.status_code == 200, r.text


def test_unique_custom_field_refuses_duplicates_with_409_naming_the_field(crm):
    admin = crm.admin
    add_field(admin, "contacts", "customer_no", "text", unique=True)
    add_field(admin, "contacts", "billing_email", "email", unique=True)
    first = _contact(admin, customer_no="C-1", billing_email="Bills@Acme.com")

    r = admin.post("/api/v1/contacts", json={"last_name": "X", "customer_no": "C-1"})
    assert error_fields(r, 409) == ["customer_no"]
    r = admin.post("/api/v1/contacts", json={"last_name": "X", "billing_email": "bills@ACME.com"})
    assert error_fields(r, 409) == ["billing_email"]

    second = _contact(admin, customer_no="C-2")
    r = admin.patch(f"/api/v1/contacts/{second['id']}", json={"customer_no": "C-1"})
    assert error_fields(r, 409) == ["customer_no"]
    # saving a record with its own value is not a duplicate
    assert admin.patch(f"/api/v1/contacts/{first['id']}", json={"customer_no": "C-1",
                                                                 "first_name": "A"}).status_code == 200
    # a deleted record's value is free again
    assert admin.delete(f"/api/v1/contacts/{first['id']}").status_code == 204
    assert _contact(admin, customer_no="C-1")["customer_no"] == "C-1"
    # ... and then the old record cannot come back with the same value
    assert error_fields(admin.post(f"/api/v1/contacts/{first['id']}/restore"), 409) == ["customer_no"]


def test_unique_custom_number_compares_numerically(crm):
    admin = crm.admin
    add_field(admin, "contacts", "badge", "number", unique=True)
    _contact(admin, badge=7)
    r = admin.post("/api/v1/contacts", json={"last_name": "X", "badge": "7.0"})
    assert error_fields(r, 409) == ["badge"]
    assert _contact(admin, badge=8)["badge"] == 8


def test_default_fills_only_absent_custom_values_on_create(crm):
    admin = crm.admin
    add_field(admin, "contacts", "tier", "single_select", options=TIERS, default="bronze")
    add_field(admin, "contacts", "newsletter", "boolean", default=True)
    add_field(admin, "contacts", "renewal", "date", default="2030-01-01")
    add_field(admin, "contacts", "colours", "multi_select", options=COLOURS, default=["red"])

    plain = _contact(admin)
    assert (plain["tier"], plain["newsletter"], plain["renewal"], plain["colours"]) == (
        "bronze", True, "2030-01-01", ["red"])
    explicit = _contact(admin, tier="gold", newsletter=False, colours=[])
    assert (explicit["tier"], explicit["newsletter"], explicit["colours"]) == ("gold", False, [])
    # an update never re-applies defaults
    r = admin.patch(f"/api/v1/contacts/{explicit['id']}", json={"first_name": "Y"})
    assert r.json()["tier"] == "gold" and r.json()["newsletter"] is False


def test_required_field_with_a_default_is_satisfied_by_the_default(crm):
    admin = crm.admin
    add_field(admin, "contacts", "segment", "text", required=True, default="smb")
    assert _contact(admin)["segment"] == "smb"


@pytest.mark.parametrize(("ftype", "extra", "default"), [
    ("number", {}, "many"),
    ("single_select", {"options": TIERS}, "platinum"),
    ("multi_select", {"options": COLOURS}, ["purple"]),
    ("date", {}, "2024-02-30"),
    ("boolean", {}, "yes"),
    ("reference", {"reference": "companies"}, 1),
])
def test_an_invalid_default_is_refused_when_adding_the_field(crm, ftype, extra, default):
    r = crm.admin.post(FIELDS_URL, json={"name": "extra", "type": ftype, "default": default, **extra})
    assert error_fields(r) == ["default"]
    assert crm.admin.get("/api/v1/metadata/objects/contacts/custom-fields").json() == []


def test_select_options_are_cleaned_and_validated(crm):
    admin = crm.admin
    field = add_field(admin, "contacts", "size", "single_select",
                      options=[" small ", {"value": "large", "label": "Large", "color": "#FF0000"}])
    assert field["options"] == [{"value": "small", "label": "small"},
                                {"value": "large", "label": "Large", "color": "#FF0000"}]
    for bad in ([], "small", ["a", "a"], [{"label": "no value"}], None):
        r = admin.post(FIELDS_URL, json={"name": "other", "type": "single_select", "options": bad})
        assert problem(r, 422)["errors"][0]["field"].startswith("options"), bad
    r = admin.post(FIELDS_URL, json={"name": "other", "type": "text", "options": ["a"]})
    assert error_fields(r) == ["options"]


def test_adding_an_option_makes_it_valid_and_removing_one_refuses_it_for_new_values(crm):
    admin = crm.admin
    add_field(admin, "contacts", "tier", "single_select", options=TIERS)
    old = _contact(admin, tier="bronze")
    assert error_fields(admin.post("/api/v1/contacts", json={"last_name": "X", "tier": "platinum"})) == [
        "tier"]

    r = admin.patch(f"{FIELDS_URL}/tier", json={"options": ["gold", "silver", "platinum"]})
    assert r.status_code == 200, r.text
    assert _contact(admin, tier="platinum")["tier"] == "platinum"
    assert error_fields(admin.post("/api/v1/contacts", json={"last_name": "X", "tier": "bronze"})) == ["tier"]
    # a stored value of a removed option is kept and still filterable
    assert admin.get(f"/api/v1/contacts/{old['id']}").json()["tier"] == "bronze"
    assert query_ids(admin, "contacts", {"field": "tier", "op": "eq", "value": "bronze"}) == [old["id"]]


def test_removing_the_option_used_as_default_is_refused(crm):
    admin = crm.admin
    add_field(admin, "contacts", "tier", "single_select", options=TIERS, default="bronze")
    r = admin.patch(f"{FIELDS_URL}/tier", json={"options": ["gold", "silver"]})
    assert error_fields(r) == ["default"]
    r = admin.patch(f"{FIELDS_URL}/tier", json={"options": ["gold", "silver"], "default": "gold"})
    assert r.status_code == 200, r.text
    assert _contact(admin)["tier"] == "gold"


# -- field administration ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({"name": "Bad Name", "type": "text"}, "name"),
    ({"name": "x", "type": "text"}, "name"),
    ({"name": "1abc", "type": "text"}, "name"),
    ({"name": "email", "type": "text"}, "name"),
    ({"name": "created_at", "type": "text"}, "name"),
    ({"name": "custom", "type": "text"}, "name"),
    ({"name": "ok_name", "type": "money"}, "type"),
    ({"name": "ok_name", "type": ["text"], "unique": True}, "type"),
    ({"name": "ok_name", "type": "reference"}, "reference"),
    ({"name": "ok_name", "type": "reference", "reference": "nothing"}, "reference"),
    ({"name": "ok_name", "type": "text", "reference": "companies"}, "reference"),
    ({"name": "ok_name", "type": "boolean", "unique": True}, "unique"),
    ({"name": "ok_name", "type": "text", "required": "yes"}, "required"),
    ({"name": "ok_name", "type": "text", "label": ""}, "label"),
    ({"name": "ok_name", "type": "text", "label": "x" * 121}, "label"),
    ({"name": "ok_name", "type": "text", "max_length": 0}, "max_length"),
    ({"name": "ok_name", "type": "text", "colour": "red"}, "colour"),
])
def test_adding_a_field_validates_its_definition(crm, body, field):
    r = crm.admin.post(FIELDS_URL, json=body)
    assert field in error_fields(r)


def test_field_names_are_unique_per_object_even_when_retired(crm):
    admin = crm.admin
    add_field(admin, "contacts", "score", "number")
    assert error_fields(admin.post(FIELDS_URL, json={"name": "score", "type": "text"})) == ["name"]
    assert admin.post(f"{FIELDS_URL}/score/retire").status_code == 200
    assert error_fields(admin.post(FIELDS_URL, json={"name": "score", "type": "text"})) == ["name"]
    # the same name on another object is fine
    assert add_field(admin, "companies", "score", "text")["object"] == "companies"


def test_only_admins_may_change_fields(crm):
    crm.admin  # noqa: B018 - creates the admin
    manager = crm.user(role="manager")
    assert problem(manager.post(FIELDS_URL, json={"name": "score", "type": "number"}), 403)
    add_field(crm.admin, "contacts", "score", "number")
    assert problem(manager.patch(f"{FIELDS_URL}/score", json={"label": "Points"}), 403)
    assert problem(manager.post(f"{FIELDS_URL}/score/retire"), 403)
    assert problem(manager.get("/api/v1/metadata/objects/contacts/custom-fields"), 403)
    # but every reader sees the field in the metadata
    names = [f["name"] for f in manager.get("/api/v1/metadata/objects/contacts").json()["fields"]]
    assert "score" in names


def test_unknown_object_or_field_is_404(crm):
    admin = crm.admin
    problem(admin.post("/api/v1/metadata/objects/widgets/fields", json={"name": "a_b", "type": "text"}), 404)
    problem(admin.patch(f"{FIELDS_URL}/nope", json={"label": "X"}), 404)
    problem(admin.post(f"{FIELDS_URL}/nope/retire"), 404)


# -- relabel -------------------------------------------------------------------------------------------------

def test_relabel_changes_only_the_label(crm):
    admin = crm.admin
    add_field(admin, "contacts", "score", "number", label="Score")
    rec = _contact(admin, score=10)

    r = admin.patch(f"{FIELDS_URL}/score", json={"label": "  Lead points  "})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["label"], r.json()["type"]) == ("score", "Lead points", "number")

    field = next(f for f in admin.get("/api/v1/metadata/objects/contacts").json()["fields"]
                 if f["name"] == "score")
    assert field["label"] == "Lead points" and field["type"] == "number"
    assert admin.get(f"/api/v1/contacts/{rec['id']}").json()["score"] == 10
    assert query_ids(admin, "contacts", {"field": "score", "op": "gt", "value": 5}) == [rec["id"]]


@pytest.mark.parametrize("key", ["name", "type", "reference", "unique"])
def test_api_name_type_reference_and_uniqueness_are_immutable(crm, key):
    admin = crm.admin
    add_field(admin, "contacts", "score", "number")
    value = {"name": "points", "type": "text", "reference": "companies", "unique": True}[key]
    r = admin.patch(f"{FIELDS_URL}/score", json={key: value})
    body = problem(r, 422)
    assert body["errors"][0]["field"] == key and body["errors"][0]["code"] == "read_only"
    assert admin.get("/api/v1/metadata/objects/contacts/custom-fields").json()[0]["type"] == "number"


# -- retire / restore ----------------------------------------------------------------------------------------

def test_retire_hides_the_field_everywhere_and_restore_brings_the_values_back(crm):
    admin = crm.admin
    add_field(admin, "contacts", "score", "number")
    rec = _contact(admin, score=42, email="kept@example.com")

    r = admin.post(f"{FIELDS_URL}/score/retire")
    assert r.status_code == 200 and r.json()["retired"] is True
    problem(admin.post(f"{FIELDS_URL}/score/retire"), 409)

    names = [f["name"] for f in admin.get("/api/v1/metadata/objects/contacts").json()["fields"]]
    assert "score" not in names
    assert "score" not in admin.get(f"/api/v1/contacts/{rec['id']}").json()
    assert "score" not in admin.get("/api/v1/contacts").json()["items"][0]
    r = admin.get("/api/v1/contacts", params={"filter": '{"field": "score", "op": "gt", "value": 1}'})
    assert problem(r, 422)["errors"][0] == {"field": "filter.field", "code": "unknown_field",
                                            "message": "unknown field 'score' on contacts"}
    assert error_fields(admin.get("/api/v1/contacts", params={"sort": "score"})) == ["sort"]
    assert error_fields(admin.get("/api/v1/contacts", params={"fields": "score"})) == ["fields"]
    assert error_fields(admin.post("/api/v1/contacts", json={"last_name": "Y", "score": 1})) == ["score"]
    assert error_fields(admin.patch(f"/api/v1/contacts/{rec['id']}", json={"score": 1})) == ["score"]
    # an edit while retired keeps the hidden value
    assert admin.patch(f"/api/v1/contacts/{rec['id']}", json={"first_name": "Edited"}).status_code == 200
    # the admin list still shows it, marked retired
    listed = admin.get("/api/v1/metadata/objects/contacts/custom-fields").json()
    assert [(f["name"], f["retired"]) for f in listed] == [("score", True)]

    r = admin.post(f"{FIELDS_URL}/score/restore")
    assert r.status_code == 200 and r.json()["retired"] is False
    problem(admin.post(f"{FIELDS_URL}/score/restore"), 409)
    got = admin.get(f"/api/v1/contacts/{rec['id']}").json()
    assert (got["score"], got["first_name"]) == (42, "Edited")
    assert query_ids(admin, "contacts", {"field": "score", "op": "eq", "value": 42}) == [rec["id"]]


def test_a_retired_required_or_unique_field_no_longer_constrains_records(crm):
    admin = crm.admin
    add_field(admin, "contacts", "code", "text", required=True, unique=True)
    _contact(admin, code="A")
    admin.post(f"{FIELDS_URL}/code/retire")
    assert _contact(admin)["id"]  # not required while retired


def test_a_retired_field_is_left_out_of_history(crm):
    admin = crm.admin
    add_field(admin, "contacts", "score", "number")
    rec = _contact(admin, score=1)
    admin.patch(f"/api/v1/contacts/{rec['id']}", json={"score": 2})
    admin.post(f"{FIELDS_URL}/score/retire")
    items = admin.get(f"/api/v1/contacts/{rec['id']}/history").json()["items"]
    assert [i["action"] for i in items] == ["create"]
    assert all("score" not in i["changes"] for i in items)
    admin.post(f"{FIELDS_URL}/score/restore")
    items = admin.get(f"/api/v1/contacts/{rec['id']}/history").json()["items"]
    assert items[0]["changes"]["score"] == [1, 2]


# -- filters and sorting on custom fields --------------------------------------------------------------------

@pytest.fixture
def scored(crm):
    """Five contacts with custom number/date/datetime/select/boolean/multi_select values (one all empty)."""
    admin = crm.admin
    add_field(admin, "contacts", "score", "number")
    add_field(admin, "contacts", "renewal", "date")
    add_field(admin, "contacts", "seen_at", "datetime")
    add_field(admin, "contacts", "tier", "single_select", options=TIERS)
    add_field(admin, "contacts", "vip", "boolean")
    add_field(admin, "contacts", "colours", "multi_select", options=COLOURS)
    rows = [
        ("a", 10, "2024-01-15", "2024-01-15T08:00:00Z", "gold", True, ["red", "blue"]),
        ("b", 2.5, "2023-12-31", "2024-01-15T07:59:59Z", "silver", False, ["green"]),
        ("c", 100, "2024-06-01", "2024-06-01T00:00:00+02:00", "gold", False, []),
        ("d", -3, "2024-01-15", "2025-01-01T00:00:00Z", "bronze", True, ["blue"]),
        ("e", None, None, None, None, None, None),
    ]
    ids = {}
    for name, score, renewal, seen, tier, vip, colours in rows:
        body = {"last_name": name, "score": score, "renewal": renewal, "seen_at": seen, "tier": tier,
                "vip": vip, "colours": colours}
        ids[name] = admin.create("contacts", **{k: v for k, v in body.items() if v is not None})["id"]
    return admin, ids


def _names(ids: dict[str, int], found: list[int]) -> list[str]:
    back = {v: k for k, v in ids.items()}
    return [back[i] for i in found]


@pytest.mark.parametrize(("flt", "expected"), [
    ({"field": "score", "op": "gt", "value": 5}, "ac"),
    ({"field": "score", "op": "lte", "value": 2.5}, "bd"),
    ({"field": "score", "op": "between", "value": [0, 10]}, "ab"),
    ({"field": "score", "op": "eq", "value": 100}, "c"),
    ({"field": "score", "op": "ne", "value": 100}, "abde"),
    ({"field": "score", "op": "in", "value": [10, -3]}, "ad"),
    ({"field": "score", "op": "is_empty"}, "e"),
    ({"field": "renewal", "op": "eq", "value": "2024-01-15"}, "ad"),
    ({"field": "renewal", "op": "lt", "value": "2024-01-15"}, "b"),
    ({"field": "renewal", "op": "between", "value": ["2024-01-01", "2024-12-31"]}, "acd"),
    ({"field": "seen_at", "op": "gte", "value": "2024-01-15T08:00:00Z"}, "acd"),
    ({"field": "seen_at", "op": "lt", "value": "2024-01-15T10:00:00+02:00"}, "b"),
    ({"field": "seen_at", "op": "eq", "value": "2024-05-31T22:00:00Z"}, "c"),
    ({"field": "tier", "op": "eq", "value": "gold"}, "ac"),
    ({"field": "tier", "op": "in", "value": ["silver", "bronze"]}, "bd"),
    ({"field": "tier", "op": "ne", "value": "gold"}, "bde"),
    ({"field": "tier", "op": "not_in", "value": ["gold"]}, "bde"),
    ({"field": "vip", "op": "eq", "value": True}, "ad"),
    ({"field": "vip", "op": "eq", "value": False}, "bc"),
    ({"field": "vip", "op": "ne", "value": True}, "bce"),
    ({"field": "vip", "op": "is_empty"}, "e"),
    ({"field": "colours", "op": "contains", "value": "blue"}, "ad"),
    ({"field": "colours", "op": "not_contains", "value": "blue"}, "bce"),
    ({"field": "colours", "op": "in", "value": ["green", "red"]}, "ab"),
    ({"field": "colours", "op": "not_in", "value": ["green", "red"]}, "cde"),
    ({"field": "colours", "op": "is_empty"}, "ce"),
    ({"field": "colours", "op": "is_not_empty"}, "abd"),
])
def test_filters_on_custom_fields(scored, flt, expected):
    admin, ids = scored
    assert sorted(_names(ids, query_ids(admin, "contacts", flt))) == list(expected)


@pytest.mark.parametrize(("sort", "expected"), [
    ("score", "dbace"),
    ("-score", "ecabd"),
    ("renewal,last_name", "badce"),
    ("-renewal,-last_name", "ecdab"),
    ("seen_at", "bacde"),
    ("-seen_at", "edcab"),
    ("tier,last_name", "dacbe"),
    ("vip,last_name", "bcade"),
])
def test_sorting_on_custom_fields_puts_empty_values_last_ascending(scored, sort, expected):
    admin, ids = scored
    for limit in (500, 2):  # in one page and across cursor pages
        assert "".join(_names(ids, query_ids(admin, "contacts", None, sort=sort, limit=limit))) == expected


def test_custom_multi_select_cannot_be_sorted(scored):
    admin, _ = scored
    body = problem(admin.get("/api/v1/contacts", params={"sort": "colours"}), 422)
    assert body["errors"][0]["code"] == "not_sortable"


def test_custom_field_errors_in_bulk_name_the_item(crm):
    admin = crm.admin
    add_field(admin, "contacts", "score", "number", required=True)
    r = admin.post("/api/v1/contacts/bulk", json={"records": [
        {"last_name": "A", "score": 1}, {"last_name": "B", "score": "many"}, {"last_name": "C"}]})
    assert error_fields(r) == ["records[1].score", "records[2].score"]
    assert admin.get("/api/v1/contacts", params={"total": "true"}).json()["total"] == 0


def test_custom_field_changes_are_in_the_history(crm):
    admin = crm.admin
    add_field(admin, "contacts", "renewal", "date")
    rec = _contact(admin, renewal="2024-01-01")
    admin.patch(f"/api/v1/contacts/{rec['id']}", json={"renewal": "2025-01-01"})
    items = admin.get(f"/api/v1/contacts/{rec['id']}/history").json()["items"]
    assert items[0]["action"] == "update"
    assert items[0]["changes"] == {"renewal": ["2024-01-01", "2025-01-01"]}
    assert items[1]["changes"]["renewal"] == [None, "2024-01-01"]


def test_editing_a_field_validates_the_change_and_accepts_cleared_texts(crm):
    admin = crm.admin
    add_field(admin, "contacts", "score", "number", help_text="How hot", section="Scoring")
    r = admin.patch(f"{FIELDS_URL}/score", json={"help_text": None, "section": None, "position": None})
    assert r.status_code == 200, r.text
    assert (r.json()["help_text"], r.json()["section"]) == ("", "Custom fields")
    for bad in ({"label": ""}, {"label": 5}, {"required": "no"}, {"position": -1}, {"max_length": "9"},
                {"help_text": "x" * 2001}, {"options": ["a"]}, {"default": "high"}, {"colour": "red"}):
        assert error_fields(admin.patch(f"{FIELDS_URL}/score", json=bad)) == [next(iter(bad))], bad
    r = admin.patch(f"{FIELDS_URL}/score", json={"required": True, "default": 5})
    assert r.status_code == 200, r.text
    assert admin.create("contacts", last_name="A")["score"] == 5


@pytest.mark.parametrize("body", [
    {"name": "score", "type": "number", "label": "Sc\u0000ore"},
    {"name": "score", "type": "number", "help_text": "\u0000"},
    {"name": "score", "type": "number", "section": "a\u0000"},
    {"name": "tier", "type": "single_select", "options": ["ok", "b\u0000d"]},
])
def test_field_definitions_with_nul_characters_are_422(crm, body):
    problem(crm.admin.post(FIELDS_URL, json=body), 422)
    assert crm.admin.get("/api/v1/metadata/objects/contacts/custom-fields").json() == []


def test_a_retired_field_no_longer_finds_records_in_search_until_restored(crm):
    admin = crm.admin
    add_field(admin, "contacts", "nickname", "text")
    rec = _contact(admin, nickname="Zanzibar")

    def found() -> list[int]:
        r = admin.get("/api/v1/search", params={"q": "zanzibar"})
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert found() == [rec["id"]]
    admin.post(f"{FIELDS_URL}/nickname/retire")
    assert found() == []
    admin.post(f"{FIELDS_URL}/nickname/restore")
    assert found() == [rec["id"]]
