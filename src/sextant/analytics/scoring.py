"""Lead score and deal win probability: logistic regression trained on the organisation's own history, with a
rule-based fallback while the history is too small, every score explained by its top contributing factors.

* **Win probability** (deals.win_probability, 0-100). Training rows are *stage entries* of closed deals: "a
  deal entered stage S (at age A, amount X, source Y ...) — was it eventually won?". That is exactly the
  question asked of an open deal sitting in stage S today, without peeking at what happened later.
* **Lead score** (leads.lead_score, 0-100). Training rows are leads that were converted (1) or disqualified
  (0); features are what a lead form captures (source, country, seniority of the job title, business or free
  email domain, phone/company/website given).

Explanations: numeric features are standardised and centred on the training mean, one-hot categories are
centred on their training frequency, so each feature's contribution (coefficient × centred value, in
log-odds) says how far it moves *this* record from the average one; base + Σ contributions = the logit. The
model is stored as plain JSON (coefficients, means, vocabularies), never pickled. Calibration (predicted vs
actual by decile), AUC and Brier score are measured on the most recent 20 % of the history before the final
model is refit on all of it.

A periodic job retrains and rescores nightly; an outbox subscriber rescores a record when it changes.
Scores are written straight to their columns (no version bump, no audit entry: they are derived values).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from sextant.analytics.models import RecordScore, ScoreModel
from sextant.core.db import utcnow
from sextant.core.errors import FieldError, NotFound, ValidationFailed
from sextant.core.metadata import load_view
from sextant.core.permissions import Actor
from sextant.core.records import fetch
from sextant.deals.models import Deal, DealStageChange, Stage
from sextant.leads.models import Lead

MIN_SAMPLES = 40
MIN_PER_CLASS = 10
MAX_TRAINING_ROWS = 400_000
TOP_FACTORS = 5
BATCH = 5000
FREE_EMAIL = {
    "gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "outlook.com", "live.com", "icloud.com",
    "aol.com", "gmx.de", "gmx.net", "web.de", "proton.me", "protonmail.com", "yandex.ru", "mail.ru",
    "orange.fr", "free.fr", "laposte.net", "qq.com", "163.com",
}  # fmt: skip
LABELS = {
    "stage": "Stage",
    "pipeline": "Pipeline",
    "source": "Source",
    "log_amount": "Amount",
    "age_days": "Age of the deal at this stage (days)",
    "has_company": "Has a company",
    "has_contact": "Has a primary contact",
    "country": "Country",
    "title_level": "Seniority",
    "email_kind": "Email",
    "has_phone": "Has a phone number",
    "has_website": "Has a website",
    "has_campaign": "Came from a campaign",
}


@dataclass
class Kind:
    name: str
    object_name: str
    column: str
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]


WIN = Kind(
    "win_probability",
    "deals",
    "win_probability",
    ("log_amount", "age_days", "has_company", "has_contact"),
    ("stage", "pipeline", "source"),
)
LEAD = Kind(
    "lead_score",
    "leads",
    "lead_score",
    ("has_phone", "has_company", "has_website", "has_campaign"),
    ("source", "country", "title_level", "email_kind"),
)
KINDS = {WIN.name: WIN, LEAD.name: LEAD, "deals": WIN, "leads": LEAD}


def kind_of(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise NotFound(f"Score '{name}'")
    return kind


# -- features ----------------------------------------------------------------------


def _days(later: datetime | None, earlier: datetime | None) -> float:
    if later is None or earlier is None:
        return 0.0
    return max(0.0, (later - earlier).total_seconds() / 86400.0)


def title_level(title: str | None) -> str:
    t = f" {(title or '').lower()} "
    if not t.strip():
        return "none"
    if any(
        w in t for w in (" ceo", " cto", " cfo", " coo", " cmo", "chief", "founder", "owner", "president")
    ):
        return "c_level"
    if any(w in t for w in (" vp", "vice president", " head ")) or t.strip().startswith("head"):
        return "vp"
    if "director" in t:
        return "director"
    if "manager" in t or " lead" in t:
        return "manager"
    return "other"


def email_kind(email: str | None) -> str:
    if not email or "@" not in email:
        return "none"
    return "free" if email.rsplit("@", 1)[1].lower() in FREE_EMAIL else "business"


def deal_features(
    stage_id: int | None,
    pipeline_id: int | None,
    source: str | None,
    amount: float | None,
    age_days: float,
    company_id: int | None,
    contact_id: int | None,
) -> dict[str, Any]:
    return {
        "stage": str(stage_id),
        "pipeline": str(pipeline_id),
        "source": source or "none",
        "log_amount": math.log1p(max(0.0, float(amount or 0))),
        "age_days": min(age_days, 3650.0),
        "has_company": 1.0 if company_id else 0.0,
        "has_contact": 1.0 if contact_id else 0.0,
    }


def lead_features(lead: Any) -> dict[str, Any]:
    return {
        "source": lead.source or "none",
        "country": (lead.country or "none").strip().lower()[:40] or "none",
        "title_level": title_level(lead.job_title),
        "email_kind": email_kind(lead.email),
        "has_phone": 1.0 if lead.phone else 0.0,
        "has_company": 1.0 if lead.company_name else 0.0,
        "has_website": 1.0 if lead.website else 0.0,
        "has_campaign": 1.0 if lead.campaign else 0.0,
    }


def training_rows(session: Session, kind: Kind) -> tuple[list[dict[str, Any]], list[int], list[datetime]]:
    """(features, outcome, when) of the history, oldest first."""
    feats: list[dict[str, Any]] = []
    ys: list[int] = []
    when: list[datetime] = []
    if kind is WIN:
        stmt = (
            select(
                DealStageChange.to_stage_id,
                DealStageChange.changed_at,
                Deal.pipeline_id,
                Deal.source,
                Deal.amount,
                Deal.created_at,
                Deal.company_id,
                Deal.primary_contact_id,
                Deal.status,
            )
            .join(Deal, Deal.id == DealStageChange.deal_id)
            .join(Stage, Stage.id == DealStageChange.to_stage_id)
            .where(Deal.deleted_at.is_(None), Deal.status.in_(("won", "lost")), Stage.kind == "open")
            .order_by(DealStageChange.changed_at.desc())
            .limit(MAX_TRAINING_ROWS)
        )
        for stage, at, pipe, source, amount, created, company, contact, status in session.execute(stmt):
            feats.append(deal_features(stage, pipe, source, amount, _days(at, created), company, contact))
            ys.append(1 if status == "won" else 0)
            when.append(at)
    else:
        stmt = (
            select(Lead)
            .where(Lead.deleted_at.is_(None), Lead.status.in_(("converted", "disqualified")))
            .order_by(Lead.updated_at.desc())
            .limit(MAX_TRAINING_ROWS)
        )
        for lead in session.scalars(stmt):
            feats.append(lead_features(lead))
            ys.append(1 if lead.status == "converted" else 0)
            when.append(lead.converted_at or lead.updated_at)
    order = sorted(range(len(ys)), key=lambda i: when[i])
    return [feats[i] for i in order], [ys[i] for i in order], [when[i] for i in order]


# -- the linear model as JSON ----------------------------------------------------------------------


class Encoder:
    def __init__(self, kind: Kind, params: dict[str, Any] | None = None) -> None:
        self.kind = kind
        p = params or {}
        self.means: dict[str, float] = p.get("means", {})
        self.scales: dict[str, float] = p.get("scales", {})
        self.vocab: dict[str, list[str]] = p.get("vocab", {})
        self.freq: dict[str, list[float]] = p.get("freq", {})

    def fit(self, rows: list[dict[str, Any]]) -> Encoder:
        n = max(1, len(rows))
        for f in self.kind.numeric:
            values = [float(r[f]) for r in rows]
            mean = sum(values) / n
            var = sum((v - mean) ** 2 for v in values) / n
            self.means[f], self.scales[f] = mean, math.sqrt(var) or 1.0
        for f in self.kind.categorical:
            counts: dict[str, int] = {}
            for r in rows:
                counts[r[f]] = counts.get(r[f], 0) + 1
            # rare values (< 0.5 % and < 20 rows) share one "other" column
            keep = sorted(v for v, c in counts.items() if c >= min(20, 0.005 * n))
            self.vocab[f] = [*keep, "__other__"]
            other = sum(c for v, c in counts.items() if v not in keep)
            self.freq[f] = [counts.get(v, 0) / n for v in keep] + [other / n]
        return self

    def columns(self) -> list[tuple[str, str | None]]:
        cols: list[tuple[str, str | None]] = [(f, None) for f in self.kind.numeric]
        for f in self.kind.categorical:
            cols += [(f, v) for v in self.vocab[f]]
        return cols

    def slot(self, f: str, value: str) -> str:
        return value if value in self.vocab[f] else "__other__"

    def transform(self, rows: Iterable[dict[str, Any]]) -> Any:
        import numpy as np

        cols = self.columns()
        index = {c: i for i, c in enumerate(cols)}
        rows = list(rows)
        x = np.zeros((len(rows), len(cols)))
        for i, r in enumerate(rows):
            for f in self.kind.numeric:
                x[i, index[(f, None)]] = (float(r[f]) - self.means[f]) / self.scales[f]
            for f in self.kind.categorical:
                x[i, index[(f, self.slot(f, r[f]))]] = 1.0
        return x

    def params(self) -> dict[str, Any]:
        return {"means": self.means, "scales": self.scales, "vocab": self.vocab, "freq": self.freq}


def _sigmoid(z: float) -> float:
    if z < -500:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def explain(model: ScoreModel, features: dict[str, Any]) -> tuple[float, list[dict[str, Any]]]:
    """(probability 0-1, factors sorted by impact) for one record's features."""
    kind = kind_of(model.kind)
    if model.algorithm == "rules":
        return _rules(kind, features, model.params)
    p = model.params
    enc = Encoder(kind, p["encoder"])
    coef: dict[str, float] = p["coef"]
    base = float(p["intercept"])
    factors = []
    for f in kind.numeric:
        w = coef.get(f"{f}", 0.0)
        z = (float(features[f]) - enc.means[f]) / enc.scales[f]
        factors.append(_factor(f, features[f], w * z))
    for f in kind.categorical:
        weights = [coef.get(f"{f}={v}", 0.0) for v in enc.vocab[f]]
        expected = sum(w * q for w, q in zip(weights, enc.freq[f], strict=True))
        base += expected
        slot = enc.slot(f, features[f])
        factors.append(_factor(f, features[f], coef.get(f"{f}={slot}", 0.0) - expected))
    logit = base + sum(x["contribution"] for x in factors)
    return _sigmoid(logit), _top(factors)


