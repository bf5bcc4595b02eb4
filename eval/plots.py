"""Plots of a backtest (matplotlib, Agg backend): they draw computed numbers, they compute nothing of their own
beyond the curves of eval.metrics. Each function writes one PNG and returns its path.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from eval.metrics import lorenz_curve  # noqa: E402
from eval.report_format import fmt_num  # noqa: E402

COLORS = {
    "past_spend": "#8c8c8c",
    "rfm": "#bcbd22",
    "bgnbd_gg": "#1f77b4",
    "xgb_tabular": "#ff7f0e",
    "product": "#d62728",
}
DPI = 110


def _color(key: str, i: int) -> str | tuple[float, float, float, float]:
    return COLORS[key] if key in COLORS else plt.get_cmap("tab10")(i % 10)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def lorenz(actual: np.ndarray, models: dict[str, tuple[str, np.ndarray, float]], path: Path, title: str) -> Path:
    """Cumulative gain curves: share of future value held by the top x% of customers by each model's prediction.

    ``models``: key -> (label, predictions, normalized Gini); predictions of several seeds (seeds x customers) draw
    the mean of their curves (whose area gives the mean Gini over the seeds).
    """
    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(12, 5.2), gridspec_kw={"width_ratios": [1.25, 1]})
    x, perfect = lorenz_curve(actual, actual)
    for a in (ax, zoom):
        a.plot(x, perfect, color="black", lw=1.2, ls="--", label="perfect ordering (Gini 1)")
        a.plot([0, 1], [0, 1], color="black", lw=0.8, ls=":", label="random (Gini 0)")
    for i, (key, (label, pred, gini)) in enumerate(models.items()):
        y = np.mean([lorenz_curve(actual, row)[1] for row in np.atleast_2d(pred)], axis=0)
        style = dict(color=_color(key, i), lw=2.4 if key == "product" else 1.5)
        ax.plot(x, y, label=f"{label} (norm. Gini {fmt_num(gini)})", **style)
        zoom.plot(x, y, **style)
    ax.set(
        xlabel="share of customers, highest predicted value first",
        ylabel="share of actual future value",
        xlim=(0, 1),
        ylim=(0, 1.01),
        title=title,
    )
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    zoom.set(
        xlim=(0, 0.3),
        ylim=(0, max(0.2, float(np.interp(0.3, x, perfect)) * 1.05)),
        xlabel="share of customers (top 30%)",
        title="zoom: the top 30%",
    )
    for k in (0.05, 0.2):
        zoom.axvline(k, color="grey", lw=0.7, ls="-.")
    zoom.grid(alpha=0.3)
    return _save(fig, path)


def deciles(tables: dict[str, tuple[str, list[dict]]], path: Path, currency: str, title: str) -> Path:
    """Mean predicted vs mean actual value per prediction decile, one panel per model (shared y axis, log scale if
    skewed)."""
    n = len(tables)
    cols = min(n, 3)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False, sharey=True)
    vals = [v for _, rows_ in tables.values() for r in rows_ for v in (r["mean_predicted"], r["mean_actual"])]
    positive = [v for v in vals if v > 0]
    log = bool(positive) and max(positive) / max(min(positive), 1e-9) > 200
    for ax, (key, (label, table)) in zip(axes.flat, tables.items()):
        d = np.array([r["decile"] for r in table])
        ax.bar(
            d - 0.2,
            [r["mean_predicted"] for r in table],
            width=0.4,
            label="mean predicted",
            color=_color(key, 0),
            alpha=0.85,
        )
        ax.bar(d + 0.2, [r["mean_actual"] for r in table], width=0.4, label="mean actual", color="#333333", alpha=0.75)
        ax.set_title(label, fontsize=10)
        ax.set_xticks(d)
        ax.set_xlabel("decile of predicted value (1 = highest)")
        if log:
            ax.set_yscale("symlog", linthresh=max(min(positive), 0.01))
        ax.grid(alpha=0.3, axis="y")
    for ax in axes[:, 0]:
        ax.set_ylabel(f"mean value in the horizon ({currency})")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def _value_calibration_panel(ax, value_tables: dict[str, tuple[str, list[dict]]], currency: str) -> None:
    """Mean actual against mean predicted value per decile of prediction, one line per model, on log axes (deciles
    with no actual spend drawn at the floor)."""
    vals = [v for _, t in value_tables.values() for r in t for v in (r["mean_predicted"], r["mean_actual"]) if v > 0]
    lo = 10 ** np.floor(np.log10(min(vals))) if vals else 0.01
    hi = 10 ** np.ceil(np.log10(max(vals))) if vals else 1.0
    floor = lo
    ax.plot([floor, hi], [floor, hi], color="black", ls="--", lw=1, label="calibrated (predicted = actual)")
    for i, (key, (label, table)) in enumerate(value_tables.items()):
        pred = np.array([r["mean_predicted"] for r in table])
        act = np.array([r["mean_actual"] for r in table])
        ax.plot(
            np.clip(pred, floor, None),
            np.clip(act, floor, None),
            marker="o",
            ms=4,
            lw=2.4 if key == "product" else 1.4,
            color=_color(key, i),
            label=label,
        )
    ax.set(
        xscale="log",
        yscale="log",
        xlim=(floor * 0.8, hi * 1.2),
        ylim=(floor * 0.8, hi * 1.2),
        xlabel=f"mean predicted value per decile of prediction ({currency}, log)",
        ylabel=f"mean actual value in the holdout ({currency}, log; 0 drawn at {floor:g})",
        title="Value: deciles of each model's prediction",
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3, which="both")


def _reliability_limits(
    churn_curves: dict[str, tuple[list[dict], float | None, float | None, str]], base_rate: float
) -> tuple[tuple[float, float], bool]:
    """Axis limits of the reliability diagram, and whether they zoom in on the bins (when the points span less than
    half of the unit square, e.g. almost everyone churns) instead of showing a corner of the unit square."""
    pts = [v for bins, *_ in churn_curves.values() for b in bins for v in (b["mean_predicted"], b["observed"])] + [
        base_rate
    ]
    lo_p, hi_p = (min(pts), max(pts)) if pts else (0.0, 1.0)
    zoom = hi_p - lo_p < 0.5
    if zoom:
        pad = max(0.02, 0.08 * (hi_p - lo_p))
        return (max(0.0, lo_p - pad), min(1.0, hi_p + pad)), zoom
    return (0.0, 1.0), zoom


def _churn_reliability_panel(
    rel, churn_curves: dict[str, tuple[list[dict], float | None, float | None, str]], base_rate: float
) -> None:
    """Mean predicted churn probability against the observed rate in 10 equal-count bins, with each score's ECE."""
    rel.plot([0, 1], [0, 1], color="black", ls="--", lw=1, label="calibrated")
    rel.axhline(base_rate, color="grey", ls=":", lw=1, label=f"churn rate {base_rate:.1%}")
    for i, (label, (bins, ece, _auc, key)) in enumerate(churn_curves.items()):
        pred = np.array([b["mean_predicted"] for b in bins])
        obs = np.array([b["observed"] for b in bins])
        ece_txt = f"ECE {fmt_num(ece)}"
        rel.plot(
            pred,
            obs,
            marker="o",
            ms=4,
            lw=2.4 if key == "product" else 1.4,
            color=_color(key, i),
            label=f"{label} ({ece_txt})",
        )
    lim, zoom = _reliability_limits(churn_curves, base_rate)
    rel.set(
        xlim=lim,
        ylim=lim,
        xlabel="mean predicted churn probability (10 equal-count bins)",
        ylabel="observed churn rate",
        title="Churn: reliability diagram" + (" (zoomed to the bins)" if zoom else ""),
    )
    rel.legend(fontsize=8, loc="best")
    rel.grid(alpha=0.3)


