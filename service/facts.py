"""The facts of an explanation: what a narrator may say about one customer, built from their stored profile.

Step one of an explanation (``service.explain``): the facts are deterministic, taken from a row of the profile store
and the store's metadata (tier thresholds, horizon, currency), plus the playbook's churn band and next action. They
are the only source a narrator may use and what the fact check (``service.fact_check``) holds a narrative against.
Customer texts appear in them as evidence: data to quote, never instructions.
"""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from service.drivers import UNITS
from service.store_checks import reading_stored
from service.tiers import TIER_ORDER, rfm_label

TOP_DRIVERS = 5

# Behaviour features the prose may state as figures, when the profile has them.
_FEATURE_FIGURES = (
    "spend_recent",
    "spend_prior",
    "review_count",
    "frequency",
    "monetary_total",
    "recency_days",
    "ipi_mean_days",
)
# Model outputs of the profile the prose may state, when they are finite numbers.
_PROFILE_FIGURES = ("historic_value", "expected_orders", "avg_days_between_orders")


class Driver(BaseModel):
    name: str = Field(description="Readable driver family, e.g. 'frequency' or 'review text'.", examples=["frequency"])
    value: float | None = Field(
        description="The customer's raw value of the family's headline feature.", examples=[14.0]
    )
    contribution: float = Field(
        description="Signed contribution to predicted value, in currency (SHAP, scaled from margin).", examples=[420.1]
    )
    percentile: float | None = Field(
        default=None, description="Peer percentile (0-100) of the raw value among scored customers.", examples=[98.5]
    )
    feature: str | None = Field(
        default=None, description="The headline feature behind the value.", examples=["frequency"]
    )
    unit: str | None = Field(default=None, description="What the value counts.", examples=["purchases"])
    churn_contribution: float | None = Field(
        default=None, description="Signed contribution to churn probability, in probability points.", examples=[-0.04]
    )


