"""The product against the baselines on one split: the strongest baseline per metric, the paired bootstrap of the
models and their differences (``compare``), the text-ablation variants, and the product listed under its tabular
twin when a dataset has no text."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from eval.backtest.one_split import ModelRun, SplitResult
from eval.metrics import bootstrap

# What the product has to beat. The tabular XGBoost is not among them: it is the product's own text ablation (the
# same model without text), which the ablation section compares; as a "baseline" it made the headline compare the
# product with itself wherever the text check left text out ("difference 0.000").
BASELINE_KEYS = ("past_spend", "rfm", "bgnbd_gg")
TABULAR_KEY = "xgb_tabular"


def ablation_variants(sources: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Product variants: all text, each source left out, no text (the tabular baseline)."""
    v = {"all text": tuple(sources)}
    for src, name in (("review", "without review text"), ("browse", "without browsing text")):
        rest = tuple(s for s in sources if s != src)
        if src in sources and rest:  # leaving out the only source is the tabular-only variant below
            v[name] = rest
    v["no text (tabular only)"] = ()
    return v


def alias_product(res: SplitResult) -> SplitResult:
    """Without text in a dataset the product is its tabular model: the same fits, listed under both names."""
    tab = res.runs.get(TABULAR_KEY)
    if "product" not in res.runs and tab is not None:
        res.runs["product"] = replace(
            tab,
            key="product",
            label="Product (= tabular: no text)",
            # the tabular model has one churn score (its label), listed under the product's name
            churn={"Product churn (= tabular)": scores[-1]} if (scores := list(tab.churn.values())) else {},
            info=dict(tab.info, same_as=TABULAR_KEY),
        )
    return res


def strongest_baselines(res: SplitResult) -> dict[str, str]:
    """Per metric, the baseline (``BASELINE_KEYS``) with the highest mean over seeds."""
    ok = {k: r for k, r in res.runs.items() if r.error is None}
    best = {}
    for metric in ("normalized_gini", "spearman"):
        cands = {k: res.report(k)["value"][metric] for k in BASELINE_KEYS if k in ok}
        cands = {k: v for k, v in cands.items() if v is not None and np.isfinite(v)}
        if cands:
            best[metric] = max(cands, key=cands.__getitem__)
    return best


def compare(
    res: SplitResult,
    differences: dict[str, tuple[str, str]],
    extra: dict[str, ModelRun] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    progress=None,
    keys=None,
) -> dict:
    """Bootstrap (customers and seeds together) of the models of ``res`` (and ``extra``: e.g. ablation variants);
    ``keys`` limits the models. The product aliased to its tabular twin is scored as that twin (same fits, same
    draws)."""
    runs = {k: r for k, r in {**res.runs, **(extra or {})}.items() if r.error is None}
    to_boot = {k: (r.info.get("same_as") or k) for k, r in runs.items()}
    # An ordered set: the bootstrap draws each learned model's seeds in the order of ``preds``, so a plain set (whose
    # order of strings changes with PYTHONHASHSEED) gave other intervals in every process.
    asked = dict.fromkeys([*(keys if keys is not None else runs), *(x for p in differences.values() for x in p)])
    wanted = [k for k in asked if k in runs]
    preds = {to_boot[k]: runs[to_boot[k]].values for k in wanted}
    diffs = {lab: (to_boot[a], to_boot[b]) for lab, (a, b) in differences.items() if a in runs and b in runs}
    boot = bootstrap(
        res.truth["future_value"].to_numpy(), preds, differences=diffs, n_boot=n_boot, seed=seed, progress=progress
    )
    boot["models"] = {k: boot["models"][to_boot[k]] for k in wanted}
    boot["seeds"] = {k: boot["seeds"][to_boot[k]] for k in wanted}
    return boot
