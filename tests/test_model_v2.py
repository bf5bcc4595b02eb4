"""Model v2 pieces: the classic models (BG/NBD, Gamma-Gamma) against PyMC-Marketing, the training panel,
bagging into one booster, calibration, intervals, the horizon shift, and SHAP that still adds up."""

import warnings

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from service.btyd import WEEK, BetaGeo, ClassicFeatures, GammaGamma, summary_from_features
from service.models import ChurnModel, HorizonShift, ValueModel, average_boosters
from service.panel import MIN_HISTORY_DAYS, plan_panel
from service.tables import DataError


def _bgnbd_sample(n=3000, seed=0):
    """Customers simulated from a BG/NBD process with known parameters (r, alpha, a, b) = (0.5, 4, 0.8, 2.5), weeks."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.5, 1 / 4.0, n)
    p = rng.beta(0.8, 2.5, n)
    T = rng.uniform(20, 60, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, t_x, T


def test_bgnbd_fit_recovers_parameters_and_matches_pymc_marketing():
    x, t_x, T = _bgnbd_sample()
    bg = BetaGeo().fit(x, t_x, T)
    assert bg.r == pytest.approx(0.5, rel=0.25) and bg.alpha == pytest.approx(4.0, rel=0.35)
    from pymc_marketing import clv

    df = pd.DataFrame({"customer_id": np.arange(len(x)), "frequency": x, "recency": t_x, "T": T})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = clv.BetaGeoModel()
        ref.fit(data=df, method="map", progressbar=False)
        theirs = ref.expected_purchases(data=df, future_t=13.0).mean(("chain", "draw")).values
        their_no = ref.expected_probability_no_purchase(t=13.0, data=df).mean(("chain", "draw")).values
    ours = bg.expected_purchases(13.0, x, t_x, T)
    assert np.corrcoef(ours, theirs)[0, 1] > 0.995
    assert ours.sum() / theirs.sum() == pytest.approx(1.0, abs=0.03)
    # Repeat buyers agree; for x = 0 PyMC-Marketing's number is higher than BG/NBD's own P(alive) = 1 implies
    # ((alpha + T) / (alpha + T + t))^r, which is what ours follows (Fader, Hardie & Lee 2005, eq. 11 with x = 0).
    rep = x > 0
    assert np.abs(bg.p_no_purchase(13.0, x, t_x, T) - their_no)[rep].max() < 0.05


@pytest.mark.parametrize("a", [0.8, 1.6])
def test_bgnbd_expected_purchases_keep_growing_for_the_heaviest_buyers(a):
    """x of 1,500 in 10 weeks had overflowed hyp2f1 and given 0 expected purchases (a VIP scored Medium), with a numpy
    warning per call. The transformed form is the same number where the direct one works, and finite beyond."""
    import warnings

    from scipy import special

    bg = BetaGeo(r=0.8, alpha=5.0, a=a, b=2.5)
    t, T = 90 / 7, 10.0
    x = np.array([0, 1, 5, 50, 500, 999, 1500, 1999, 4999, 10000], float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning either
        got = bg.expected_purchases(t, x, T, T)
    assert np.all(np.isfinite(got)) and np.all(np.diff(got) > 0)
    z = t / (bg.alpha + T + t)
    small = x <= 500
    direct = (
        (bg.a + bg.b + x - 1)
        / (bg.a - 1)
        * (
            1
            - ((bg.alpha + T) / (bg.alpha + T + t)) ** (bg.r + x)
            * special.hyp2f1(bg.r + x, bg.b + x, bg.a + bg.b + x - 1, z)
        )
        * bg.p_alive(x, T, T)
    )
    assert got[small] == pytest.approx(direct[small], rel=1e-9)
    assert got[-1] / 10000 == pytest.approx(got[-2] / 4999, rel=0.01)  # about rate x horizon, rate ~ x / T


def test_bgnbd_gradient_matches_finite_differences():
    """The fit follows the exact gradient; a wrong term would still converge somewhere, so check it directly,
    at a point with one-time and repeat buyers, including b < 1 (where b + x - 1 < 1)."""
    from scipy import optimize

    x, t_x, T = _bgnbd_sample(400, seed=3)

    def total(p):
        return BetaGeo._loglik(*p, x, t_x, T)[0].sum()

    for params in ((0.5, 4.0, 0.8, 2.5), (1.7, 0.6, 3.0, 0.4)):
        exact = np.array([g.sum() for g in BetaGeo._loglik(*params, x, t_x, T)[1]])
        numeric = optimize.approx_fprime(np.array(params), total, 1e-6)
        np.testing.assert_allclose(exact, numeric, rtol=1e-4, atol=1e-3)


def test_gamma_gamma_shrinks_towards_the_population_mean():
    rng = np.random.default_rng(1)
    n_orders = rng.integers(1, 8, 2000).astype(float)
    # the Gamma-Gamma process: order values ~ Gamma(p, rate nu), nu ~ Gamma(q, rate gamma); p, q, gamma = 3, 6, 50
    nu = rng.gamma(6.0, 1 / 50.0, 2000)
    true_mean = 3.0 / nu
    avg = np.array([rng.gamma(3.0, 1 / v, int(k)).mean() for v, k in zip(nu, n_orders)])
    gg = GammaGamma().fit(n_orders, avg)
    est = gg.expected_value(n_orders, avg)
    population = gg.expected_value(np.array([0.0]), np.array([0.0]))[0]
    assert population == pytest.approx(avg.mean(), rel=0.2)
    # one order: pulled towards the population mean more than twenty orders would be
    one = gg.expected_value(np.array([1.0]), np.array([200.0]))[0]
    many = gg.expected_value(np.array([20.0]), np.array([200.0]))[0]
    assert population < one < many < 200.0
    assert np.mean(np.abs(est - true_mean)) < np.mean(np.abs(avg - true_mean))


def test_classic_features_are_per_customer_and_round_trip():
    rng = np.random.default_rng(2)
    n = 500
    freq = rng.integers(0, 6, n).astype(float)
    first = rng.uniform(40, 400, n)
    rec = np.where(freq > 0, rng.uniform(0, 1, n) * first, first)
    tab = pd.DataFrame(
        {
            "frequency": freq,
            "recency_days": rec,
            "first_purchase_days": np.where(freq > 0, first, np.nan),
            "avg_order_value": np.where(freq > 0, rng.gamma(3, 20, n), 0.0),
            "monetary_total": freq * 40.0,
        }
    )
    cf = ClassicFeatures(90).fit(tab)
    full = cf.transform(tab)
    alone = pd.concat([ClassicFeatures.from_dict(cf.to_dict()).transform(tab.iloc[[i]]) for i in (0, 7, 99)])
    pd.testing.assert_frame_equal(full.iloc[[0, 7, 99]], alone)
    assert full.notna().all().all() or full.drop(columns="first_purchase_days").notna().all().all()
    days = cf.next_order_days(tab, 90)
    assert ((days > 0) & (days <= 90)).all()


def test_summary_from_features():
    x, t_x, T = summary_from_features([3, 1, 0], [10.0, 70.0, 5.0], [70.0, 70.0, np.nan])
    np.testing.assert_allclose(x, [2, 0, 0])
    np.testing.assert_allclose(t_x * WEEK, [60.0, 0.0, 0.0])
    np.testing.assert_allclose(T * WEEK, [70.0, 70.0, 5.0])


def test_panel_learns_the_horizon_directly_when_history_allows():
    first, cut = pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2022-06-30", tz="UTC")
    p = plan_panel(first, cut, 90)
    assert p.train_horizon_days == 90 and p.seasonal
    assert p.cutoffs["validation"] == cut - pd.Timedelta(days=90)
    assert "fit_year" in p.cutoffs and p.cutoffs["fit_year"] == cut - pd.Timedelta(days=365)
    for name, c in p.cutoffs.items():
        if name != "score":
            assert c + pd.Timedelta(days=90) <= cut  # every target window ends by the cutoff
            assert (c - first).days >= MIN_HISTORY_DAYS


def test_panel_shortens_the_horizon_and_drops_seasons_on_short_history():
    first, cut = pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2020-09-30", tz="UTC")
    p = plan_panel(first, cut, 273)
    assert p.train_horizon_days < 273 and not p.seasonal
    assert any("carries" in n for n in p.notes)
    with pytest.raises(DataError, match="days of orders"):
        plan_panel(first, pd.Timestamp("2020-02-10", tz="UTC"), 90)


@pytest.mark.parametrize("history, horizon", [(165, 120), (211, 150), (272, 273), (400, 90), (100, 91)])
def test_the_latest_snapshot_has_at_least_one_learned_horizon_of_history(history, horizon):
    # BG/NBD fitted on a few weeks is poor, the trees learned to correct it there, and the correction was wrong at
    # the cutoff (Online Retail 2011-05-15 / 120: churn ECE 0.14, level 1.42); so at most half the history is learned
    first = pd.Timestamp("2020-01-01", tz="UTC")
    p = plan_panel(first, first + pd.Timedelta(days=history), horizon)
    h = p.train_horizon_days
    assert (p.cutoffs["validation"] - first).days >= h and h <= history // 2
    assert h == min(horizon, history // 2, history - MIN_HISTORY_DAYS - min(30, horizon)) or h < 30
    assert (h < horizon) == any("carries" in n for n in p.notes)


def test_panel_on_two_months_of_history_learns_a_short_horizon_from_snapshots_that_far_apart():
    first = pd.Timestamp("2020-01-01", tz="UTC")
    cut = first + pd.Timedelta(days=63)  # Online Retail cut at 2011-02-01: 63 days of orders
    p = plan_panel(first, cut, 365)
    assert p.train_horizon_days == 16 and not p.seasonal and any("carries" in n for n in p.notes)
    assert p.cutoffs["validation"] == cut - pd.Timedelta(days=16) and p.cutoffs["fit_1"] == cut - pd.Timedelta(days=32)
    for name, c in p.cutoffs.items():
        if name != "score":
            assert c + pd.Timedelta(days=16) <= cut and (c - first).days >= MIN_HISTORY_DAYS
    p = plan_panel(first, first + pd.Timedelta(days=44), 90)  # the least history that trains: two weekly targets
    assert p.train_horizon_days == 7 and len(p.cutoffs) == 3
    with pytest.raises(DataError, match="at least 44 days"):
        plan_panel(first, first + pd.Timedelta(days=43), 90)
    with pytest.raises(DataError, match=r"^no orders \(the first is on 2020-01-01\) before the cutoff 2019-06-30"):
        plan_panel(first, pd.Timestamp("2019-06-30", tz="UTC"), 90)  # said "only -185 days of orders"


def test_averaged_booster_predicts_the_mean_margin_and_shap_adds_up():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    y = np.exp(X[:, 0]) * (rng.random(400) < 0.5)
    params = {"objective": "reg:tweedie", "base_score": 1.0, "max_depth": 3, "subsample": 0.7}
    boosters = [xgb.train(params | {"seed": s}, xgb.DMatrix(X, y), 20 + 5 * s) for s in range(3)]
    merged = average_boosters(boosters)
    margins = np.mean([b.predict(xgb.DMatrix(X), output_margin=True) for b in boosters], axis=0)
    np.testing.assert_allclose(merged.predict(xgb.DMatrix(X), output_margin=True), margins, rtol=1e-5, atol=1e-5)
    contrib = merged.predict(xgb.DMatrix(X), pred_contribs=True)
    np.testing.assert_allclose(contrib.sum(axis=1), margins, rtol=1e-4, atol=1e-4)


def _frame(n, seed):
    rng = np.random.default_rng(seed)
    freq = rng.integers(1, 10, n).astype(float)
    first = rng.uniform(100, 500, n)
    rec = rng.uniform(0, 1, n) * first
    aov = rng.gamma(3, 20, n)
    tab = pd.DataFrame(
        {
            "frequency": freq,
            "recency_days": rec,
            "first_purchase_days": first,
            "avg_order_value": aov,
            "monetary_total": freq * aov,
            "noise": rng.normal(size=n),
        }
    )
    cf = ClassicFeatures(90).fit(tab)
    X = pd.concat([tab[["frequency", "recency_days", "monetary_total", "noise"]], cf.transform(tab)], axis=1)
    rate = freq / first * 90 * np.exp(-rec / 200)
    buys = rng.poisson(rate)
    y = np.array([rng.gamma(3, a / 3, k).sum() if k else 0.0 for a, k in zip(aov, buys)])
    return X, y, (buys == 0).astype(int), cf


@pytest.fixture(scope="module")
def fitted():
    X, y, churn, cf = _frame(3000, 4)
    Xv, yv, churn_v, _ = _frame(1500, 5)
    value = ValueModel(seed=0, n_bags=2, max_rounds=200).fit(X, y, Xv, yv)
    ch = ChurnModel(seed=0, n_bags=2, max_rounds=200).fit(X, churn, Xv, churn_v)
    return value, ch, (X, y, churn), (Xv, yv, churn_v), cf


def test_value_is_level_calibrated_and_interval_covers(fitted):
    value, _, _, (Xv, yv, _), _ = fitted
    pred = value.predict(Xv)
    assert pred.sum() / yv.sum() == pytest.approx(1.0, abs=0.05)  # calibrated on this snapshot
    low, high = value.interval(pred, Xv)
    assert 0.75 <= np.mean((yv >= low) & (yv <= high)) <= 0.9
    assert (low <= high).all()  # zero-inflated spend: an 80% interval need not contain the mean (it may be [0, 0])


def test_interval_cells_by_churn_risk_keep_coverage_and_give_sure_buyers_a_floor(fitted, tmp_path):
    value, churn, _, (Xv, yv, _), _ = fitted
    Xh, yh, _, _ = _frame(3000, 6)  # customers neither model has seen
    pred_h, churn_h = value.predict(Xh), churn.predict_proba(Xh)
    before = value.interval(pred_h, Xh)
    saved = value.interval_
    try:
        value.condition_interval(Xv, yv, churn.learned_proba(Xv))
        value.save(tmp_path / "v.json")
        loaded = ValueModel.load(tmp_path / "v.json")
        low, high = loaded.interval(pred_h, Xh, churn_h)
        np.testing.assert_array_equal(loaded.interval(pred_h, Xh)[0], before[0])  # without churn: the bins, as before
        assert 0.75 <= np.mean((yh >= low) & (yh <= high)) <= 0.88  # still an 80% interval on new customers
        assert (low <= high).all()
        sure = churn_h < 0.1  # nearly certain to buy: in their own cells the lower end is an amount, not 0
        assert sure.sum() >= 50 and np.mean(low[sure] > 0) > 0.75
        assert np.mean(before[0][sure] > 0) < np.mean(low[sure] > 0)
    finally:
        value.interval_ = saved


def test_thin_cells_take_their_ends_from_churn_and_spend_given_a_purchase(fitted):
    # A small shop: 400 validation customers leave most value bin x churn band cells under MIN_INTERVAL_CELL. Their
    # bins put sure buyers back among non-buyers, whose 10th percentile is 0 (a VIP at 0.3% churn risk read
    # "$0.00 to $11,272"); churn x spend given a purchase gives them a lower end above 0 and keeps the coverage.
    value, churn, _, (Xv, yv, _), _ = fitted
    Xh, yh, _, _ = _frame(3000, 6)
    pred_h, churn_h = value.predict(Xh), churn.predict_proba(Xh)
    saved = value.interval_
    try:
        value.condition_interval(Xv.iloc[:400], yv[:400], churn.learned_proba(Xv.iloc[:400]))
        assert np.isnan(np.array(value.interval_["cell_low"], dtype=float)).mean() > 0.5  # mostly thin cells
        low, high = value.interval(pred_h, Xh, churn_h)
        sure = churn_h < 0.1
        assert sure.sum() >= 50 and np.mean(low[sure] > 0) > 0.9
        assert 0.75 <= np.mean((yh >= low) & (yh <= high)) <= 0.88
        assert (low <= high).all() and (low[churn_h >= 0.1] == 0).all()  # at 10% churn risk or more, 0 is in range
        # a bundle written before (no buyers' ratio) still reads: cells, then bins, whose lower ends stay 0 here
        value.interval_ = {k: v for k, v in value.interval_.items() if k != "buyer_ratio"}
        assert np.mean(value.interval(pred_h, Xh, churn_h)[0][sure] > 0) < 0.5
    finally:
        value.interval_ = saved


def test_churn_is_calibrated(fitted):
    _, churn, _, (Xv, _, yc), _ = fitted
    p = churn.predict_proba(Xv)
    assert abs(p.mean() - yc.mean()) < 0.02


def test_contributions_add_up_to_the_final_margin_with_a_horizon_shift(fitted, tmp_path):
    value, churn, _, (Xv, _, _), cf = fitted
    shift = HorizonShift(90, 180, cf.bg_.to_dict())
    for model in (value, churn):
        model.shift_ = shift
        contrib = model.contributions(Xv.iloc[:200])
        np.testing.assert_allclose(contrib.sum(axis=1), model.margin(Xv.iloc[:200]), rtol=1e-4, atol=1e-4)
        model.save(tmp_path / "m.json")
        loaded = type(model).load(tmp_path / "m.json")
        np.testing.assert_allclose(loaded.margin(Xv.iloc[:50]), model.margin(Xv.iloc[:50]), rtol=1e-6)
        model.shift_ = None
    # a model that cannot be written is an OSError naming the file (a full disk had been XGBoost's "FileStream.Write
    # incomplete", with no path)
    with pytest.raises(OSError) as err:
        value.save(tmp_path / "no-such-folder" / "value.json")
    assert err.value.filename == str(tmp_path / "no-such-folder" / "value.json")
    # a longer horizon: more expected value, less chance of no order
    value.shift_, churn.shift_ = shift, shift
    longer_v, longer_c = value.predict(Xv), churn.predict_proba(Xv)
    value.shift_ = churn.shift_ = None
    assert (longer_v >= value.predict(Xv) - 1e-9).all() and (longer_c <= churn.predict_proba(Xv) + 1e-9).all()


def test_more_orders_never_lower_value_nor_raise_churn_when_constrained(fitted):
    value, churn, _, (Xv, _, _), cf = fitted
    if not (value.monotone_used_ and churn.monotone_used_):
        pytest.skip("validation dropped the constraints for this sample")
    aov = Xv["monetary_total"] / Xv["frequency"]
    more = Xv.copy()
    more["frequency"] += 3  # three more orders at the customer's own average value, the last one today
    more["monetary_total"] += 3 * aov
    more["recency_days"] = 0.0
    more = pd.concat(
        [
            more[["frequency", "recency_days", "monetary_total", "noise"]],
            cf.transform(more.assign(avg_order_value=aov)),
        ],
        axis=1,
    )
    assert (value.predict(more) >= value.predict(Xv) - 1e-6).all()
    assert (churn.predict_proba(more) <= churn.predict_proba(Xv) + 1e-6).all()


def test_validation_customers_are_a_stable_seeded_share():
    from service.panel import validation_customers

    ids = [f"C{i:05d}" for i in range(20000)]
    a = validation_customers(ids, seed=1, share=0.3)
    assert a.mean() == pytest.approx(0.3, abs=0.02)
    np.testing.assert_array_equal(
        a, validation_customers(list(reversed(ids)), seed=1, share=0.3)[::-1]
    )  # per id, not per position
    b = validation_customers(ids, seed=2, share=0.3)
    assert 0.05 < (a & b).mean() < 0.15  # another seed holds out another (independent) set
    assert not validation_customers(ids, seed=1, share=0.0).any()


def test_training_panel_leaves_the_validation_customers_out(synth_dir):
    from service.panel import plan_panel, validation_customers
    from service.runs import Reporter, RunSummary
    from service.tables import load_tables
    from service.text_features import TextFeaturizer
    from service.train import LocalWork, TrainOptions
    from service.train_inputs import fit_panel

    loaded = load_tables(synth_dir)
    o = loaded.tables["orders"]["order_ts"]
    panel = plan_panel(o.min(), o.max(), 60)
    opts = TrainOptions(horizon_days=panel.train_horizon_days, text_sources=())
    work = LocalWork(loaded, panel.cutoffs, opts, (), None, Reporter(), RunSummary())
    classics = {n: ClassicFeatures(panel.train_horizon_days).fit(work.snapshots[n]) for n in panel.cutoffs}
    X, yv, yc, kept, ids = fit_panel(
        work, panel.cutoffs, classics, TextFeaturizer(sources=()), (), seed=5, held_out=True
    )
    held = set(
        work.snapshots["validation"]["customer_id"][
            validation_customers(work.snapshots["validation"]["customer_id"], 5, 0.3)
        ]
    )
    assert len(ids) == len(X) == sum(kept) and len(held) > 50
    assert not held & set(ids)  # no held-out customer is in any fit snapshot
    X_all, *_ = fit_panel(work, panel.cutoffs, classics, TextFeaturizer(sources=()), (), seed=5, held_out=False)
    assert len(X_all) > len(X)


def test_text_head_out_of_fold_scores_never_see_the_same_customer():
    from service.text_features import TextHead

    rng = np.random.default_rng(0)
    customers = np.repeat(np.arange(150), 4)  # each customer in four panel snapshots, nearly the same text vector
    vec = rng.normal(size=(150, 384))[customers] + 0.01 * rng.normal(size=(600, 384))
    y = rng.normal(size=150)[customers]  # the target is the customer's own, unrelated to any shared direction
    grouped = TextHead().fit_oof(vec, y, groups=customers.astype(str))
    pooled = TextHead().fit_oof(vec, y)
    assert np.corrcoef(pooled, y)[0, 1] > 0.5  # ungrouped folds recall the customer's other rows
    assert abs(np.corrcoef(grouped, y)[0, 1]) < 0.2  # grouped folds cannot


@pytest.mark.parametrize("n", [40, 700])
def test_text_heads_are_ridgecv_with_leave_one_out_penalties_shared_across_targets(n):
    """``ridge_loo`` is RidgeCV (same penalty per target, same coefficients), with one decomposition for all targets."""
    from sklearn.linear_model import RidgeCV

    from service.text_features import TextHead, ridge_loo

    rng = np.random.default_rng(n)
    X = 0.05 * rng.normal(size=(n, 384)) + 0.1 * rng.normal(size=384)  # embeddings: small spread around a mean
    Y = np.column_stack([X @ rng.normal(size=384) * 3 + rng.normal(size=n), rng.random(n) < 0.3, rng.normal(size=n)])
    coef, intercept, alpha = ridge_loo(X, Y, TextHead.ALPHAS)
    chosen = set()
    for t in range(Y.shape[1]):
        ref = RidgeCV(alphas=TextHead.ALPHAS).fit(X, Y[:, t])
        assert alpha[t] == ref.alpha_
        np.testing.assert_allclose(coef[:, t], ref.coef_, rtol=1e-9, atol=1e-12)
        assert intercept[t] == pytest.approx(ref.intercept_, abs=1e-10)
        chosen.add(alpha[t])
    assert len(chosen) > 1  # the targets really chose different penalties


def test_out_of_fold_ridge_equals_refitting_each_fold_with_the_chosen_penalty():
    """``ridge_out_of_fold`` (Gram matrices downdated per fold) predicts each fold as a Ridge refitted on the other
    folds would, with each target's own penalty."""
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import KFold

    from service.text_features import ridge_out_of_fold

    rng = np.random.default_rng(7)
    n = 600
    X = 0.05 * rng.normal(size=(n, 384)) + 0.1 * rng.normal(size=384)
    Y = np.column_stack([X @ rng.normal(size=384) * 3 + rng.normal(size=n), rng.random(n) < 0.3])
    alpha = np.array([1.0, 30.0])
    splits = list(KFold(n_splits=5, shuffle=True, random_state=0).split(X))
    oof = ridge_out_of_fold(X, Y, alpha, splits)
    for tr, te in splits:
        for t in range(Y.shape[1]):
            ref = Ridge(alpha=alpha[t]).fit(X[tr], Y[tr, t]).predict(X[te])
            np.testing.assert_allclose(oof[te, t], ref, rtol=1e-7, atol=1e-9)


