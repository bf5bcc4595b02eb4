"""GET /v1/tiers and GET /v1/model: the tier policy with its counts, and the model bundle being served."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from service.api.schemas.examples import EXAMPLE_VERSION


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