def _factor(name: str, value: Any, contribution: float) -> dict[str, Any]:
    if name == "log_amount":
        value = round(math.expm1(value), 2)
    elif isinstance(value, float):
        value = round(value, 2)
    return {
        "feature": name,
        "label": LABELS.get(name, name),
        "value": value,
        "contribution": round(contribution, 4),
        "direction": "up" if contribution > 0 else ("down" if contribution < 0 else "none"),
    }


def _top(factors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ranked = sorted(factors, key=lambda f: -abs(f["contribution"]))
    return [f for f in ranked if f["contribution"] != 0][:TOP_FACTORS]


# -- rule-based fallback -----------------------

LEAD_POINTS = {
    "title_level": {"c_level": 25, "vp": 20, "director": 15, "manager": 8, "other": 2, "none": 0},
    "email_kind": {"business": 15, "free": 3, "none": 0},
    "source": {"referral": 15, "partner": 12, "event": 10, "website": 8, "web_form": 8},
    "has_phone": 10,
    "has_company": 10,
    "has_website": 5,
    "has_campaign": 5,
}
LEAD_BASE = 15


def _rules(
    kind: Kind, features: dict[str, Any], params: dict[str, Any]
) -> tuple[float, list[dict[str, Any]]]:
    factors: list[dict[str, Any]] = []
    if kind is WIN:
        # The stage's own probability, lowered for deals far older than usual at that stage.
        prob = float(features.get("stage_probability", 0) or 0)
        factors.append(_factor("stage", features.get("stage_name") or features["stage"], prob))
        score = prob
        if features["age_days"] > 180:
            factors.append(_factor("age_days", features["age_days"], -score * 0.3))
            score *= 0.7
        if not features["has_contact"]:
            factors.append(_factor("has_contact", 0.0, -score * 0.1))
            score *= 0.9
        for f in factors:
            f["points"] = f["contribution"]
        return max(0.0, min(1.0, score / 100.0)), _top(factors)
    score = LEAD_BASE
    for f, table in LEAD_POINTS.items():
        value = features[f]
        points = table.get(value, 0) if isinstance(table, dict) else (table if value else 0)
        if points:
            factors.append({**_factor(f, value, float(points)), "points": points})
            score += points
    return min(100.0, score) / 100.0, _top(factors)


# -- training ----------------------------------------------------------------------


def _calibration(probs: list[float], ys: list[int], bins: int = 10) -> list[dict[str, Any]]:
    pairs = sorted(zip(probs, ys, strict=True))
    out = []
    for b in range(bins):
        chunk = pairs[b * len(pairs) // bins : (b + 1) * len(pairs) // bins]
        if not chunk:
            continue
        out.append(
            {
                "decile": b + 1,
                "count": len(chunk),
                "predicted": round(sum(p for p, _ in chunk) / len(chunk), 4),
                "actual": round(sum(y for _, y in chunk) / len(chunk), 4),
                "min_predicted": round(chunk[0][0], 4),
                "max_predicted": round(chunk[-1][0], 4),
            }
        )
    return out


def _fit(kind: Kind, rows: list[dict[str, Any]], ys: list[int]) -> tuple[Encoder, Any]:
    from sklearn.linear_model import LogisticRegression

    enc = Encoder(kind).fit(rows)
    clf = LogisticRegression(C=1.0, max_iter=1000)
    clf.fit(enc.transform(rows), ys)
    return enc, clf


def _linear_params(enc: Encoder, clf: Any) -> dict[str, Any]:
    coef = {}
    for (f, v), w in zip(enc.columns(), clf.coef_[0], strict=True):
        coef[f if v is None else f"{f}={v}"] = float(w)
    return {"encoder": enc.params(), "coef": coef, "intercept": float(clf.intercept_[0])}


def train(session: Session, name: str) -> ScoreModel:
    """Train (or fall back to rules), store the model as the active one of its kind."""
    kind = kind_of(name)
    started = time.perf_counter()
    rows, ys, _when = training_rows(session, kind)
    positives = sum(ys)
    enough = len(ys) >= MIN_SAMPLES and positives >= MIN_PER_CLASS and len(ys) - positives >= MIN_PER_CLASS
    metrics: dict[str, Any] = {"samples": len(ys), "positives": positives}
    if not enough:
        algorithm, params = "rules", {}
        metrics["reason"] = (
            f"{len(ys)} outcomes ({positives} positive): at least {MIN_SAMPLES} with {MIN_PER_CLASS} of each "
            "are needed to train; rules score until then"
        )
    else:
        import numpy as np
        from sklearn.metrics import brier_score_loss, roc_auc_score

        split = int(len(ys) * 0.8)
        test_y = ys[split:]
        if 0 < sum(test_y) < len(test_y) and sum(ys[:split]) not in (0, split):
            enc, clf = _fit(kind, rows[:split], ys[:split])
            probs = clf.predict_proba(enc.transform(rows[split:]))[:, 1]
            metrics.update(
                holdout=len(test_y),
                auc=round(float(roc_auc_score(test_y, probs)), 4),
                brier=round(float(brier_score_loss(test_y, probs)), 4),
                base_rate=round(float(np.mean(test_y)), 4),
                calibration=_calibration([float(p) for p in probs], test_y),
            )
        enc, clf = _fit(kind, rows, ys)
        algorithm, params = "logistic_regression", _linear_params(enc, clf)
    elapsed = time.perf_counter() - started
    session.execute(update(ScoreModel).where(ScoreModel.kind == kind.name).values(active=False))
    model = ScoreModel(
        kind=kind.name,
        algorithm=algorithm,
        active=True,
        trained_at=utcnow(),
        n_samples=len(ys),
        n_positive=positives,
        params=params,
        metrics=metrics,
        training_seconds=round(elapsed, 3),
    )
    session.add(model)
    session.flush()
    return model


def active_model(session: Session, name: str) -> ScoreModel:
    kind = kind_of(name)
    model = session.scalar(
        select(ScoreModel)
        .where(ScoreModel.kind == kind.name, ScoreModel.active.is_(True))
        .order_by(ScoreModel.id.desc())
        .limit(1)
    )
    if model is None:  # never trained: rules, without storing anything
        model = ScoreModel(
            kind=kind.name, algorithm="rules", params={}, metrics={}, n_samples=0, n_positive=0
        )
    return model


# -- scoring ----------------------------------------------------------------------


def _stage_info(session: Session) -> dict[int, tuple[str, float, str]]:
    return {
        i: (n, p, k)
        for i, n, p, k in session.execute(select(Stage.id, Stage.name, Stage.probability, Stage.kind))
    }


def _deal_feature_rows(session: Session, ids: list[int] | None) -> Iterable[tuple[int, dict[str, Any]]]:
    stages = _stage_info(session)
    now = datetime.now(UTC)
    stmt = select(
        Deal.id, Deal.stage_id, Deal.pipeline_id, Deal.source, Deal.amount, Deal.created_at,
        Deal.stage_entered_at, Deal.company_id, Deal.primary_contact_id, Deal.probability,
    ).where(Deal.deleted_at.is_(None), Deal.status == "open")  # fmt: skip
    if ids is not None:
        stmt = stmt.where(Deal.id.in_(ids))
    for did, stage, pipe, source, amount, created, entered, company, contact, prob in session.execute(
        stmt.execution_options(yield_per=BATCH)
    ):
        f = deal_features(stage, pipe, source, amount, _days(entered or now, created), company, contact)
        name, stage_prob, _kind = stages.get(stage, (str(stage), 0.0, "open"))
        f.update(stage_name=name, stage_probability=prob if prob is not None else stage_prob)
        yield did, f


def _lead_feature_rows(session: Session, ids: list[int] | None) -> Iterable[tuple[int, dict[str, Any]]]:
    stmt = select(Lead).where(Lead.deleted_at.is_(None), Lead.status.not_in(("converted", "disqualified")))
    if ids is not None:
        stmt = stmt.where(Lead.id.in_(ids))
    for lead in session.scalars(stmt.execution_options(yield_per=BATCH)):
        yield lead.id, lead_features(lead)


def _display(kind: Kind, features: dict[str, Any], factors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for f in factors:
        if f["feature"] == "stage" and kind is WIN:
            f["value"] = features.get("stage_name", f["value"])
    return factors


def score_records(session: Session, name: str, ids: list[int] | None = None) -> dict[str, Any]:
    """Score every open deal / live lead (or only `ids`), write the score column and the factors."""
    kind = kind_of(name)
    model = active_model(session, kind.name)
    rows = _deal_feature_rows(session, ids) if kind is WIN else _lead_feature_rows(session, ids)
    table = (Deal if kind is WIN else Lead).__table__
    stmt = table.update().where(table.c.id == bindparam("rid")).values({kind.column: bindparam("score")})
    started, n = time.perf_counter(), 0
    now = utcnow()
    scores: list[dict[str, Any]] = []
    keep: list[dict[str, Any]] = []

    def flush() -> None:
        if not scores:
            return
        session.execute(stmt, scores)
        session.execute(
            delete(RecordScore).where(
                RecordScore.object_name == kind.object_name,
                RecordScore.record_id.in_([s["rid"] for s in scores]),
            )
        )
        session.execute(RecordScore.__table__.insert(), keep)
        scores.clear()
        keep.clear()

    materialised = list(rows)  # a yield_per cursor must be drained before the writes of this session
    for rid, features in materialised:
        prob, factors = explain(model, features)
        value = round(prob * 100, 2)
        scores.append({"rid": rid, "score": value})
        keep.append(
            {
                "object_name": kind.object_name,
                "record_id": rid,
                "score": value,
                "model_id": model.id,
                "factors": _display(kind, features, factors),
                "scored_at": now,
            }
        )
        n += 1
        if len(scores) >= BATCH:
            flush()
    flush()
    elapsed = time.perf_counter() - started
    return {
        "kind": kind.name,
        "scored": n,
        "seconds": round(elapsed, 3),
        "model_id": model.id,
        "algorithm": model.algorithm,
    }


def explain_record(session: Session, actor: Actor, object_name: str, record_id: int) -> dict[str, Any]:
    """A record's score and why, computed now from the active model (what the "why" popover shows)."""
    kind = kind_of(object_name)
    if object_name not in ("deals", "leads"):
        raise NotFound(f"Scores of '{object_name}'")
    actor.require(kind.object_name, "read")
    view = load_view(session, kind.object_name)
    if actor.field_level(kind.object_name, kind.column) == "hidden":
        raise NotFound(f"Score '{kind.column}'")
    record = fetch(session, actor, view, record_id)
    model = active_model(session, kind.name)
    rows = (
        _deal_feature_rows(session, [record.id]) if kind is WIN else _lead_feature_rows(session, [record.id])
    )
    found = list(rows)
    stored = session.get(RecordScore, (kind.object_name, record.id))
    if not found:  # a closed deal or a converted/disqualified lead: only what was stored, if anything
        return {
            "object": kind.object_name,
            "record_id": record.id,
            "field": kind.column,
            "score": getattr(record, kind.column),
            "scored": False,
            "reason": "only open deals and live leads are scored",
            "factors": stored.factors if stored else [],
            "model": model_dict(model),
        }
    features = found[0][1]
    prob, factors = explain(model, features)
    return {
        "object": kind.object_name,
        "record_id": record.id,
        "field": kind.column,
        "score": round(prob * 100, 2),
        "stored_score": getattr(record, kind.column),
        "scored_at": stored.scored_at if stored else None,
        "scored": True,
        "factors": _display(kind, features, factors),
        "unit": "points" if model.algorithm == "rules" else "log-odds",
        "model": model_dict(model),
    }


def model_dict(m: ScoreModel) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "algorithm": m.algorithm,
        "active": bool(m.active) if m.id else True,
        "trained_at": m.trained_at,
        "samples": m.n_samples,
        "positives": m.n_positive,
        "training_seconds": m.training_seconds,
        "metrics": {k: v for k, v in (m.metrics or {}).items() if k != "calibration"},
    }


def calibration(session: Session, actor: Actor, name: str) -> dict[str, Any]:
    kind = kind_of(name)
    actor.require(kind.object_name, "read")
    model = active_model(session, kind.name)
    return {
        "kind": kind.name,
        "model": model_dict(model),
        "deciles": (model.metrics or {}).get("calibration", []),
        "note": None
        if (model.metrics or {}).get("calibration")
        else "no calibration yet: the active scorer is rule-based or had too few recent outcomes to test on",
    }


def retrain_all(session: Session) -> dict[str, Any]:
    out = {}
    for kind in (WIN, LEAD):
        model = train(session, kind.name)
        out[kind.name] = {"model": model_dict(model), "scoring": score_records(session, kind.name)}
    return out


def check_kind(name: str) -> Kind:
    if name not in ("win_probability", "lead_score"):
        raise ValidationFailed(
            [FieldError("kind", "must be win_probability or lead_score", "invalid_choice")]
        )
    return KINDS[name]
