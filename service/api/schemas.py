"""Request and response models of the HTTP API: the contract, rendered into /openapi.json.

Every field carries a description and an example. Models of the application layer that the API
returns as they are (``Explanation``, ``Driver``, ``Evidence``, ``AskAnswer``, ``WhatIf``...) are
reused, not copied; ``ExplanationResponse`` only adds documentation to ``Explanation`` (same fields,
same JSON as ``insight explain ID --json``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.ask import AskAnswer, AskRequest, SimilarCustomer  # noqa: F401  (re-exported for the routers)
from service.explain import CheckResult, Driver, Evidence, Explanation
from service.tables import ID_MAX_CHARS

EXAMPLE_ID = "C000127"
EXAMPLE_VERSION = "2025-12-31-e236ca1b34"


# ----------------------------------------------------------------------------- problems


class FieldError(BaseModel):
    field: str = Field(
        description="The offending field, as a path into the request.", examples=["tables.orders[0].amount"]
    )
    message: str = Field(description="What is wrong with it.", examples=["negative amount"])
    type: str = Field(description="Machine-readable error type.", examples=["value_error"])


class Problem(BaseModel):
    """RFC 9457 problem details; the body of every error (media type application/problem+json)."""

    type: str = Field(description="Problem type (a relative URI).", examples=["/problems/not-found"])
    title: str = Field(description="Short summary of the problem type.", examples=["Customer not found"])
    status: int = Field(description="HTTP status code.", examples=[404])
    detail: str = Field(
        description="What went wrong in this request, in plain words.",
        examples=["customer 'C999999' is not in the profile store"],
    )
    instance: str | None = Field(default=None, description="The request path.", examples=["/v1/customers/C999999"])
    request_id: str | None = Field(
        default=None,
        description="Id of the request in the server log (also the X-Request-ID header).",
        examples=["5f0c2a9e1b7d4c3a"],
    )
    errors: list[FieldError] | None = Field(default=None, description="For 422: every offending field.")


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error codes, all problem+json."""
    desc = {
        400: "Bad request",
        401: "Missing or unknown API key",
        403: "The key's role may not do this",
        404: "Unknown customer",
        409: "Conflict (e.g. reload refused: the old model keeps serving)",
        413: "Request body too large",
        422: "Invalid input; `errors` names each offending field",
        503: "Not ready or busy",
    }
    return {
        c: {"model": Problem, "description": desc.get(c, "Error"), "content": {"application/problem+json": {}}}
        for c in codes
    }


# ----------------------------------------------------------------------------- explanation


class CheckResultDoc(CheckResult):
    passed: bool = Field(description="True when every statement of the narrative matches the facts.", examples=[True])
    reasons: list[str] = Field(
        default_factory=list,
        description="Why the check failed (empty when it passed).",
        examples=[["number 812.00 matches no fact"]],
    )


# Descriptions and examples for Explanation fields that do not carry their own (the model lives in service.explain
# and keeps growing: a new field without documentation fails
# tests/test_api.py::test_openapi_describes_every_field_with_an_example).
_EXPLANATION_DOCS: dict[str, tuple[str, Any]] = {
    "customer_id": ("Customer id.", EXAMPLE_ID),
    "tier": ("Tier: VIP, High, Medium or Low.", "VIP"),
    "predicted_value": ("Expected spend over the horizon, in currency.", 5276.3),
    "narrative": (
        "Plain-language answer to 'why is this customer in this tier', built only from the facts below.",
        "Customer C000127 is in the VIP tier: the model expects $5,276.30 of spend in the next 90 days, "
        "more than 99.9% of scored customers.",
    ),
    "drivers": ("Top drivers (SHAP families), largest absolute contribution first.", None),
    "evidence": ("The customer's own words quoted by the narrative (contact data masked).", None),
    "narrator": ("Which narrator wrote the narrative that is returned.", "template"),
    "check": ("Faithfulness check of the narrative against the facts.", None),
    "fallback": ("True when an LLM narrative failed the check and was replaced by the template.", False),
    "model_version": ("Model bundle version that scored the customer.", EXAMPLE_VERSION),
    "horizon_days": ("Prediction horizon in days.", 90),
    "churn_probability": ("Probability of no purchase over the horizon.", 0.0984),
    "rfm_segment": ("RFM segment (Champions, Loyal, At risk, ...).", "Champions"),
    "prompt_version": (
        "Version of the LLM prompt files behind the narrative; None for the template narrator.",
        "narrator-v1-1a2b3c4d",
    ),
    "next_action": (
        "The LLM narrator's suggested next action for the agent (None for the template narrator or a fallback).",
        "Thank her for the repeat orders and offer early access to the new audio range.",
    ),
}


