"""The evaluation harness as a ruler (issue 10): refit-seed variance in every interval, splits that never fail on a
long horizon, report notes from the split actually run, BG/NBD churn as P(no purchase), calibration metrics.

Fast: small hand-made data and stand-in models (the product's XGBoost is exercised in test_eval_e2e.py).
"""

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from eval import metrics as M
from eval.adapters import Dataset, DatasetDefaults
from eval.backtest import MIN_HISTORY_DAYS, BacktestOptions, make_split, run_backtest, run_split, truncate, truth
from eval.baselines import Baseline, Calibration, PastSpend, Prediction, SnapshotXGBoost
from eval.report import build_metrics, render_markdown
from service.tables import validate_tables


def _dataset(
    n_customers=400, days=400, seed=0, note="DEFAULT-NOTE-XYZ", horizon=60, spend_share=1.0, text=False
) -> Dataset:
    """Customers with a personal purchase rate and basket size over ``days`` days (about half keep buying); with
    ``text``, a review and a browsing event per order (so the dataset has both text sources)."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2020-01-01", tz="UTC")
    for c in range(n_customers):
        rate = rng.gamma(1.0, 1 / 40)  # purchases per day
        size = rng.lognormal(3, 0.8)
        first = rng.integers(0, days // 2)
        life = rng.integers(30, days) if rng.random() < 0.5 else days
        t = first
        while t < min(first + life, days):
            if rng.random() < spend_share or t < days - horizon:
                rows.append(
                    (
                        f"c{c}",
                        start + timedelta(days=int(t), hours=int(rng.integers(0, 24))),
                        size * rng.lognormal(0, 0.3),
                    )
                )
            t += max(1, int(rng.exponential(1 / max(rate, 1e-3))))
    orders = pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount"])
    orders["order_id"] = [f"o{i}" for i in range(len(orders))]
    orders["order_ts"] = orders["order_ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    orders["amount"] = orders["amount"].round(2).astype(str)
    tables = {"orders": orders}
    if text:
        tables["reviews"] = pd.DataFrame(
            {
                "review_id": "r" + orders["order_id"],
                "customer_id": orders["customer_id"],
                "review_ts": orders["order_ts"],
                "rating": "4",
                "text": "fine",
            }
        )
        tables["events"] = pd.DataFrame(
            {
                "customer_id": orders["customer_id"],
                "event_ts": orders["order_ts"],
                "event_type": "view",
                "text": "a product",
            }
        )
    return Dataset(
        "handmade", validate_tables(tables), DatasetDefaults(cutoff=None, horizon_days=horizon, note=note), source="mem"
    )


class NoisyLearned(Baseline):
    """A stand-in learned model: past spend times per-customer noise whose size depends on the seed (none for seeds
    0, 3, ...; ``noise`` for 1, 4, ...; twice that for 2, 5, ...), so its quality moves a lot with the seed."""

    key = "product"
    label = "Product: noisy stand-in"
    description = "past spend x seed noise"
    learned = True

    def __init__(self, noise: float = 1.5, key: str = "product", label: str | None = None):
        self.noise, self.key = noise, key
        self.label = label or self.label

    def fit(self, cal):
        self.seed_ = cal.seed
        self.rate_ = cal.purchases.groupby("customer_id")["amount"].sum()
        return self

    def predict(self, customer_ids):
        base = self.rate_.reindex(pd.Index(customer_ids)).fillna(0.0).to_numpy()
        rng = np.random.default_rng(1000 + self.seed_)
        value = base * np.exp(self.noise * (self.seed_ % 3) * rng.standard_normal(len(base)))
        churn = 1 / (1 + np.exp(np.log1p(value) - 3))
        return Prediction(
            value, {self.label: churn}, low=value * 0.2, high=value * 3 + 5, next_days=np.full(len(base), 30.0)
        )


def _models(noise=1.5):
    return lambda sources: [PastSpend(), NoisyLearned(noise)]


@pytest.fixture(scope="module")
def ds():
    return _dataset()


# --------------------------------------------------------------------------- (c) seeds


def test_bootstrap_draws_seeds_so_seed_variance_widens_the_interval():
    rng = np.random.default_rng(0)
    n = 1500
    actual = rng.exponential(10, n) * (rng.random(n) < 0.4)
    base = actual + rng.normal(0, 8, n)
    seeds = np.stack(
        [base * np.exp(rng.normal(0, s, n)) for s in (0.1, 0.3, 1.0, 2.0, 0.5)]
    )  # refits that differ a lot
    with_seeds = M.bootstrap(
        actual, {"learned": seeds, "base": base}, differences={"d": ("learned", "base")}, n_boot=150, seed=1
    )
    one_seed = M.bootstrap(
        actual, {"learned": seeds[0], "base": base}, differences={"d": ("learned", "base")}, n_boot=150, seed=1
    )
    w = lambda iv: iv.high - iv.low  # noqa: E731
    assert w(with_seeds["differences"]["d"]["normalized_gini"]) > 3 * w(one_seed["differences"]["d"]["normalized_gini"])
    assert with_seeds["seeds"] == {"learned": 5, "base": 1}
    # the point estimate is the mean over the seeds' metrics on every customer
    per_seed = [M.normalized_gini(actual, s) for s in seeds]
    assert with_seeds["models"]["learned"]["normalized_gini"].estimate == pytest.approx(np.mean(per_seed))
    # a 2-d array with one row is the same as the 1-d array (the customer draws do not depend on the seeds)
    same = M.bootstrap(
        actual, {"learned": seeds[:1], "base": base}, differences={"d": ("learned", "base")}, n_boot=150, seed=1
    )
    assert same["differences"]["d"]["spearman"].low == one_seed["differences"]["d"]["spearman"].low


def test_learned_models_are_refitted_per_seed_and_intervals_include_it(ds):
    res1 = run_backtest(ds, BacktestOptions(seeds=1, seed=1, n_boot=120, ablation=False), models=_models())
    res5 = run_backtest(ds, BacktestOptions(seeds=5, seed=1, n_boot=120, ablation=False), models=_models())
    p = res5.primary.runs["product"]
    assert p.values.shape == (5, len(res5.primary.truth)) and p.seeds == [1, 2, 3, 4, 5]
    assert res5.primary.runs["past_spend"].values.shape[0] == 1  # deterministic: fitted once
    assert not np.allclose(p.values[0], p.values[1])
    d1 = res1.bootstrap["differences"]["product - past_spend"]["normalized_gini"]
    d5 = res5.bootstrap["differences"]["product - past_spend"]["normalized_gini"]
    assert d1.high - d1.low > 0.05  # the one-seed interval is not degenerate
    assert (d5.high - d5.low) > 1.6 * (d1.high - d1.low)

    m = build_metrics(res5, "test")
    v = m["models"]["product"]["value"]
    per_seed = [M.normalized_gini(res5.primary.truth["future_value"].to_numpy(), row) for row in p.values]
    assert v["per_seed"]["normalized_gini"] == pytest.approx(per_seed)
    assert v["normalized_gini"] == pytest.approx(np.mean(per_seed))  # the existing key holds the mean over seeds
    assert v["sd"]["normalized_gini"] == pytest.approx(np.std(per_seed, ddof=1))
    assert {"spearman", "mean_predicted", "mean_actual"} <= set(v) and m["models"]["product"]["n_seeds"] == 5
    assert m["models"]["product"]["intervals"]["normalized_gini"]["sd"] == pytest.approx(v["sd"]["normalized_gini"])
    assert (
        m["models"]["past_spend"]["n_seeds"] == 1
        and m["models"]["past_spend"]["value"]["sd"]["normalized_gini"] is None
    )
    text = render_markdown(m)
    assert f"{v['normalized_gini']:.3f} ± {v['sd']['normalized_gini']:.3f}" in text
    # figures of the optional outputs: interval coverage and next-order MAE
    assert 0 <= m["models"]["product"]["interval"]["coverage"] <= 1
    assert m["models"]["product"]["next_order"]["n"] == int((res5.primary.truth["churn"] == 0).sum())


def test_rolling_cutoffs_compare_the_product_with_seeds(ds):
    res = run_backtest(
        ds, BacktestOptions(seeds=2, n_boot=40, ablation=False, rolling=2, step_days=30), models=_models()
    )
    m = build_metrics(res, "test")
    comp = m["rolling"]["comparisons"]
    assert [c["cutoff"] for c in comp] == m["rolling"]["cutoffs"] and len(comp) == 2
    for c in comp:
        g = c["metrics"]["normalized_gini"]
        assert g["product"]["n_seeds"] == 2 and len(g["product"]["per_seed"]) == 2
        assert g["difference"]["low"] <= g["difference"]["high"]
    assert len(m["rolling"]["models"]["product"]["normalized_gini"]["seed_sd"]) == 2


def test_rolling_cutoffs_before_the_data_are_one_note_however_many_are_asked(ds):
    """--rolling 500 had written 499 'skipped' notes, one per cutoff back to the 1870s; a larger count would overflow
    the timestamps."""
    res = run_backtest(ds, BacktestOptions(seeds=1, n_boot=20, ablation=False, rolling=100_000), models=_models())
    notes = [n for n in res.primary.split.notes if n.startswith("Rolling cutoff")]
    assert len(notes) <= 3 and notes[-1].endswith(
        f"before the first order ({ds.loaded.tables['orders']['order_ts'].min().date()})"
    )
    assert "to 100000" in notes[-1]


def test_text_ablation_variants_are_refitted_per_seed():
    ds = _dataset(n_customers=300, text=True)
    assert ds.text_sources == ("review", "browse")
    models = lambda sources: [PastSpend(), NoisyLearned(0.3, key="xgb_tabular", label="tabular"), NoisyLearned(1.0)]  # noqa: E731
    res = run_backtest(
        ds,
        BacktestOptions(seeds=3, n_boot=40),
        models=models,
        variant=lambda src, key, label: NoisyLearned(0.5 * len(src), key=key, label=label),
    )
    runs = res.ablation["runs"]
    assert set(runs) == {"ablation:without review text", "ablation:without browsing text"}
    assert all(r.values.shape[0] == 3 for r in runs.values())
    m = build_metrics(res, "test")
    table = m["ablation"]["table"]
    assert set(table) == {"all text", "without review text", "without browsing text", "no text (tabular only)"}
    for name in ("all text", "without review text"):
        d = table[name]["vs_no_text"]["normalized_gini"]
        assert d["low"] < d["high"] and table[name]["n_seeds"] == 3 and table[name]["normalized_gini"]["sd"] > 0
    assert "## Text-feature ablation" in render_markdown(m)


class Peeking(Baseline):
    """A stand-in learned model that knows the holdout (it reads the full data it was built with): better than every
    baseline by construction."""

    learned = True
    description = "the actual holdout spend"

    def __init__(self, full: Dataset, key: str, label: str):
        self.full, self.key, self.label = full, key, label

    def fit(self, cal):
        self.cal_ = cal
        return self

    def predict(self, customer_ids):
        split = make_split(self.full, self.cal_.cutoff.date().isoformat(), self.cal_.horizon_days)
        actual = truth(self.full.loaded, split).set_index("customer_id")["future_value"]
        value = actual.reindex(pd.Index(customer_ids)).fillna(0.0).to_numpy() + 1e-3
        return Prediction(value, {self.label: 1 / (1 + value)})


def test_the_tabular_model_is_the_products_ablation_not_a_baseline(ds):
    """The product equal to its tabular twin (text left out) is compared with the classic baselines, never with its
    twin: the headline used to say 'difference 0.000' against 'XGBoost, tabular only'. What text adds is still
    scored (product - xgb_tabular)."""
    models = lambda sources: [  # noqa: E731
        PastSpend(),
        NoisyLearned(0.5, key="bgnbd_gg", label="classic stand-in"),
        Peeking(ds, "xgb_tabular", "XGBoost, tabular only"),
        Peeking(ds, "product", "Product"),
    ]
    res = run_backtest(ds, BacktestOptions(seeds=1, n_boot=30, ablation=False, rolling=2, step_days=30), models=models)
    assert res.primary.report("xgb_tabular")["value"]["normalized_gini"] > 0.99  # the best model of all
    assert set(res.best_baseline.values()) <= {"past_spend", "bgnbd_gg"}
    assert {"product - past_spend", "product - bgnbd_gg", "product - xgb_tabular"} <= set(res.bootstrap["differences"])
    m = build_metrics(res, "test")
    for c in m["rolling"]["comparisons"]:
        assert all(v["best_baseline"] != "xgb_tabular" for v in c["metrics"].values())
    assert "strongest baseline, XGBoost" not in render_markdown(m)


# --------------------------------------------------------------------------- (b) long horizons, (d) notes


def test_make_split_never_fails_on_a_long_horizon(ds):
    start = ds.loaded.tables["orders"]["order_ts"].min()
    cut = (start + timedelta(days=150)).date().isoformat()
    s = make_split(ds, cutoff=cut, horizon_days=240)  # far longer than the 150 days of history
    history = (s.cutoff - start).days
    assert s.horizon_days == 240
    assert s.train_horizon_days == history - MIN_HISTORY_DAYS  # the longest the RFM snapshot allows, not half of it
    assert any("RFM cells learn a" in n and "not 240" in n for n in s.notes)
    assert not any("scaled" in n and "learned models" in n.lower() for n in s.notes)
    # a horizon that fits is learned as is
    assert make_split(ds, cutoff=cut, horizon_days=60).train_horizon_days == 60
    res = run_split(ds, s, [PastSpend(), NoisyLearned()], seeds=[0])
    assert all(r.error is None for r in res.runs.values())


def test_the_product_is_trained_for_the_requested_horizon(ds, monkeypatch):
    """SnapshotXGBoost asks service.pipeline.train for the holdout horizon (no scaling) and uses predict_tables'
    optional columns (80% interval, days to the next order) when the bundle gives them."""
    import eval.baselines as B

    seen = {}

    class FakeBundle:
        class text:
            sources = []

        metrics = {"value_objective": "fake"}
        feature_names = ["a"]
        config = {"horizon_days": 240, "cutoff": "x"}

    class FakeResult:
        bundle = FakeBundle()

    def fake_train(loaded, out_dir, opts, reporter=None, encoder=None):
        seen["opts"] = opts
        assert (loaded.tables["orders"]["order_ts"] <= seen["cutoff"]).all()
        return FakeResult()

    def fake_predict(bundle, loaded, cutoff, encoder=None, reporter=None, threads=2):
        ids = sorted(loaded.tables["orders"]["customer_id"].unique())
        v = np.arange(len(ids), dtype=float)
        return pd.DataFrame(
            {
                "customer_id": ids,
                "predicted_value": v,
                "churn_probability": 0.5,
                "value_low": v / 2,
                "value_high": v * 2,
                "next_order_days": 10.0,
            }
        )

    monkeypatch.setattr(B, "train", fake_train)
    monkeypatch.setattr(B, "predict_tables", fake_predict)
    start = ds.loaded.tables["orders"]["order_ts"].min()
    s = make_split(ds, cutoff=(start + timedelta(days=150)).date().isoformat(), horizon_days=240)
    seen["cutoff"] = s.cutoff
    cal = Calibration(truncate(ds.loaded, s.cutoff), s.cutoff, s.horizon_days, s.train_horizon_days, seed=7)
    ids = truth(ds.loaded, s)["customer_id"]
    pred = SnapshotXGBoost(()).fit(cal).predict(ids)
    assert seen["opts"].horizon_days == 240 and seen["opts"].seed == 7 and seen["opts"].text_check is True
    assert pred.low is not None and np.allclose(pred.high, pred.value * 2) and np.allclose(pred.next_days, 10.0)


def test_report_prints_the_notes_of_the_split_actually_run(ds):
    custom = run_backtest(
        ds,
        BacktestOptions(
            cutoff=make_split(ds).cutoff.date().isoformat(), horizon_days=45, seeds=1, n_boot=20, ablation=False
        ),
        models=_models(),
    )
    m = build_metrics(custom, "test")
    text = render_markdown(m)
    assert "DEFAULT-NOTE-XYZ" not in text  # the dataset's defaults were not used
    for note in custom.primary.split.notes:
        assert note in text
    assert "45-day horizon" in text and "scaled by 273/91" not in text
    default = run_backtest(ds, BacktestOptions(seeds=1, n_boot=20, ablation=False), models=_models())
    assert "DEFAULT-NOTE-XYZ" in render_markdown(build_metrics(default, "test"))


# --------------------------------------------------------------------------- (6) metrics by hand


def test_ece_and_brier_hand_computed():
    y = np.array([0, 0, 1, 0, 1, 1])
    q = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    # 2 equal-count bins by probability: {0.1, 0.2, 0.3} mean 0.2 vs observed 1/3; {0.6, 0.7, 0.9} mean 0.7333 vs 2/3
    assert M.expected_calibration_error(y, q, n_bins=2) == pytest.approx(
        0.5 * abs(0.2 - 1 / 3) + 0.5 * abs(2.2 / 3 - 2 / 3)
    )
    # 3 bins of 2: means 0.15 vs 0, 0.45 vs 0.5, 0.8 vs 1
    assert M.expected_calibration_error(y, q, n_bins=3) == pytest.approx((0.15 + 0.05 + 0.2) / 3)
    s = M.churn_scores(y, q)
    assert s["brier"] == pytest.approx(np.mean((q - y) ** 2))
    assert s["ece"] == pytest.approx(M.expected_calibration_error(y, q, n_bins=10))  # 6 bins of one: mean |q - y|
    assert s["ece"] == pytest.approx(np.mean(np.abs(q - y)))
    # a constant, correct base rate is perfectly calibrated, ties whatever the row order
    assert M.expected_calibration_error(np.r_[np.ones(30), np.zeros(70)], np.full(100, 0.3)) == pytest.approx(
        0.0, abs=0.2
    )


def test_calibration_ratio_interval_and_next_order_hand_computed():
    a = np.array([0.0, 10.0, 30.0, 0.0])
    assert M.calibration_ratio(a, [5.0, 10.0, 15.0, 10.0]) == pytest.approx(1.0)
    assert M.value_report(a, np.array([1.0, 2, 3, 4]))["calibration_ratio"] == pytest.approx(10 / 40)
    r = M.interval_report(a, low=[0, 12, 20, 1], high=[5, 20, 30, 2])  # inside: #0, #2 (bound included)
    assert (
        r["coverage"] == 0.5
        and r["coverage_spenders"] == 0.5
        and r["mean_width"] == pytest.approx((5 + 8 + 10 + 1) / 4)
    )
    n = M.next_order_report([np.nan, 10.0, 40.0, np.nan], [5.0, 20.0, 30.0, 1.0])  # non-buyers (NaN) left out
    assert n["n"] == 2 and n["mae_days"] == pytest.approx(10.0)


def test_mean_over_seeds_of_nested_reports():
    r = M.mean_over_seeds(
        [
            {"g": 0.2, "n": 5, "top": {"lift": 1.0}, "rows": [{"x": 1.0}], "s": "a"},
            {"g": 0.4, "n": 5, "top": {"lift": float("nan")}, "rows": [{"x": 3.0}], "s": "a"},
        ]
    )
    assert r == {"g": pytest.approx(0.3), "n": 5, "top": {"lift": 1.0}, "rows": [{"x": 2.0}], "s": "a"}
    s = M.seed_summary([0.1, 0.3])
    assert s["mean"] == pytest.approx(0.2) and s["sd"] == pytest.approx(np.std([0.1, 0.3], ddof=1))


# --------------------------------------------------------------------------- (7) too few spenders, (8) README tables


def test_too_few_spenders_are_not_ranked(tmp_path):
    few = _dataset(n_customers=150, days=300, seed=3, horizon=60, spend_share=0.15)
    res = run_backtest(few, BacktestOptions(seeds=2, n_boot=30, ablation=False), models=_models(noise=0.0))
    assert res.primary.n_spenders < 100 and not res.primary.separable
    m = build_metrics(res, "test")
    assert m["separability"]["separable"] is False
    text = render_markdown(m)
    assert "too few to separate" in text and "strongest baseline" not in text and " beats " not in text
    from eval.readme_tables import dataset_markdown, main

    md = dataset_markdown(m)
    assert "too few to separate" in md and "Product minus the strongest" not in md
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(m))
    assert main([str(path)]) == 0


def test_readme_tables_from_metrics(ds, tmp_path, capsys):
    from eval.readme_tables import main

    res = run_backtest(
        ds, BacktestOptions(seeds=2, n_boot=30, ablation=False, rolling=2, step_days=30), models=_models()
    )
    assert res.primary.separable
    m = build_metrics(res, "insight eval --dataset handmade --rolling 2")
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(m))
    assert main([str(path)]) == 0
    md = capsys.readouterr().out
    v = m["models"]["product"]["value"]
    for needle in (
        "| model | seeds | normalized Gini | Spearman | total predicted / actual | decile MAPE | churn ECE | churn "
        "Brier",
        f"{v['normalized_gini']:.3f} ± {v['sd']['normalized_gini']:.3f}",
        "Product minus the strongest baseline on normalized Gini",
        "Rolling cutoffs",
        m["rolling"]["cutoffs"][1][:10],
        "80% interval coverage",
    ):
        assert needle in md, needle


_COMPARE_SCRIPT = """
import json
import numpy as np
import pandas as pd
from eval.backtest.one_split import ModelRun, SplitResult
from eval.backtest.comparison import compare

