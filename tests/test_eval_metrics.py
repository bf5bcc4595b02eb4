"""Evaluation metrics against hand-computed values and known properties."""

import math

import numpy as np
import pytest

from eval import metrics as M


def test_gini_perfect_reversed_random_constant():
    rng = np.random.default_rng(0)
    actual = rng.lognormal(3, 1.2, 20000) * (rng.random(20000) < 0.3)
    assert M.normalized_gini(actual, actual) == pytest.approx(1.0)
    assert M.normalized_gini(actual, actual * 3 + 7) == pytest.approx(1.0)  # only the order matters
    assert M.normalized_gini(actual, -actual) < -0.5
    assert abs(M.normalized_gini(actual, rng.random(20000))) < 0.03
    assert M.normalized_gini(actual, np.ones(20000)) == pytest.approx(0.0, abs=1e-12)  # ties share their mean


def test_gini_hand_computed():
    actual = np.array([0.0, 0.0, 1.0, 3.0])
    # Reversed: cumulative actual by prediction [0, 0, 1, 4] -> (5/4 - 5/2)/4 = -0.3125; perfect: (15/4 - 5/2)/4 =
    # 0.3125
    assert M.normalized_gini(actual, [4, 3, 2, 1]) == pytest.approx(-1.0)
    # Order of actual values [0, 1, 3, 0]: cum [0, 1, 4, 4] -> (9/4 - 5/2)/4 = -0.0625 -> normalized -0.2
    assert M.normalized_gini(actual, [1, 4, 3, 2]) == pytest.approx(-0.2)
    assert M.normalized_gini(actual, [1, 2, 3, 4]) == pytest.approx(1.0)


def test_spearman_mae_rmse_hand_computed():
    assert M.spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)  # 1 - 6 * 2 / (4 * 15)
    assert math.isnan(M.spearman([1, 2, 3], [5, 5, 5]))
    assert M.mae([0, 10, 4], [1, 8, 4]) == pytest.approx(1.0)
    assert M.rmse([0, 10, 4], [1, 8, 4]) == pytest.approx(math.sqrt(5 / 3))


def test_decile_mape_hand_computed():
    actual = np.array([10.0, 20.0, 5.0, 5.0])
    # 2 bins by prediction: top (30, 10) -> mean 20 vs actual 15 -> 1/3; bottom (4, 6) -> 5 vs 5 -> 0
    assert M.decile_mape(actual, [30, 10, 4, 6], n_bins=2) == pytest.approx(1 / 6)
    # a bin without any actual spend has no percentage error and is skipped
    assert M.decile_mape([10.0, 10.0, 0.0, 0.0], [12, 9, 1, 1], n_bins=2) == pytest.approx(0.05)
    rows = M.decile_table(np.arange(100.0), np.arange(100.0))
    assert [r["decile"] for r in rows] == list(range(1, 11)) and rows[0]["mean_actual"] > rows[-1]["mean_actual"]
    assert sum(r["n"] for r in rows) == 100


def test_top_k_precision_recall_lift():
    actual = np.zeros(20)
    actual[[3, 7]] = [100.0, 50.0]  # top 5% of 20 = 1 customer: #3
    perfect = M.top_k(actual, actual, 0.05)
    assert perfect["precision"] == 1 and perfect["recall"] == 1 and perfect["lift"] == pytest.approx(20.0)
    assert perfect["value_share"] == pytest.approx(100 / 150)
    # top 20% = 4 customers, but only 2 spend: the actual top set is the 2 spenders
    t20 = M.top_k(actual, actual, 0.2)
    assert t20["n_actual_top"] == 2 and t20["recall"] == 1 and t20["precision"] == pytest.approx(0.5)
    assert t20["lift"] == pytest.approx(0.5 / (2 / 20))
    # a constant prediction selects everyone fractionally: lift exactly 1, whatever the row order
    flat = M.top_k(actual, np.ones(20), 0.2)
    assert flat["lift"] == pytest.approx(1.0) and flat["value_share"] == pytest.approx(0.2)
    # the tie group straddling the cut counts fractionally: #3 and two others tied at the top for one slot
    pred = np.zeros(20)
    pred[[3, 5, 9]] = 1.0
    assert M.top_k(actual, pred, 0.05)["precision"] == pytest.approx(1 / 3)