def test_level_anchor_moves_the_total_like_bgnbd_and_shap_still_adds_up(fitted):
    value, _, _, (Xv, _, _), _ = fitted
    Xs = Xv.copy()
    Xs["btyd_expected_value"] *= 2.0  # BG/NBD expects twice as much at the cutoff; the trees' inputs barely move
    before, at_validation = value.predict(Xs).sum(), value.predict(Xv).sum()
    value.anchor_level(Xv, Xs)
    try:
        assert value.anchor_ > 0
        total = value.predict(Xs).sum()
        ratio_bg = Xs["btyd_expected_value"].sum() / Xv["btyd_expected_value"].sum()
        assert total / at_validation == pytest.approx(
            ratio_bg, rel=1e-6
        )  # the latest snapshot's level, moved as BG/NBD moves
        assert total > before
        contrib = value.contributions(Xs.iloc[:100])
        np.testing.assert_allclose(contrib.sum(axis=1), value.margin(Xs.iloc[:100]), rtol=1e-4, atol=1e-4)
        # with the whole latest snapshot's totals (actual spend, BG/NBD's prediction) the level follows BG/NBD's
        # actual / predicted ratio there instead of the held-out customers' calibrated total
        from service.models.value import cap_outliers

        c0, c1 = value.calibration_
        held_out = cap_outliers(np.exp(c0 + c1 * value._raw_margin(Xv)))[0].sum()
        bg_v = cap_outliers(Xv["btyd_expected_value"].to_numpy(float))[0].sum()
        totals = []
        for actual in (held_out, 1.1 * held_out):
            value.anchor_level(Xv, Xs, (actual, bg_v))
            totals.append(value.predict(Xs).sum())
        assert totals[0] == pytest.approx(total, rel=1e-9) and totals[1] / totals[0] == pytest.approx(1.1, rel=1e-9)
    finally:
        value.anchor_ = 0.0


