"""The future-value sections of ``report.md``, rendered from ``metrics.json``: the ranking table with the verdict and
the product's differences, calibration, top-k selection, and tiers against the actual future-value tiers.
"""

from __future__ import annotations

from eval.report_format import fmt_ci, fmt_num, md_table
from eval.report_headline import calibration_markdown, headline_markdown, separability_sentence, verdict
from service.tiers import TIER_ORDER

INTERVALS_NOTE = (
    "Intervals: paired percentile bootstrap, {n_boot} resamples; each resample draws "
    "customers with replacement and, for each learned model, one of its seeds at random, so the intervals include "
    "refit variance. Lift: precision of the predicted top k% against the actual top k% of spenders, over the share "
    "of customers in that actual top set (1 = random)."
)

CALIBRATION_NOTE = (
    "Total predicted / actual: the sum of predicted values over the sum of actual holdout spend (1 = the level is "
    "right). Decile MAPE: mean predicted vs mean actual value per decile of prediction (deciles with no actual "
    "spend skipped). Churn ECE: expected calibration error over 10 equal-count bins of predicted churn probability "
    "(bin size / n x |mean predicted − observed rate|); Brier: mean squared error of the churn probability. "
    "Interval coverage: share of customers whose actual holdout spend lies in the model's 80% interval [low, high] "
    "(target 0.80). Next-order MAE: over the customers who buy in the holdout, |predicted − actual| days from the "
    "cutoff to their first holdout purchase."
)

TIERS_NOTE = (
    "Tiers by share (VIP 5%, High 15%, Medium 30%, Low 50%) of predicted value, against the same shares of actual "
    "future value (a customer who spends nothing is always actual Low)."
)


def _seeds_sentence(m: dict, n_seeds: int) -> str:
    """How often the learned models were fitted, and with which seeds; empty with one seed."""
    if n_seeds <= 1:
        return ""
    return (
        f"Learned models (marked by their seed count) are fitted {n_seeds} times with seeds "
        f"{', '.join(map(str, m['seeds']['values']))}; their figures are the mean ± sd over the seeds. "
    )


def _differences(m: dict) -> list[str]:
    """The product minus each baseline, with intervals; nothing where there is no such difference."""
    rows = [
        [k.replace("product - ", "product − "), fmt_ci(v.get("normalized_gini")), fmt_ci(v.get("spearman"))]
        for k, v in m["bootstrap"]["differences"].items()
        if k.startswith("product - ")
    ]
    if not rows:
        return []
    return [
        "Product minus each baseline (mean over seeds, 95% intervals over customers and seeds):",
        "",
        md_table(["difference", "normalized Gini", "Spearman"], rows),
        "",
    ]


def _ranking_section(m: dict, sep: dict, n_seeds: int) -> list[str]:
    """Every model on the same split: the ranking table, how the intervals are made, the verdict, the differences
    (the verdict only, and a warning first, where the holdout has too few spenders to rank the models)."""
    L = ["## Future value: all models on the same split", ""]
    if separability_sentence(sep):
        L += [f"**{separability_sentence(sep)}**", ""]
    L += [
        headline_markdown(m),
        "",
        _seeds_sentence(m, n_seeds) + INTERVALS_NOTE.format(n_boot=m["bootstrap"]["n_boot"]),
        "",
    ]
    L += verdict(m) if sep["separable"] else []
    return L + [""] + _differences(m)


def _calibration_section(m: dict) -> list[str]:
    """Levels and probabilities per model, what each figure means, and how each model predicts the next order."""
    L = ["### Calibration", "", calibration_markdown(m), "", CALIBRATION_NOTE, ""]
    notes = [
        f"- {e['label']}: {e['info']['next_order_days']}."
        for e in m["models"].values()
        if not e.get("error") and (e.get("info") or {}).get("next_order_days") and e.get("next_order")
    ]
    if notes:
        L += ["Next-order predictions:"] + notes + [""]
    return L


def _topk_section(m: dict) -> list[str]:
    """Per model and top share: how many selected, precision, recall, lift and share of future value."""
    rows = [
        [
            e["label"],
            kk,
            f"{t['n_selected']:,}",
            f"{t['n_actual_top']:,}",
            fmt_num(t["precision"], 3),
            fmt_num(t["recall"], 3),
            fmt_num(t["lift"], 2),
            fmt_num(t["value_share"], 3),
        ]
        for e in m["models"].values()
        if not e.get("error")
        for kk, t in e["value"]["top"].items()
    ]
    header = ["model", "top", "selected", "actual top", "precision", "recall", "lift", "share of future value"]
    return ["### Top-k selection", "", md_table(header, rows), ""]


def _tier_confusion(prod: dict) -> list[str]:
    """The product's tier confusion matrix (means over seeds, one decimal, when it has several)."""
    t = prod["value"]["tiers"]
    nd = 0 if prod.get("n_seeds", 1) == 1 else 1
    rows = [
        [f"actual {a}"] + [f"{n:,.{nd}f}" for n in row] for a, row in zip(TIER_ORDER, t["rows_actual_cols_predicted"])
    ]
    return [
        "Product tier confusion (rows: actual, columns: predicted" + (", mean over seeds" if nd else "") + "):",
        "",
        md_table([""] + [f"pred. {x}" for x in TIER_ORDER], rows),
        "",
    ]


def _tier_row(e: dict) -> list[str]:
    t = e["value"]["tiers"]
    return [e["label"], fmt_num(t["accuracy"], 3), fmt_num(t["within_one_tier"], 3)] + [
        fmt_num(t["per_tier"][x]["recall"], 3) for x in TIER_ORDER
    ]


def _tiers_section(m: dict) -> list[str]:
    """Tier accuracy and per-tier recall of every model; the product's confusion matrix."""
    rows = [_tier_row(e) for e in m["models"].values() if not e.get("error")]
    L = ["### Tiers against the actual future-value tiers", "", TIERS_NOTE, ""]
    L += [md_table(["model", "accuracy", "within one tier"] + [f"{x} recall" for x in TIER_ORDER], rows), ""]
    prod = m["models"].get("product")
    if prod and not prod.get("error"):
        L += _tier_confusion(prod)
    return L


def future_value_sections(m: dict, sep: dict, n_seeds: int) -> list[str]:
    """The future-value part of report.md; ``sep`` is the separability rule's outcome, ``n_seeds`` the number of fits
    per learned model."""
    return _ranking_section(m, sep, n_seeds) + _calibration_section(m) + _topk_section(m) + _tiers_section(m)
