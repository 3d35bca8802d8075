"""Lead scores and win probabilities: rules while history is small, a trained model after, factors per record,
calibration, scores as read-only fields that lists and filters use, rescoring on change and by the job."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.analytics.support import AN, API, World, backdate, move
from tests.helpers import problem


def _history(world: World, n: int = 120) -> None:
    """Closed deals whose outcome follows their source and amount: referrals and small deals are won."""
    rng = random.Random(7)
    items = []
    for i in range(n):
        source = rng.choice(["referral", "website", "cold_outreach"])
        amount = rng.choice([1000, 5000, 50000])
        p_win = {"referral": 0.8, "website": 0.4, "cold_outreach": 0.1}[source] * (
            1.2 if amount < 10000 else 0.6
        )
        won = rng.random() < p_win
        items.append(
            {"name": f"H{i}", "amount": amount, "source": source, "stage_id": world.stage("Qualify")}
        )
        items[-1]["_won"] = won
    r = world.admin.post(
        f"{API}/deals/bulk", json={"records": [{k: v for k, v in d.items() if k != "_won"} for d in items]}
    )
    assert r.status_code in (200, 201), r.text
    created = r.json()["items"]
    updates = []
    for deal, spec in zip(created, items, strict=True):
        if spec["_won"]:
            updates.append({"id": deal["id"], "stage_id": world.stage("Won")})
        else:
            updates.append({"id": deal["id"], "stage_id": world.stage("Lost"), "lost_reason": "price"})
    r = world.admin.patch(f"{API}/deals/bulk", json={"records": updates})
    assert r.status_code == 200, r.text
    old = datetime.now(UTC) - timedelta(days=200)
    for i, deal in enumerate(created):
        backdate("deals", deal["id"], created_at=old + timedelta(days=i))


def score(caller: Any, obj: str, record_id: int) -> dict[str, Any]:
    r = caller.get(f"{AN}/scores/{obj}/{record_id}")
    assert r.status_code == 200, r.text
    return r.json()


def test_rules_score_deals_and_leads_until_there_is_history(world: World) -> None:
    s = score(world.north, "deals", world.deals["n2"]["id"])
    assert s["model"]["algorithm"] == "rules" and s["unit"] == "points"
    assert s["score"] == 45.0  # Propose's 50 %, less 10 % for no primary contact
    assert [f["feature"] for f in s["factors"]] == ["stage", "has_contact"]
    assert s["factors"][0]["value"] == "Propose"
    lead = world.north.create(
        "leads",
        first_name="Ada",
        last_name="L",
        email="ada@bigcorp.example",
        job_title="VP Sales",
        phone="+14155550101",
    )
    ls = score(world.north, "leads", lead["id"])
    assert ls["score"] == 15 + 20 + 15 + 10  # base, VP, business email, phone
    assert {f["feature"] for f in ls["factors"]} == {"title_level", "email_kind", "has_phone"}
    r = world.admin.post(f"{AN}/models/win_probability/train")
    assert r.status_code == 200, r.text
    assert (
        r.json()["model"]["algorithm"] == "rules"
        and "needed to train" in r.json()["model"]["metrics"]["reason"]
    )
    assert r.json()["scoring"]["scored"] == 5
    stored = world.north.get(f"{API}/deals/{world.deals['n2']['id']}").json()
    assert stored["win_probability"] == 45.0


def test_a_trained_model_explains_each_score_and_shows_calibration(world: World) -> None:
    _history(world)
    problem(world.north.post(f"{AN}/models/win_probability/train"), 403)
    r = world.admin.post(f"{AN}/models/win_probability/train")
    assert r.status_code == 200, r.text
    model = r.json()["model"]
    assert model["algorithm"] == "logistic_regression" and model["samples"] == 120
    assert 0.5 < model["metrics"]["auc"] <= 1.0
    cal = world.north.get(f"{AN}/models/win_probability/calibration").json()
    assert (
        len(cal["deciles"]) == 10 and sum(d["count"] for d in cal["deciles"]) == model["metrics"]["holdout"]
    )
    assert all(0 <= d["predicted"] <= 1 and 0 <= d["actual"] <= 1 for d in cal["deciles"])
    # a referral beats a cold call, everything else equal, and the factors say why
    ref = world.north.create(
        "deals", name="Ref", amount=1000, source="referral", stage_id=world.stage("Qualify")
    )
    cold = world.north.create(
        "deals", name="Cold", amount=1000, source="cold_outreach", stage_id=world.stage("Qualify")
    )
    a, b = score(world.north, "deals", ref["id"]), score(world.north, "deals", cold["id"])
    assert a["score"] > b["score"] and a["unit"] == "log-odds"
    source = next(f for f in a["factors"] if f["feature"] == "source")
    assert source["value"] == "referral" and source["direction"] == "up"
    assert next(f for f in b["factors"] if f["feature"] == "source")["direction"] == "down"
    # the job rescored every open deal; the score is a read-only field lists filter and sort on
    r = world.admin.post(f"{AN}/models/win_probability/train")
    page = world.north.get(
        f"{API}/deals",
        params={
            "filter": json.dumps({"field": "win_probability", "op": "gte", "value": 0}),
            "sort": "-win_probability",
        },
    ).json()
    probs = [d["win_probability"] for d in page["items"]]
    assert len(probs) == 5 and probs == sorted(probs, reverse=True)
    r = world.north.patch(f"{API}/deals/{ref['id']}", json={"win_probability": 99})
    assert problem(r, 422)["errors"][0]["code"] == "read_only"
    # reports group on it like any field
    rep = world.admin.post(
        f"{AN}/reports/run",
        json={"object": "deals", "aggregates": [{"op": "avg", "field": "win_probability"}]},
    )
    assert rep.status_code == 200 and rep.json()["rows"][0]["avg_win_probability"] > 0


def test_a_changed_record_is_rescored_by_the_outbox_subscriber(world: World) -> None:
    from sextant.core.events import dispatch_once, subscribers

    sub = next(s for s in subscribers() if s.name == "analytics.rescore")
    deal = world.north.create("deals", name="Fresh", amount=10, stage_id=world.stage("Qualify"))
    while dispatch_once(sub):
        pass
    assert world.north.get(f"{API}/deals/{deal['id']}").json()["win_probability"] == 9.0
    move(world.north, deal, world.stage("Negotiate"))
    while dispatch_once(sub):
        pass
    assert world.north.get(f"{API}/deals/{deal['id']}").json()["win_probability"] == 72.0
    assert score(world.north, "deals", deal["id"])["stored_score"] == 72.0


def test_lead_model_trains_on_converted_and_disqualified_leads(world: World) -> None:
    rng = random.Random(3)
    for i in range(80):
        vp = rng.random() < 0.5
        lead = world.admin.create(
            "leads",
            last_name=f"L{i}",
            job_title="VP Marketing" if vp else "Intern",
            email=f"l{i}@{'corp.example' if rng.random() < 0.5 else 'gmail.com'}",
        )
        good = rng.random() < (0.8 if vp else 0.2)
        if good:
            from sextant.core.db import session_scope
            from sextant.leads.models import Lead

            with session_scope() as s:
                s.get(Lead, lead["id"]).status = "converted"
        else:
            r = world.admin.patch(
                f"{API}/leads/{lead['id']}", json={"status": "disqualified", "disqualified_reason": "no_need"}
            )
            assert r.status_code == 200, r.text
    r = world.admin.post(f"{AN}/models/lead_score/train")
    assert r.status_code == 200, r.text
    assert r.json()["model"]["algorithm"] == "logistic_regression"
    vp = world.north.create("leads", last_name="Boss", job_title="VP Sales")
    intern = world.north.create("leads", last_name="Kid", job_title="Intern")
    a, b = score(world.north, "leads", vp["id"]), score(world.north, "leads", intern["id"])
    assert a["score"] > b["score"]
    assert a["factors"][0]["feature"] == "title_level" and a["factors"][0]["value"] == "vp"
    problem(world.south.get(f"{AN}/scores/leads/{vp['id']}"), 404)  # out of reach: 404, as records are
    problem(world.north.get(f"{AN}/scores/contacts/1"), 422)


def test_nightly_retraining_is_a_periodic_job_and_training_can_be_queued(world: World) -> None:
    from sextant.core import jobs, scheduler
    from sextant.core.db import session_scope

    nightly = next(p for p in scheduler.registered() if p.name == "analytics.retrain")
    assert nightly.cron == "15 3 * * *"
    with session_scope() as s:
        jobs.enqueue(s, scheduler.job_name("analytics.retrain"), "2026-01-01T03:15:00")
    assert jobs.drain() == 1
    model = world.north.get(f"{AN}/models/win_probability").json()
    assert model["id"] is not None and model["algorithm"] == "rules"
    assert world.south.get(f"{API}/deals/{world.deals['s2']['id']}").json()["win_probability"] == 45.0
    assert world.north.get(f"{AN}/models/lead_score").json()["id"] is not None
    r = world.admin.post(f"{AN}/models/win_probability/train", params={"background": "true"})
    assert r.status_code == 200 and r.json()["job_id"]
    assert jobs.drain() == 1
    newer = world.north.get(f"{AN}/models/win_probability").json()
    assert newer["id"] > model["id"]
