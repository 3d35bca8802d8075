"""Global search: ranking (whole words before prefixes, then newest first), every word must match, one page
across objects, visibility before the limit — and the same answers whichever way the query is evaluated
(on PostgreSQL: a walk of each object's newest rows, then its older matches from GIN or by walking on,
see core/search.py)."""

from __future__ import annotations

from typing import Any

import pytest

from sextant.core import search
from tests.helpers import As, Crm

API = "/api/v1"


def found(caller: As, q: str, **params: Any) -> list[tuple[str, int]]:
    r = caller.get(f"{API}/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    return [(i["object"], i["id"]) for i in items]


def test_whole_words_rank_before_prefixes_then_the_newest_first(crm: Crm) -> None:
    admin = crm.admin
    old_exact = admin.create("contacts", first_name="Mara", last_name="Old")["id"]
    prefix = admin.create("contacts", first_name="Marathon", last_name="Runner")["id"]
    new_exact = admin.create("contacts", first_name="Mara", last_name="New")["id"]
    company = admin.create("companies", name="Mara Logistics")["id"]
    admin.create("contacts", first_name="Nobody", last_name="Else")
    assert found(admin, "mara") == [
        ("companies", company),
        ("contacts", new_exact),
        ("contacts", old_exact),
        ("contacts", prefix),
    ]
    assert found(admin, "mara", limit=2) == [("companies", company), ("contacts", new_exact)]
    assert found(admin, "mara", objects="contacts", limit=3) == [
        ("contacts", new_exact),
        ("contacts", old_exact),
        ("contacts", prefix),
    ]
    # Every word must match some field of the record (here: first name and email).
    both = admin.create("contacts", first_name="Mara", email="quill@example.com")["id"]
    assert found(admin, "mara qui") == [("contacts", both)]
    assert found(admin, "mara zzz") == []
    # A change makes a record the newest.
    r = admin.patch(f"{API}/contacts/{old_exact}", json={"last_name": "Older"})
    assert r.status_code == 200, r.text
    assert found(admin, "mara", objects="contacts")[0] == ("contacts", old_exact)


# (window, cost of a GIN match): 0 sends every short page to GIN, a huge one walks on.
PATHS = [(1, 0), (1, 10**9), (2, 0), (3, 10**9), (10_000, 10)]


@pytest.mark.parametrize(("window", "gin_cost"), PATHS)
def test_every_evaluation_path_gives_the_same_page(
    crm: Crm, monkeypatch: pytest.MonkeyPatch, window: int, gin_cost: int
) -> None:
    admin = crm.admin
    team = crm.team()
    rep = crm.user(team=team)
    other = crm.user(team=crm.team())
    mine, everyone = [], []
    for i in range(7):
        owner = rep if i % 3 else other
        created = owner.create("contacts", first_name=f"Quorra{i}" if i % 2 else "Quorra", last_name=f"L{i}")
        everyone.append(created["id"])
        if owner is rep:
            mine.append(created["id"])
        owner.create("companies", name=f"Quorra Works {i}")
    monkeypatch.setattr(search, "PG_WINDOW", window)
    monkeypatch.setattr(search, "PG_GIN_COST", gin_cost)
    exact = [i for n, i in enumerate(everyone) if not n % 2]
    prefix = [i for n, i in enumerate(everyone) if n % 2]
    contacts = [("contacts", i) for i in reversed(exact)] + [("contacts", i) for i in reversed(prefix)]
    assert found(admin, "quorra", objects="contacts", limit=100) == contacts
    assert found(admin, "quorra", objects="contacts", limit=3) == contacts[:3]
    # A one-letter word (checked row by row on PostgreSQL): no whole-word match here, so newest first.
    assert found(admin, "quorra l", limit=100) == [("contacts", i) for i in reversed(everyone)]
    visible = [c for c in contacts if c[1] in mine]
    assert found(rep, "quorra", objects="contacts", limit=100) == visible
    assert found(rep, "quorra", objects="contacts", limit=2) == visible[:2]
    everything = found(admin, "quorra", limit=100)
    assert len(everything) == 14 and set(contacts) <= set(everything)
    assert found(admin, "quorra", limit=5) == everything[:5]


@pytest.mark.parametrize(("window", "gin_cost"), PATHS)
def test_a_forbidden_or_deleted_record_never_shows_whichever_way_an_object_is_read(
    crm: Crm, monkeypatch: pytest.MonkeyPatch, window: int, gin_cost: int
) -> None:
    """A record handed to another team, or deleted, after it was indexed is out, whichever way each object is
    read (with a window of 1, contacts have older rows to look through while companies may not)."""
    monkeypatch.setattr(search, "PG_WINDOW", window)
    monkeypatch.setattr(search, "PG_GIN_COST", gin_cost)
    rep = crm.user(team=crm.team())
    other = crm.user(team=crm.team())
    contacts = [
        (rep if i % 2 else other).create("contacts", first_name="Zephyrine", last_name=f"Q{i}")["id"]
        for i in range(6)
    ]
    mine_company = rep.create("companies", name="Zephyrine Tools")["id"]
    other.create("companies", name="Zephyrine Labs")
    handed, deleted, kept = contacts[1], contacts[3], contacts[5]
    r = rep.patch(f"{API}/contacts/{handed}", json={"owner_id": other.user["id"]})
    assert r.status_code == 200, r.text
    assert rep.delete(f"{API}/contacts/{deleted}").status_code in (200, 204)
    for q in ("zephyrine", "zeph", "ze"):  # "ze": short words only, always walked
        assert found(rep, q, limit=100) == [("companies", mine_company), ("contacts", kept)]
    assert found(rep, "zephyrine q", limit=100) == [("contacts", kept)]
    assert found(rep, "zeph", objects="contacts", limit=1) == [("contacts", kept)]
    everything = found(crm.admin, "zeph", limit=100)
    assert ("contacts", deleted) not in everything
    assert {("contacts", c) for c in contacts if c != deleted} <= set(everything)
    assert len(everything) == 7