def _text_frame(n, seed, informative: bool):
    from service.features import TABULAR_FEATURES

    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.gamma(2.0, 1.0, size=(n, len(TABULAR_FEATURES))), columns=TABULAR_FEATURES)
    intent = rng.normal(size=n)  # a buying intent only the customer's words reveal
    text = {f"review_text_{i}": rng.normal(size=n) for i in range(4)}
    text["review_text_value_score"] = intent + 0.3 * rng.normal(size=n) if informative else rng.normal(size=n)
    X = pd.concat([X, pd.DataFrame(text)], axis=1)
    rate = np.exp(0.5 * np.log(X["monetary_total"]) + 0.8 * intent - 1.0)
    y = rng.gamma(2.0, 20.0, n) * rng.poisson(rate)
    return X, y


@pytest.mark.parametrize("informative", [True, False])
def test_text_check_keeps_text_only_when_it_ranks_held_out_customers_better(informative):
    from service.text_check import text_check

    X, y = _text_frame(4000, 1, informative)
    Xv, yv = _text_frame(2000, 2, informative)
    check = text_check(X, y, Xv, yv, list(X.columns), dict(seed=0, n_threads=2))
    assert check["used"] is informative, check
    assert ("review_text_value_score" in check["columns"]) is informative


def test_design_matrices_built_in_slices_of_customers_equal_one_piece(synth_dir, encoder, monkeypatch):
    """LocalWork.design slices the snapshot to bound the pooled text vectors' memory: the matrix must not change."""
    from service import train as train_module
    from service.panel import plan_panel
    from service.runs import Reporter, RunSummary
    from service.tables import load_tables
    from service.text_features import TextFeaturizer
    from service.train import LocalWork, TrainOptions
    from service.train_inputs import fit_panel

    loaded = load_tables(synth_dir)
    o = loaded.tables["orders"]["order_ts"]
    panel = plan_panel(o.min(), o.max(), 60)
    sources = ("review", "browse")
    opts = TrainOptions(horizon_days=panel.train_horizon_days, text_sources=sources)
    work = LocalWork(loaded, panel.cutoffs, opts, sources, encoder, Reporter(), RunSummary())
    classics = {n: ClassicFeatures(panel.train_horizon_days).fit(work.snapshots[n]) for n in panel.cutoffs}
    text = TextFeaturizer(sources=sources)
    fit_panel(work, panel.cutoffs, classics, text, sources, seed=5, held_out=True)  # fits the text featurizer
    whole = work.design("score", text, classics["score"])
    monkeypatch.setattr(train_module, "DESIGN_SLICE_ROWS", 37)
    sliced = work.design("score", text, classics["score"])
    assert len(whole) > 5 * 37 and any(c.endswith("_score") for c in whole.columns)
    pd.testing.assert_frame_equal(whole, sliced)


