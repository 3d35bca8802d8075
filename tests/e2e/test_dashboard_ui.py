"""The analytics UI: the default sales dashboard shows the numbers of deals made through the API, follows the
period filter and downloads a chart as a PNG; a deal page shows its win probability and why."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Browser, Server
from tests.e2e.test_journeys import _pipeline

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _deal(api: Any, **fields: Any) -> dict[str, Any]:
    r = api.post("/api/v1/deals", json=fields)
    assert r.status_code == 201, r.text
    return r.json()


def _move(api: Any, deal: dict[str, Any], **fields: Any) -> None:
    r = api.patch(f"/api/v1/deals/{deal['id']}", json=fields)
    assert r.status_code == 200, r.text


def _widget(web: Browser, name: str) -> Any:
    return web.page.get_by_role("region", name=name, exact=True)


def test_the_sales_dashboard_shows_the_pipeline_and_follows_the_period(server: Server, web: Browser) -> None:
    rep = server.user("sales", name="Rita Rep")
    other = server.user("sales", name="Oscar Other")
    api = server.api(rep)
    stages = {s["name"]: s["id"] for s in _pipeline(server.api(server.user("admin")))["stages"]}
    today = datetime.now(UTC).date().isoformat()
    common = {"owner_id": rep["id"], "expected_close_date": today}
    open_deal = _deal(api, name="Orbital relay", amount=12000, stage_id=stages["Qualify"], **common)
    _deal(api, name="Lunar lander", amount=8000, stage_id=stages["Propose"], **common)
    won = _deal(api, name="Comet tail", amount=7000, stage_id=stages["Qualify"], **common)
    lost = _deal(api, name="Meteor dust", amount=3000, stage_id=stages["Qualify"], **common)
    _move(api, won, stage_id=stages["Won"])
    _move(api, lost, stage_id=stages["Lost"], lost_reason="competitor")

    web.login(rep)
    web.page.get_by_role("link", name="Dashboard").click()
    expect(web.page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    # open deals closing in this quarter: 12,000 + 8,000; one won of two closed; the won deal's size
    expect(_widget(web, "Pipeline value by stage").get_by_test_id("widget-value")).to_have_text("20,000")
    expect(_widget(web, "Win rate").get_by_test_id("widget-value")).to_have_text("50%")
    expect(_widget(web, "Win rate")).to_contain_text("1 won · 1 lost")
    expect(_widget(web, "Average deal size (won)").get_by_test_id("widget-value")).to_have_text("7,000")
    expect(_widget(web, "Deals closing this month").get_by_test_id("widget-value")).to_have_text("2")
    # 12,000 at 10 % + 8,000 at 50 %
    expect(_widget(web, "Weighted pipeline").get_by_test_id("widget-value")).to_have_text("5,200")
    chart = _widget(web, "Pipeline value by stage").get_by_role("img")
    expect(chart).to_have_accessible_name(re.compile(r"^Pipeline value by stage"))
    expect(_widget(web, "Pipeline value by stage").locator("rect title").first).to_have_text(
        "Qualify · Amount: 12,000"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    web.page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    # a chart downloads as a PNG
    with web.page.expect_download() as dl:
        web.page.get_by_role("button", name=re.compile(r"^Download PNG: Pipeline value by stage")).click()
    assert dl.value.suggested_filename == "pipeline_by_stage.png"
    png = Path(dl.value.path()).read_bytes()
    assert png[:8] == PNG_SIGNATURE
    assert len(png) > 2000, "the PNG looks empty"

    # another owner: none of these deals are theirs
    with web.page.expect_response(
        lambda r: "/analytics/dashboards/sales/data" in r.url and f"owner_id={other['id']}" in r.url
    ) as resp:
        web.page.get_by_label("Owner").select_option(str(other["id"]))
    assert resp.value.status == 200, resp.value.text()
    expect(_widget(web, "Pipeline value by stage").get_by_test_id("widget-value")).to_have_text("0")
    web.page.get_by_label("Owner").select_option("")
    expect(_widget(web, "Pipeline value by stage").get_by_test_id("widget-value")).to_have_text("20,000")

    # last quarter: nothing was closed then, and nothing is expected to close then
    with web.page.expect_response(
        lambda r: "/analytics/dashboards/sales/data" in r.url and "period=last_quarter" in r.url
    ) as resp:
        web.page.get_by_label("Period").select_option("last_quarter")
    assert resp.value.status == 200, resp.value.text()
    assert resp.value.json()["scope"]["to"] < today
    expect(_widget(web, "Win rate").get_by_test_id("widget-value")).to_have_text("—")
    expect(_widget(web, "Average deal size (won)").get_by_test_id("widget-value")).to_have_text("—")
    expect(_widget(web, "Pipeline value by stage").get_by_test_id("widget-value")).to_have_text("0")
    assert "period=last_quarter" in web.page.url

    # the deal page: win probability and why
    web.go(f"/o/deals/{open_deal['id']}")
    expect(web.page.get_by_role("heading", level=1, name="Orbital relay")).to_be_visible()
    score = api.get(f"/api/v1/analytics/scores/deals/{open_deal['id']}").json()
    badge = web.page.get_by_role("button", name=re.compile(r"^Win probability \d+%: why\?"))
    expect(badge).to_contain_text(f"{round(score['score'])}%")
    badge.click()
    why = web.page.get_by_role("dialog", name=re.compile(r"^Why win probability"))
    expect(why).to_be_visible()
    assert score["factors"], score
    expect(why.get_by_role("listitem")).to_have_count(len(score["factors"]))
    expect(why).to_contain_text(score["factors"][0]["label"])
    web.page.keyboard.press("Escape")
    expect(why).to_be_hidden()


def test_the_dashboard_stacks_on_a_phone(server: Server, phone: Browser) -> None:
    rep = server.user("sales")
    _pipeline(server.api(server.user("admin")))
    phone.login(rep)
    phone.go("/dashboard")
    first = phone.page.get_by_role("region", name="Weighted pipeline", exact=True)
    second = phone.page.get_by_role("region", name="Win rate", exact=True)
    expect(first).to_be_visible()
    expect(second).to_be_visible()
    a, b = first.bounding_box(), second.bounding_box()
    assert b["y"] >= a["y"] + a["height"], "the cards do not stack"
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= phone.page.viewport_size["width"], f"the page scrolls sideways ({width}px)"
