"""Journeys through the list tools (saved views, filter groups, inline edit, bulk actions, export), lead
conversion and the admin screens, against a real server and Chromium."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Browser, Server
from tests.e2e.test_journeys import _pipeline

pytestmark = pytest.mark.e2e


def _contacts(api: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        r = api.post("/api/v1/contacts", json=row)
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def _pick(page: Any, label: str, text: str, option: str) -> None:
    """Choose in a reference picker (a combobox): type, then click the suggestion."""
    box = page.get_by_role("combobox", name=label)
    box.click()
    box.fill(text)
    page.get_by_role("option", name=re.compile(re.escape(option))).first.click()


def test_filter_with_a_group_save_a_view_and_a_team_mate_opens_it(server: Server, web: Browser) -> None:
    owner = server.user("sales", team="North", name="Olga Owner")
    mate = server.user("sales", team="North", name="Max Mate")
    outsider = server.user("sales", team="South", name="Otto Outsider")
    api = server.api(owner)
    _contacts(
        api,
        [
            {"first_name": "Ana", "last_name": "Lyon", "city": "Lyon", "lifecycle_stage": "customer"},
            {"first_name": "Bea", "last_name": "Lyon", "city": "Lyon", "lifecycle_stage": "lead"},
            {"first_name": "Cy", "last_name": "Lyon", "city": "Lyon", "lifecycle_stage": "opportunity"},
            {"first_name": "Dan", "last_name": "Paris", "city": "Paris", "lifecycle_stage": "customer"},
        ],
    )
    web.login(owner)
    web.go("/o/contacts")
    table = web.page.get_by_role("table")
    expect(table.get_by_role("link", name="Dan Paris")).to_be_visible()
    # City is Lyon and (stage is customer or stage is opportunity)
    web.page.get_by_role("button", name="Filter").click()
    web.page.get_by_role("button", name="Add condition").click()
    web.page.get_by_label("Condition 1: field").select_option(label="City")
    web.page.get_by_label("Condition 1: operator").select_option(label="is")
    web.page.get_by_label("Value for City").fill("Lyon")
    web.page.get_by_role("button", name="Add group").click()
    web.page.get_by_label("Group 1: matching").select_option("or")
    web.page.get_by_label("Group 1, condition 1: field").select_option(label="Lifecycle stage")
    web.page.get_by_label("Group 1, condition 1: operator").select_option(label="is")
    web.page.get_by_label("Group 1: Value for Lifecycle stage").select_option(label="Customer")
    web.page.get_by_role("button", name="Add condition to group 1").click()
    web.page.get_by_label("Group 1, condition 2: field").select_option(label="Lifecycle stage")
    web.page.get_by_label("Group 1, condition 2: operator").select_option(label="is")
    web.page.get_by_label("Group 1: Value for Lifecycle stage").nth(1).select_option(label="Opportunity")
    web.page.get_by_role("button", name="Apply filter").click()
    expect(table.get_by_role("link", name="Ana Lyon")).to_be_visible()
    expect(table.get_by_role("link", name="Cy Lyon")).to_be_visible()
    expect(table.get_by_role("link", name="Bea Lyon")).to_have_count(0)
    expect(table.get_by_role("link", name="Dan Paris")).to_have_count(0)
    expect(web.page.get_by_text("2 contacts")).to_be_visible()
    expect(web.page.get_by_label("Active filter")).to_contain_text("City is Lyon")
    expect(web.page.get_by_label("Active filter")).to_contain_text(
        "(Lifecycle stage is Customer or Lifecycle stage is Opportunity)"
    )
    flt = json.loads(unquote(web.page.url.split("filter=", 1)[1].split("&", 1)[0]))
    assert flt == {
        "and": [
            {"field": "city", "op": "eq", "value": "Lyon"},
            {
                "or": [
                    {"field": "lifecycle_stage", "op": "eq", "value": "customer"},
                    {"field": "lifecycle_stage", "op": "eq", "value": "opportunity"},
                ]
            },
        ]
    }
    # a column less, sorted by name, then saved for the team
    web.page.get_by_role("button", name="Columns").click()
    web.page.get_by_role("checkbox", name="Job title").uncheck()
    web.page.keyboard.press("Escape")
    web.page.get_by_role("columnheader", name="Name").get_by_role("button").click()
    web.page.get_by_role("button", name="Save view").click()
    dialog = web.page.get_by_role("dialog", name="Save this view")
    dialog.get_by_role("button", name="Save view").click()
    expect(dialog.get_by_text("Give the view a name.")).to_be_visible()
    dialog.get_by_label("View name").fill("Lyon pipeline")
    dialog.get_by_role("radio", name="Shared with the team North").check()
    dialog.get_by_role("button", name="Save view").click()
    expect(web.page.get_by_role("heading", level=1, name="Lyon pipeline")).to_be_visible()
    views = api.get("/api/v1/saved-views", params={"object": "contacts"}).json()
    assert [(v["name"], v["team"], v["sort"], v["filter"]) for v in views] == [
        ("Lyon pipeline", "North", "first_name", flt)
    ]
    assert "job_title" not in views[0]["columns"] and "email" in views[0]["columns"]

    # the team-mate finds it in the view list and gets the same records, columns and order
    web.page.context.clear_cookies()
    web.login(mate)
    web.go("/o/contacts")
    expect(table.get_by_role("link", name="Dan Paris")).to_be_visible()
    picker = web.page.get_by_label("Saved view")
    picker.select_option(label="Lyon pipeline — Olga Owner")
    expect(web.page.get_by_role("heading", level=1, name="Lyon pipeline")).to_be_visible()
    expect(table.get_by_role("link", name="Dan Paris")).to_have_count(0)
    expect(table.locator("tbody tr").first).to_contain_text("Ana Lyon")
    expect(table.get_by_role("columnheader", name="Job title")).to_have_count(0)
    expect(web.page.get_by_role("button", name="Delete view Lyon pipeline")).to_have_count(0)  # not theirs
    # ... and a user of another team does not
    web.page.context.clear_cookies()
    web.login(outsider)
    web.go("/o/contacts")
    expect(web.page.get_by_label("Saved view").locator("option")).to_have_text(["All records"])


def test_inline_edit_in_the_list_shows_the_api_error_at_the_cell_and_a_conflict(
    server: Server, web: Browser
) -> None:
    rep = server.user("sales")
    api = server.api(rep)
    (row,) = _contacts(api, [{"first_name": "Ines", "last_name": "Line", "email": "ines@example.com"}])
    web.login(rep)
    web.go("/o/contacts")
    table = web.page.get_by_role("table")
    table.get_by_role("button", name="Edit Email of Ines Line").click()
    cell = table.get_by_role("form", name="Edit Email of Ines Line")
    box = cell.get_by_role("textbox", name="Email")
    box.fill("ines-at-example")
    box.press("Enter")
    expect(cell.get_by_text("not a valid email address")).to_be_visible()
    expect(box).to_have_attribute("aria-invalid", "true")
    assert api.get(f"/api/v1/contacts/{row['id']}").json()["email"] == "ines@example.com"
    box.fill("ines.line@example.com")
    with web.page.expect_response(lambda r: r.request.method == "PATCH") as resp:
        box.press("Enter")
    assert resp.value.status == 200
    assert resp.value.request.headers["if-match"] == '"1"'
    expect(table.get_by_role("link", name="ines.line@example.com")).to_be_visible()
    assert api.get(f"/api/v1/contacts/{row['id']}").json()["email"] == "ines.line@example.com"

    # someone else changes the record: the list's version is stale, the save is refused and said so
    assert api.patch(f"/api/v1/contacts/{row['id']}", json={"job_title": "Chief"}).status_code == 200
    table.get_by_role("button", name="Edit Email of Ines Line").click()
    table.get_by_role("textbox", name="Email").fill("other@example.com")
    table.get_by_role("button", name="Save").click()
    expect(web.page.get_by_role("alert")).to_contain_text("changed by someone else")
    expect(table).to_contain_text("Chief")  # reloaded
    assert api.get(f"/api/v1/contacts/{row['id']}").json()["email"] == "ines.line@example.com"


def test_bulk_assign_edit_and_delete_with_confirmation_and_errors(server: Server, web: Browser) -> None:
    boss = server.user("manager", team="Rome", name="Bea Boss")
    server.user("sales", team="Rome", name="Rita Rep")  # a team-mate: the records stay in the boss's view
    api = server.api(boss)
    rows = _contacts(
        api,
        [{"first_name": n, "last_name": "Bulk", "city": "Rome"} for n in ("Aldo", "Bice", "Carlo", "Dina")],
    )
    rita = next(u for u in api.get("/api/v1/users").json() if u["full_name"] == "Rita Rep")
    web.login(boss)
    web.go("/o/contacts?sort=first_name")
    table = web.page.get_by_role("table")
    table.get_by_role("checkbox", name="Select Aldo Bulk").check()
    table.get_by_role("checkbox", name="Select Bice Bulk").check()
    bar = web.page.get_by_role("region", name="Bulk actions")
    expect(bar).to_contain_text("2 contacts selected")

    bar.get_by_role("button", name="Assign owner").click()
    dialog = web.page.get_by_role("dialog", name="Assign an owner to 2 contacts")
    _pick(web.page, "New owner", "Rita", "Rita Rep")
    with web.page.expect_response(lambda r: r.url.endswith("/api/v1/contacts/bulk")) as resp:
        dialog.get_by_role("button", name="Assign 2 contacts").click()
    assert resp.value.status == 200, resp.value.text()
    expect(web.page.get_by_role("status").filter(has_text="Assigned 2 contacts.")).to_be_visible()
    owners = {c["first_name"]: c["owner_id"] for c in api.get("/api/v1/contacts").json()["items"]}
    assert owners == {"Aldo": rita["id"], "Bice": rita["id"], "Carlo": boss["id"], "Dina": boss["id"]}

    # a bulk edit the API refuses: every record's error is listed, nothing changed
    table.get_by_role("checkbox", name="Select Carlo Bulk").check()
    table.get_by_role("checkbox", name="Select Dina Bulk").check()
    bar.get_by_role("button", name="Edit field").click()
    dialog = web.page.get_by_role("dialog", name="Edit 2 contacts")
    dialog.get_by_label("Field to change").select_option(label="Phone")
    dialog.get_by_label("New value for Phone").fill("not a phone")
    dialog.get_by_role("button", name="Update 2 contacts").click()
    failures = dialog.get_by_role("alert")
    expect(failures).to_contain_text("Carlo Bulk")
    expect(failures).to_contain_text("Dina Bulk")
    expect(failures).to_contain_text("Phone:")
    dialog.get_by_role("button", name="Close", exact=True).last.click()
    assert all(c["phone"] is None for c in api.get("/api/v1/contacts").json()["items"])

    # delete, confirmed; one of them was changed meanwhile: it is reported and nothing is deleted (all or
    # nothing); deleting again once the list is reloaded works
    assert api.patch(f"/api/v1/contacts/{rows[3]['id']}", json={"city": "Milan"}).status_code == 200
    bar.get_by_role("button", name="Delete").click()
    dialog = web.page.get_by_role("dialog", name="Delete 2 contacts?")
    expect(dialog).to_contain_text("moved to the trash")
    dialog.get_by_role("button", name="Delete 2 contacts").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Dina Bulk")
    expect(dialog.get_by_role("alert")).to_contain_text("Nothing was deleted")
    dialog.get_by_role("button", name="Close", exact=True).last.click()
    left = sorted(c["first_name"] for c in api.get("/api/v1/contacts").json()["items"])
    assert left == ["Aldo", "Bice", "Carlo", "Dina"]
    expect(table.get_by_role("link", name="Carlo Bulk")).to_have_count(1)


def test_export_the_current_view(server: Server, web: Browser) -> None:
    boss = server.user("manager")
    api = server.api(boss)
    _contacts(
        api,
        [
            {"first_name": "Exa", "last_name": "Port", "city": "Oslo", "email": "exa@example.com"},
            {"first_name": "Fil", "last_name": "Ter", "city": "Bergen", "email": "fil@example.com"},
            {"first_name": "=cmd", "last_name": "Port", "city": "Oslo"},
        ],
    )
    web.login(boss)
    flt = json.dumps({"field": "city", "op": "eq", "value": "Oslo"})
    web.go(f"/o/contacts?filter={flt}&sort=first_name")
    expect(web.page.get_by_text("2 contacts")).to_be_visible()
    with web.page.expect_download() as dl:
        web.page.get_by_role("link", name="Export").click()
    path = dl.value.path()
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[:3] == ["first_name", "last_name", "email"], header
    assert "owner_id" in header and "city" not in header  # the list's columns, nothing else
    assert [r[:3] for r in rows[1:]] == [["'=cmd", "Port", ""], ["Exa", "Port", "exa@example.com"]]


def test_convert_a_lead_with_a_company_matched_by_domain_and_a_deal(server: Server, web: Browser) -> None:
    rep = server.user("manager", name="Cora Convert")
    _pipeline(server.api(server.user("admin")))
    api = server.api(rep)
    company = api.post("/api/v1/companies", json={"name": "Acme Corp", "domain": "acme.example"}).json()
    lead = api.post(
        "/api/v1/leads",
        json={
            "first_name": "Lee",
            "last_name": "Ead",
            "email": "lee@acme.example",
            "company_name": "Acme",
            "status": "qualified",
        },
    ).json()
    web.login(rep)
    web.go(f"/o/leads/{lead['id']}")
    web.page.get_by_role("button", name="Convert", exact=True).click()
    dialog = web.page.get_by_role("dialog", name="Convert this lead")
    expect(dialog).to_contain_text(
        "Link to the existing company “Acme Corp” (matched by the domain acme.example)"
    )
    dialog.get_by_role("checkbox", name="Also create a deal").check()
    dialog.get_by_label("Deal name").fill("Acme pilot")
    dialog.get_by_label("Deal amount").fill("abc")
    dialog.get_by_role("button", name="Convert lead").click()
    expect(dialog.get_by_label("Deal amount")).to_have_attribute("aria-invalid", "true")
    assert api.get(f"/api/v1/leads/{lead['id']}").json()["status"] == "qualified"  # all or nothing
    dialog.get_by_label("Deal amount").fill("5000")
    dialog.get_by_role("button", name="Convert lead").click()
    expect(dialog.get_by_text("The lead was converted.")).to_be_visible()
    expect(dialog.get_by_role("link", name="Acme Corp")).to_be_visible()
    dialog.get_by_role("link", name="Acme pilot").click()
    expect(web.page.get_by_role("heading", level=1, name="Acme pilot")).to_be_visible()
    stored = api.get(f"/api/v1/leads/{lead['id']}").json()
    assert stored["status"] == "converted" and stored["converted_company_id"] == company["id"]
    deal = api.get(f"/api/v1/deals/{stored['converted_deal_id']}").json()
    assert (deal["name"], deal["amount"], deal["company_id"]) == ("Acme pilot", 5000, company["id"])
    contact = api.get(f"/api/v1/contacts/{stored['converted_contact_id']}").json()
    assert contact["email"] == "lee@acme.example"
    web.go(f"/o/leads/{lead['id']}")
    expect(web.page.get_by_role("button", name="Convert", exact=True)).to_have_count(0)


def test_custom_field_admin_add_rename_retire_restore(server: Server, web: Browser) -> None:
    admin = server.user("admin", name="Ada Admin")
    api = server.api(admin)
    web.login(admin)
    web.page.get_by_role("navigation", name="Main").get_by_role("link", name="Custom fields").click()
    expect(web.page.get_by_role("heading", level=1, name="Custom fields")).to_be_visible()
    web.page.get_by_label("Object").select_option(label="Contacts")
    web.page.get_by_role("button", name="Add field").click()
    dialog = web.page.get_by_role("dialog", name="Add a custom field")
    assert dialog.get_by_label("Type").locator("option").count() == 14
    dialog.get_by_role("textbox", name="Label", exact=True).fill("Shirt size")
    expect(dialog.get_by_label("API name")).to_have_value("shirt_size")
    dialog.get_by_label("Type").select_option(label="Single select")
    for i, size in enumerate(["Small", "Medium", "Large"]):
        dialog.get_by_role("button", name="Add option").click()
        dialog.get_by_label(f"Option {i + 1} label").fill(size)
    dialog.get_by_role("button", name="Add field").click()
    table = web.page.get_by_role("table")
    expect(table.get_by_role("row", name=re.compile("Shirt size"))).to_contain_text(
        "Single select (3 options)"
    )
    spec = next(
        f for f in api.get("/api/v1/metadata/objects/contacts").json()["fields"] if f["name"] == "shirt_size"
    )
    assert [o["value"] for o in spec["options"]] == ["small", "medium", "large"]

    # the API's refusal shows at the field: the name is taken
    web.page.get_by_role("button", name="Add field").click()
    dialog = web.page.get_by_role("dialog", name="Add a custom field")
    dialog.get_by_role("textbox", name="Label", exact=True).fill("Shirt size")
    dialog.get_by_role("button", name="Add field").click()
    expect(dialog.get_by_text("already exists")).to_be_visible()
    expect(dialog.get_by_label("API name")).to_have_attribute("aria-invalid", "true")
    dialog.get_by_role("button", name="Cancel").click()

    # rename; then a contact is created with it from the list
    web.page.get_by_role("button", name="Edit Shirt size").click()
    dialog = web.page.get_by_role("dialog", name="Edit the field “Shirt size”")
    dialog.get_by_role("textbox", name="Label", exact=True).fill("T-shirt size")
    dialog.get_by_role("button", name="Save field").click()
    expect(table.get_by_role("row", name=re.compile("T-shirt size"))).to_be_visible()
    web.go("/o/contacts")
    web.page.get_by_role("button", name="New contact").click()
    form = web.page.get_by_role("dialog", name="New contact")
    form.get_by_label("Last name").fill("Sized")
    form.get_by_label("T-shirt size").select_option(label="Medium")
    form.get_by_role("button", name="Create contact").click()
    expect(web.page.get_by_role("heading", level=1, name="Sized")).to_be_visible()
    made = api.get("/api/v1/contacts").json()["items"][0]
    assert made["shirt_size"] == "medium"

    # retire: gone from forms; restore: back, with its values
    web.go("/admin/fields/contacts")
    web.page.get_by_role("button", name="Retire T-shirt size").click()
    expect(table.get_by_role("row", name=re.compile("T-shirt size"))).to_contain_text("Retired")
    assert "shirt_size" not in api.get(f"/api/v1/contacts/{made['id']}").json()
    web.page.get_by_role("button", name="Restore T-shirt size").click()
    expect(table.get_by_role("row", name=re.compile("T-shirt size"))).to_contain_text("Active")
    assert api.get(f"/api/v1/contacts/{made['id']}").json()["shirt_size"] == "medium"


def test_user_team_and_role_admin(server: Server, web: Browser) -> None:
    admin = server.user("admin", name="Ada Admin")
    existing = server.user("sales", name="Sam Same")
    api = server.api(admin)
    web.login(admin)
    web.go("/admin/teams")
    web.page.get_by_role("button", name="Add team").click()
    dialog = web.page.get_by_role("dialog", name="Add a team")
    dialog.get_by_label("Team name").fill("Nordic")
    dialog.get_by_role("button", name="Add team").click()
    expect(web.page.get_by_role("heading", level=2, name="Nordic")).to_be_visible()

    web.page.get_by_role("navigation", name="Administration").get_by_role("link", name="Users").click()
    web.page.get_by_role("button", name="Add user").click()
    dialog = web.page.get_by_role("dialog", name="Add a user")
    dialog.get_by_label("Full name").fill("Nora Nordic")
    dialog.get_by_label("Email").fill(existing["email"])
    dialog.get_by_label("Password").fill("a-long-enough-password")
    dialog.get_by_label("Role").select_option(label="Sales rep")
    dialog.get_by_label("Team").select_option(label="Nordic")
    dialog.get_by_role("button", name="Add user").click()
    expect(dialog.get_by_label("Email")).to_have_attribute("aria-invalid", "true")  # taken: said at the field
    dialog.get_by_label("Email").fill("nora@example.com")
    dialog.get_by_role("button", name="Add user").click()
    row = web.page.get_by_role("row", name=re.compile("Nora Nordic"))
    expect(row).to_contain_text("Sales rep")
    expect(row).to_contain_text("Nordic")
    nora = next(u for u in api.get("/api/v1/users").json() if u["email"] == "nora@example.com")
    assert nora["role"] == "sales" and nora["is_active"] is True

    web.page.get_by_role("button", name="Edit Nora Nordic").click()
    dialog = web.page.get_by_role("dialog", name="Edit Nora Nordic")
    dialog.get_by_role("checkbox", name="Active (may sign in)").uncheck()
    dialog.get_by_role("button", name="Save user").click()
    expect(row).to_contain_text("Deactivated")
    assert api.get(f"/api/v1/users/{nora['id']}").json()["is_active"] is False
    expect(web.page.get_by_role("heading", level=2, name="Nordic")).to_have_count(0)

    # a role copied from the sales rep, without deleting deals
    web.go("/admin/roles")
    web.page.get_by_role("button", name="Add role").click()
    dialog = web.page.get_by_role("dialog", name="Add a role")
    dialog.get_by_label("API name").fill("partner")
    dialog.get_by_role("textbox", name="Label", exact=True).fill("Partner")
    dialog.get_by_label("Start from").select_option(label="Copy of Sales rep")
    dialog.get_by_role("checkbox", name="Deals: delete").uncheck()
    dialog.get_by_role("button", name="Add role").click()
    expect(web.page.get_by_role("row", name=re.compile("Partner"))).to_be_visible()
    role = next(r for r in api.get("/api/v1/roles").json() if r["name"] == "partner")
    assert role["permissions"]["deals"] == ["create", "edit", "read"]
    assert role["permissions"]["contacts"] == ["create", "delete", "edit", "read"]


def test_admin_screens_are_refused_to_others(server: Server, web: Browser) -> None:
    rep = server.user("sales")
    web.login(rep)
    expect(web.page.get_by_role("navigation", name="Main").get_by_role("link", name="Users")).to_have_count(0)
    web.go("/admin/users")
    expect(web.page.get_by_role("heading", level=1, name="Administrators only")).to_be_visible()


def test_new_screens_on_a_phone(server: Server, phone: Browser) -> None:
    admin = server.user("admin", team="North", name="Pia Phone")
    api = server.api(admin)
    _pipeline(api)
    lead = api.post("/api/v1/leads", json={"last_name": "Mobile", "company_name": "Pocket Ltd"}).json()
    _contacts(api, [{"first_name": "Tap", "last_name": "Target", "city": "Nice"}])
    phone.login(admin)

    def no_sideways(path: str) -> None:
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width}px)"

    for path in ("/admin/fields/contacts", "/admin/users", "/admin/teams", "/admin/roles", "/o/contacts"):
        phone.go(path)
        phone.page.get_by_role("heading", level=1).wait_for()
        phone.page.wait_for_load_state("networkidle")
        no_sideways(path)
    # list tools: the checkbox of a card, the bulk bar, the view dialog
    box = phone.page.get_by_role("checkbox", name="Select Tap Target")
    target = phone.page.locator("label.select-target").first.bounding_box()
    assert target["width"] >= 44 and target["height"] >= 44
    box.check()
    for name in ("Edit field", "Assign owner", "Delete", "Clear selection"):
        b = (
            phone.page.get_by_role("region", name="Bulk actions")
            .get_by_role("button", name=name)
            .bounding_box()
        )
        assert b["height"] >= 40, name
    no_sideways("/o/contacts with a selection")
    phone.page.get_by_role("button", name="Save view").click()
    expect(phone.page.get_by_role("dialog", name="Save this view")).to_be_visible()
    no_sideways("save view dialog")
    phone.page.get_by_role("dialog", name="Save this view").get_by_role("button", name="Cancel").click()
    phone.page.get_by_role("button", name="Filter").click()
    phone.page.get_by_role("button", name="Add group").click()
    no_sideways("filter builder with a group")
    # the custom field dialog and the role matrix
    phone.go("/admin/fields/contacts")
    phone.page.get_by_role("button", name="Add field").click()
    dialog = phone.page.get_by_role("dialog", name="Add a custom field")
    dialog.get_by_label("Type").select_option(label="Multi select")
    dialog.get_by_role("button", name="Add option").click()
    no_sideways("custom field dialog")
    phone.go("/admin/roles")
    phone.page.get_by_role("button", name="Edit Sales rep").click()
    no_sideways("role editor")
    # the lead conversion dialog
    phone.go(f"/o/leads/{lead['id']}")
    phone.page.get_by_role("button", name="Convert", exact=True).click()
    expect(phone.page.get_by_role("dialog", name="Convert this lead")).to_contain_text(
        "Create the company “Pocket Ltd”"
    )
    no_sideways("convert dialog")
    b = phone.page.get_by_role("button", name="Convert lead").bounding_box()
    assert b["height"] >= 44
