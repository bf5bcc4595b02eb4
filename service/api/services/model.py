"""GET /v1/tiers and GET /v1/model: the tier policy with the store's counts, and the bundle being served."""

from __future__ import annotations

import numpy as np

from service.api.schemas import ModelInfo, TierInfo, TiersResponse
from service.api.services.views import index_kind
from service.api.snapshot import Snapshot
from service.tiers import TIER_ORDER


def tiers(snap: Snapshot) -> TiersResponse:
    policy = snap.bundle.tiers
    thresholds = policy.thresholds_ or {}
    counts = snap.store.tier_counts()
    shares = policy.shares or {}
    rows = []
    for t in TIER_ORDER:
        c = counts.get(t, {})
        share = shares.get(t) if policy.shares else None
        if policy.shares and t == "Low":
            share = round(1 - sum(shares.values()), 6)
        rows.append(
            TierInfo(
                tier=t,
                min_predicted_value=round(thresholds[t], 2) if t in thresholds else None,
                share=share,
                customers=int(c.get("customers", 0)),
                mean_predicted_value=None
                if c.get("mean_predicted_value") is None
                else round(c["mean_predicted_value"], 2),
                mean_churn_probability=None
                if c.get("mean_churn_probability") is None
                else round(c["mean_churn_probability"], 4),
            )
        )
    return TiersResponse(
        tiers=rows,
        policy="amounts" if policy.amounts else "shares",
        horizon_days=int(snap.meta["horizon_days"]),
        currency=snap.meta.get("currency", "$"),
        customers=sum(r.customers for r in rows),
        model_version=snap.model_version,
    )


def model_info(snap: Snapshot) -> ModelInfo:
    b = snap.bundle
    return ModelInfo(
        model_version=b.model_version,
        created_at=b.created_at,
        horizon_days=int(b.config["horizon_days"]),
        cutoff=b.config["cutoff"],
        value_objective=b.metrics.get("value_objective"),
        features=len(b.feature_names),
        text_sources=list(b.text.sources),
        embedding_model=b.config.get("embedding_model"),
        metrics=_finite(b.metrics),
        data_fingerprint=b.fingerprint,
        versions=b.versions,
        store_scored_at=snap.meta.get("scored_at"),
        store_cutoff=snap.meta.get("cutoff"),
        index=index_kind(snap),
        index_size=len(snap.index),
        loaded_at=snap.loaded_at,
    )


def _finite(obj):
    """JSON has no NaN: metrics that could not be computed become null."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
