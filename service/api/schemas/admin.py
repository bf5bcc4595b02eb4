"""The operations endpoints: liveness and readiness (routers.health) and the result of a reload (routers.admin)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from service.api.schemas.examples import EXAMPLE_VERSION


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
