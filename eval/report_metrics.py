"""The content of ``metrics.json``: every number of a BacktestResult, assembled into one JSON-ready dict (NaN and inf
as null, numpy scalars as Python numbers). The markdown report and the README tables are rendered from this dict.
"""

from __future__ import annotations

import math
import platform
from datetime import UTC, datetime
from typing import Any

import numpy as np

from eval.backtest import MIN_SPENDERS, BacktestResult, rolling_summary

MODEL_ORDER = ("past_spend", "rfm", "bgnbd_gg", "xgb_tabular", "product")

VERSIONED_PACKAGES = (
    "customer-insight",
    "xgboost-cpu",
    "pymc-marketing",
    "pymc",
    "numpy",
    "pandas",
    "scikit-learn",
    "sentence-transformers",
    "torch",
)


def _clean(obj):
    """JSON-safe: NaN/inf -> null, numpy scalars -> Python."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    return obj


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in VERSIONED_PACKAGES:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def _interval(iv, sd=None) -> dict | None:
    if iv is None:
        return None
    d = iv.to_dict() if hasattr(iv, "to_dict") else dict(iv)
    return d | ({"sd": sd} if sd is not None else {})


def separability(res_split) -> dict:
    """The rule that decides whether the report ranks the models on this holdout."""
    return {
        "spenders": res_split.n_spenders,
        "min_spenders": MIN_SPENDERS,
        "separable": res_split.separable,
        "rule": f"models are ranked only when at least {MIN_SPENDERS} customers spend in the holdout, and a difference "
        "counts only when its 95% interval (customers and refit seeds resampled together) excludes 0",
    }


def _model_entry(p, key: str, boot: dict, churn: dict) -> dict[str, Any]:
    """One model's ``models.<key>`` entry: what it is, its timings, and (unless it failed) its figures."""
    r = p.runs[key]
    entry: dict[str, Any] = {
        "label": r.label,
        "description": r.description,
        "learned": r.learned,
        "n_seeds": r.n_seeds,
        "seeds": r.seeds,
        "fit_seconds": r.fit_seconds,
        "score_seconds": r.score_seconds,
        "info": r.info,
        "error": r.error,
    }
    if r.error is None:
        rep = p.report(key)
        entry["value"] = rep["value"]
        for extra in ("interval", "next_order"):
            if extra in rep:
                entry[extra] = rep[extra]
        if key in boot["models"]:
            entry["intervals"] = {m: _interval(iv, rep["value"]["sd"].get(m)) for m, iv in boot["models"][key].items()}
        own = [label for label, c in churn.items() if c["model"] == key]
        if own:
            entry["churn_label"] = own[0]
    return entry


def _headline(res: BacktestResult, boot: dict, models: dict) -> dict:
    """Per ranking metric: the product and the strongest baseline, with the interval of their difference."""
    headline = {}
    for metric, b in res.best_baseline.items():
        d = boot["differences"].get(f"product - {b}", {}).get(metric)
        prod = models.get("product", {})
        headline[metric] = {
            "best_baseline": b,
            "product": (prod.get("intervals") or {}).get(metric),
            "baseline": models[b]["intervals"][metric],
            "difference": d.to_dict() if d else None,
        }
    return headline


def _split_summary(p) -> dict:
    """The split as run, with the size of the holdout: customers scored, buyers, spenders, future value."""
    actual = p.truth["future_value"].to_numpy()
    return p.split.to_dict() | {
        "customers": int(len(p.truth)),
        "buyers_in_holdout": int((p.truth["churn"] == 0).sum()),
        "spenders": p.n_spenders,
        "mean_future_value": float(actual.mean()),
        "total_future_value": float(actual.sum()),
    }


def _bootstrap_summary(boot: dict) -> dict:
    return {
        "n_boot": boot["n_boot"],
        "level": boot["level"],
        "resamples": "customers with replacement and, per learned model, one of its seeds",
        "differences": {k: {m: iv.to_dict() for m, iv in v.items()} for k, v in boot["differences"].items()},
    }


def build_metrics(res: BacktestResult, command: str) -> dict:
    """Every number of the report, JSON-ready (NaN as null).

    ``models.<key>.value`` holds eval.metrics.value_report's figures as means over the model's seeds (a deterministic
    model has one), with ``value.sd`` (sd over seeds) and ``value.per_seed`` beside the main ones; ``intervals`` the
    bootstrap intervals (customers and seeds resampled together); ``interval`` the 80% value-interval coverage and
    ``next_order`` the next-order MAE in days, when the model predicts them; ``churn`` its churn score's figures.
    """
    p = res.primary
    boot = res.bootstrap
    churn = p.churn_metrics()
    order = [k for k in MODEL_ORDER if k in p.runs] + [k for k in p.runs if k not in MODEL_ORDER]
    models = {key: _model_entry(p, key, boot, churn) for key in order}
    return _clean(
        {
            "dataset": res.dataset.summary(),
            "command": command,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": _versions(),
            "split": _split_summary(p),
            "separability": separability(p),
            "seeds": {
                "learned_models": max((r.n_seeds for r in p.runs.values() if r.learned), default=1),
                "values": next((r.seeds for r in p.runs.values() if r.learned), []),
            },
            "models": models,
            "churn": churn,
            "bootstrap": _bootstrap_summary(boot),
            "best_baseline": res.best_baseline,
            "headline": _headline(res, boot, models),
            "ablation": {k: v for k, v in (res.ablation or {}).items() if k != "runs"} or None,
            "rolling": rolling_summary(res.rolling, res.rolling_comparisons) if len(res.rolling) > 1 else None,
            "embedding_cache": res.embedding,
            "seconds": res.seconds,
        }
    )
