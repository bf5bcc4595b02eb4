"""Turn a BacktestResult into ``metrics.json`` (every number) and ``report.md`` (tables + plots), and the
README's per-dataset table from a ``metrics.json`` (``python -m eval.report --readme PATH...``).
"""
from __future__ import annotations

import json
import math
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from eval import plots
from eval.backtest import BASELINE_KEYS, BacktestResult, rolling_summary
from eval.metrics import value_report
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
    for pkg in ("customer-insight", "xgboost-cpu", "pymc-marketing", "pymc", "numpy", "pandas", "scikit-learn", "sentence-transformers", "torch"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def build_metrics(res: BacktestResult, command: str) -> dict:
    """Every number of the report, JSON-ready (NaN as null)."""
    p = res.primary
    actual = p.truth["future_value"].to_numpy()
    boot = res.bootstrap
    models = {}
    for key in [k for k in MODEL_ORDER if k in p.runs] + [k for k in p.runs if k not in MODEL_ORDER]:
        r = p.runs[key]
        entry = {"label": r.label, "description": r.description, "fit_seconds": r.fit_seconds, "score_seconds": r.score_seconds,
                 "info": r.info, "error": r.error}
        if r.error is None:
            entry["value"] = value_report(actual, r.value)
            if key in boot["models"]:
                entry["intervals"] = {m: iv.to_dict() for m, iv in boot["models"][key].items()}
        models[key] = entry
    headline = {}
    for metric, b in res.best_baseline.items():
        d = boot["differences"].get(f"product - {b}", {}).get(metric)
        headline[metric] = {"best_baseline": b, "product": boot["models"]["product"][metric].to_dict() if "product" in boot["models"] else None,
                            "baseline": boot["models"][b][metric].to_dict(), "difference": d.to_dict() if d else None}
    churn = p.churn_metrics()
    ds = res.dataset
    return _clean({
        "dataset": ds.summary(),
        "defaults_note": ds.defaults.note,
        "command": command,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
        "split": p.split.to_dict() | {"customers": int(len(p.truth)), "buyers_in_holdout": int((p.truth["churn"] == 0).sum()),
                                      "mean_future_value": float(actual.mean()), "total_future_value": float(actual.sum())},
        "models": models,
        "churn": churn,
        "bootstrap": {"n_boot": boot["n_boot"], "level": boot["level"],
                      "differences": {k: {m: iv.to_dict() for m, iv in v.items()} for k, v in boot["differences"].items()}},
        "best_baseline": res.best_baseline,
        "headline": headline,
        "ablation": {k: v for k, v in (res.ablation or {}).items() if k != "runs"} or None,
        "rolling": rolling_summary(res.rolling) if len(res.rolling) > 1 else None,
        "embedding_cache": res.embedding,
        "seconds": res.seconds,
    })


# --------------------------------------------------------------------------- formatting


def _f(x, nd=3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{nd}f}"


def _ci(iv: dict | None, nd=3) -> str:
    if not iv:
        return "n/a"
    if iv.get("low") is None:
        return _f(iv.get("estimate"), nd)
    return f"{_f(iv['estimate'], nd)} [{_f(iv['low'], nd)}, {_f(iv['high'], nd)}]"


def _money(x, cur) -> str:
    return "n/a" if x is None else f"{cur}{x:,.2f}"


def headline_rows(m: dict) -> list[dict]:
    """One row per model: the numbers of the headline table (CLI and report)."""
    rows = []
    churn_by_model = {}
    for label, c in m["churn"].items():
        churn_by_model.setdefault(c["model"], (label, c))
    for key, e in m["models"].items():
        if e.get("error"):
            rows.append({"key": key, "model": e["label"], "error": e["error"]})
            continue
        v = e["value"]
        c = churn_by_model.get(key)
        rows.append({"key": key, "model": e["label"], "gini": _ci(e.get("intervals", {}).get("normalized_gini")),
                     "spearman": _ci(e.get("intervals", {}).get("spearman")), "top5_lift": _f(v["top"]["5%"]["lift"], 2),
                     "top20_lift": _f(v["top"]["20%"]["lift"], 2), "top20_precision": _f(v["top"]["20%"]["precision"], 2),
                     "top20_recall": _f(v["top"]["20%"]["recall"], 2), "decile_mape": _f(v["decile_mape"], 2),
                     "mae": _f(v["mae"], 2), "rmse": _f(v["rmse"], 2), "tier_accuracy": _f(v["tiers"]["accuracy"], 2),
                     "churn_auc": _f(c[1]["roc_auc"]) if c else "–", "fit_s": f"{e['fit_seconds']:.1f}", "score_s": f"{e['score_seconds']:.1f}"})
    return rows


def _md_table(header: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else ":---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def headline_markdown(m: dict) -> str:
    rows = []
    for r in headline_rows(m):
        if "error" in r:
            rows.append([r["model"], "failed: " + r["error"]] + [""] * 8)
            continue
        name = f"**{r['model']}**" if r["key"] == "product" else r["model"]
        rows.append([name, r["gini"], r["spearman"], r["top5_lift"], r["top20_lift"], r["decile_mape"], r["mae"], r["churn_auc"], r["fit_s"], r["score_s"]])
    return _md_table(["model", "normalized Gini [95% CI]", "Spearman [95% CI]", "top-5% lift", "top-20% lift", "decile MAPE", "MAE",
                      "churn ROC-AUC", "fit s", "score s"], rows)


def verdict(m: dict) -> list[str]:
    """Plain sentences: the product against the best baseline, per metric, with the interval of the difference."""
    out = []
    names = {k: e["label"] for k, e in m["models"].items()}
    for metric, label in (("normalized_gini", "normalized Gini"), ("spearman", "Spearman")):
        h = m["headline"].get(metric)
        if not h or not h.get("difference"):
            continue
        d = h["difference"]
        b = names.get(h["best_baseline"], h["best_baseline"])
        if d["low"] is not None and d["low"] > 0:
            word = "beats"
        elif d["high"] is not None and d["high"] < 0:
            word = "loses to"
        else:
            word = "is not distinguishable from"
        out.append(f"On {label}, the product ({_f(h['product']['estimate'])}) {word} the strongest baseline, {b} "
                   f"({_f(h['baseline']['estimate'])}): difference {_ci(d)}.")
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
    labels = {k: r.label + (" = product (no text)" if ok.get("product") and ok["product"].info.get("same_as") == k else "")
              for k, r in shown.items()}
    pngs = {}
    pngs["lorenz"] = plots.lorenz(actual, {k: (labels[k], r.value, m["models"][k]["value"]["normalized_gini"]) for k, r in shown.items()},
                                  out_dir / "lorenz.png", f"Cumulative gain, {title}")
    pngs["deciles"] = plots.deciles({k: (labels[k], m["models"][k]["value"]["deciles"]) for k, r in shown.items()}, out_dir / "deciles.png", cur,
                                    f"Predicted vs actual value by decile, {title}")
    curves = {label: (c["calibration"], c["roc_auc"] if c["roc_auc"] is not None else float("nan"))
              for label, c in m["churn"].items() if not ok[c["model"]].info.get("same_as")}
    if curves:
        pngs["churn_calibration"] = plots.churn_calibration(curves, float(p.truth["churn"].mean()), out_dir / "churn_calibration.png",
                                                            f"Churn calibration, {title}")
    if m.get("ablation") and m["ablation"].get("table"):
        pngs["ablation"] = plots.ablation(m["ablation"]["table"], out_dir / "ablation.png", f"Text-feature ablation, {title}")
    if m.get("rolling"):
        pngs["rolling"] = plots.rolling(m["rolling"], labels, out_dir / "rolling.png",
                                        f"Normalized Gini per cutoff, {ds.name}")
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
    L = [f"# Evaluation report: {ds['name']}", "",
         f"Reproduce: `{m['command']}`  ", f"Created {m['created']} in {m['seconds']:.0f} s; "
         + ", ".join(f"{k} {v}" for k, v in m["versions"].items()), ""]
    L += ["## Data", "", f"Source: `{ds['source']}`", ""]
    rows = []
    for t, s in ds["tables"].items():
        reasons = "; ".join(f"{r}: {n:,}" for r, n in ds["rejects"].get(t, {}).items())
        rows.append([t, f"{s['read']:,}", f"{s['kept']:,}", f"{s['rejected']:,}", reasons])
    L += [_md_table(["table", "rows read", "kept", "rejected", "reject reasons"], rows, "lrrrl"), ""]
    if ds["adapter_dropped"]:
        L += ["Left out or changed by the adapter before validation: " + "; ".join(f"{k}: {v:,}" for k, v in ds["adapter_dropped"].items()) + ".", ""]
    L += [f"- {n}" for n in ds["notes"]] + ([""] if ds["notes"] else [])
    L += ["## Split", "",
          f"- Calibration: everything up to **{sp['cutoff'][:10]}**; holdout: spend in ({sp['cutoff'][:10]}, {sp['holdout_end'][:10]}] "
          f"(**{sp['horizon_days']} days**). {m['defaults_note']}",
          f"- Snapshot models (RFM cells, XGBoost) learn a {sp['train_horizon_days']}-day horizon: fit snapshot {sp['fit_snapshot'][:10]}, "
          f"validation snapshot {sp['validation_snapshot'][:10]}, both with outcomes inside the calibration period.",
          f"- Customers scored: {sp['customers']:,} (every customer with an order up to the cutoff); "
          f"{sp['buyers_in_holdout']:,} ({sp['buyers_in_holdout'] / max(sp['customers'], 1):.1%}) buy in the holdout; "
          f"mean future value {_money(sp['mean_future_value'], cur)}."]
    L += [f"- {n}" for n in sp["notes"]] + [""]
    L += ["## Future value: all models on the same split", "", headline_markdown(m), "",
          f"Intervals: paired percentile bootstrap over customers, {m['bootstrap']['n_boot']} resamples. "
          "Lift: precision of the predicted top k% against the actual top k% of spenders, over the share of customers in that actual top set "
          "(1 = random). Decile MAPE: mean predicted vs mean actual value per decile of prediction (deciles with no actual spend skipped).", ""]
    L += verdict(m) + [""]
    diffs = m["bootstrap"]["differences"]
    rows = [[k.replace("product - ", "product − "), _ci(v.get("normalized_gini")), _ci(v.get("spearman"))]
            for k, v in diffs.items() if k.startswith("product - ")]
    if rows:
        L += ["Product minus each baseline (95% intervals):", "", _md_table(["difference", "normalized Gini", "Spearman"], rows), ""]
    L += ["### Top-k selection", ""]
    rows = []
    for k, e in m["models"].items():
        if e.get("error"):
            continue
        for kk, t in e["value"]["top"].items():
            rows.append([e["label"], kk, f"{t['n_selected']:,}", f"{t['n_actual_top']:,}", _f(t["precision"], 3), _f(t["recall"], 3),
                         _f(t["lift"], 2), _f(t["value_share"], 3)])
    L += [_md_table(["model", "top", "selected", "actual top", "precision", "recall", "lift", "share of future value"], rows), ""]
    L += ["### Tiers against the actual future-value tiers", "",
          "Tiers by share (VIP 5%, High 15%, Medium 30%, Low 50%) of predicted value, against the same shares of actual future value "
          "(a customer who spends nothing is always actual Low).", ""]
    rows = []
    for k, e in m["models"].items():
        if e.get("error"):
            continue
        t = e["value"]["tiers"]
        rows.append([e["label"], _f(t["accuracy"], 3), _f(t["within_one_tier"], 3)] + [_f(t["per_tier"][x]["recall"], 3) for x in TIER_ORDER])
    L += [_md_table(["model", "accuracy", "within one tier"] + [f"{x} recall" for x in TIER_ORDER], rows), ""]
    prod = m["models"].get("product")
    if prod and not prod.get("error"):
        t = prod["value"]["tiers"]
        rows = [[f"actual {a}"] + [f"{n:,}" for n in row] for a, row in zip(TIER_ORDER, t["rows_actual_cols_predicted"])]
        L += ["Product tier confusion (rows: actual, columns: predicted):", "", _md_table([""] + [f"pred. {x}" for x in TIER_ORDER], rows), ""]
    L += ["## Churn (no purchase in the holdout)", ""]
    rows = [[label, _f(c["roc_auc"]), _f(c["pr_auc"]), _f(c["brier"]), f"{c['mean_predicted']:.1%}", f"{c['churn_rate']:.1%}"]
            for label, c in m["churn"].items()]
    L += [_md_table(["model", "ROC-AUC", "PR-AUC", "Brier", "mean predicted", "actual rate"], rows), "",
          "BG/NBD's P(alive) is 1 for every customer without a repeat purchase (the model cannot see them die before a second "
          "purchase), so 1 − P(alive) ranks one-time buyers as the safest; P(no purchase in the horizon) from the same fit is the "
          "like-for-like churn probability."]
    if sp["train_horizon_days"] != sp["horizon_days"]:
        L += ["", f"The snapshot models' churn probabilities (RFM cells, XGBoost) are for no purchase in their {sp['train_horizon_days']}-day "
                  f"training horizon, not the {sp['horizon_days']}-day holdout, so they overstate churn here; their ROC-AUC (a ranking) is still comparable."]
    L += [""]
    if m.get("ablation") and m["ablation"].get("table"):
        L += ["## Text-feature ablation", "", "The product refitted on the same split with each text source left out; "
              "differences against the tabular-only model, paired bootstrap.", ""]
        rows = []
        for name, r in m["ablation"]["table"].items():
            if "error" in r:
                rows.append([name, ", ".join(r["text_sources"]) or "none", "failed: " + r["error"], "", "", "", ""])
                continue
            vs = r.get("vs_no_text") or {}
            rows.append([name, ", ".join(r["text_sources"]) or "none", _ci(r["normalized_gini"]), _ci(r["spearman"]),
                         _ci(vs.get("normalized_gini")) if vs else "–", _ci(vs.get("spearman")) if vs else "–",
                         _f((r.get("churn") or {}).get("roc_auc"))])
        L += [_md_table(["variant", "text sources", "normalized Gini", "Spearman", "Δ Gini vs no text", "Δ Spearman vs no text", "churn ROC-AUC"],
                        rows, "llrrrrr"), ""]
    if m.get("rolling"):
        r = m["rolling"]
        L += ["## Rolling cutoffs", "", "Cutoffs: " + ", ".join(c[:10] for c in r["cutoffs"]) + ". Mean ± standard deviation over the cutoffs.", ""]
        rows = []
        for k, d in r["models"].items():
            label = m["models"].get(k, {}).get("label", k)
            rows.append([label] + [f"{_f(d[x]['mean'])} ± {_f(d[x]['std'])}" if x in d else "–"
                                   for x in ("normalized_gini", "spearman", "top20_lift", "churn_roc_auc")])
        L += [_md_table(["model", "normalized Gini", "Spearman", "top-20% lift", "churn ROC-AUC"], rows), ""]
    L += ["## Models", ""]
    for k, e in m["models"].items():
        extra = ""
        info = e.get("info") or {}
        if info.get("params"):
            extra = " Parameters: " + ", ".join(f"{p}={v:.3g}" for p, v in info["params"].items()) + "."
        if info.get("objective"):
            extra = f" Value objective chosen on the validation snapshot: {info['objective']}; {info.get('features')} features."
        L.append(f"- **{e['label']}** (`{k}`): {e['description']}.{extra}")
    if m.get("embedding_cache"):
        e = m["embedding_cache"]
        L += ["", f"Embedding cache: {e.get('requested', 0):,} texts requested, {e.get('hits', 0):,} distinct found in the cache, "
                  f"{e.get('encoded', 0):,} encoded (fit times of the text models include this)."]
    L += ["", "## Plots", ""]
    captions = {"lorenz": "Cumulative gain (Lorenz) curves of all models", "deciles": "Mean predicted vs actual value by prediction decile",
                "churn_calibration": "Calibration of churn probabilities", "ablation": "Text-feature ablation",
                "rolling": "Normalized Gini per rolling cutoff"}
    for k, name in m.get("plots", {}).items():
        L += [f"### {captions.get(k, k)}", "", f"![{captions.get(k, k)}]({name})", ""]
    return "\n".join(L)


def readme_table(m: dict) -> str:
    """The README's table for one dataset: product vs every baseline, from metrics.json."""
    return headline_markdown(m)


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - helper for the README
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "--readme":
        print("usage: python -m eval.report --readme METRICS_JSON...", file=sys.stderr)
        return 2
    for path in args[1:]:
        m = json.loads(Path(path).read_text())
        print(f"#### {m['dataset']['name']}\n\n`{m['command']}`\n\n{readme_table(m)}\n")
        for line in verdict(m):
            print(line)
        print()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
