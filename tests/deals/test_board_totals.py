"""The board's totals come from `deal_board_totals`, kept by database triggers: after every kind of write
(creates, updates, stage moves, owner changes, deletes, restores, bulk writes, imports and their undo, merges
and their undo, raw SQL) they equal counting the visible deals themselves, for every kind of user."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from tests.dataquality.support import csv_bytes, run_import
from tests.deals.support import API, make_pipeline, stage
from tests.helpers import As, Crm

DEALS = f"{API}/deals"


@pytest.fixture(autouse=True)
def _import_files(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEXTANT_IMPORT_DIR", str(tmp_path / "imports"))


def _totals(caller: As, pipeline_id: int, *, from_summary: bool) -> dict[int, tuple[int, float, float]]:
    """A user's per-stage totals, from the summary table or counted from the deals (rounded as shown)."""
    from sextant.accounts.models import User
    from sextant.accounts.service import build_actor
    from sextant.core.db import session_scope
    from sextant.deals.service import board_totals, get_pipeline

    with session_scope() as s:
        actor = build_actor(s, s.get(User, caller.user["id"]))
        got = board_totals(s, actor, get_pipeline(s, pipeline_id), from_summary=from_summary)
    return {sid: (n, round(float(a), 2), round(float(w), 2)) for sid, (n, a, w) in got.items() if n}


class Org:
    def __init__(self, crm: Crm) -> None:
        north, south = crm.team("North"), crm.team("South")
        self.admin = crm.admin
        self.boss = crm.user(role="manager")
        self.alice = crm.user(team=north, manager=self.boss)
        self.bob = crm.user(team=north)
        self.carol = crm.user(team=south)
        self.viewer = crm.user(role="read_only")
        self.people = [self.admin, self.boss, self.alice, self.bob, self.carol, self.viewer]
        self.main = make_pipeline(crm.admin, "Main")
        self.other = make_pipeline(crm.admin, "Other")

    def check(self) -> None:
        """Every user's totals from the summary equal the counted ones, on both pipelines."""
        seen = 0
        for pipeline in (self.main, self.other):
            for person in self.people:
                fast = _totals(person, pipeline["id"], from_summary=True)
                slow = _totals(person, pipeline["id"], from_summary=False)
                assert fast == slow, (person.user["email"], pipeline["name"])
                seen += sum(n for n, _a, _w in slow.values())
        assert seen  # the comparison is not between two empty answers

    def deal(
        self, owner: As, amount: float | None, stage_name: str = "Qualify", **extra: Any
    ) -> dict[str, Any]:
        body = {"name": f"{owner.user['email']} {amount}", "stage_id": stage(self.main, stage_name), **extra}
        return self.admin.create("deals", amount=amount, owner_id=owner.user["id"], **body)