def _has_ref(prop: dict) -> bool:
    return "$ref" in json.dumps(prop)


def _document(schema: dict, docs: dict[str, tuple[str, Any]]) -> None:
    for name, prop in schema.get("properties", {}).items():
        desc, example = docs.get(name, (None, None))
        if desc and "description" not in prop:
            prop["description"] = desc
        if example is not None and "examples" not in prop and not _has_ref(prop):
            prop["examples"] = [example]


class ExplanationResponse(Explanation):
    """Why the customer is in their tier: the same JSON as `insight explain ID --json` (service.explain.Explanation)."""

    model_config = ConfigDict(json_schema_extra=lambda schema, cls: _document(schema, _EXPLANATION_DOCS))

    check: CheckResultDoc = Field(description="Faithfulness check of the narrative against the facts.")


class AskResponse(AskAnswer):
    """A grounded answer to a CRM agent's question: the prose plus the facts it was built from."""

    explanation: ExplanationResponse | None = Field(
        default=None, description="For why_tier: the full explanation (same as the explanation endpoint)."
    )
    check: CheckResultDoc = Field(
        description="Whether every number in the answer appears in the facts returned with it."
    )


# ----------------------------------------------------------------------------- profiles


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
        description="80% interval [low, high] around the predicted value, when stored.",
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


# ----------------------------------------------------------------------------- cold-start scoring

# Rows of the input tables as the server requires them: the contract's required columns (required here too), their
# types, and any further columns as plain scalars. Values are then checked by the batch rules (service.tables), so
# ranges (amounts up to 1e9, dates 1970-2100 by default), ISO 8601 dates and id characters are the same for files and
# API.
Scalar = str | int | float | bool | None
_NUMERIC_TEXT = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"
Id = Annotated[
    str,
    Field(
        strict=True,
        max_length=ID_MAX_CHARS,
        description=f"Identifier: at most {ID_MAX_CHARS} characters, no control characters.",
    ),
]
Timestamp = Annotated[
    str,
    Field(
        strict=True,
        description="ISO 8601 date or timestamp, e.g. 2025-12-20 or 2025-12-20T10:00:00Z (no zone: UTC).",
        examples=["2025-12-20T10:00:00Z"],
    ),
]
Number = Annotated[float, Field(strict=True)] | Annotated[str, Field(strict=True, pattern=_NUMERIC_TEXT)]
Integer = Annotated[int, Field(strict=True)] | Annotated[str, Field(strict=True, pattern=_NUMERIC_TEXT)]
Text = Annotated[str, Field(strict=True, description="Free text (lone surrogates and control characters are cleaned).")]


class _Row(BaseModel):
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Scalar] = Field(init=False)


class CustomerRow(_Row):
    """A row of the customers table; further columns (country, ...) are kept as they are."""

    customer_id: Id = Field(examples=["NEW001"])
    signup_ts: Timestamp | None = Field(
        default=None, description="Sign-up date, ISO 8601 (optional).", examples=["2025-06-01T09:00:00Z"]
    )


class OrderRow(_Row):
    """A row of the orders table."""

    order_id: Id = Field(examples=["N0001"])
    customer_id: Id = Field(examples=["NEW001"])
    order_ts: Timestamp
    amount: Number = Field(
        description="Order amount in the store's currency, 0 to the configured maximum (default 1e9); "
        "a number or decimal text.",
        examples=[129.9],
    )
    status: str | None = Field(
        default=None,
        strict=True,
        description="returned, canceled, cancelled and refunded do not count as spend.",
        examples=["completed"],
    )
    n_items: Integer | None = Field(
        default=None, description="Items in the order (0 to the configured maximum, default 1e6).", examples=[2]
    )
    category: str | None = Field(default=None, strict=True, description="Product category.", examples=["electronics"])


class ReviewRow(_Row):
    """A row of the reviews table."""

    review_id: Id = Field(examples=["NR01"])
    customer_id: Id = Field(examples=["NEW001"])
    review_ts: Timestamp
    rating: Integer = Field(description="Rating 1-5 (an integer, or its text).", examples=[5])
    text: Text = Field(examples=["Great headphones, fast delivery."])
    order_id: str | None = Field(default=None, strict=True, description="The order reviewed.", examples=["N0001"])


