"""What would move a customer up a tier: answered by the model itself, not by prose.

Every stored profile keeps ``model_input``, the exact feature row the model scored. A what-if
applies a plausible customer action to that row (one more order today, several more orders, a
bigger order, no returns), recomputes the behaviour features that the action changes the way the
feature SQL would have computed them, re-runs the value and churn models on all scenarios in one
batch, and reports which scenarios cross the target tier's floor and through which drivers (SHAP
contributions of the scenario minus those of today, in currency).

What is not simulated: text features (what the customer would write is unknown) and the passage of
time (the cutoff stays where the store was scored).

The feature arithmetic of an action (the row after new orders, or without returns) is in ``service.whatif_features``;
this module builds the scenarios, re-predicts them and picks those reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from service.btyd import CLASSIC_FEATURES
from service.drivers import FamilyGrouper, feature_family, scaled_contributions
from service.tiers import TIER_ORDER
from service.whatif_features import as_float, value_or, with_new_orders, without_returns

MAX_EXTRA_ORDERS = 10
BIGGER_ORDER_MULTIPLES = (1.5, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0)
INTERACTIONS = "other drivers (interactions)"
REPREDICT_TOLERANCE = 0.01  # relative; the loaded model must reproduce the stored prediction


class WhatIfError(ValueError):
    """The profile cannot be re-predicted (no model input stored, or the model does not match the profile)."""


class FeatureChange(BaseModel):
    feature: str = Field(description="Model feature changed by the scenario.", examples=["frequency"])
    before: float | None = Field(description="Value in the stored model input.", examples=[12.0])
    after: float | None = Field(description="Value after the scenario.", examples=[13.0])


class DriverChange(BaseModel):
    name: str = Field(description="Driver family whose contribution changes.", examples=["frequency"])
    change: float = Field(
        description="Change of the family's contribution to predicted value, in currency (scenario minus today).",
        examples=[38.4],
    )


class Scenario(BaseModel):
    key: str = Field(
        description="Scenario kind: one_order, more_orders, bigger_order or no_returns.", examples=["more_orders"]
    )
    description: str = Field(
        description="The action, in words.",
        examples=["2 more orders of $45.10 (their average order value), the last one today"],
    )
    extra_orders: int = Field(description="Orders added by the scenario.", examples=[2])
    order_amount: float | None = Field(
        description="Amount of each added order, in currency (None when no order is added).", examples=[45.1]
    )
    predicted_value: float = Field(
        description="Model's predicted spend over the horizon under the scenario.", examples=[161.2]
    )
    value_change: float = Field(
        description="Predicted value under the scenario minus today's prediction.", examples=[42.6]
    )
    churn_probability: float = Field(description="Model's churn probability under the scenario.", examples=[0.12])
    tier: str = Field(
        description="Tier the scenario's prediction falls into (the stored thresholds).", examples=["VIP"]
    )
    reaches_target: bool = Field(
        description="True when the scenario's prediction reaches the target tier's floor.", examples=[True]
    )
    changes: list[FeatureChange] = Field(
        description="Model features the scenario changes.",
        examples=[[{"feature": "frequency", "before": 12.0, "after": 14.0}]],
    )
    drivers: list[DriverChange] = Field(
        description="Change of each driver family the action touches, largest first, then the change the model "
        "credits to untouched features (interactions); together they add up to value_change.",
        examples=[[{"name": "frequency", "change": 30.1}, {"name": "other drivers (interactions)", "change": -2.4}]],
    )


class WhatIf(BaseModel):
    """Re-predictions of one customer under simple actions, against the floor of a target tier."""

    customer_id: str = Field(examples=["C000042"], description="Customer id.")
    tier: str = Field(description="Current tier.", examples=["High"])
    predicted_value: float = Field(
        description="Today's predicted spend over the horizon (re-predicted from the stored model input).",
        examples=[118.6],
    )
    churn_probability: float = Field(description="Today's churn probability.", examples=[0.31])
    tier_floor: float | None = Field(
        description="Lowest predicted value of the current tier (None for Low).", examples=[19.91]
    )
    target_tier: str | None = Field(
        description="Tier the scenarios aim for (None when the customer is already in the top tier).", examples=["VIP"]
    )
    target_floor: float | None = Field(description="Lowest predicted value of the target tier.", examples=[153.02])
    gap: float | None = Field(description="Target floor minus today's prediction (what is missing).", examples=[34.42])
    currency: str = Field(description="Currency symbol.", examples=["$"])
    horizon_days: int = Field(description="Prediction horizon in days.", examples=[90])
    scenarios: list[Scenario] = Field(description="Scenarios tried, in order of increasing effort.")
    best: Scenario | None = Field(
        description="The least effort scenario that reaches the target (None when none does)."
    )


# ----------------------------------------------------------------------------- the analysis


@dataclass
class _Candidate:
    key: str
    description: str
    extra_orders: int
    amount: float | None
    row: dict


@dataclass
class _Predictions:
    """The model's answers for every candidate (today first): value, churn, tier and value contributions by family."""

    value: np.ndarray
    churn: np.ndarray
    tiers: np.ndarray
    families: np.ndarray  # (candidates, driver families), in currency
    grouper: FamilyGrouper