rng = np.random.default_rng(0)
n = 400
actual = rng.exponential(10, n) * (rng.random(n) < 0.4)
runs = {
    k: ModelRun(k, k, k, np.stack([actual + rng.normal(0, 5 + i, n) for _ in range(4)]), {}, 0.0, 0.0,
                seeds=[0, 1, 2, 3], learned=True)
    for i, k in enumerate(["product", "xgb_tabular", "past_spend", "rfm", "text_only"])
}
res = SplitResult(None, pd.DataFrame({"future_value": actual}), runs)
boot = compare(res, {"d1": ("product", "xgb_tabular"), "d2": ("product", "rfm")}, n_boot=60, seed=3)
out = {lab: [iv.low, iv.high] for lab, d in boot["differences"].items() for iv in [d["normalized_gini"]]}
out.update({m: [d["spearman"].low, d["spearman"].high] for m, d in boot["models"].items()})
print(json.dumps(out, sort_keys=True))
"""


def test_comparison_intervals_do_not_depend_on_the_process_hash_seed():
    # The models' order fixes the order of the bootstrap's seed draws; it once came from a set of strings, so every
    # process (PYTHONHASHSEED) drew other seeds and printed other intervals for the same predictions.
    import os
    import subprocess
    import sys

    outs = {
        subprocess.run(
            [sys.executable, "-c", _COMPARE_SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": str(h)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for h in (1, 2, 3, 4)
    }
    assert len(outs) == 1, outs