class EventRow(_Row):
    """A row of the events table (browsing)."""

    customer_id: Id = Field(examples=["NEW001"])
    event_ts: Timestamp
    event_type: str = Field(strict=True, description="view, search, cart, ...", examples=["search"])
    text: Text = Field(examples=["noise cancelling headphones"])
    product_id: str | None = Field(default=None, strict=True, description="Product viewed.", examples=["P123"])


_ORDER_EXAMPLE = {
    "order_id": "N0001",
    "customer_id": "NEW001",
    "order_ts": "2025-12-20T10:00:00Z",
    "amount": 129.9,
    "status": "completed",
    "n_items": 2,
    "category": "electronics",
}


class ScoreTables(BaseModel):
    """Raw rows of the input tables (DESIGN.md contract), validated by the batch path's own rules."""

    model_config = ConfigDict(extra="forbid")

    customers: list[CustomerRow] | None = Field(
        default=None,
        description="Rows of the customers table (customer_id, optional signup_ts, country...).",
        examples=[[{"customer_id": "NEW001", "signup_ts": "2025-06-01T09:00:00Z", "country": "DE"}]],
    )
    orders: list[OrderRow] = Field(
        min_length=1,
        description="Rows of the orders table (order_id, customer_id, order_ts, amount; "
        "optional status, n_items, category).",
        examples=[[_ORDER_EXAMPLE]],
    )
    reviews: list[ReviewRow] | None = Field(
        default=None,
        description="Rows of the reviews table (review_id, customer_id, review_ts, rating 1-5, text).",
        examples=[
            [
                {
                    "review_id": "NR01",
                    "customer_id": "NEW001",
                    "review_ts": "2025-12-22T08:00:00Z",
                    "rating": 5,
                    "text": "Great headphones, fast delivery.",
                }
            ]
        ],
    )
    events: list[EventRow] | None = Field(
        default=None,
        description="Rows of the events table (customer_id, event_ts, event_type, text).",
        examples=[
            [
                {
                    "customer_id": "NEW001",
                    "event_ts": "2025-12-19T20:00:00Z",
                    "event_type": "search",
                    "text": "noise cancelling headphones",
                }
            ]
        ],
    )


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tables: ScoreTables = Field(
        description="The rows to score: all rows of new customers, or the new activity of known ones."
    )
    write: bool = Field(
        default=False,
        strict=True,
        description="Also write the profiles to the store (admin keys only); true or false, nothing else.",
        examples=[False],
    )
    cutoff: str | None = Field(
        default=None,
        description="Score as of this date (ISO 8601); default: the store's cutoff or the latest timestamp sent, "
        "whichever is later.",
        examples=["2025-12-31"],
    )
    similar_k: int = Field(
        default=5,
        ge=0,
        le=20,
        strict=True,
        description="Also return this many similar scored customers per profile (0: none).",
        examples=[5],
    )


class ScoredProfile(CustomerProfile):
    known: bool = Field(
        description="True when the customer was already in the store (their stored history was merged when available).",
        examples=[False],
    )
    history_merged: bool = Field(
        description="True when the customer's batch history was merged with the rows sent.", examples=[False]
    )
    similar: list[SimilarCustomer] = Field(
        default_factory=list, description="Nearest scored customers (similar_k of them)."
    )


class ScoreResponse(BaseModel):
    profiles: list[ScoredProfile] = Field(description="One profile per customer with an order at or before the cutoff.")
    cutoff: str = Field(
        description="Cutoff the features were computed at (ISO 8601).", examples=["2025-12-31T22:08:00+00:00"]
    )
    written: bool = Field(description="True when the profiles were written to the store.", examples=[False])
    rows: dict[str, int] = Field(description="Rows received per table.", examples=[{"orders": 3, "reviews": 1}])
    model_version: str = Field(description="Model bundle version that scored them.", examples=[EXAMPLE_VERSION])
    seconds: float = Field(description="Time spent scoring, server side.", examples=[0.42])


# ----------------------------------------------------------------------------- tiers, model, health, admin


class TierInfo(BaseModel):
    tier: str = Field(description="Tier name.", examples=["VIP"])
    min_predicted_value: float | None = Field(
        description="Threshold: lowest predicted value of the tier (None for Low).", examples=[153.02]
    )
    share: float | None = Field(
        description="Configured share of scored customers (None when tiers are absolute amounts).", examples=[0.05]
    )
    customers: int = Field(description="Customers of the tier in the store.", examples=[95])
    mean_predicted_value: float | None = Field(
        description="Mean predicted value of the tier's customers.", examples=[878.88]
    )
    mean_churn_probability: float | None = Field(
        description="Mean churn probability of the tier's customers.", examples=[0.152]
    )