def _money(x: float, currency: str) -> str:
    return f"{currency}{x:,.2f}"


def _usual_amount(row: dict, bundle) -> float:
    """The customer's average order value; the population median for a customer without purchases."""
    aov = value_or(row.get("avg_order_value"))
    if aov > 0:
        return round(aov, 2)
    q = bundle.peers.quantiles_.get("avg_order_value")
    return round(float(q[50]), 2) if q else 50.0


def _frame(rows: list[dict], feature_names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        [[as_float(r.get(c)) for c in feature_names] for r in rows], columns=feature_names, dtype="float64"
    )


def target_for(tier: str, requested: str | None) -> str | None:
    """The tier to aim for: the one asked for when it is above the current tier, else the next one up."""
    idx = TIER_ORDER.index(tier)
    if requested in TIER_ORDER and TIER_ORDER.index(requested) < idx:
        return requested
    return TIER_ORDER[idx - 1] if idx > 0 else None


def what_if(profile: dict, bundle, target_tier: str | None = None, currency: str | None = None) -> WhatIf:
    """Scenarios for one stored profile; ``target_tier`` defaults to the next tier up."""
    names = list(bundle.feature_names)
    row = _model_input(profile, names)
    currency = currency or bundle.config.get("currency", "$")
    thresholds = bundle.tiers.thresholds_
    tier = profile["tier"]
    target = target_for(tier, target_tier)
    floor = float(thresholds[target]) if target else None

    cands = _candidates(row, _usual_amount(row, bundle), currency)
    pred = _repredict(cands, names, bundle, profile)
    value, churn = pred.value, pred.churn
    scenarios = [_scenario(cands[i], i, row, names, pred, floor) for i in _picks(cands, value, floor)]
    return WhatIf(
        customer_id=profile["customer_id"],
        tier=tier,
        predicted_value=round(float(value[0]), 2),
        churn_probability=round(float(churn[0]), 4),
        tier_floor=round(float(thresholds[tier]), 2) if tier in thresholds else None,
        target_tier=target,
        target_floor=round(floor, 2) if floor is not None else None,
        gap=round(floor - float(value[0]), 2) if floor is not None else None,
        currency=currency,
        horizon_days=int(bundle.config["horizon_days"]),
        scenarios=scenarios,
        best=_least_effort(scenarios),
    )


def _model_input(profile: dict, names: list[str]) -> dict:
    """The feature row the model scored for this profile; WhatIfError when it is not stored or lacks a feature."""
    row = (profile.get("profile") or {}).get("model_input")
    if not row:
        raise WhatIfError(
            f"customer {profile['customer_id']} has no stored model input (re-score the store with this version)"
        )
    missing = [c for c in names if c not in row]
    if missing:
        raise WhatIfError(
            f"the stored model input lacks features of the loaded model ({', '.join(missing[:3])}); re-score the store"
        )
    return row


def _candidates(row: dict, usual: float, currency: str) -> list[_Candidate]:
    """Today, then every action tried: one usual order, 2 to MAX_EXTRA_ORDERS usual orders, one bigger order of
    each multiple, and no returns (only for a customer with returns)."""
    usual_txt = _money(usual, currency)
    cands = [_Candidate("today", "today", 0, None, dict(row))]
    cands.append(
        _Candidate(
            "one_order",
            f"one more order of {usual_txt} (their average order value) today",
            1,
            usual,
            with_new_orders(row, 1, usual),
        )
    )
    for k in range(2, MAX_EXTRA_ORDERS + 1):
        cands.append(
            _Candidate(
                "more_orders",
                f"{k} more orders of {usual_txt} (their average order value), the last one today",
                k,
                usual,
                with_new_orders(row, k, usual),
            )
        )
    for mult in BIGGER_ORDER_MULTIPLES:
        amount = round(usual * mult, 2)
        cands.append(
            _Candidate(
                "bigger_order",
                f"one order of {_money(amount, currency)} ({mult:g}x their average order value) today",
                1,
                amount,
                with_new_orders(row, 1, amount),
            )
        )
    if value_or(row.get("n_returned")) > 0:
        cands.append(
            _Candidate(
                "no_returns",
                f"none of their {int(value_or(row.get('n_returned')))} returned or cancelled orders on record",
                0,
                None,
                without_returns(row),
            )
        )
    return cands


