"""A scored customer as the API returns it: the profile, a row of a customer search, a page of them, and the
similar customers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from service.api.schemas.examples import EXAMPLE_ID, EXAMPLE_VERSION
from service.ask import SimilarCustomer
from service.explain import Driver, Evidence


class RFMScores(BaseModel):
    r: int = Field(description="Recency quintile score, 1-5 (5 = most recent).", examples=[5])
    f: int = Field(description="Frequency quintile score, 1-5.", examples=[5])
    m: int = Field(description="Monetary quintile score, 1-5.", examples=[5])


class CustomerProfile(BaseModel):
    """A scored customer: predictions, tier, segment, drivers and the facts behind them."""

    customer_id: str = Field(description="Customer id.", examples=[EXAMPLE_ID])
    tier: str = Field(description="Value tier: VIP, High, Medium or Low.", examples=["VIP"])
    predicted_value: float = Field(description="Expected spend over the horizon, in currency.", examples=[5276.3])
    churn_probability: float = Field(description="Probability of no purchase over the horizon.", examples=[0.0984])
    value_rank_pct: float = Field(
        description="Share of scored customers with a lower predicted value, in percent.", examples=[99.9]
    )
    rfm_segment: str = Field(description="RFM segment.", examples=["Champions"])
    rfm: RFMScores | None = Field(default=None, description="RFM quintile scores.")
    horizon_days: int = Field(description="Prediction horizon in days.", examples=[90])
    currency: str = Field(description="Currency symbol of the money fields.", examples=["$"])
    cutoff: str | None = Field(
        default=None, description="Data cutoff of the features (ISO 8601).", examples=["2025-12-31T22:08:00+00:00"]
    )
    drivers: list[Driver] = Field(
        description="Top drivers (SHAP families in currency), largest absolute contribution first."
    )
    evidence: list[Evidence] = Field(
        description="Texts the customer wrote or browsed, verbatim with contact data masked."
    )
    features: dict[str, float | None] = Field(
        description="Behaviour features at the cutoff (raw values).",
        examples=[{"recency_days": 1.98, "frequency": 60.0, "monetary_total": 15410.78}],
    )
    model_version: str = Field(description="Model bundle version that scored the customer.", examples=[EXAMPLE_VERSION])
    scored_at: str = Field(
        description="When the profile was scored (ISO 8601, UTC).", examples=["2026-01-02T06:00:00+00:00"]
    )
    churn_band: str | None = Field(
        default=None, description="Churn risk as low / medium / high (bands from the playbook file).", examples=["low"]
    )
    historic_value: float | None = Field(
        default=None,
        description="Net spend to date (purchases without returns and cancellations), when stored.",
        examples=[15410.78],
    )
    expected_orders: float | None = Field(
        default=None, description="Orders the model expects over the horizon, when stored.", examples=[4.2]
    )
    avg_days_between_orders: float | None = Field(
        default=None, description="Average days between the customer's orders, when stored.", examples=[12.5]
    )
    next_order_date: str | None = Field(
        default=None, description="Expected date of the next order (ISO date), when stored.", examples=["2026-01-09"]
    )
    value_interval: list[float] | None = Field(
        default=None,
        description="80% interval [low, high] of the customer's spend over the horizon, when stored. The predicted "
        "value is a mean over outcomes that include buying nothing, so for a customer unlikely to buy it can lie above "
        "the interval's upper end (most outcomes are near zero, a few are large); the console and the explanations "
        "then leave the interval out.",
        examples=[[3900.0, 6800.0]],
    )


class CustomerSummary(BaseModel):
    """One row of a customer search."""

    customer_id: str = Field(description="Customer id.", examples=[EXAMPLE_ID])
    tier: str = Field(description="Value tier.", examples=["VIP"])
    predicted_value: float = Field(description="Expected spend over the horizon, in currency.", examples=[5276.3])
    churn_probability: float = Field(description="Probability of no purchase over the horizon.", examples=[0.0984])
    churn_band: str = Field(
        description="Churn risk as low / medium / high (bands from the playbook file).", examples=["low"]
    )
    rfm_segment: str = Field(description="RFM segment.", examples=["Champions"])
    value_rank_pct: float = Field(
        description="Share of scored customers with a lower predicted value, in percent.", examples=[99.9]
    )


class CustomerList(BaseModel):
    """A page of customers matching a search, and how many match in all."""

    items: list[CustomerSummary] = Field(description="The customers of this page.")
    total: int = Field(description="Customers matching the search.", examples=[95])
    page: int = Field(description="This page (1-based).", examples=[1])
    page_size: int = Field(description="Customers per page.", examples=[25])
    pages: int = Field(description="Pages in all.", examples=[4])
    sort: Literal["value", "churn", "id"] = Field(description="Sort key.", examples=["value"])
    order: Literal["asc", "desc"] = Field(description="Sort order.", examples=["desc"])
    unscored_matches: list[str] = Field(
        default_factory=list,
        description="Known customers whose id matches the prefix but who have no "
        "orders yet, so were not scored (only without tier, segment and churn filters; at most 10).",
        examples=[["C002981"]],
    )


class SimilarResponse(BaseModel):
    customer_id: str = Field(description="The customer whose neighbours these are.", examples=[EXAMPLE_ID])
    k: int = Field(description="Neighbours asked for.", examples=[10])
    index: Literal["flat", "hnsw"] = Field(
        description="Index searched: flat = exact, hnsw = approximate.", examples=["flat"]
    )
    similar: list[SimilarCustomer] = Field(
        description="Nearest customers, most similar first (the customer itself excluded)."
    )
