"""Turn a BacktestResult into ``metrics.json`` (every number) and ``report.md`` (tables + plots). The README's
per-dataset tables come from ``metrics.json`` through ``python -m eval.readme_tables``.
"""

from __future__ import annotations

import json
import math
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from eval import plots
from eval.backtest import MIN_SPENDERS, BacktestResult, rolling_summary
from service.tiers import TIER_ORDER

MODEL_ORDER = ("past_spend", "rfm", "bgnbd_gg", "xgb_tabular", "product")


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
    for pkg in (
        "customer-insight",
        "xgboost-cpu",
        "pymc-marketing",
        "pymc",
        "numpy",
        "pandas",
        "scikit-learn",
        "sentence-transformers",
        "torch",
    ):
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
    models: dict[str, dict[str, Any]] = {}
    for key in [k for k in MODEL_ORDER if k in p.runs] + [k for k in p.runs if k not in MODEL_ORDER]:
        r = p.runs[key]
        entry = {
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
                entry["intervals"] = {
                    m: _interval(iv, rep["value"]["sd"].get(m)) for m, iv in boot["models"][key].items()
                }
            own = [label for label, c in churn.items() if c["model"] == key]
            if own:
                entry["churn_label"] = own[0]
        models[key] = entry
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
    ds = res.dataset
    actual = p.truth["future_value"].to_numpy()
    return _clean(
        {
            "dataset": ds.summary(),
            "command": command,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": _versions(),
            "split": p.split.to_dict()
            | {
                "customers": int(len(p.truth)),
                "buyers_in_holdout": int((p.truth["churn"] == 0).sum()),
                "spenders": p.n_spenders,
                "mean_future_value": float(actual.mean()),
                "total_future_value": float(actual.sum()),
            },
            "separability": separability(p),
            "seeds": {
                "learned_models": max((r.n_seeds for r in p.runs.values() if r.learned), default=1),
                "values": next((r.seeds for r in p.runs.values() if r.learned), []),
            },
            "models": models,
            "churn": churn,
            "bootstrap": {
                "n_boot": boot["n_boot"],
                "level": boot["level"],
                "resamples": "customers with replacement and, per learned model, one of its seeds",
                "differences": {k: {m: iv.to_dict() for m, iv in v.items()} for k, v in boot["differences"].items()},
            },
            "best_baseline": res.best_baseline,
            "headline": headline,
            "ablation": {k: v for k, v in (res.ablation or {}).items() if k != "runs"} or None,
            "rolling": rolling_summary(res.rolling, res.rolling_comparisons) if len(res.rolling) > 1 else None,
            "embedding_cache": res.embedding,
            "seconds": res.seconds,
        }
    )


# --------------------------------------------------------------------------- formatting


def _f(x, nd=3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{nd}f}"


def _ci(iv: dict | None, nd=3) -> str:
    """``estimate ± sd [low, high]`` (the sd over seeds only where there are several)."""
    if not iv:
        return "n/a"
    sd = iv.get("sd")
    head = _f(iv.get("estimate"), nd) + (f" ± {_f(sd, nd)}" if sd is not None and math.isfinite(sd) else "")
    if iv.get("low") is None:
        return head
    return f"{head} [{_f(iv['low'], nd)}, {_f(iv['high'], nd)}]"


def _pm(mean, sd, nd=3) -> str:
    if mean is None:
        return "n/a"
    return _f(mean, nd) + (
        f" ± {_f(sd, nd)}" if sd is not None and isinstance(sd, (int, float)) and math.isfinite(sd) else ""
    )


def _money(x, cur) -> str:
    return "n/a" if x is None else f"{cur}{x:,.2f}"


def _churn_of(m: dict, key: str) -> dict | None:
    label = m["models"].get(key, {}).get("churn_label")
    return m["churn"].get(label) if label else None


def headline_rows(m: dict) -> list[dict]:
    """One row per model: the numbers of the headline tables (CLI and report)."""
    rows = []
    for key, e in m["models"].items():
        if e.get("error"):
            rows.append({"key": key, "model": e["label"], "error": e["error"]})
            continue
        v = e["value"]
        c = _churn_of(m, key)
        iv = e.get("interval")
        no = e.get("next_order")
        rows.append(
            {
                "key": key,
                "model": e["label"],
                "seeds": str(e.get("n_seeds", 1)),
                "gini": _ci(e.get("intervals", {}).get("normalized_gini")),
                "spearman": _ci(e.get("intervals", {}).get("spearman")),
                "top5_lift": _f(v["top"]["5%"]["lift"], 2),
                "top20_lift": _f(v["top"]["20%"]["lift"], 2),
                "top20_precision": _f(v["top"]["20%"]["precision"], 2),
                "top20_recall": _f(v["top"]["20%"]["recall"], 2),
                "calibration_ratio": _pm(v.get("calibration_ratio"), v["sd"].get("calibration_ratio"), 2),
                "decile_mape": _pm(v["decile_mape"], v["sd"].get("decile_mape"), 2),
                "mae": _f(v["mae"], 2),
                "rmse": _f(v["rmse"], 2),
                "tier_accuracy": _f(v["tiers"]["accuracy"], 2),
                "churn_auc": _pm(c["roc_auc"], c["sd"].get("roc_auc")) if c else "–",
                "churn_ece": _pm(c["ece"], c["sd"].get("ece")) if c else "–",
                "churn_brier": _pm(c["brier"], c["sd"].get("brier")) if c else "–",
                "coverage": _pm(iv["coverage"], iv["sd"].get("coverage"), 2) if iv else "–",
                "interval_width": _f(iv["mean_width"], 2) if iv else "–",
                "next_order_mae": _pm(no["mae_days"], no["sd"].get("mae_days"), 1) if no else "–",
                "fit_s": f"{e['fit_seconds']:.1f}",
                "score_s": f"{e['score_seconds']:.1f}",
            }
        )
    return rows


def _md_table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _name(r: dict) -> str:
    return f"**{r['model']}**" if r["key"] == "product" else r["model"]


def headline_markdown(m: dict) -> str:
    """Ranking: normalized Gini and Spearman (mean ± sd over seeds [95% interval]), lifts, MAE, times."""
    rows = []
    for r in headline_rows(m):
        if "error" in r:
            rows.append([r["model"], "failed: " + r["error"]] + [""] * 7)
            continue
        rows.append(
            [
                _name(r),
                r["seeds"],
                r["gini"],
                r["spearman"],
                r["top5_lift"],
                r["top20_lift"],
                r["mae"],
                r["fit_s"],
                r["score_s"],
            ]
        )
    return _md_table(
        [
            "model",
            "seeds",
            "normalized Gini, mean ± sd [95% CI]",
            "Spearman, mean ± sd [95% CI]",
            "top-5% lift",
            "top-20% lift",
            "MAE",
            "fit s (per fit)",
            "score s",
        ],
        rows,
    )


def calibration_markdown(m: dict) -> str:
    """Levels and probabilities: total predicted / total actual, decile MAPE, churn ECE and Brier, interval coverage,
    next-order MAE."""
    rows = []
    for r in headline_rows(m):
        if "error" in r:
            continue
        rows.append(
            [
                _name(r),
                r["calibration_ratio"],
                r["decile_mape"],
                r["churn_auc"],
                r["churn_ece"],
                r["churn_brier"],
                r["coverage"],
                r["interval_width"],
                r["next_order_mae"],
            ]
        )
    return _md_table(
        [
            "model",
            "total predicted / actual",
            "decile MAPE",
            "churn ROC-AUC",
            "churn ECE",
            "churn Brier",
            "80% interval coverage",
            "mean interval width",
            "next-order MAE (days)",
        ],
        rows,
    )


def separability_sentence(sep: dict) -> str | None:
    if sep["separable"]:
        return None
    return (
        f"Only {sep['spenders']:,} customers spend in the holdout: too few to separate the models (a report ranks "
        f"models only with at least {sep['min_spenders']} spenders), so no model is named best and none is ranked "
        "above another. The figures are printed for information only."
    )


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
        if d["low"] is not None and d["low"] > 0:
            word = "beats"
        elif d["high"] is not None and d["high"] < 0:
            word = "loses to"
        else:
            word = "is not distinguishable from"
        out.append(
            f"On {label}, the product ({_pm(h['product']['estimate'], h['product'].get('sd'))}) {word} the strongest "
            f"baseline, {b} ({_pm(h['baseline']['estimate'], h['baseline'].get('sd'))}): difference {_ci(d)}."
        )
    return out


def write_report(res: BacktestResult, out_dir: Path, command: str) -> tuple[dict, Path, Path]:
    """Write metrics.json, the plots and report.md into ``out_dir``; returns (metrics, report path, metrics path)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    m = build_metrics(res, command)
    p = res.primary
    ds = res.dataset
    cur = ds.currency
    actual = p.truth["future_value"].to_numpy()
    title = f"{ds.name}: cutoff {p.split.cutoff.date()}, horizon {p.split.horizon_days} days"
    ok = {k: r for k, r in p.runs.items() if r.error is None}
    shown = {k: r for k, r in ok.items() if not r.info.get("same_as")}
    labels = {
        k: r.label
        + (" = product (no text)" if ok.get("product") and ok["product"].info.get("same_as") == k else "")
        + (f", {r.n_seeds} seeds" if r.n_seeds > 1 else "")
        for k, r in shown.items()
    }
    pngs = {}
    pngs["lorenz"] = plots.lorenz(
        actual,
        {k: (labels[k], r.values, m["models"][k]["value"]["normalized_gini"]) for k, r in shown.items()},
        out_dir / "lorenz.png",
        f"Cumulative gain, {title}",
    )
    pngs["deciles"] = plots.deciles(
        {k: (labels[k], m["models"][k]["value"]["deciles"]) for k in shown},
        out_dir / "deciles.png",
        cur,
        f"Predicted vs actual value by decile, {title}",
    )
    churn_curves = {
        label: (c["calibration"], c.get("ece"), c.get("roc_auc"), c["model"])
        for label, c in m["churn"].items()
        if not ok[c["model"]].info.get("same_as")
    }
    pngs["calibration"] = plots.calibration(
        {k: (labels[k], m["models"][k]["value"]["deciles"]) for k in shown},
        churn_curves,
        float(p.truth["churn"].mean()),
        out_dir / "calibration.png",
        f"Calibration, {title}",
        cur,
    )
    if churn_curves:
        pngs["churn_calibration"] = plots.churn_calibration(
            {k: (v[0], v[2] if v[2] is not None else float("nan")) for k, v in churn_curves.items()},
            float(p.truth["churn"].mean()),
            out_dir / "churn_calibration.png",
            f"Churn calibration, {title}",
        )
    if m.get("ablation") and m["ablation"].get("table"):
        pngs["ablation"] = plots.ablation(
            m["ablation"]["table"], out_dir / "ablation.png", f"Text-feature ablation, {title}"
        )
    if m.get("rolling"):
        pngs["rolling"] = plots.rolling(
            m["rolling"], labels, out_dir / "rolling.png", f"Normalized Gini per cutoff, {ds.name}"
        )
    m["plots"] = {k: v.name for k, v in pngs.items()}

    for name, rej in ds.loaded.rejects.items():
        if len(rej):
            (out_dir / "rejects").mkdir(exist_ok=True)
            rej.to_csv(out_dir / "rejects" / f"{name}.rejects.csv.gz", index=False)

    metrics_path = out_dir / "metrics.json"
    metrics_path.write_text(json.dumps(m, indent=1, ensure_ascii=False) + "\n")
    report_path = out_dir / "report.md"
    report_path.write_text(render_markdown(m))
    return m, report_path, metrics_path


def render_markdown(m: dict) -> str:
    ds, sp = m["dataset"], m["split"]
    cur = ds.get("currency", "$")
    sep = m["separability"]
    n_seeds = m["seeds"]["learned_models"]
    L = [
        f"# Evaluation report: {ds['name']}",
        "",
        f"Reproduce: `{m['command']}`  ",
        f"Created {m['created']} in {m['seconds']:.0f} s; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        "",
    ]
    L += ["## Data", "", f"Source: `{ds['source']}`", ""]
    rows = []
    for t, s in ds["tables"].items():
        reasons = "; ".join(f"{r}: {n:,}" for r, n in ds["rejects"].get(t, {}).items())
        rows.append([t, f"{s['read']:,}", f"{s['kept']:,}", f"{s['rejected']:,}", reasons])
    L += [_md_table(["table", "rows read", "kept", "rejected", "reject reasons"], rows, "lrrrl"), ""]
    if ds["adapter_dropped"]:
        L += [
            "Left out or changed by the adapter before validation: "
            + "; ".join(f"{k}: {v:,}" for k, v in ds["adapter_dropped"].items())
            + ".",
            "",
        ]
    L += [f"- {n}" for n in ds["notes"]] + ([""] if ds["notes"] else [])
    L += [
        "## Split",
        "",
        f"- Calibration: everything up to **{sp['cutoff'][:10]}**; holdout: spend in ({sp['cutoff'][:10]}, "
        f"{sp['holdout_end'][:10]}] (**{sp['horizon_days']} days**).",
        f"- Customers scored: {sp['customers']:,} (every customer with an order up to the cutoff); "
        f"{sp['buyers_in_holdout']:,} ({sp['buyers_in_holdout'] / max(sp['customers'], 1):.1%}) buy in the holdout, "
        f"{sp['spenders']:,} with a positive spend; mean future value {_money(sp['mean_future_value'], cur)}.",
    ]
    L += [f"- {n}" for n in sp["notes"]] + [""]
    seeds_txt = (
        f"Learned models (marked by their seed count) are fitted {n_seeds} times with seeds "
        f"{', '.join(map(str, m['seeds']['values']))}; their figures are the mean ± sd over the seeds. "
        if n_seeds > 1
        else ""
    )
    L += ["## Future value: all models on the same split", ""]
    if separability_sentence(sep):
        L += [f"**{separability_sentence(sep)}**", ""]
    L += [
        headline_markdown(m),
        "",
        f"{seeds_txt}Intervals: paired percentile bootstrap, {m['bootstrap']['n_boot']} resamples; each resample draws "
        "customers with replacement and, for each learned model, one of its seeds at random, so the intervals include "
        "refit variance. Lift: precision of the predicted top k% against the actual top k% of spenders, over the share "
        "of customers in that actual top set (1 = random).",
        "",
    ]
    L += verdict(m) if sep["separable"] else []
    L += [""]
    diffs = m["bootstrap"]["differences"]
    rows = [
        [k.replace("product - ", "product − "), _ci(v.get("normalized_gini")), _ci(v.get("spearman"))]
        for k, v in diffs.items()
        if k.startswith("product - ")
    ]
    if rows:
        L += [
            "Product minus each baseline (mean over seeds, 95% intervals over customers and seeds):",
            "",
            _md_table(["difference", "normalized Gini", "Spearman"], rows),
            "",
        ]
    L += [
        "### Calibration",
        "",
        calibration_markdown(m),
        "",
        "Total predicted / actual: the sum of predicted values over the sum of actual holdout spend (1 = the level is "
        "right). Decile MAPE: mean predicted vs mean actual value per decile of prediction (deciles with no actual "
        "spend skipped). Churn ECE: expected calibration error over 10 equal-count bins of predicted churn probability "
        "(bin size / n x |mean predicted − observed rate|); Brier: mean squared error of the churn probability. "
        "Interval coverage: share of customers whose actual holdout spend lies in the model's 80% interval [low, high] "
        "(target 0.80). Next-order MAE: over the customers who buy in the holdout, |predicted − actual| days from the "
        "cutoff to their first holdout purchase.",
        "",
    ]
    notes = [
        f"- {e['label']}: {e['info']['next_order_days']}."
        for e in m["models"].values()
        if not e.get("error") and (e.get("info") or {}).get("next_order_days") and e.get("next_order")
    ]
    if notes:
        L += ["Next-order predictions:"] + notes + [""]
    L += ["### Top-k selection", ""]
    rows = []
    for e in m["models"].values():
        if e.get("error"):
            continue
        for kk, t in e["value"]["top"].items():
            rows.append(
                [
                    e["label"],
                    kk,
                    f"{t['n_selected']:,}",
                    f"{t['n_actual_top']:,}",
                    _f(t["precision"], 3),
                    _f(t["recall"], 3),
                    _f(t["lift"], 2),
                    _f(t["value_share"], 3),
                ]
            )
    L += [
        _md_table(
            ["model", "top", "selected", "actual top", "precision", "recall", "lift", "share of future value"], rows
        ),
        "",
    ]
    L += [
        "### Tiers against the actual future-value tiers",
        "",
        "Tiers by share (VIP 5%, High 15%, Medium 30%, Low 50%) of predicted value, against the same shares of actual "
        "future value (a customer who spends nothing is always actual Low).",
        "",
    ]
    rows = []
    for e in m["models"].values():
        if e.get("error"):
            continue
        t = e["value"]["tiers"]
        rows.append(
            [e["label"], _f(t["accuracy"], 3), _f(t["within_one_tier"], 3)]
            + [_f(t["per_tier"][x]["recall"], 3) for x in TIER_ORDER]
        )
    L += [_md_table(["model", "accuracy", "within one tier"] + [f"{x} recall" for x in TIER_ORDER], rows), ""]
    prod = m["models"].get("product")
    if prod and not prod.get("error"):
        t = prod["value"]["tiers"]
        nd = 0 if prod.get("n_seeds", 1) == 1 else 1
        rows = [
            [f"actual {a}"] + [f"{n:,.{nd}f}" for n in row]
            for a, row in zip(TIER_ORDER, t["rows_actual_cols_predicted"])
        ]
        L += [
            "Product tier confusion (rows: actual, columns: predicted" + (", mean over seeds" if nd else "") + "):",
            "",
            _md_table([""] + [f"pred. {x}" for x in TIER_ORDER], rows),
            "",
        ]
    L += ["## Churn (no purchase in the holdout)", ""]
    rows = [
        [
            label,
            str(c.get("n_seeds", 1)),
            _pm(c["roc_auc"], c["sd"].get("roc_auc")),
            _f(c["pr_auc"]),
            _pm(c["ece"], c["sd"].get("ece")),
            _pm(c["brier"], c["sd"].get("brier")),
            f"{c['mean_predicted']:.1%}",
            f"{c['churn_rate']:.1%}",
        ]
        for label, c in m["churn"].items()
    ]
    L += [
        _md_table(
            [
                "churn score",
                "seeds",
                "ROC-AUC",
                "PR-AUC",
                "ECE (10 equal-count bins)",
                "Brier",
                "mean predicted",
                "actual rate",
            ],
            rows,
        ),
        "",
        "BG/NBD's churn score is its P(no purchase in the horizon). Its 1 − P(alive) is not used as a churn score: "
        "P(alive) is 1 for every customer without a repeat purchase, so it would rank one-time buyers as the safest.",
    ]
    bg = m["models"].get("bgnbd_gg", {})
    if (bg.get("info") or {}).get("mean_p_alive") is not None:
        L[-1] += f" (For information: mean BG/NBD P(alive) at the cutoff {bg['info']['mean_p_alive']:.3f}.)"
    L += [""]
    if m.get("ablation") and m["ablation"].get("table"):
        L += [
            "## Text-feature ablation",
            "",
            "The product refitted on the same split with each text source left out (every variant with "
            "the same seeds); differences against the tabular-only model, bootstrap over customers and seeds.",
            "",
        ]
        rows = []
        for name, r in m["ablation"]["table"].items():
            if "error" in r:
                rows.append([name, ", ".join(r["text_sources"]) or "none", "failed: " + r["error"], "", "", "", ""])
                continue
            vs = r.get("vs_no_text") or {}
            rows.append(
                [
                    name,
                    ", ".join(r["text_sources"]) or "none",
                    _ci(r["normalized_gini"]),
                    _ci(r["spearman"]),
                    _ci(vs.get("normalized_gini")) if vs else "–",
                    _ci(vs.get("spearman")) if vs else "–",
                    _f((r.get("churn") or {}).get("roc_auc")),
                ]
            )
        L += [
            _md_table(
                [
                    "variant",
                    "text sources",
                    "normalized Gini",
                    "Spearman",
                    "Δ Gini vs no text",
                    "Δ Spearman vs no text",
                    "churn ROC-AUC",
                ],
                rows,
                "llrrrrr",
            ),
            "",
        ]
    if m.get("rolling"):
        L += rolling_markdown(m)
    L += ["## Models", ""]
    for k, e in m["models"].items():
        extra = ""
        info = e.get("info") or {}
        if info.get("params"):
            extra = " Parameters: " + ", ".join(f"{p}={v:.3g}" for p, v in info["params"].items()) + "."
        if info.get("objective"):
            extra = (
                f" Value objective chosen on its validation snapshot: {info['objective']}; "
                f"{info.get('features')} features."
            )
        if info.get("training"):
            tr = info["training"]
            extra += (
                " Training: "
                + ", ".join(
                    f"{a} {tr[a]}"
                    for a in tr
                    if a in ("horizon_days", "train_horizon_days", "fit_cutoff", "validation_cutoff", "n_snapshots")
                )
                + "."
            )
        if info.get("optional_outputs"):
            extra += " Also predicts: " + ", ".join(info["optional_outputs"]) + "."
        L.append(f"- **{e['label']}** (`{k}`): {e['description']}.{extra}")
    if m.get("embedding_cache"):
        e = m["embedding_cache"]
        L += [
            "",
            f"Embedding cache: {e.get('requested', 0):,} texts requested, {e.get('hits', 0):,} distinct found in the "
            f"cache, {e.get('encoded', 0):,} encoded (fit times of the text models include this).",
        ]
    L += ["", "## Plots", ""]
    captions = {
        "lorenz": "Cumulative gain (Lorenz) curves of all models",
        "deciles": "Mean predicted vs actual value by prediction decile",
        "calibration": "Calibration: value by decile of prediction, churn reliability",
        "churn_calibration": "Calibration of churn probabilities",
        "ablation": "Text-feature ablation",
        "rolling": "Normalized Gini per rolling cutoff",
    }
    for k, name in m.get("plots", {}).items():
        L += [f"### {captions.get(k, k)}", "", f"![{captions.get(k, k)}]({name})", ""]
    return "\n".join(L)


def rolling_markdown(m: dict) -> list[str]:
    r = m["rolling"]
    L = [
        "## Rolling cutoffs",
        "",
        "Cutoffs: " + ", ".join(c[:10] for c in r["cutoffs"]) + ". Per cutoff, each learned model's figure is its "
        "mean over seeds; the table gives the mean ± standard deviation of those over the cutoffs.",
        "",
    ]
    rows = []
    for k, d in r["models"].items():
        label = m["models"].get(k, {}).get("label", k)
        rows.append(
            [label]
            + [
                _pm(d[x]["mean"], d[x]["std"]) if x in d else "–"
                for x in (
                    "normalized_gini",
                    "spearman",
                    "calibration_ratio",
                    "top20_lift",
                    "churn_roc_auc",
                    "churn_ece",
                )
            ]
        )
    L += [
        _md_table(
            [
                "model",
                "normalized Gini",
                "Spearman",
                "total predicted / actual",
                "top-20% lift",
                "churn ROC-AUC",
                "churn ECE",
            ],
            rows,
        ),
        "",
    ]
    names = {k: e["label"] for k, e in m["models"].items()}
    rows = []
    for c in r.get("comparisons", []):
        for metric, label in (("normalized_gini", "Gini"), ("spearman", "Spearman")):
            x = c["metrics"].get(metric)
            if not x or not x.get("product"):
                continue
            if not c["separable"]:
                rows.append(
                    [
                        c["cutoff"][:10],
                        f"{c['spenders']:,}",
                        label,
                        _pm(x["product"]["mean"], x["product"]["sd"]),
                        "not ranked (too few spenders)",
                        "–",
                        "–",
                    ]
                )
                continue
            rows.append(
                [
                    c["cutoff"][:10],
                    f"{c['spenders']:,}",
                    label,
                    _pm(x["product"]["mean"], x["product"]["sd"]),
                    names.get(x["best_baseline"], x["best_baseline"]),
                    _pm(x["baseline"]["mean"], x["baseline"]["sd"]),
                    _ci(x["difference"]),
                ]
            )
    if rows:
        L += [
            "The product against the strongest baseline at each cutoff (mean ± sd over seeds; the difference with its "
            f"95% interval over customers and seeds). At a cutoff with fewer than {MIN_SPENDERS} spenders no baseline "
            "is named strongest.",
            "",
            _md_table(
                ["cutoff", "spenders", "metric", "product", "strongest baseline", "baseline", "product − baseline"],
                rows,
                "lrlrlrr",
            ),
            "",
        ]
    return L
