"""Rolling cutoffs: the product against its strongest baselines at each cutoff (``rolling_comparison``), and every
model's metrics summarised over the cutoffs (``rolling_summary``)."""

from __future__ import annotations

import numpy as np

from eval.backtest.one_split import SplitResult

ROLLING_METRICS = (
    ("normalized_gini", "normalized_gini"),
    ("spearman", "spearman"),
    ("calibration_ratio", "calibration_ratio"),
    ("decile_mape", "decile_mape"),
    ("mae", "mae"),
)


def rolling_comparison(res: SplitResult, best: dict[str, str], boot: dict) -> dict:
    """One cutoff: the product against its strongest baseline per metric, with the seed-inclusive interval of the
    difference."""
    out = {
        "cutoff": res.split.cutoff.isoformat(),
        "customers": int(len(res.truth)),
        "spenders": res.n_spenders,
        "separable": res.separable,
        "metrics": {},
    }
    p = res.runs.get("product")
    for metric, b in best.items():
        d = boot["differences"].get(f"product - {b}", {}).get(metric)
        row = {"best_baseline": b, "baseline": _mean_sd(res, b, metric), "difference": d.to_dict() if d else None}
        row["product"] = _mean_sd(res, "product", metric) if p is not None and p.error is None else None
        out["metrics"][metric] = row
    return out


def _mean_sd(res: SplitResult, key: str, metric: str) -> dict:
    v = res.report(key)["value"]
    return {
        "mean": v[metric],
        "sd": v["sd"].get(metric),
        "per_seed": v["per_seed"].get(metric),
        "n_seeds": res.runs[key].n_seeds,
    }


def rolling_summary(results: list[SplitResult], comparisons: list[dict] | None = None) -> dict:
    """Per model and metric: the value at each cutoff (mean over seeds), its sd over seeds there, and the mean and
    standard deviation over the cutoffs. ``comparisons``: the product against its strongest baseline per cutoff."""
    per_model: dict[str, dict[str, dict[str, list]]] = {}
    for res in results:
        _collect_cutoff(res, per_model)
    out: dict[str, dict] = {}
    for k, d in per_model.items():
        out[k] = {}
        for name, e in d.items():
            v = np.array([x if x is not None else np.nan for x in e["values"]], dtype=float)
            fin = np.isfinite(v)
            out[k][name] = {
                "mean": float(np.nanmean(v)) if fin.any() else float("nan"),
                "std": float(np.nanstd(v, ddof=1)) if fin.sum() > 1 else float("nan"),
                "values": e["values"],
                "seed_sd": e["seed_sd"],
            }
    return {
        "cutoffs": [r.split.cutoff.isoformat() for r in results],
        "models": out,
        "comparisons": comparisons or [],
        "spenders": [r.n_spenders for r in results],
    }


def _collect_cutoff(res: SplitResult, per_model: dict[str, dict[str, dict[str, list]]]) -> None:
    """Append one cutoff's figures (value, seed sd) of every model that ran to ``per_model[model][metric]``."""
    cm = res.churn_metrics()
    for k, r in res.runs.items():
        if r.error is not None:
            continue
        rep = res.report(k)
        v = rep["value"]
        d = per_model.setdefault(k, {})

        def add(name, val, sd, d=d):
            e = d.setdefault(name, {"values": [], "seed_sd": []})
            e["values"].append(val)
            e["seed_sd"].append(sd)

        for name, key in ROLLING_METRICS:
            add(name, v[key], v["sd"].get(key))
        add("top5_lift", v["top"]["5%"]["lift"], None)
        add("top20_lift", v["top"]["20%"]["lift"], None)
        churn = [c for c in cm.values() if c["model"] == k]
        if churn:
            for name in ("roc_auc", "ece", "brier"):
                add(f"churn_{name}", churn[0][name], churn[0]["sd"].get(name))
        if "interval" in rep:
            add("interval_coverage", rep["interval"]["coverage"], rep["interval"]["sd"].get("coverage"))
        if "next_order" in rep:
            add("next_order_mae_days", rep["next_order"]["mae_days"], rep["next_order"]["sd"].get("mae_days"))