def calibration(
    value_tables: dict[str, tuple[str, list[dict]]],
    churn_curves: dict[str, tuple[list[dict], float | None, float | None, str]],
    base_rate: float,
    path: Path,
    title: str,
    currency: str = "$",
) -> Path:
    """Left: mean actual against mean predicted value per decile of prediction, one line per model, on log axes
    (the diagonal is a calibrated model; deciles with no actual spend are drawn at the floor). Right: the churn
    reliability diagram (mean predicted churn probability against the observed rate in 10 equal-count bins),
    with each score's ECE. ``value_tables``: key -> (label, decile rows); ``churn_curves``: label -> (bins, ECE,
    ROC-AUC, model key); a model has the same colour in both panels."""
    fig, (ax, rel) = plt.subplots(1, 2, figsize=(13.5, 6))
    _value_calibration_panel(ax, value_tables, currency)
    _churn_reliability_panel(rel, churn_curves, base_rate)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def churn_calibration(curves: dict[str, tuple[list[dict], float]], base_rate: float, path: Path, title: str) -> Path:
    """Reliability diagram: mean predicted churn probability vs observed churn rate, in equal-count bins.

    Left: churn on linear axes. Right: the same bins as purchase probability (1 - churn) on log axes,
    which keeps rare buyers readable when almost everyone churns. ``curves``: label -> (bins, ROC-AUC).
    """
    fig, (ax, lg) = plt.subplots(1, 2, figsize=(13, 6))
    side = [1 - b[k] for bins, _ in curves.values() for b in bins for k in ("mean_predicted", "observed")] + [
        1 - base_rate
    ]
    positive = [v for v in side if v > 0]
    floor = max(1e-4, 10 ** np.floor(np.log10(min(positive) / 2))) if positive else 1e-4
    ax.plot([0, 1], [0, 1], color="black", ls="--", lw=1, label="perfectly calibrated")
    ax.axhline(base_rate, color="grey", ls=":", lw=1, label=f"churn rate {base_rate:.1%}")
    lg.plot([floor, 1], [floor, 1], color="black", ls="--", lw=1)
    lg.axhline(max(1 - base_rate, floor), color="grey", ls=":", lw=1)
    for i, (label, (bins, auc)) in enumerate(curves.items()):
        color = plt.get_cmap("tab10")(i % 10)
        pred = np.array([b["mean_predicted"] for b in bins])
        obs = np.array([b["observed"] for b in bins])
        lw = 1.8 if "Product" in label else 1.2
        ax.plot(pred, obs, marker="o", ms=4, lw=lw, color=color, label=f"{label} (ROC-AUC {fmt_num(auc)})")
        lg.plot(np.clip(1 - pred, floor, 1), np.clip(1 - obs, floor, 1), marker="o", ms=4, lw=lw, color=color)
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="mean predicted churn probability (decile bins)",
        ylabel="observed churn rate",
        title=title,
    )
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    lg.set(
        xscale="log",
        yscale="log",
        xlim=(floor, 1.05),
        ylim=(floor, 1.05),
        xlabel="mean predicted purchase probability (1 - churn), log",
        ylabel=f"observed purchase rate, log (0 drawn at {floor:g})",
        title="the same bins, purchase side on log axes",
    )
    lg.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return _save(fig, path)