def _repredict(cands: list[_Candidate], names: list[str], bundle, profile: dict) -> _Predictions:
    """Run the value and churn models on all candidates in one batch; WhatIfError when today's re-prediction does not
    reproduce the stored one (the store was scored with another model). Updates each scenario's row with the
    classic-model features its action moves, so the scenario reports them."""
    X = refresh_classic(_frame([c.row for c in cands], names), bundle)
    for c, refreshed in zip(cands[1:], X.iloc[1:].to_dict("records")):
        c.row = {**c.row, **{k: refreshed[k] for k in names if k in CLASSIC_FEATURES}}
    value = bundle.value_model.predict(X)
    churn = bundle.churn_model.predict_proba(X)
    stored = float(profile["predicted_value"])
    if abs(value[0] - stored) > REPREDICT_TOLERANCE * max(abs(stored), 1.0):
        raise WhatIfError(
            f"the loaded model predicts {value[0]:.2f} for {profile['customer_id']} but the store says {stored:.2f}; "
            "the store was scored with another model"
        )
    tiers = bundle.tiers.assign(value)
    grouper = FamilyGrouper(names)
    fam = grouper.transform(scaled_contributions(bundle.value_model.contributions(X), bundle.value_model.link))
    return _Predictions(value=value, churn=churn, tiers=tiers, families=fam, grouper=grouper)


def _scenario(
    c: _Candidate, i: int, today: dict, names: list[str], pred: _Predictions, floor: float | None
) -> Scenario:
    """Candidate ``i`` as reported: its predictions, the features it changes and the drivers that move."""
    changes = [
        FeatureChange(feature=k, before=_round(today.get(k)), after=_round(c.row.get(k)))
        for k in names
        if not _same(today.get(k), c.row.get(k))
    ]
    value = pred.value
    return Scenario(
        key=c.key,
        description=c.description,
        extra_orders=c.extra_orders,
        order_amount=c.amount,
        predicted_value=round(float(value[i]), 2),
        value_change=round(float(value[i] - value[0]), 2),
        churn_probability=round(float(pred.churn[i]), 4),
        tier=str(pred.tiers[i]),
        reaches_target=bool(floor is not None and value[i] >= floor),
        changes=changes,
        drivers=_driver_changes(pred.families[i] - pred.families[0], changes, pred.grouper),
    )


def _driver_changes(delta: np.ndarray, changes: list[FeatureChange], grouper: FamilyGrouper) -> list[DriverChange]:
    """The families whose features the action changes, largest effect first; what the trees credit to unchanged
    features (interactions) is reported as one remainder, so the changes add up to the value change."""
    touched = {feature_family(ch.feature) for ch in changes}
    idx = [j for j in np.argsort(-np.abs(delta), kind="stable") if grouper.families[j] in touched]
    drivers = [
        DriverChange(name=grouper.families[j], change=round(float(delta[j]), 2)) for j in idx if abs(delta[j]) >= 0.005
    ]
    rest = float(delta.sum() - sum(delta[j] for j in idx))
    if abs(rest) >= 0.005:
        drivers.append(DriverChange(name=INTERACTIONS, change=round(rest, 2)))
    return drivers


def _picks(cands: list[_Candidate], value: np.ndarray, floor: float | None) -> list[int]:
    """The candidates reported, in order: one order at the usual size; the fewest usual-size orders that reach the
    target (or the most tried); the smallest bigger order that does (or the biggest tried); no returns."""
    reach = [floor is not None and v >= floor for v in value]
    picks = [1]
    more = [i for i, c in enumerate(cands) if c.key == "more_orders"]
    bigger = [i for i, c in enumerate(cands) if c.key == "bigger_order"]
    for group in (more, bigger):
        hit = next((i for i in group if reach[i]), None)
        picks.append(hit if hit is not None else max(group, key=lambda i: value[i]))
    picks += [i for i, c in enumerate(cands) if c.key == "no_returns"]
    if reach[1]:  # one usual order already reaches it: more orders / a bigger order add nothing to the answer
        picks = [1] + [i for i in picks[3:]]
    return list(dict.fromkeys(picks))


def _least_effort(scenarios: list[Scenario]) -> Scenario | None:
    """Least effort = least added spend (then fewest orders); "no returns" is about the past, so it only counts when
    no purchase scenario gets there."""
    reaching = [s for s in scenarios if s.reaches_target]
    buying = [s for s in reaching if s.extra_orders > 0]
    return (
        min(buying, key=lambda s: (s.extra_orders * (s.order_amount or 0.0), s.extra_orders))
        if buying
        else (reaching[0] if reaching else None)
    )


def refresh_classic(X: pd.DataFrame, bundle) -> pd.DataFrame:
    """Recompute the classic-model columns (BG/NBD, Gamma-Gamma) from the changed behaviour, with the bundle's fit:
    one more order moves expected orders and P(alive) the way the classic model says it would."""
    from service.pipeline import bundle_classic

    cols = [c for c in CLASSIC_FEATURES if c in X.columns and c != "first_purchase_days"]
    if not cols:
        return X
    X = X.copy()
    X[cols] = bundle_classic(bundle).transform(X)[cols].to_numpy()
    return X


def _round(x) -> float | None:
    v = as_float(x)
    return None if math.isnan(v) else round(v, 4)


def _same(a, b) -> bool:
    va, vb = as_float(a), as_float(b)
    return (math.isnan(va) and math.isnan(vb)) or va == vb