class TiersResponse(BaseModel):
    tiers: list[TierInfo] = Field(description="Tiers from the top down.")
    policy: Literal["shares", "amounts"] = Field(
        description="How thresholds were set: shares of customers or absolute amounts.", examples=["shares"]
    )
    horizon_days: int = Field(description="Prediction horizon in days.", examples=[90])
    currency: str = Field(description="Currency symbol.", examples=["$"])
    customers: int = Field(description="Scored customers in the store.", examples=[1896])
    model_version: str = Field(description="Model bundle version.", examples=[EXAMPLE_VERSION])


class ModelInfo(BaseModel):
    model_version: str = Field(description="Model bundle version.", examples=[EXAMPLE_VERSION])
    created_at: str = Field(description="When the bundle was written.", examples=["2026-01-01T05:00:00+00:00"])
    horizon_days: int = Field(description="Prediction horizon in days.", examples=[90])
    cutoff: str = Field(description="Training data cutoff.", examples=["2025-12-31T22:08:00+00:00"])
    value_objective: str | None = Field(
        description="Objective of the value model: Tweedie with the variance power chosen on the latest training "
        "snapshot (tweedie:<power>).",
        examples=["tweedie:1.2"],
    )
    features: int = Field(description="Number of model features.", examples=[67])
    text_sources: list[str] = Field(
        description="Text sources embedded (review, browse).", examples=[["review", "browse"]]
    )
    embedding_model: str | None = Field(description="Embedding model identity.", examples=["all-MiniLM-L6-v2:1a2b3c"])
    metrics: dict[str, Any] = Field(
        description="Validation metrics on the later snapshot (normalized Gini, Spearman, ROC-AUC...).",
        examples=[{"value": {"normalized_gini": 0.71}, "churn": {"roc_auc": 0.84}}],
    )
    data_fingerprint: str = Field(description="Hash of the training input files.", examples=["9c1e0b5d7a3f2e11"])
    versions: dict[str, str] = Field(
        description="Library versions that wrote the bundle.", examples=[{"xgboost": "3.0.2"}]
    )
    store_scored_at: str | None = Field(
        description="When the store was scored.", examples=["2026-01-02T06:00:00+00:00"]
    )
    store_cutoff: str | None = Field(
        description="Cutoff of the stored profiles.", examples=["2025-12-31T22:08:00+00:00"]
    )
    index: Literal["flat", "hnsw"] = Field(
        description="Similar-customer index served: flat (exact) or hnsw (approximate).", examples=["flat"]
    )
    index_size: int = Field(description="Customers in the similar-customer index.", examples=[1896])
    loaded_at: str = Field(description="When this snapshot started serving.", examples=["2026-01-02T06:05:00+00:00"])


class Health(BaseModel):
    status: Literal["ok"] = Field(description="Always ok when the process answers.", examples=["ok"])


class Readiness(BaseModel):
    status: Literal["ready"] = Field(
        description="ready when a model and store are loaded and serving.", examples=["ready"]
    )
    model_version: str = Field(description="Model bundle being served.", examples=[EXAMPLE_VERSION])
    customers: int = Field(description="Customers in the served store snapshot.", examples=[1896])
    loaded_at: str = Field(description="When the snapshot started serving.", examples=["2026-01-02T06:05:00+00:00"])


class ReloadResponse(BaseModel):
    model_version: str = Field(description="Model now serving.", examples=[EXAMPLE_VERSION])
    previous_model_version: str | None = Field(
        description="Model served before the reload.", examples=["2025-12-01-0a1b2c3d4e"]
    )
    customers: int = Field(description="Customers in the new store snapshot.", examples=[1896])
    loaded_at: str = Field(description="When the new snapshot started serving.", examples=["2026-01-02T06:05:00+00:00"])
    seconds: float = Field(description="Time to load and check the new snapshot.", examples=[0.8])
    snapshot: int = Field(description="Sequence number of the snapshot now serving.", examples=[2])
    workers: int = Field(
        1, description="Worker processes now serving this model version (INSIGHT_API_WORKERS).", examples=[2]
    )
    workers_total: int = Field(1, description="Worker processes of the service.", examples=[2])
