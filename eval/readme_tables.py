"""The README's evaluation tables, regenerated from the reports' ``metrics.json`` files (nothing is recomputed):

    python -m eval.readme_tables eval/reports/*/metrics.json > /tmp/tables.md

Per dataset (one ``metrics.json`` from ``insight eval ... --rolling 3``): every model at the primary cutoff with
normalized Gini and Spearman (mean ± sd over seeds), total predicted / actual, decile MAPE, churn ECE and Brier,
80% interval coverage and next-order MAE; the product minus the strongest baseline with its interval (customers and
seeds resampled together); and, with rolling cutoffs, the same comparison at each cutoff. Where the holdout has too
few spenders to separate the models (eval.backtest.MIN_SPENDERS) the tables say so and name no strongest baseline.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from eval.report_format import fmt_ci, fmt_pm, md_table
from eval.report_headline import headline_rows, separability_sentence


def _title(m: dict) -> str:
    sp, ds = m["split"], m["dataset"]
    how = "default split" if sp.get("defaults_used") else "custom split"
    return (
        f"#### {ds['name']}: {sp['customers']:,} customers, {sp['spenders']:,} spend in the holdout "
        f"({sp['cutoff'][:10]} to {sp['holdout_end'][:10]}, {sp['horizon_days']} days; {how})"
    )


def models_table(m: dict) -> str:
    rows = []
    for r in headline_rows(m):
        key = r["key"]
        if "error" in r:
            rows.append([r["model"], "failed: " + r["error"]] + [""] * 8)
            continue
        e = m["models"][key]
        v = e["value"]
        name = f"**{r['model']}**" if key == "product" else r["model"]
        rows.append(
            [
                name,
                r["seeds"],
                fmt_pm(v["normalized_gini"], v["sd"].get("normalized_gini")),
                fmt_pm(v["spearman"], v["sd"].get("spearman")),
                r["calibration_ratio"],
                r["decile_mape"],
                r["churn_ece"],
                r["churn_brier"],
                r["coverage"],
                r["next_order_mae"],
            ]
        )
    return md_table(
        [
            "model",
            "seeds",
            "normalized Gini",
            "Spearman",
            "total predicted / actual",
            "decile MAPE",
            "churn ECE",
            "churn Brier",
            "80% interval coverage",
            "next-order MAE (days)",
        ],
        rows,
    )


def difference_lines(m: dict) -> list[str]:
    sentence = separability_sentence(m["separability"])
    if sentence:
        return [sentence]
    names = {k: e["label"] for k, e in m["models"].items()}
    out = []
    for metric, label in (("normalized_gini", "normalized Gini"), ("spearman", "Spearman")):
        h = m["headline"].get(metric)
        if not h or not h.get("difference"):
            continue
        d = h["difference"]
        sign = (
            "above 0"
            if d["low"] is not None and d["low"] > 0
            else "below 0"
            if d["high"] is not None and d["high"] < 0
            else "spans 0"
        )
        out.append(
            f"Product minus the strongest baseline on {label} ({names.get(h['best_baseline'], h['best_baseline'])}): "
            f"{fmt_ci(d)} (interval {sign})."
        )
    return out


ROLLING_COLUMNS = (
    ("normalized_gini", 3),
    ("spearman", 3),
    ("calibration_ratio", 2),
    ("decile_mape", 2),
    ("churn_ece", 3),
    ("churn_brier", 3),
    ("interval_coverage", 2),
    ("next_order_mae_days", 1),
)


def _rolling_comparison_row(c: dict, names: dict) -> list[str]:
    """One cutoff: its spenders, and per metric the product, the strongest baseline and their difference (nothing
    ranked with too few spenders)."""
    cells = [c["cutoff"][:10], f"{c['spenders']:,}"]
    for metric in ("normalized_gini", "spearman"):
        x = c["metrics"].get(metric) or {}
        prod = x.get("product")
        cells.append(fmt_pm(prod["mean"], prod["sd"]) if prod else "n/a")
        if not c["separable"]:
            cells += ["not ranked (too few spenders)", "–"]
        else:
            b = x.get("baseline")
            cells += [
                f"{names.get(x.get('best_baseline'), x.get('best_baseline'))} "
                f"{fmt_pm(b['mean'], b['sd']) if b else 'n/a'}",
                fmt_ci(x.get("difference")),
            ]
    return cells


def rolling_table(m: dict) -> list[str]:
    """With rolling cutoffs: the product against the strongest baseline at each cutoff, and every model's mean ± sd
    over the cutoffs; nothing without them."""
    r = m.get("rolling")
    if not r:
        return []
    names = {k: e["label"] for k, e in m["models"].items()}
    rows = [_rolling_comparison_row(c, names) for c in r.get("comparisons", [])]
    mean_rows = [
        [names.get(k, k)] + [fmt_pm(d[c]["mean"], d[c]["std"], nd) if c in d else "–" for c, nd in ROLLING_COLUMNS]
        for k, d in r["models"].items()
    ]
    return [
        f"Rolling cutoffs ({', '.join(c[:10] for c in r['cutoffs'])}): the product against the strongest baseline at "
        "each cutoff (mean ± sd over seeds; difference with its 95% interval over customers and seeds).",
        "",
        md_table(
            [
                "cutoff",
                "spenders",
                "product Gini",
                "strongest baseline (Gini)",
                "Gini difference",
                "product Spearman",
                "strongest baseline (Spearman)",
                "Spearman difference",
            ],
            rows,
            "lrrlrrlr",
        ),
        "",
        "Mean ± sd over the cutoffs (each cutoff's value a mean over seeds):",
        "",
        md_table(
            [
                "model",
                "normalized Gini",
                "Spearman",
                "total predicted / actual",
                "decile MAPE",
                "churn ECE",
                "churn Brier",
                "80% interval coverage",
                "next-order MAE (days)",
            ],
            mean_rows,
        ),
        "",
    ]


def dataset_markdown(m: dict) -> str:
    L = [_title(m), "", f"`{m['command']}`", "", models_table(m), ""]
    L += difference_lines(m) + [""]
    L += rolling_table(m)
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths or any(p in ("-h", "--help") for p in paths):
        print("usage: python -m eval.readme_tables METRICS_JSON...  (markdown on stdout)", file=sys.stderr)
        return 2
    for path in paths:
        m = json.loads(Path(path).read_text())
        if "separability" not in m:
            print(
                f"{path}: written by an older harness (no seeds, no separability); rerun insight eval", file=sys.stderr
            )
            return 1
        print(dataset_markdown(m))
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