@pytest.mark.parametrize(
    "rows_threshold, params, expected",
    [(10**9, None, 0.1), (1000, None, 0.2), (1000, {"learning_rate": 0.05}, 0.05)],
)
def test_large_panels_take_bigger_steps_unless_the_step_is_set(monkeypatch, rows_threshold, params, expected):
    """Panels of at least LARGE_PANEL_ROWS rows train at LARGE_PANEL_LEARNING_RATE; smaller ones at the base rate;
    a learning rate given explicitly is kept at any size."""
    import service.models.base as base
    from service.models import matrices

    monkeypatch.setattr(base, "LARGE_PANEL_ROWS", rows_threshold)
    seen = []
    real = matrices.train_booster

    def spy(p, *args, **kw):
        seen.append(p["learning_rate"])
        return real(p, *args, **kw)

    monkeypatch.setattr(base, "train_booster", spy)
    X, _, churn, _ = _frame(1500, 6)
    Xv, _, churn_v, _ = _frame(500, 7)
    ChurnModel(seed=0, n_bags=2, max_rounds=20, params=params).fit(X, churn, Xv, churn_v)
    assert seen and set(seen) == {expected}


def test_a_shop_whose_amounts_are_tiny_still_gets_ranked_and_tiered(tmp_path):
    """Amounts in a large unit (thousands, bitcoin): buyers spend under 1 unit per horizon. The offset's fixed floor of
    0.01 had put every customer on it: one prediction for all, so every customer was VIP."""
    from scipy.stats import spearmanr

    from service.pipeline import TrainOptions, score, train
    from service.synth import generate, write_tables

    orders = generate(400, seed=3)["orders"]
    frames = {}
    for unit in (1.0, 1e-6):
        d = tmp_path / str(unit)
        write_tables({"orders": orders.assign(amount=orders["amount"] * unit)}, d, fmt="parquet")  # CSV keeps cents
        res = train(d, d / "model", TrainOptions(seed=1, text_sources=()))
        assert res.bundle.value_model.offset_floor_ == pytest.approx(0.01 * min(1.0, unit * 1e3), rel=0.99)
        frames[unit] = score(d, d / "model", d / "p.db").frame.set_index("customer_id")
    tiny, ones = frames[1e-6], frames[1.0]
    assert tiny["tier"].value_counts().to_dict() == ones["tier"].value_counts().to_dict()  # 5/15/30/50 again
    assert tiny["predicted_value"].nunique() > 300
    assert spearmanr(tiny["predicted_value"], ones["predicted_value"].reindex(tiny.index))[0] > 0.7