def test_lorenz_curve_endpoints_and_monotone():
    rng = np.random.default_rng(1)
    actual = rng.exponential(10, 500)
    x, y = M.lorenz_curve(actual, rng.random(500))
    assert y[0] == 0 and y[-1] == pytest.approx(1.0) and np.all(np.diff(y) >= -1e-12)
    _, perfect = M.lorenz_curve(actual, actual)
    assert np.all(perfect >= y - 1e-9)


def test_tiers_and_confusion():
    v = np.arange(1, 101, dtype=float)
    t = M.tier_labels(v)
    assert (
        (t == "VIP").sum() == 5
        and (t == "High").sum() == 15
        and (t == "Medium").sum() == 30
        and (t == "Low").sum() == 50
    )
    assert set(t[v > 95]) == {"VIP"}
    # nobody who spends nothing is an actual VIP, even when fewer than 5% spend
    a = np.zeros(100)
    a[:3] = [5, 4, 3]
    ta = M.tier_labels(a, positive_only=True)
    assert (ta == "VIP").sum() == 3 and (ta[3:] == "Low").all()
    c = M.tier_confusion(v, v)
    assert c["accuracy"] == 1 and c["per_tier"]["VIP"]["recall"] == 1
    assert np.array(c["rows_actual_cols_predicted"]).sum() == 100
    # predicted ties are broken in a fixed random order, so a constant predictor still fills every tier
    assert (M.tier_labels(np.ones(100), seed=0) == "VIP").sum() == 5


def test_churn_scores_and_calibration_bins():
    y = np.array([0, 0, 1, 1])
    s = M.churn_scores(y, [0.1, 0.4, 0.35, 0.8])
    assert s["roc_auc"] == pytest.approx(0.75)  # 3 of 4 pairs ordered
    assert s["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    assert s["brier"] == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert M.churn_scores([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1])["roc_auc"] == 1
    bins = M.calibration_bins(np.r_[np.zeros(50), np.ones(50)], np.linspace(0, 1, 100), n_bins=4)
    assert len(bins) == 4 and bins[0]["observed"] == 0 and bins[-1]["observed"] == 1


def test_bootstrap_paired_differences():
    rng = np.random.default_rng(2)
    actual = rng.exponential(10, 2000) * (rng.random(2000) < 0.4)
    good = actual + rng.normal(0, 5, 2000)
    noisy = actual + rng.normal(0, 40, 2000)
    b = M.bootstrap(
        actual,
        {"good": good, "noisy": noisy, "same": good.copy()},
        differences={"good - noisy": ("good", "noisy"), "good - same": ("good", "same")},
        n_boot=200,
        seed=0,
    )
    g = b["models"]["good"]["normalized_gini"]
    assert g.low <= g.estimate <= g.high and g.high - g.low < 0.1
    d = b["differences"]["good - noisy"]["normalized_gini"]
    assert d.low > 0  # clearly better, and the paired interval says so
    same = b["differences"]["good - same"]["spearman"]
    assert same.estimate == 0 and same.low == 0 and same.high == 0
    again = M.bootstrap(actual, {"good": good}, n_boot=200, seed=0)
    assert again["models"]["good"]["normalized_gini"].low == g.low  # deterministic by seed


def test_value_report_keys():
    rng = np.random.default_rng(3)
    a = rng.exponential(5, 300)
    r = M.value_report(a, a + rng.normal(0, 1, 300))
    assert {"normalized_gini", "spearman", "decile_mape", "mae", "rmse", "top", "tiers", "deciles"} <= set(r)
    assert set(r["top"]) == {"5%", "20%"}


def test_plots_say_n_a_for_metrics_a_holdout_cannot_define(tmp_path):
    # Olist cut at 2016-12-15 with a 120-day holdout: nobody spends, so every Gini is None (the report crashed here)
    from eval import plots

    actual = np.zeros(50)
    preds = np.random.default_rng(0).gamma(1.0, 10.0, size=(2, 50))
    out = plots.lorenz(
        actual,
        {"product": ("Product", preds, None), "past": ("Past spend", preds[0], float("nan"))},
        tmp_path / "lorenz.png",
        "no spenders",
    )
    assert out.stat().st_size > 0
    bins = [{"mean_predicted": 0.9, "observed": 1.0, "n": 50}]
    out = plots.churn_calibration({"Product churn": (bins, None)}, 1.0, tmp_path / "churn.png", "one churn class")
    assert out.stat().st_size > 0
