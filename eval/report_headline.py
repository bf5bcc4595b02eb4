"""The headline of an evaluation, read from ``metrics.json``: one row of formatted figures per model (printed by the
CLI, tabled in report.md and the README), the ranking and calibration tables, and the verdict sentences that set the
product against the strongest baseline, or say that the holdout has too few spenders to rank the models.
"""

from __future__ import annotations

from eval.report_format import fmt_ci, fmt_num, fmt_pm, md_table


def _churn_of(m: dict, key: str) -> dict | None:
    label = m["models"].get(key, {}).get("churn_label")
    return m["churn"].get(label) if label else None


def _value_cells(e: dict) -> dict:
    """A model's value figures: ranking intervals, top-k, levels, errors and tier accuracy."""
    v = e["value"]
    return {
        "gini": fmt_ci(e.get("intervals", {}).get("normalized_gini")),
        "spearman": fmt_ci(e.get("intervals", {}).get("spearman")),
        "top5_lift": fmt_num(v["top"]["5%"]["lift"], 2),
        "top20_lift": fmt_num(v["top"]["20%"]["lift"], 2),
        "top20_precision": fmt_num(v["top"]["20%"]["precision"], 2),
        "top20_recall": fmt_num(v["top"]["20%"]["recall"], 2),
        "calibration_ratio": fmt_pm(v.get("calibration_ratio"), v["sd"].get("calibration_ratio"), 2),
        "decile_mape": fmt_pm(v["decile_mape"], v["sd"].get("decile_mape"), 2),
        "mae": fmt_num(v["mae"], 2),
        "rmse": fmt_num(v["rmse"], 2),
        "tier_accuracy": fmt_num(v["tiers"]["accuracy"], 2),
    }


def _optional_cells(c: dict | None, iv: dict | None, no: dict | None) -> dict:
    """The figures of outputs a model may lack (churn score, value interval, next order); ``–`` where it does."""
    return {
        "churn_auc": fmt_pm(c["roc_auc"], c["sd"].get("roc_auc")) if c else "–",
        "churn_ece": fmt_pm(c["ece"], c["sd"].get("ece")) if c else "–",
        "churn_brier": fmt_pm(c["brier"], c["sd"].get("brier")) if c else "–",
        "coverage": fmt_pm(iv["coverage"], iv["sd"].get("coverage"), 2) if iv else "–",
        "interval_width": fmt_num(iv["mean_width"], 2) if iv else "–",
        "next_order_mae": fmt_pm(no["mae_days"], no["sd"].get("mae_days"), 1) if no else "–",
    }


def headline_rows(m: dict) -> list[dict]:
    """One row per model: the numbers of the headline tables (CLI and report)."""
    rows = []
    for key, e in m["models"].items():
        if e.get("error"):
            rows.append({"key": key, "model": e["label"], "error": e["error"]})
            continue
        rows.append(
            {"key": key, "model": e["label"], "seeds": str(e.get("n_seeds", 1))}
            | _value_cells(e)
            | _optional_cells(_churn_of(m, key), e.get("interval"), e.get("next_order"))
            | {"fit_s": f"{e['fit_seconds']:.1f}", "score_s": f"{e['score_seconds']:.1f}"}
        )
    return rows


def _name(r: dict) -> str:
    return f"**{r['model']}**" if r["key"] == "product" else r["model"]


HEADLINE_COLUMNS = {
    "seeds": "seeds",
    "gini": "normalized Gini, mean ± sd [95% CI]",
    "spearman": "Spearman, mean ± sd [95% CI]",
    "top5_lift": "top-5% lift",
    "top20_lift": "top-20% lift",
    "mae": "MAE",
    "fit_s": "fit s (per fit)",
    "score_s": "score s",
}

CALIBRATION_COLUMNS = {
    "calibration_ratio": "total predicted / actual",
    "decile_mape": "decile MAPE",
    "churn_auc": "churn ROC-AUC",
    "churn_ece": "churn ECE",
    "churn_brier": "churn Brier",
    "coverage": "80% interval coverage",
    "interval_width": "mean interval width",
    "next_order_mae": "next-order MAE (days)",
}


def headline_markdown(m: dict) -> str:
    """Ranking: normalized Gini and Spearman (mean ± sd over seeds [95% interval]), lifts, MAE, times."""
    rows = []
    for r in headline_rows(m):
        if "error" in r:
            rows.append([r["model"], "failed: " + r["error"]] + [""] * 7)
            continue
        rows.append([_name(r)] + [r[c] for c in HEADLINE_COLUMNS])
    return md_table(["model"] + list(HEADLINE_COLUMNS.values()), rows)


def calibration_markdown(m: dict) -> str:
    """Levels and probabilities: total predicted / total actual, decile MAPE, churn ECE and Brier, interval coverage,
    next-order MAE."""
    rows = [[_name(r)] + [r[c] for c in CALIBRATION_COLUMNS] for r in headline_rows(m) if "error" not in r]
    return md_table(["model"] + list(CALIBRATION_COLUMNS.values()), rows)


def separability_sentence(sep: dict) -> str | None:
    """The sentence that says the models are not ranked (too few spenders in the holdout); None where they are."""
    if sep["separable"]:
        return None
    return (
        f"Only {sep['spenders']:,} customers spend in the holdout: too few to separate the models (a report ranks "
        f"models only with at least {sep['min_spenders']} spenders), so no model is named best and none is ranked "
        "above another. The figures are printed for information only."
    )


def _comparison_word(d: dict) -> str:
    """How the product stands against a baseline, from the interval of their difference."""
    if d["low"] is not None and d["low"] > 0:
        return "beats"
    if d["high"] is not None and d["high"] < 0:
        return "loses to"
    return "is not distinguishable from"


def verdict(m: dict) -> list[str]:
    """Plain sentences: the product against the strongest baseline per metric, with the interval of the difference
    (customers and seeds resampled together); no ranking where the holdout has too few spenders."""
    sep = m.get("separability") or {"separable": True}
    sep_txt = separability_sentence(sep)
    if sep_txt is not None:  # too few spenders to separate the models
        return [sep_txt]
    out = []
    names = {k: e["label"] for k, e in m["models"].items()}
    for metric, label in (("normalized_gini", "normalized Gini"), ("spearman", "Spearman")):
        h = m["headline"].get(metric)
        if not h or not h.get("difference") or not h.get("product"):
            continue
        d = h["difference"]
        b = names.get(h["best_baseline"], h["best_baseline"])
        out.append(
            f"On {label}, the product ({fmt_pm(h['product']['estimate'], h['product'].get('sd'))}) "
            f"{_comparison_word(d)} the strongest baseline, {b} "
            f"({fmt_pm(h['baseline']['estimate'], h['baseline'].get('sd'))}): difference {fmt_ci(d)}."
        )
    return out
