"""Booster surgery in XGBoost's JSON model format: averaging a bag into one booster, scaling its leaf values,
truncating to the best round. Prediction, TreeSHAP and saving work on the result exactly as on a trained one."""

from __future__ import annotations

import json
from collections.abc import Callable

import xgboost as xgb


def _scale_tree(t: dict, scale: Callable[[float], float]) -> None:
    """Apply ``scale`` to one tree's leaf values (and node weights), in XGBoost's JSON model format."""
    leaves = {i for i, left in enumerate(t["left_children"]) if left == -1}
    t["split_conditions"] = [scale(v) if i in leaves else v for i, v in enumerate(t["split_conditions"])]
    t["base_weights"] = [scale(v) for v in t["base_weights"]]


def _load_json_model(model: dict) -> xgb.Booster:
    model["learner"]["attributes"] = {}
    booster = xgb.Booster()
    booster.load_model(bytearray(json.dumps(model).encode()))
    return booster


def average_boosters(boosters: list[xgb.Booster]) -> xgb.Booster:
    """One booster whose margin is the mean of the given boosters' margins (same base score required).

    Leaf weights are divided by the number of boosters and the trees concatenated, so prediction,
    TreeSHAP (linear in the leaf values) and saving work on the bag exactly as on a single model.
    """
    if len(boosters) == 1:
        return boosters[0]
    models = [json.loads(b.save_raw("json")) for b in boosters]
    bases = {m["learner"]["learner_model_param"]["base_score"] for m in models}
    if len(bases) != 1:
        raise ValueError(f"boosters to average need one base score, got {sorted(bases)}")
    k = float(len(models))
    trees: list[dict] = []
    info: list[int] = []
    for m in models:
        gb = m["learner"]["gradient_booster"]["model"]
        for t in gb["trees"]:
            _scale_tree(t, lambda v: v / k)
            t["id"] = len(trees)
            trees.append(t)
        info += gb["tree_info"]
    out = models[0]
    gb = out["learner"]["gradient_booster"]["model"]
    gb["trees"], gb["tree_info"] = trees, info
    gb["gbtree_model_param"]["num_trees"] = str(len(trees))
    gb["iteration_indptr"] = list(range(len(trees) + 1))
    return _load_json_model(out)


def truncated_booster(booster: xgb.Booster, rounds: int) -> xgb.Booster:
    """The first ``rounds`` trees (early stopping trains a few past the best round)."""
    return booster[:rounds] if rounds < booster.num_boosted_rounds() else booster