def _patch(caller: As, deal: dict[str, Any], **body: Any) -> dict[str, Any]:
    r = caller.patch(f"{DEALS}/{deal['id']}", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def _summary_rows() -> list[tuple[Any, ...]]:
    from sextant.core.db import session_scope
    from sextant.deals.models import DealBoardTotal as T

    with session_scope() as s:
        return [tuple(r) for r in s.execute(select(T.pipeline_id, T.stage_id, T.owner_id, T.deal_count))]


def test_board_totals_follow_every_single_record_write(crm: Crm) -> None:
    org = Org(crm)
    a = org.deal(org.alice, 1000.10, probability=33.3)
    b = org.deal(org.bob, 2500, "Propose")
    c = org.deal(org.carol, None, "Negotiate")  # no amount: counted, adds nothing
    d = org.deal(org.boss, 99.99, currency="EUR")
    org.deal(org.alice, 0.07, "Won")
    org.check()

    a = _patch(org.admin, a, amount=1234.56)  # amount
    b = _patch(org.admin, b, probability=12.5)  # probability
    org.check()
    a = _patch(org.admin, a, stage_id=stage(org.main, "Negotiate"))  # stage move (probability follows)
    b = _patch(org.admin, b, stage_id=stage(org.main, "Lost"), lost_reason="price")  # closed
    c = _patch(org.admin, c, pipeline_id=org.other["id"], stage_id=stage(org.other, "Propose"))
    org.check()
    a = _patch(org.admin, a, owner_id=org.carol.user["id"])  # owner change: leaves alice's team
    d = _patch(org.admin, d, currency="USD", amount=10)
    org.check()
    assert org.admin.delete(f"{DEALS}/{a['id']}").status_code == 204
    assert org.alice.delete(f"{DEALS}/{org.deal(org.alice, 5)['id']}").status_code == 204
    org.check()
    assert org.admin.post(f"{DEALS}/{a['id']}/restore").status_code == 200
    org.check()


def test_board_totals_follow_bulk_writes_and_refused_bulk_writes_change_nothing(crm: Crm) -> None:
    org = Org(crm)
    r = org.admin.post(
        f"{DEALS}/bulk",
        json={
            "records": [
                {"name": f"Bulk {i}", "amount": 100.5 * i, "owner_id": p.user["id"]}
                for i, p in enumerate([org.alice, org.bob, org.carol, org.boss] * 3)
            ]
        },
    )
    assert r.status_code == 201, r.text
    made = r.json()["items"]
    org.check()
    r = org.admin.patch(
        f"{DEALS}/bulk",
        json={
            "records": [
                {"id": d["id"], "stage_id": stage(org.main, "Propose"), "amount": 7.25} for d in made[:5]
            ]
            + [{"id": made[5]["id"], "owner_id": org.alice.user["id"]}]
        },
    )
    assert r.status_code == 200, r.text
    org.check()
    before = _summary_rows()
    r = org.admin.patch(
        f"{DEALS}/bulk",
        json={"records": [{"id": made[6]["id"], "amount": 1}, {"id": made[7]["id"], "amount": "lots"}]},
    )
    assert r.status_code == 422  # all or nothing: the first item's change is rolled back with its rows
    assert _summary_rows() == before
    r = org.admin.post(f"{DEALS}/bulk-delete", json={"records": [{"id": d["id"]} for d in made[3:9]]})
    assert r.status_code == 200, r.text
    org.check()
    for d in made[3:5]:
        assert org.admin.post(f"{DEALS}/{d['id']}/restore").status_code == 200
    org.check()


def test_board_totals_follow_imports_their_undo_and_merges(crm: Crm) -> None:
    org = Org(crm)
    kept = org.deal(org.alice, 10, name="Kept deal")
    content = csv_bytes(
        [
            ["Name", "Amount", "Owner"],
            ["Kept deal", "500", org.bob.user["email"]],  # an update by key: amount and owner change
            ["Imported one", "1200.40", org.carol.user["email"]],
            ["Imported two", "", org.alice.user["email"]],
        ]
    )
    mapping = {"Name": "name", "Amount": "amount", "Owner": "owner_id"}
    job = run_import(org.admin, "deals", content, mapping=mapping, key="name")
    assert (job["created"], job["updated"]) == (2, 1), job
    org.check()
    r = org.admin.post(f"/api/v1/imports/{job['id']}/undo")
    assert r.status_code == 200, r.text
    org.check()
    assert org.admin.get(f"{DEALS}/{kept['id']}").json()["amount"] == 10

    master, dup = org.deal(org.bob, 300, "Propose"), org.deal(org.carol, 700, "Negotiate")
    merge = {"object": "deals", "master_id": master["id"], "duplicate_ids": [dup["id"]]}
    r = org.admin.post("/api/v1/merges", json={**merge, "values": {"amount": dup["id"]}})
    assert r.status_code == 201, r.text
    org.check()
    assert org.admin.post(f"/api/v1/merges/{r.json()['id']}/undo").status_code == 200
    org.check()


def test_board_totals_follow_raw_sql_and_owner_less_deals(crm: Crm) -> None:
    """Writes that bypass the services (SQL, scripts) are counted too: the triggers live in the database."""
    from sextant.core.db import session_scope

    org = Org(crm)
    a, b = org.deal(org.alice, 40), org.deal(org.bob, 60, "Propose")
    with session_scope() as s:
        s.execute(
            text("UPDATE deals SET owner_id = NULL, amount = amount * 2 WHERE id = :id"), {"id": a["id"]}
        )
        s.execute(text("DELETE FROM deals WHERE id = :id"), {"id": b["id"]})
    org.check()  # a deal without an owner: in the admin's and the read-only user's totals, nobody else's
    assert _totals(org.admin, org.main["id"], from_summary=True)[stage(org.main, "Qualify")] == (1, 80, 8)
    assert stage(org.main, "Qualify") not in _totals(org.boss, org.main["id"], from_summary=True)


def test_board_totals_respect_the_sharing_model(crm: Crm) -> None:
    org = Org(crm)
    org.deal(org.alice, 100)
    org.deal(org.carol, 200, "Propose")
    r = org.admin.put("/api/v1/metadata/objects/deals/sharing", json={"sharing": "read_only"})
    assert r.status_code == 200, r.text
    org.check()
    qualify, propose = stage(org.main, "Qualify"), stage(org.main, "Propose")
    assert set(_totals(org.bob, org.main["id"], from_summary=True)) == {qualify, propose}
    org.admin.put("/api/v1/metadata/objects/deals/sharing", json={"sharing": "private"})
    assert set(_totals(org.bob, org.main["id"], from_summary=True)) == {qualify}  # alice: a team-mate
    org.check()


def test_the_board_reads_the_summary_without_a_filter_and_counts_deals_with_one(crm: Crm) -> None:
    org = Org(crm)
    org.deal(org.alice, 100)
    org.deal(org.alice, 5000)
    board = org.boss.get(f"{API}/pipelines/{org.main['id']}/board").json()
    column = next(c for c in board["columns"] if c["stage"]["name"] == "Qualify")
    assert (column["count"], column["amount"], column["weighted"], len(column["deals"])) == (2, 5100, 510, 2)
    r = org.boss.get(
        f"{API}/pipelines/{org.main['id']}/board",
        params={"filter": '{"field": "amount", "op": "gt", "value": 1000}'},
    )
    column = next(c for c in r.json()["columns"] if c["stage"]["name"] == "Qualify")
    assert (column["count"], column["amount"], len(column["deals"])) == (1, 5000, 1)


def test_each_board_column_is_the_first_page_of_its_stage_as_the_list_api_gives_it(crm: Crm) -> None:
    """The columns are read in one statement; they must be what `GET /deals` returns for the stage, next
    cursor included (the board asks for the next pages there), with and without a filter."""
    import json

    org = Org(crm)
    dates = ["2099-01-05", None, "2099-01-05", "2098-12-31", None, "2099-03-01", "2099-01-05"]
    for i, when in enumerate(dates):  # ties and empty close dates: the id breaks the tie, empty ones last
        for person in (org.alice, org.carol):
            org.deal(person, 100 * i, "Propose" if i % 3 else "Qualify", expected_close_date=when)
    flt = {"field": "amount", "op": "gte", "value": 200}
    for person in (org.admin, org.boss, org.bob):
        for params in ({"per_stage": 2}, {"per_stage": 3, "filter": json.dumps(flt)}, {}):
            board = person.get(f"{API}/pipelines/{org.main['id']}/board", params=params).json()
            for column in board["columns"]:
                where: list[Any] = [{"field": "stage_id", "op": "eq", "value": column["stage"]["id"]}]
                body = {
                    "filter": {
                        "and": [{"field": "pipeline_id", "op": "eq", "value": org.main["id"]}, *where]
                    },
                    "sort": "expected_close_date",
                    "limit": params.get("per_stage", 25),
                }
                if "filter" in params:
                    body["filter"]["and"].append(flt)
                page = person.post(f"{DEALS}/query", json=body).json()
                assert column["deals"] == page["items"], (person.user["email"], params, column["stage"])
                assert column["next_cursor"] == page["next_cursor"]
                assert column["count"] >= len(column["deals"])
