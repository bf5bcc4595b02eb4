"""Prometheus metrics of one app instance (own registry, so several apps in one process do not collide)."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,  # noqa: F401  (re-exported)
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self):
        self.registry = r = CollectorRegistry()
        self.requests = Counter(
            "insight_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "insight_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("insight_http_requests_in_flight", "Requests being served.", registry=r)
        self.auth_failures = Counter(
            "insight_auth_failures_total",
            "Refused requests by reason (missing, unknown, forbidden).",
            ["reason"],
            registry=r,
        )
        self.reloads = Counter(
            "insight_reloads_total", "Model/store reloads by result (ok, refused).", ["result"], registry=r
        )
        self.ask = Counter("insight_ask_total", "POST /v1/ask questions by routed intent.", ["intent"], registry=r)
        self.scored = Counter(
            "insight_cold_start_customers_total",
            "Customers scored by POST /v1/score, by whether they were written.",
            ["written"],
            registry=r,
        )
        self.customers = Gauge("insight_store_customers", "Customers in the served store snapshot.", registry=r)
        self.model = Gauge("insight_model_info", "The model version served (value 1).", ["model_version"], registry=r)
        self.snapshot_loaded = Gauge(
            "insight_snapshot_loaded_timestamp_seconds", "When the served snapshot was loaded (Unix time).", registry=r
        )

    def serving(self, model_version: str, customers: int, loaded_ts: float) -> None:
        self.model.clear()
        self.model.labels(model_version).set(1)
        self.customers.set(customers)
        self.snapshot_loaded.set(loaded_ts)

    def render(self) -> bytes:
        return generate_latest(self.registry)