def ablation(table: dict[str, dict], path: Path, title: str) -> Path:
    """Top: normalized Gini and Spearman of the product with and without each text source (95% bootstrap intervals).
    Bottom: each variant minus the tabular-only model on the same resamples (paired intervals: what the text adds)."""
    names = [n for n, r in table.items() if "error" not in r]
    fig, axes = plt.subplots(2, 2, figsize=(12, 1.6 + 1.5 * len(names)), sharey=True)
    y = np.arange(len(names))[::-1]
    colors = ["#d62728" if n == "all text" else "#ff7f0e" if n.startswith("no text") else "#9467bd" for n in names]
    panels = [
        (axes[0, 0], lambda r: r["normalized_gini"], "normalized Gini"),
        (axes[0, 1], lambda r: r["spearman"], "Spearman"),
        (
            axes[1, 0],
            lambda r: (r.get("vs_no_text") or {}).get("normalized_gini"),
            "normalized Gini minus tabular-only (paired)",
        ),
        (axes[1, 1], lambda r: (r.get("vs_no_text") or {}).get("spearman"), "Spearman minus tabular-only (paired)"),
    ]
    for ax, get, label in panels:
        ivs = [get(table[n]) or {"estimate": 0.0, "low": None, "high": None} for n in names]
        est = np.array([iv["estimate"] if iv["estimate"] is not None else np.nan for iv in ivs], dtype=float)
        lo = np.array([iv["low"] if iv["low"] is not None else np.nan for iv in ivs], dtype=float)
        hi = np.array([iv["high"] if iv["high"] is not None else np.nan for iv in ivs], dtype=float)
        ax.barh(y, np.nan_to_num(est), color=colors, alpha=0.8)
        ax.errorbar(
            np.nan_to_num(est),
            y,
            xerr=[np.nan_to_num(est - lo), np.nan_to_num(hi - est)],
            fmt="none",
            ecolor="black",
            capsize=4,
            lw=1,
        )
        for n, yi, e in zip(names, y, est):
            if "minus" in label and n.startswith("no text"):
                ax.text(0, yi, " reference", va="center", fontsize=8)
            elif np.isfinite(e):
                ax.text(e, yi + 0.3, f" {e:+.3f}" if "minus" in label else f" {e:.3f}", va="center", fontsize=8)
        vals = np.r_[est, lo, hi, 0.0]
        vals = vals[np.isfinite(vals)]
        span = max(vals.max() - vals.min(), 0.02)
        ax.set_xlim(vals.min() - 0.08 * span, vals.max() + 0.15 * span)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel(f"{label} (95% interval, customers and seeds)")
        ax.grid(alpha=0.3, axis="x")
    for ax in axes[:, 0]:
        ax.set_yticks(y)
        ax.set_yticklabels(names)
    fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def rolling(summary: dict, labels: dict[str, str], path: Path, title: str) -> Path:
    """Normalized Gini per rolling cutoff and model, error bars: the sd over seeds (learned models); models missing
    from ``labels`` are not drawn."""
    order = np.argsort(summary["cutoffs"])  # oldest first
    cutoffs = [summary["cutoffs"][i][:10] for i in order]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    x = np.arange(len(cutoffs))
    keys = [k for k in summary["models"] if k in labels]
    for i, key in enumerate(keys):
        g = summary["models"][key]["normalized_gini"]
        y = np.array([g["values"][j] if g["values"][j] is not None else np.nan for j in order], dtype=float)
        sd = np.array([(g.get("seed_sd") or [None] * len(order))[j] or 0.0 for j in order], dtype=float)
        off = (i - (len(keys) - 1) / 2) * 0.03  # a small offset so that error bars do not overlap
        ax.errorbar(x + off, y, yerr=np.nan_to_num(sd), marker="o", capsize=3, color=_color(key, i), label=labels[key])
    ax.set_xticks(x)
    ax.set_xticklabels(cutoffs)
    ax.set(xlabel="calibration cutoff", ylabel="normalized Gini (mean over seeds ± sd)", title=title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)
