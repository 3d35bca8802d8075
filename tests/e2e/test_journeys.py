"""User journeys through the web UI, against a real server and Chromium."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Browser, Server

pytestmark = pytest.mark.e2e

XSS = "<script>alert(1)</script><b>x</b>"


def _pipeline(api: Any) -> dict[str, Any]:
    r = api.post(
        "/api/v1/pipelines",
        json={
            "name": "Sales",
            "is_default": True,
            "stages": [
                {"name": "Qualify", "probability": 10},
                {"name": "Propose", "probability": 50},
                {"name": "Won", "probability": 100, "kind": "won"},
                {"name": "Lost", "probability": 0, "kind": "lost"},
            ],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def _drag(web: Browser, card: Any, column: Any) -> None:
    """Drag with real mouse events: press on the card, move in steps, release over the column."""
    page = web.page
    card.scroll_into_view_if_needed()
    box = card.bounding_box()
    target = column.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 12)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 10, box["y"] + 20, steps=3)
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + 80, steps=12)
    page.mouse.up()


def test_sign_in_navigate_notifications_and_sign_out(server: Server, web: Browser) -> None:
    user = server.user("sales", name="Lena Sales")
    lead = (
        server.api(user).post("/api/v1/contacts", json={"first_name": "Nina", "last_name": "Notified"}).json()
    )
    from sextant.collaboration.service import notify
    from sextant.core.db import session_scope

    with session_scope() as s:  # what the reminder job does, straight through the service
        notify(
            s,
            user["id"],
            "task_reminder",
            "Reminder: call <Nina>",
            object_name="contacts",
            record_id=lead["id"],
            dedupe_key="e2e:1",
        )
    web.go("/o/contacts")
    expect(web.page).to_have_url(re.compile(r"/login\?next=%2Fo%2Fcontacts$"))
    web.page.get_by_label("Email").fill(user["email"])
    web.page.get_by_label("Password").fill("not-the-password")
    web.page.get_by_role("button", name="Sign in").click()
    expect(web.page.get_by_role("alert")).to_contain_text("Wrong email or password")

    web.page.get_by_label("Password").fill(user["password"])
    web.page.get_by_role("button", name="Sign in").click()
    # back where the user was going, with the navigation built from the metadata
    expect(web.page.get_by_role("heading", level=1, name="Contacts")).to_be_visible()
    nav = web.page.get_by_role("navigation", name="Main")
    for label in ("My day", "Contacts", "Companies", "Deals"):
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    cookies = {c["name"]: c for c in web.page.context.cookies()}
    assert cookies["sextant_session"]["httpOnly"] is True

    # the bell: unread count, the list, a click opens the record and marks it read
    web.page.get_by_role("button", name="Notifications, 1 unread").click()
    web.page.get_by_role("region", name="Notifications").get_by_role(
        "button", name=re.compile("call <Nina>")
    ).click()
    expect(web.page.get_by_role("heading", level=1, name="Nina Notified")).to_be_visible()
    expect(web.page.get_by_role("button", name="Notifications", exact=True)).to_be_visible()

    web.page.get_by_role("button", name="Account: Lena Sales").click()
    web.page.get_by_role("menuitem", name="Sign out").click()
    expect(web.page.get_by_role("heading", name="Sign in")).to_be_visible()
    web.go("/")
    expect(web.page).to_have_url(re.compile(r"/login$"))


def test_create_contact_with_custom_field(server: Server, web: Browser) -> None:
    admin = server.user("admin", name="Ada Admin")
    api = server.api(admin)
    r = api.post(
        "/api/v1/metadata/objects/contacts/fields",
        json={
            "name": "shirt_size",
            "label": "Shirt size",
            "type": "single_select",
            "options": ["S", "M", "L"],
        },
    )
    assert r.status_code == 201, r.text
    web.login(admin)
    web.page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    web.page.get_by_role("button", name="New contact").click()
    dialog = web.page.get_by_role("dialog", name="New contact")
    dialog.get_by_label("First name").fill("Grace")
    dialog.get_by_label("Last name").fill("Hopper")
    dialog.get_by_label("Email", exact=True).fill("grace-at-navy")
    dialog.get_by_label("Shirt size").select_option("M")
    dialog.get_by_role("button", name="Create contact").click()
    # the server's validation error is shown at the field, and nothing was created
    expect(dialog.get_by_text("not a valid email address")).to_be_visible()
    expect(dialog.get_by_label("Email", exact=True)).to_have_attribute("aria-invalid", "true")

    dialog.get_by_label("Email", exact=True).fill("grace@navy.example.com")
    dialog.get_by_role("button", name="Create contact").click()
    expect(web.page.get_by_role("heading", level=1, name="Grace Hopper")).to_be_visible()
    details = web.page.get_by_role("region", name="Details")
    expect(details.get_by_text("Custom fields", exact=True)).to_be_visible()
    expect(details.get_by_text("Shirt size")).to_be_visible()
    record_id = int(web.page.url.rstrip("/").rsplit("/", 1)[1])
    stored = api.get(f"/api/v1/contacts/{record_id}").json()
    assert (stored["first_name"], stored["email"], stored["shirt_size"]) == (
        "Grace",
        "grace@navy.example.com",
        "M",
    )


def test_filter_the_contact_list(server: Server, web: Browser) -> None:
    rep = server.user("sales")
    api = server.api(rep)
    for first, city in [("Ana", "Lyon"), ("Bruno", "Paris"), ("Chloe", "Lyon"), ("Dario", "Milan")]:
        assert (
            api.post(
                "/api/v1/contacts", json={"first_name": first, "last_name": "Test", "city": city}
            ).status_code
            == 201
        )
    web.login(rep)
    web.go("/o/contacts")
    table = web.page.get_by_role("table")
    expect(table.get_by_role("link", name="Bruno Test")).to_be_visible()
    web.page.get_by_role("button", name="Filter").click()
    web.page.get_by_role("button", name="Add condition").click()
    web.page.get_by_label("Condition 1: field").select_option(label="City")
    web.page.get_by_label("Condition 1: operator").select_option(label="is")
    web.page.get_by_label("Value for City").fill("Lyon")
    web.page.get_by_role("button", name="Apply filter").click()

    expect(table.get_by_role("link", name="Bruno Test")).to_have_count(0)
    expect(table.get_by_role("link", name="Dario Test")).to_have_count(0)
    expect(table.get_by_role("link", name="Ana Test")).to_be_visible()
    expect(table.get_by_role("link", name="Chloe Test")).to_be_visible()
    expect(web.page.get_by_text("2 contacts")).to_be_visible()
    expect(web.page.get_by_label("Active filter")).to_contain_text("City is Lyon")
    # the filter language travels in the URL, so the view can be shared and survives a reload
    query = web.page.url.split("filter=", 1)[1]
    from urllib.parse import unquote

    assert json.loads(unquote(query)) == {"and": [{"field": "city", "op": "eq", "value": "Lyon"}]}
    web.page.reload()
    expect(table.get_by_role("link", name="Ana Test")).to_be_visible()
    expect(table.get_by_role("link", name="Bruno Test")).to_have_count(0)

    # sort by clicking a header
    web.page.get_by_role("columnheader", name="Name").get_by_role("button").click()
    expect(web.page.get_by_role("columnheader", name="Name")).to_have_attribute("aria-sort", "ascending")
    expect(table.locator("tbody tr").first).to_contain_text("Ana Test")
    web.page.get_by_role("columnheader", name="Name").get_by_role("button").click()
    expect(table.locator("tbody tr").first).to_contain_text("Chloe Test")


def test_drag_a_deal_across_stages(server: Server, web: Browser) -> None:
    boss = server.user("manager", name="Mia Manager")
    api = server.api(server.user("admin"))
    pipeline = _pipeline(api)
    stages = {s["name"]: s["id"] for s in pipeline["stages"]}
    deal = api.post(
        "/api/v1/deals",
        json={"name": "Rocket fuel", "amount": 5000, "stage_id": stages["Qualify"], "owner_id": boss["id"]},
    ).json()
    web.login(boss)
    web.page.get_by_role("link", name="Pipeline").click()
    board = web.page.get_by_label("Sales board")
    qualify = board.get_by_role("region", name=re.compile(r"^Qualify"))
    propose = board.get_by_role("region", name=re.compile(r"^Propose"))
    expect(qualify.get_by_role("article", name="Rocket fuel")).to_be_visible()

    with web.page.expect_response(
        lambda r: r.url.endswith(f"/api/v1/deals/{deal['id']}") and r.request.method == "PATCH"
    ) as resp:
        _drag(web, qualify.get_by_role("article", name="Rocket fuel"), propose)
    assert resp.value.status == 200, resp.value.text()
    expect(propose.get_by_role("article", name="Rocket fuel")).to_be_visible()
    assert api.get(f"/api/v1/deals/{deal['id']}").json()["stage_id"] == stages["Propose"]
    web.page.reload()
    expect(propose.get_by_role("article", name="Rocket fuel")).to_be_visible()
    expect(qualify.get_by_role("article", name="Rocket fuel")).to_have_count(0)

    # Lost needs a reason: the board asks for it before moving
    lost = board.get_by_role("region", name=re.compile(r"^Lost"))
    _drag(web, propose.get_by_role("article", name="Rocket fuel"), lost)
    dialog = web.page.get_by_role("dialog", name="Why was this deal lost?")
    dialog.get_by_label("Lost reason").select_option("competitor")
    with web.page.expect_response(
        lambda r: r.url.endswith(f"/api/v1/deals/{deal['id']}") and r.request.method == "PATCH"
    ) as resp:
        dialog.get_by_role("button", name="Move to Lost").click()
    assert resp.value.status == 200, resp.value.text()
    expect(lost.get_by_role("article", name="Rocket fuel")).to_be_visible()
    stored = api.get(f"/api/v1/deals/{deal['id']}").json()
    assert (stored["stage_id"], stored["status"], stored["lost_reason"]) == (
        stages["Lost"],
        "lost",
        "competitor",
    )


def test_a_stale_board_move_is_reported_not_swallowed(server: Server, web: Browser) -> None:
    boss = server.user("manager")
    api = server.api(boss)
    pipeline = _pipeline(server.api(server.user("admin")))
    stages = {s["name"]: s["id"] for s in pipeline["stages"]}
    deal = api.post("/api/v1/deals", json={"name": "Moon base", "stage_id": stages["Qualify"]}).json()
    web.login(boss)
    web.go("/board")
    board = web.page.get_by_label("Sales board")
    expect(board.get_by_role("article", name="Moon base")).to_be_visible()
    # someone else edits the deal after the board was loaded
    assert api.patch(f"/api/v1/deals/{deal['id']}", json={"amount": 99}).status_code == 200
    card = board.get_by_role("article", name="Moon base")
    card.get_by_label("Move Moon base to stage").select_option(label="Propose")
    expect(web.page.get_by_role("alert")).to_contain_text("changed by someone else")
    assert api.get(f"/api/v1/deals/{deal['id']}").json()["stage_id"] == stages["Qualify"]
    expect(
        board.get_by_role("region", name=re.compile(r"^Qualify")).get_by_role("article", name="Moon base")
    ).to_be_visible()


def test_complete_a_task_from_my_day(server: Server, web: Browser) -> None:
    rep = server.user("manager", name="Tom Tasker")
    api = server.api(rep)
    now = datetime.now(UTC)
    for title, due in [
        ("Call the customer back", now),
        ("Overdue follow-up", now - timedelta(days=3)),
        ("Prepare next week", now + timedelta(days=2)),
    ]:
        r = api.post("/api/v1/tasks", json={"title": title, "due_at": due.isoformat(), "owner_id": rep["id"]})
        assert r.status_code == 201, r.text
    web.login(rep)
    expect(web.page.get_by_role("region", name=re.compile("^Overdue"))).to_contain_text("Overdue follow-up")
    expect(web.page.get_by_role("region", name=re.compile("^Upcoming"))).to_contain_text("Prepare next week")
    box = web.page.get_by_role("checkbox", name="Mark “Call the customer back” as done")
    expect(box).to_be_visible()
    with web.page.expect_response(
        lambda r: "/api/v1/tasks/" in r.url and r.request.method == "PATCH"
    ) as resp:
        box.check()
    assert resp.value.status == 200, resp.value.text()
    expect(box).to_have_count(0)  # done: gone from the day's list
    expect(web.page.get_by_role("region", name=re.compile("^Today"))).not_to_contain_text(
        "Call the customer back"
    )
    tasks = api.get(
        "/api/v1/tasks",
        params={"filter": json.dumps({"field": "title", "op": "eq", "value": "Call the customer back"})},
    ).json()
    assert tasks["items"][0]["status"] == "done"


def test_another_teams_private_record_is_not_found(server: Server, web: Browser) -> None:
    owner = server.user("sales", team="North")
    outsider = server.user("sales", team="South")
    secret = (
        server.api(owner)
        .post("/api/v1/contacts", json={"first_name": "Hidden", "last_name": "Person"})
        .json()
    )
    web.login(outsider)
    web.go(f"/o/contacts/{secret['id']}")
    expect(web.page.get_by_role("heading", level=1, name="Not found")).to_be_visible()
    expect(web.page.get_by_text("Hidden Person")).to_have_count(0)
    # and the owner's team-mate path still works for the owner
    web.page.context.clear_cookies()
    web.login(owner)
    web.go(f"/o/contacts/{secret['id']}")
    expect(web.page.get_by_role("heading", level=1, name="Hidden Person")).to_be_visible()


def test_user_text_is_rendered_as_text(server: Server, web: Browser) -> None:
    rep = server.user("manager")
    api = server.api(rep)
    contact = api.post(
        "/api/v1/contacts",
        json={"first_name": XSS, "last_name": "Evil", "job_title": "<img src=x onerror=alert(2)>"},
    ).json()
    r = api.post(
        "/api/v1/activities",
        json={
            "kind": "note",
            "subject": "<i>subject</i>",
            "body": "<p>ok</p><img src=x onerror=alert(3)><script>alert(4)</script>",
            "links": [{"object": "contacts", "id": contact["id"]}],
        },
    )
    assert r.status_code == 201, r.text
    # Search results are checked with a second hostile name: PostgreSQL's text-search parser drops every word
    # after a "<script>" tag, so the first contact cannot be found by its words there (a backend issue).
    img = "<img src=x onerror=alert(5)>"
    assert api.post("/api/v1/contacts", json={"first_name": img, "last_name": "Mallory"}).status_code == 201
    web.login(rep)
    web.go(f"/o/contacts/{contact['id']}")
    heading = web.page.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"{XSS} Evil")
    assert heading.locator("b, script").count() == 0
    expect(web.page.get_by_text("<img src=x onerror=alert(2)>").first).to_be_visible()
    expect(web.page.get_by_role("link", name="<i>subject</i>")).to_be_visible()
    web.go("/o/contacts")
    expect(web.page.get_by_role("link", name=f"{XSS} Evil")).to_be_visible()
    web.page.keyboard.press("/")  # the search shortcut
    search = web.page.get_by_role("combobox", name="Search everything")
    expect(search).to_be_focused()
    web.page.keyboard.type("Mallory")
    expect(web.page.get_by_role("option").first).to_contain_text(f"{img} Mallory")
    web.page.keyboard.press("Enter")
    expect(web.page.get_by_role("heading", level=1)).to_have_text(f"{img} Mallory")
    web.page.wait_for_timeout(300)
    assert web.dialogs == [], f"a script ran: {web.dialogs}"


def test_inline_edit_and_conflict(server: Server, web: Browser) -> None:
    rep = server.user("sales")
    api = server.api(rep)
    contact = api.post(
        "/api/v1/contacts", json={"first_name": "Ed", "last_name": "Itor", "city": "Oslo"}
    ).json()
    web.login(rep)
    web.go(f"/o/contacts/{contact['id']}")
    web.page.get_by_role("button", name="Edit City").click()
    field = web.page.get_by_role("textbox", name="City")
    field.fill("Bergen")
    field.press("Enter")
    expect(web.page.get_by_role("button", name="Edit City")).to_be_visible()
    assert api.get(f"/api/v1/contacts/{contact['id']}").json()["city"] == "Bergen"

    # a change made elsewhere meanwhile: the save is refused, said so, and the page shows the latest values
    assert api.patch(f"/api/v1/contacts/{contact['id']}", json={"job_title": "Chief"}).status_code == 200
    web.page.get_by_role("button", name="Edit City").click()
    web.page.get_by_role("textbox", name="City").fill("Tromsø")
    web.page.get_by_role("button", name="Save").click()
    expect(web.page.get_by_role("alert")).to_contain_text("changed by someone else")
    expect(web.page.get_by_role("region", name="Details")).to_contain_text("Chief")
    assert api.get(f"/api/v1/contacts/{contact['id']}").json()["city"] == "Bergen"


def test_timeline_quick_actions(server: Server, web: Browser) -> None:
    rep = server.user("manager")
    api = server.api(rep)
    contact = api.post("/api/v1/contacts", json={"first_name": "Tia", "last_name": "Line"}).json()
    web.login(rep)
    web.go(f"/o/contacts/{contact['id']}")
    web.page.get_by_role("button", name="Log a call").click()
    web.page.get_by_label("Subject", exact=True).fill("Discovery call")
    web.page.get_by_label("Notes", exact=True).fill("Wants <b>50</b> seats\nnext quarter")
    web.page.get_by_role("button", name="Save").click()
    timeline = web.page.get_by_role("tabpanel")
    expect(timeline.get_by_role("link", name="Discovery call")).to_be_visible()
    expect(timeline.get_by_text("Wants <b>50</b> seats")).to_be_visible()
    web.page.get_by_role("button", name="Create a task").click()
    web.page.get_by_label("Task", exact=True).fill("Send pricing")
    web.page.get_by_role("button", name="Save").click()
    expect(timeline.get_by_role("link", name="Send pricing")).to_be_visible()
    links = api.get(
        "/api/v1/tasks",
        params={"filter": json.dumps({"field": "title", "op": "eq", "value": "Send pricing"})},
    )
    task = links.json()["items"][0]
    assert api.get(f"/api/v1/tasks/{task['id']}/links").json()[0]["id"] == contact["id"]
    web.page.get_by_role("tab", name="History").click()
    expect(web.page.get_by_role("tabpanel")).to_contain_text("Created")


def test_phone_layout(server: Server, phone: Browser) -> None:
    rep = server.user("sales", name="Pat Phone")
    api = server.api(rep)
    contact = api.post(
        "/api/v1/contacts",
        json={
            "first_name": "Mo",
            "last_name": "Bile",
            "city": "Nice",
            "email": "mo.bile.with.a.rather.long.address@example.com",
        },
    ).json()
    phone.login(rep)
    for path in ("/", "/o/contacts", f"/o/contacts/{contact['id']}"):
        phone.go(path)
        phone.page.get_by_role("heading", level=1).wait_for()
        phone.page.wait_for_load_state("networkidle")
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width}px)"
    nav = phone.page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Contacts")).to_be_hidden()
    menu = phone.page.get_by_role("button", name="Menu")
    box = menu.bounding_box()
    assert box["width"] >= 44 and box["height"] >= 44
    menu.click()
    nav.get_by_role("link", name="Contacts").click()
    expect(phone.page.get_by_role("heading", level=1, name="Contacts")).to_be_visible()
    expect(nav.get_by_role("link", name="Contacts")).to_be_hidden()
