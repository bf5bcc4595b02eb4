"""``report.md``, rendered from ``metrics.json`` alone: one function per section of the report (each returns its lines),
and render_markdown, which joins them in order. The future-value sections are in eval.report_value_markdown.
"""

from __future__ import annotations

from eval.backtest import MIN_SPENDERS
from eval.report_format import fmt_ci, fmt_money, fmt_num, fmt_pm, md_table
from eval.report_value_markdown import future_value_sections

PLOT_CAPTIONS = {
    "lorenz": "Cumulative gain (Lorenz) curves of all models",
    "deciles": "Mean predicted vs actual value by prediction decile",
    "calibration": "Calibration: value by decile of prediction, churn reliability",
    "churn_calibration": "Calibration of churn probabilities",
    "ablation": "Text-feature ablation",
    "rolling": "Normalized Gini per rolling cutoff",
}

TRAINING_FIELDS = ("horizon_days", "train_horizon_days", "fit_cutoff", "validation_cutoff", "n_snapshots")


def _header(m: dict) -> list[str]:
    """Title, the command that reproduces the report, when and with which package versions it was made."""
    return [
        f"# Evaluation report: {m['dataset']['name']}",
        "",
        f"Reproduce: `{m['command']}`  ",
        f"Created {m['created']} in {m['seconds']:.0f} s; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()),
        "",
    ]


def _data_section(ds: dict) -> list[str]:
    """Rows read, kept and rejected per table (with the reasons), what the adapter dropped, the dataset's notes."""
    L = ["## Data", "", f"Source: `{ds['source']}`", ""]
    rows = []
    for t, s in ds["tables"].items():
        reasons = "; ".join(f"{r}: {n:,}" for r, n in ds["rejects"].get(t, {}).items())
        rows.append([t, f"{s['read']:,}", f"{s['kept']:,}", f"{s['rejected']:,}", reasons])
    L += [md_table(["table", "rows read", "kept", "rejected", "reject reasons"], rows, "lrrrl"), ""]
    if ds["adapter_dropped"]:
        L += [
            "Left out or changed by the adapter before validation: "
            + "; ".join(f"{k}: {v:,}" for k, v in ds["adapter_dropped"].items())
            + ".",
            "",
        ]
    L += [f"- {n}" for n in ds["notes"]] + ([""] if ds["notes"] else [])
    return L


def _split_section(sp: dict, cur: str) -> list[str]:
    """The cutoff and holdout, how many customers are scored, buy and spend in the holdout, the split's notes."""
    L = [
        "## Split",
        "",
        f"- Calibration: everything up to **{sp['cutoff'][:10]}**; holdout: spend in ({sp['cutoff'][:10]}, "
        f"{sp['holdout_end'][:10]}] (**{sp['horizon_days']} days**).",
        f"- Customers scored: {sp['customers']:,} (every customer with an order up to the cutoff); "
        f"{sp['buyers_in_holdout']:,} ({sp['buyers_in_holdout'] / max(sp['customers'], 1):.1%}) buy in the holdout, "
        f"{sp['spenders']:,} with a positive spend; mean future value {fmt_money(sp['mean_future_value'], cur)}.",
    ]
    return L + [f"- {n}" for n in sp["notes"]] + [""]


def _churn_section(m: dict) -> list[str]:
    """Each churn score's ROC-AUC, PR-AUC, ECE, Brier, mean predicted against actual rate; why BG/NBD's is P(no
    purchase)."""
    rows = [
        [
            label,
            str(c.get("n_seeds", 1)),
            fmt_pm(c["roc_auc"], c["sd"].get("roc_auc")),
            fmt_num(c["pr_auc"]),
            fmt_pm(c["ece"], c["sd"].get("ece")),
            fmt_pm(c["brier"], c["sd"].get("brier")),
            f"{c['mean_predicted']:.1%}",
            f"{c['churn_rate']:.1%}",
        ]
        for label, c in m["churn"].items()
    ]
    header = [
        "churn score",
        "seeds",
        "ROC-AUC",
        "PR-AUC",
        "ECE (10 equal-count bins)",
        "Brier",
        "mean predicted",
        "actual rate",
    ]
    note = (
        "BG/NBD's churn score is its P(no purchase in the horizon). Its 1 − P(alive) is not used as a churn score: "
        "P(alive) is 1 for every customer without a repeat purchase, so it would rank one-time buyers as the safest."
    )
    bg = m["models"].get("bgnbd_gg", {})
    if (bg.get("info") or {}).get("mean_p_alive") is not None:
        note += f" (For information: mean BG/NBD P(alive) at the cutoff {bg['info']['mean_p_alive']:.3f}.)"
    return ["## Churn (no purchase in the holdout)", "", md_table(header, rows), "", note, ""]


def _ablation_row(name: str, r: dict) -> list[str]:
    sources = ", ".join(r["text_sources"]) or "none"
    if "error" in r:
        return [name, sources, "failed: " + r["error"], "", "", "", ""]
    vs = r.get("vs_no_text") or {}
    return [
        name,
        sources,
        fmt_ci(r["normalized_gini"]),
        fmt_ci(r["spearman"]),
        fmt_ci(vs.get("normalized_gini")) if vs else "–",
        fmt_ci(vs.get("spearman")) if vs else "–",
        fmt_num((r.get("churn") or {}).get("roc_auc")),
    ]


def _ablation_section(table: dict) -> list[str]:
    """The product refitted without each text source, against the tabular-only model."""
    header = [
        "variant",
        "text sources",
        "normalized Gini",
        "Spearman",
        "Δ Gini vs no text",
        "Δ Spearman vs no text",
        "churn ROC-AUC",
    ]
    rows = [_ablation_row(name, r) for name, r in table.items()]
    return [
        "## Text-feature ablation",
        "",
        "The product refitted on the same split with each text source left out (every variant with "
        "the same seeds); differences against the tabular-only model, bootstrap over customers and seeds.",
        "",
        md_table(header, rows, "llrrrrr"),
        "",
    ]