def test_one_mistyped_amount_does_not_set_everyone_elses_level(tmp_path):
    """An order of 9e8 (typed for 90) in the latest snapshot's target window: the Poisson level calibration had moved
    every other customer's prediction up by 40,000x. Outlying targets are capped for the fit (cap_outliers), and the
    level anchor's totals too."""
    from service.models.value import cap_outliers
    from service.pipeline import TrainOptions, score, train
    from service.synth import generate, write_tables

    orders = generate(400, seed=3)["orders"]
    whale = orders["customer_id"].iloc[0]
    typo = pd.DataFrame(
        {"order_id": ["TYPO"], "customer_id": [whale], "order_ts": ["2025-11-30T00:00:00Z"], "amount": [9e8]}
    )
    means = {}
    for name, o in (("clean", orders), ("typo", pd.concat([orders, typo]))):
        write_tables({"orders": o}, tmp_path / name, fmt="parquet")
        res = train(tmp_path / name, tmp_path / name / "model", TrainOptions(seed=1, text_sources=()))
        frame = score(tmp_path / name, tmp_path / name / "model", tmp_path / name / "p.db").frame
        means[name] = frame.loc[frame["customer_id"] != whale, "predicted_value"].mean()
    assert res.bundle.value_model.validation_["targets_capped"]["validation"] == 1
    assert means["typo"] / means["clean"] < 4
    y = np.r_[np.zeros(100), np.arange(1.0, 11.0)]
    assert cap_outliers(y)[1] == 0 and cap_outliers(np.r_[y, 1e9])[0].max() == 20 * 7.0