# Line breaks and double quotation marks inside a customer text: a quote holding them could close itself and forge
# lines of the narrative around it ('Great.\u201d (review ...)\nChurn risk: high ...\nSuggested next action: 50% off').
_BREAKS = re.compile(r"\s*[\r\n\v\f\u0085\u2028\u2029]+\s*")
# Direction controls (embeddings, overrides, isolates and the two marks): a right-to-left override inside a quote runs
# on past its closing mark and displays the service's own words reversed and the customer's outside the quotation.
# Right-to-left scripts display correctly without them.
_BIDI = dict.fromkeys([0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_DOUBLE_QUOTES = str.maketrans({"\u201c": "'", "\u201d": "'", "\u201e": "'", "\u201f": "'", '"': "'"} | _BIDI)


def one_line_quote(text: str) -> str:
    """A customer text as it may be quoted: on one line, its double quotation marks made single and direction controls
    removed, so a quotation of it starts and ends where the narrator put its marks."""
    return _BREAKS.sub(" ", text).translate(_DOUBLE_QUOTES).strip()


# A customer text in any model that is quoted to agents (evidence, complaints, browsing): one line, as
# ``one_line_quote`` makes it, also when read from stores written before that rule
QuotedText = Annotated[str, AfterValidator(one_line_quote)]


class Evidence(BaseModel):
    text: QuotedText = Field(
        description="Verbatim text written or browsed by the customer (on one line, double quotation marks made "
        "single, so that a quotation of it cannot end early).",
        examples=["Bulk order for our office again, arrived on time."],
    )
    source: str = Field(
        description="Where the text comes from: review (with date and rating) or browsing (with event type and date).",
        examples=["review 2025-11-02, 5/5"],
    )


class Facts(BaseModel):
    customer_id: str
    tier: str
    predicted_value: float
    horizon_days: int
    currency: str
    value_rank_pct: float = Field(description="Share of scored customers with a lower predicted value, in percent.")
    tier_floor: float | None = Field(description="Lowest predicted value of the customer's tier (None for Low).")
    next_tier: str | None
    next_tier_floor: float | None
    churn_probability: float
    rfm_segment: str
    drivers: list[Driver]
    evidence: list[Evidence]
    model_version: str
    scored_at: str
    churn_band: str | None = Field(
        default=None, description="Churn risk as low / medium / high (bands from the playbook)."
    )
    next_action: str | None = Field(
        default=None, description="The playbook's next action for the customer's tier and churn band."
    )
    next_order_date: str | None = Field(
        default=None, description="Expected date of the next order (ISO date), when the profile has it."
    )
    value_interval: list[float] | None = Field(
        default=None, description="80% interval [low, high] around the predicted value, when the profile has it."
    )
    figures: dict[str, float] = Field(
        default_factory=dict,
        description="Further facts the prose may state: spend in the last and the "
        "previous 90 days, purchases, reviews, historic value, expected orders, exact amounts near a threshold.",
    )


def facts_from_profile(profile: dict, meta: dict, top: int = TOP_DRIVERS) -> Facts:
    """Build the facts of one stored profile (a row of the profile store) and the store metadata; DamagedProfile when
    a value the row check lets through still cannot be read (e.g. a driver's contribution in words)."""
    with reading_stored(profile):
        return _facts(profile, meta, top)


def _facts(profile: dict, meta: dict, top: int) -> Facts:
    thresholds = meta["tiers"]["thresholds"]
    tier = profile["tier"]
    idx = TIER_ORDER.index(tier)
    next_tier = TIER_ORDER[idx - 1] if idx > 0 else None
    inner = profile["profile"]
    feats = inner.get("features") or {}
    band, action = playbook_advice(tier, float(profile["churn_probability"]))
    nod = inner.get("next_order_date")
    return Facts(
        churn_band=band,
        next_action=action,
        next_order_date=nod if isinstance(nod, str) and nod else None,
        value_interval=_value_interval(inner.get("value_interval"), float(profile["predicted_value"])),
        figures=_figures(profile, feats, thresholds, (tier, next_tier)),
        customer_id=profile["customer_id"],
        tier=tier,
        predicted_value=round(profile["predicted_value"], 2),
        horizon_days=int(meta["horizon_days"]),
        currency=meta.get("currency", "$"),
        value_rank_pct=round(profile["value_rank_pct"], 1),
        tier_floor=round(thresholds[tier], 2) if tier in thresholds else None,
        next_tier=next_tier,
        next_tier_floor=round(thresholds[next_tier], 2) if next_tier else None,
        churn_probability=round(profile["churn_probability"], 4),
        rfm_segment=rfm_label(profile["rfm_segment"], feats.get("frequency"), inner.get("rfm")),
        drivers=_top_drivers(inner["drivers"], top),
        evidence=[Evidence(**e) for e in inner.get("evidence", [])],
        model_version=profile["model_version"],
        scored_at=profile["scored_at"],
    )


def _top_drivers(stored: list, top: int) -> list[Driver]:
    """The first ``top`` stored drivers (they are stored largest first), each with the unit of its headline feature."""
    return [
        Driver(
            unit=UNITS.get(d.get("feature") or ""),
            **{k: d.get(k) for k in ("name", "value", "contribution", "percentile", "feature", "churn_contribution")},
        )
        for d in stored[:top]
    ]


def playbook_advice(tier: str, churn: float) -> tuple[str | None, str | None]:
    """The playbook's churn band and next action for the tier and churn probability; None for what it cannot give."""
    band = action = None
    try:
        from service.playbook import get_playbook

        pb = get_playbook()
        band = pb.band(churn)
        action = pb.play(tier, churn).action
    except Exception:  # noqa: BLE001 - a broken playbook file costs the advice, never the explanation
        pass
    return band, action


def _figures(profile: dict, feats: dict, thresholds: dict, tiers: tuple[str, str | None]) -> dict[str, float]:
    """The further numbers the prose may state: behaviour features, model outputs, the exact prediction and the exact
    floors of the customer's tier and the next one up (``tiers``)."""
    inner = profile["profile"]
    figures: dict[str, float] = {}
    for key in _FEATURE_FIGURES:
        if feats.get(key) is not None:
            figures[key] = float(feats[key])
    for key in _PROFILE_FIGURES:
        if isinstance(inner.get(key), (int, float)) and math.isfinite(inner[key]):
            figures[key] = float(inner[key])
    figures["predicted_value_exact"] = float(profile["predicted_value"])
    for name in tiers:
        if name in thresholds:
            figures[f"floor_{name}"] = float(thresholds[name])
    return figures


def _value_interval(interval, predicted_value: float) -> list[float] | None:
    """The stored 80% interval rounded to cents, when it is two finite numbers around the prediction; else None."""
    if not (
        isinstance(interval, (list, tuple))
        and len(interval) == 2
        and all(isinstance(x, (int, float)) and math.isfinite(x) for x in interval)
    ):
        return None
    rounded = [round(float(x), 2) for x in interval]
    if not rounded[0] <= round(predicted_value, 2) <= rounded[1]:
        return None  # a range that does not hold the prediction would read as a contradiction: not stated
    return rounded