ROLLING_MEAN_COLUMNS = {
    "normalized_gini": "normalized Gini",
    "spearman": "Spearman",
    "calibration_ratio": "total predicted / actual",
    "top20_lift": "top-20% lift",
    "churn_roc_auc": "churn ROC-AUC",
    "churn_ece": "churn ECE",
}


def _rolling_means(m: dict) -> list[str]:
    """Each model's figures as mean ± sd over the rolling cutoffs."""
    rows = [
        [m["models"].get(k, {}).get("label", k)]
        + [fmt_pm(d[x]["mean"], d[x]["std"]) if x in d else "–" for x in ROLLING_MEAN_COLUMNS]
        for k, d in m["rolling"]["models"].items()
    ]
    return [md_table(["model"] + list(ROLLING_MEAN_COLUMNS.values()), rows), ""]


def _rolling_comparison_row(c: dict, label: str, x: dict, names: dict) -> list[str]:
    """The product against the strongest baseline on one metric at one cutoff (not ranked with too few spenders)."""
    head = [c["cutoff"][:10], f"{c['spenders']:,}", label, fmt_pm(x["product"]["mean"], x["product"]["sd"])]
    if not c["separable"]:
        return head + ["not ranked (too few spenders)", "–", "–"]
    return head + [
        names.get(x["best_baseline"], x["best_baseline"]),
        fmt_pm(x["baseline"]["mean"], x["baseline"]["sd"]),
        fmt_ci(x["difference"]),
    ]


def _rolling_comparisons(m: dict) -> list[str]:
    """The product against the strongest baseline at each cutoff; nothing where there is no comparison."""
    names = {k: e["label"] for k, e in m["models"].items()}
    rows = []
    for c in m["rolling"].get("comparisons", []):
        for metric, label in (("normalized_gini", "Gini"), ("spearman", "Spearman")):
            x = c["metrics"].get(metric)
            if x and x.get("product"):
                rows.append(_rolling_comparison_row(c, label, x, names))
    if not rows:
        return []
    return [
        "The product against the strongest baseline at each cutoff (mean ± sd over seeds; the difference with its "
        f"95% interval over customers and seeds). At a cutoff with fewer than {MIN_SPENDERS} spenders no baseline "
        "is named strongest.",
        "",
        md_table(
            ["cutoff", "spenders", "metric", "product", "strongest baseline", "baseline", "product − baseline"],
            rows,
            "lrlrlrr",
        ),
        "",
    ]


def rolling_markdown(m: dict) -> list[str]:
    """The rolling-cutoffs section: the cutoffs, each model's mean ± sd over them, the product against the strongest
    baseline at each."""
    intro = [
        "## Rolling cutoffs",
        "",
        "Cutoffs: " + ", ".join(c[:10] for c in m["rolling"]["cutoffs"]) + ". Per cutoff, each learned model's figure "
        "is its mean over seeds; the table gives the mean ± standard deviation of those over the cutoffs.",
        "",
    ]
    return intro + _rolling_means(m) + _rolling_comparisons(m)


def _model_details(info: dict) -> str:
    """What the report says of a model beyond its description: parameters or objective, training, extra outputs."""
    extra = ""
    if info.get("params"):
        extra = " Parameters: " + ", ".join(f"{p}={v:.3g}" for p, v in info["params"].items()) + "."
    if info.get("objective"):
        extra = (
            f" Value objective chosen on its validation snapshot: {info['objective']}; {info.get('features')} features."
        )
    if info.get("training"):
        tr = info["training"]
        extra += " Training: " + ", ".join(f"{a} {tr[a]}" for a in tr if a in TRAINING_FIELDS) + "."
    if info.get("optional_outputs"):
        extra += " Also predicts: " + ", ".join(info["optional_outputs"]) + "."
    return extra


def _models_section(m: dict) -> list[str]:
    """One line per model (label, key, description, details), then the embedding cache's figures if any."""
    L = ["## Models", ""]
    for k, e in m["models"].items():
        L.append(f"- **{e['label']}** (`{k}`): {e['description']}.{_model_details(e.get('info') or {})}")
    if m.get("embedding_cache"):
        e = m["embedding_cache"]
        L += [
            "",
            f"Embedding cache: {e.get('requested', 0):,} texts requested, {e.get('hits', 0):,} distinct found in the "
            f"cache, {e.get('encoded', 0):,} encoded (fit times of the text models include this).",
        ]
    return L + [""]


def _plots_section(plots: dict) -> list[str]:
    """Each plot written, under its caption."""
    L = ["## Plots", ""]
    for k, name in plots.items():
        L += [f"### {PLOT_CAPTIONS.get(k, k)}", "", f"![{PLOT_CAPTIONS.get(k, k)}]({name})", ""]
    return L


def render_markdown(m: dict) -> str:
    """report.md from a metrics dict (the content of ``metrics.json``)."""
    ds, sp = m["dataset"], m["split"]
    cur = ds.get("currency", "$")
    sep, n_seeds = m["separability"], m["seeds"]["learned_models"]  # a metrics.json from an older harness fails here
    L = _header(m) + _data_section(ds) + _split_section(sp, cur)
    L += future_value_sections(m, sep, n_seeds)
    L += _churn_section(m)
    if m.get("ablation") and m["ablation"].get("table"):
        L += _ablation_section(m["ablation"]["table"])
    if m.get("rolling"):
        L += rolling_markdown(m)
    L += _models_section(m) + _plots_section(m.get("plots", {}))
    return "\n".join(L)