def test_value_is_carried_to_a_longer_horizon_by_one_factor_that_keeps_the_total(fitted, tmp_path):
    """A learned horizon shorter than the asked one: value grows by one factor for every customer (the learned ranking
    stays), chosen so that the scored customers' total is the one each customer's own BG/NBD ratio gives; the factor
    is part of the baseline, not a driver, and travels in the model file. A model saved without it keeps the ratio."""
    value, _, _, (Xv, _, _), cf = fitted
    saved = value.shift_, dict(value.validation_)
    try:
        learned = value.predict(Xv)
        value.shift_ = HorizonShift(90, 180, cf.bg_.to_dict())  # as a bundle from before the factor
        per_customer = value.predict(Xv)
        assert np.std(np.log(per_customer / learned)) > 1e-3  # each customer's own ratio
        value.fix_horizon_factor(Xv)
        carried = value.predict(Xv)
        np.testing.assert_allclose(carried.sum(), per_customer.sum(), rtol=1e-6)
        np.testing.assert_allclose(carried / learned, carried[0] / learned[0], rtol=1e-9)
        assert carried[0] > learned[0]
        contrib = value.contributions(Xv.iloc[:100])
        np.testing.assert_allclose(contrib.sum(axis=1), value.margin(Xv.iloc[:100]), rtol=1e-6, atol=1e-6)
        value.shift_ = None
        plain = value.contributions(Xv.iloc[:100])
        np.testing.assert_allclose(contrib[:, :-1], plain[:, :-1], rtol=1e-9, atol=1e-12)
        value.fix_horizon_factor(Xv)  # no shift: nothing to fix
        assert value.shift_ is None
        value.shift_ = HorizonShift(90, 180, cf.bg_.to_dict())
        value.fix_horizon_factor(Xv)
        value.save(tmp_path / "v.json")
        np.testing.assert_allclose(type(value).load(tmp_path / "v.json").predict(Xv), carried, rtol=1e-6)
    finally:
        value.shift_, value.validation_ = saved
