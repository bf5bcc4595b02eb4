"""service.whatif: the feature arithmetic of a simulated order equals what the feature SQL computes for a real one,
and the scenarios are re-predictions of the model itself."""

import math

import numpy as np
import pandas as pd
import pytest

from service.bundle import ModelBundle
from service.features import TABULAR_FEATURES, FeatureBuilder
from service.store import ProfileStore
from service.tables import load_tables
from service.whatif import INTERACTIONS, WhatIfError, target_for, what_if, with_new_orders


@pytest.fixture(scope="module")
def store(scored):
    ps = ProfileStore(scored.store)
    yield ps
    ps.close()


@pytest.fixture(scope="module")
def bundle(trained):
    return ModelBundle.load(trained.out_dir)


@pytest.fixture(scope="module")
def loaded(synth_dir):
    return load_tables(synth_dir)


def _pick(scored, store, tier, min_freq=2, returns=False):
    for cid in scored.frame.loc[scored.frame["tier"] == tier, "customer_id"]:
        p = store.get(cid)
        f = p["profile"]["model_input"]
        if f["frequency"] >= min_freq and f["recency_days"] > 5 and (f["n_returned"] > 0) == returns:
            return p
    pytest.skip(f"no {tier} customer with {min_freq}+ purchases")


def _same(a, b, tol=1e-6):
    a, b = (float("nan") if v is None else float(v) for v in (a, b))
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol * max(1.0, abs(a), abs(b))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_simulated_orders_match_the_feature_sql(scored, store, loaded, k):
    """Add k real orders (evenly spaced after the last purchase, the last at the cutoff) and recompute features with
    DuckDB."""
    profile = _pick(scored, store, "High", returns=k == 2)
    cid = profile["customer_id"]
    row = profile["profile"]["model_input"]
    cutoff = pd.Timestamp(profile["profile"]["cutoff"])
    amount = 77.25
    orders = loaded.tables["orders"]
    mine = orders[orders["customer_id"] == cid]
    r = row["recency_days"]
    new = pd.DataFrame(
        {
            "order_id": [f"SIM{j}" for j in range(1, k + 1)],
            "customer_id": cid,
            "order_ts": [cutoff - pd.Timedelta(days=r * (k - j) / k) for j in range(1, k + 1)],
            "amount": amount,
            "status": "completed",
            "n_items": row["items_per_order"] if row["items_per_order"] is not None else np.nan,
            "category": mine["category"].iloc[0],
        }
    )
    tables = dict(loaded.tables)
    tables["orders"] = pd.concat([orders, new[orders.columns]], ignore_index=True)
    fb = FeatureBuilder(tables, threads=1)
    snap = fb.snapshot(cutoff, 90).set_index("customer_id")
    fb.close()
    real = snap.loc[cid]
    simulated = with_new_orders(row, k, amount)
    bad = {c: (simulated[c], real[c]) for c in TABULAR_FEATURES if not _same(simulated[c], real[c], 1e-4)}
    assert not bad, f"simulated features differ from the SQL: {bad}"


def test_repredicts_the_stored_prediction_and_scenarios_are_model_outputs(scored, store, bundle):
    profile = _pick(scored, store, "Medium")
    w = what_if(profile, bundle)
    assert w.predicted_value == pytest.approx(profile["predicted_value"], abs=0.01)
    assert w.target_tier == "High" and w.target_floor == pytest.approx(bundle.tiers.thresholds_["High"], abs=0.01)
    assert w.gap == pytest.approx(w.target_floor - w.predicted_value, abs=0.02)
    one = next(s for s in w.scenarios if s.key == "one_order")
    assert one.extra_orders == 1 and one.order_amount == pytest.approx(
        profile["profile"]["model_input"]["avg_order_value"], abs=0.01
    )
    changed = {c.feature: c for c in one.changes}
    assert changed["frequency"].after == changed["frequency"].before + 1 and changed["recency_days"].after == 0
    # The scenario's prediction is the model's output for the changed row, and its tier is the stored thresholds'
    # verdict.
    X = pd.DataFrame(
        [
            {
                **{c: np.nan if v is None else v for c, v in profile["profile"]["model_input"].items()},
                **{c.feature: np.nan if c.after is None else c.after for c in one.changes},
            }
        ]
    )[bundle.feature_names].astype(float)
    assert one.predicted_value == pytest.approx(float(bundle.value_model.predict(X)[0]), abs=0.01)
    assert one.tier == bundle.tiers.assign([one.predicted_value])[0]
    for s in w.scenarios:
        assert s.reaches_target == (s.predicted_value >= w.target_floor - 1e-6)
        # Driver changes are SHAP differences (touched families, then interactions): they add up to the value change.
        assert sum(d.change for d in s.drivers) == pytest.approx(s.value_change, abs=0.02 * len(s.drivers) + 0.01)
        touched = [abs(d.change) for d in s.drivers if d.name != INTERACTIONS]
        assert touched == sorted(touched, reverse=True)
    if w.best is not None:
        assert w.best.reaches_target


def test_targets(scored, store, bundle):
    assert target_for("Low", None) == "Medium" and target_for("Low", "VIP") == "VIP"
    assert target_for("High", "Medium") == "VIP" and target_for("VIP", None) is None
    vip = store.get(scored.frame.loc[scored.frame["tier"] == "VIP", "customer_id"].iloc[0])
    w = what_if(vip, bundle)
    assert w.target_tier is None and w.gap is None and w.best is None and w.tier_floor is not None
    low = store.get(scored.frame.loc[scored.frame["tier"] == "Low", "customer_id"].iloc[0])
    assert what_if(low, bundle, target_tier="VIP").target_tier == "VIP"


def test_refuses_a_profile_the_model_does_not_reproduce(scored, store, bundle):
    p = store.get(scored.frame["customer_id"].iloc[0])
    with pytest.raises(WhatIfError, match="another model"):
        what_if({**p, "predicted_value": p["predicted_value"] * 3 + 10}, bundle)
    with pytest.raises(WhatIfError, match="model input"):
        what_if({**p, "profile": {k: v for k, v in p["profile"].items() if k != "model_input"}}, bundle)
