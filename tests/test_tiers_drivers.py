"""Tiers, RFM segments, SHAP scaling into currency, family grouping, peer percentiles."""

import re

import numpy as np
import pandas as pd
import pytest

from service.drivers import FamilyGrouper, PeerPercentiles, feature_family, scaled_contributions
from service.tiers import RFMSegmenter, TierPolicy


def test_default_shares_give_5_15_30_50():
    v = np.arange(1000, dtype=float)
    p = TierPolicy().fit(v)
    counts = pd.Series(p.assign(v)).value_counts()
    assert counts.to_dict() == {"Low": 500, "Medium": 300, "High": 150, "VIP": 50}


def test_amount_tiers_and_roundtrip():
    p = TierPolicy(amounts={"VIP": 100, "High": 50, "Medium": 10}).fit([1, 2, 3])
    assert p.assign([150, 50, 9.99, 10]).tolist() == ["VIP", "High", "Low", "Medium"]
    q = TierPolicy.from_dict(p.to_dict())
    assert q.assign([150]).tolist() == ["VIP"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"shares": {"VIP": 0.5, "High": 0.4, "Medium": 0.2}},
        {"shares": {"VIP": 0.05, "High": 0.15}},
        {"amounts": {"VIP": 10, "High": 50, "Medium": 1}},
        {"shares": {"VIP": 0.05, "High": 0.15, "Medium": 0.3}, "amounts": {"VIP": 1, "High": 1, "Medium": 1}},
        {"amounts": {"VIP": float("inf"), "High": 3, "Medium": 1}},  # no customer could ever be VIP
        {"amounts": {"VIP": float("nan"), "High": 3, "Medium": 1}},
    ],
)
def test_bad_tier_config_is_rejected(kwargs):
    with pytest.raises(ValueError):
        TierPolicy(**kwargs)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("VIP=0.05,High=0.15,Medium=0.3,VIP=0.2", "['VIP'] given twice"),
        ("VIP=abc", "expected VIP=...,High=...,Medium=..."),
        ("VIP", "expected VIP=...,High=...,Medium=..."),
    ],
)
def test_tier_option_parser_refuses_repeats_and_garbage(spec, message):
    from service.cli.options import parse_shares

    with pytest.raises(ValueError, match=re.escape(message)):
        parse_shares(spec)
    assert parse_shares("VIP=0.05, High=0.15,Medium=0.3") == {"VIP": 0.05, "High": 0.15, "Medium": 0.3}


def test_rfm_segments_extremes():
    rng = np.random.default_rng(0)
    f = pd.DataFrame(
        {
            "recency_days": rng.uniform(0, 500, 500),
            "frequency": rng.integers(1, 20, 500).astype(float),
            "monetary_total": rng.uniform(10, 5000, 500),
        }
    )
    seg = RFMSegmenter().fit(f)
    best = pd.DataFrame({"recency_days": [0.0], "frequency": [100.0], "monetary_total": [1e6]})
    worst = pd.DataFrame({"recency_days": [1000.0], "frequency": [1.0], "monetary_total": [1.0]})
    assert seg.transform(best)["rfm_segment"].item() == "Champions"
    assert seg.transform(worst)["rfm_segment"].item() == "Lost"
    assert RFMSegmenter.from_dict(seg.to_dict()).transform(best)["rfm_segment"].item() == "Champions"


def test_scaled_contributions_add_up_to_prediction_minus_baseline():
    rng = np.random.default_rng(1)
    phi = rng.normal(0, 0.5, (100, 6))
    phi[:, -1] = 3.0  # bias
    phi[0, :-1] = [1.0, -1.0, 0.5, -0.5, 0.0]  # contributions that cancel exactly
    scaled = scaled_contributions(phi, np.exp)
    margin = phi.sum(axis=1)
    np.testing.assert_allclose(scaled.sum(axis=1), np.exp(margin) - np.exp(phi[:, -1]), rtol=1e-6, atol=1e-6)
    assert np.isfinite(scaled).all()
    # Signs follow the margin-space signs.
    assert (np.sign(scaled) == np.sign(phi[:, :-1])).all()


def test_family_grouping_and_text_families():
    names = [
        "frequency",
        "orders_recent",
        "recency_days",
        "n_review_texts",
        "review_text_0",
        "review_text_1",
        "browse_text_0",
    ]
    g = FamilyGrouper(names)
    out = g.transform(np.array([[1, 2, 3, 4, 5, 6, 7.0]]))
    assert dict(zip(g.families, out[0])) == {"frequency": 3, "recency": 3, "review text": 15, "browsing text": 7}
    with pytest.raises(KeyError):
        feature_family("mystery")


def test_peer_percentiles():
    p = PeerPercentiles().fit(pd.DataFrame({"frequency": np.arange(1, 101, dtype=float)}))
    pct = p.percentile("frequency", np.array([1, 50, 100, np.nan]))
    assert pct[0] < 2 and 45 < pct[1] < 55 and pct[2] > 98 and np.isnan(pct[3])
    assert np.isnan(p.percentile("unknown", np.array([1.0]))).all()


def test_customers_tied_on_one_prediction_fall_to_the_tier_below_not_all_into_vip():
    same = np.full(100, 0.01)  # nobody spent: every prediction on the model's floor
    assert set(TierPolicy().fit(same).assign(same)) == {"Low"}
    floor_mass = np.r_[np.full(60, 0.01), np.linspace(1, 100, 40)]
    tiers = pd.Series(TierPolicy().fit(floor_mass).assign(floor_mass)).value_counts().to_dict()
    assert tiers == {"Low": 60, "Medium": 20, "High": 15, "VIP": 5}
    spread = np.linspace(0, 1, 1000)  # no ties: the shares exactly
    assert pd.Series(TierPolicy().fit(spread).assign(spread)).value_counts().to_dict() == {
        "Low": 500,
        "Medium": 300,
        "High": 150,
        "VIP": 50,
    }
    legacy = TierPolicy().fit(same).to_dict()
    legacy.pop("floor")  # a bundle from before: ties at a threshold go up, as they did
    assert set(TierPolicy.from_dict(legacy).assign(same)) == {"VIP"}
    amounts = TierPolicy(amounts={"VIP": 0.01, "High": 0.01, "Medium": 0.0})  # amounts mean "at least", always
    assert set(amounts.assign(same)) == {"VIP"}
