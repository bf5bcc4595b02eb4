"""Point-in-time features against hand-computed values, cutoff parsing, and the store's all-or-nothing write."""

import pandas as pd
import pytest

from service.features import FeatureBuilder
from service.pipeline import parse_cutoff
from service.store import ProfileStore, StoreError
from service.tables import validate_tables


@pytest.fixture()
def snap():
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
            "customer_id": ["a", "a", "a", "b", "b", "a"],
            "order_ts": ["2025-01-01", "2025-01-11", "2025-03-02", "2025-02-01", "2025-02-15", "2025-04-15"],
            "amount": ["10", "30", "20", "100", "50", "70"],
            "status": ["completed", "completed", "completed", "completed", "returned", "completed"],
        }
    )
    reviews = pd.DataFrame(
        {
            "review_id": ["r1", "r2"],
            "customer_id": ["a", "a"],
            "review_ts": ["2025-01-15", "2025-03-05"],
            "rating": ["4", "2"],
            "text": ["ok", "late delivery"],
        }
    )
    events = pd.DataFrame(
        {
            "customer_id": ["b", "b", "b"],
            "event_ts": ["2025-03-01", "2025-03-10", "2025-04-01"],
            "event_type": ["view", "cart", "view"],
            "text": ["x", "y", "z"],
        }
    )
    loaded = validate_tables({"orders": orders, "reviews": reviews, "events": events})
    s = FeatureBuilder(loaded.tables).snapshot(pd.Timestamp("2025-03-31T00:00:00Z"), 30)
    return s.set_index("customer_id")


def test_hand_computed_features(snap):
    a, b = snap.loc["a"], snap.loc["b"]
    assert (
        a["frequency"] == 3 and a["monetary_total"] == 60 and a["avg_order_value"] == 20 and a["max_order_value"] == 30
    )
    assert a["recency_days"] == 29 and a["tenure_days"] == 89
    assert a["ipi_mean_days"] == 30 and a["ipi_last_days"] == 50  # gaps 10 and 50 days
    assert a["spend_recent"] == 60 and a["spend_prior"] == 0  # all three fall in the last 90 days (since 2024-12-31)
    assert a["review_count"] == 2 and a["rating_mean"] == 3 and a["rating_min"] == 2 and a["rating_last"] == 2
    assert b["frequency"] == 1 and b["n_returned"] == 1 and b["return_rate"] == 0.5
    assert b["n_events"] == 2 and b["n_views"] == 1 and b["n_carts"] == 1  # the April event is after the cutoff
    assert b["days_since_last_event"] == 21


def test_targets_look_only_at_the_horizon(snap):
    assert snap.loc["a", "future_value"] == 70 and snap.loc["a", "churn"] == 0  # o6 on 2025-04-15, within 30 days
    assert snap.loc["b", "future_value"] == 0 and snap.loc["b", "churn"] == 1


def test_date_cutoff_means_end_of_day():
    default = pd.Timestamp("2025-01-01T00:00:00Z")
    assert parse_cutoff("2025-03-31", default) == pd.Timestamp("2025-03-31T23:59:59.999999Z")
    assert parse_cutoff("2025-03-31T12:00:00Z", default) == pd.Timestamp("2025-03-31T12:00:00Z")
    assert parse_cutoff(None, default) == default
    with pytest.raises(ValueError, match="not an ISO 8601"):
        parse_cutoff("31/03/2025x", default)


def _row(cid, **kw):
    return {
        "customer_id": cid,
        "tier": "VIP",
        "predicted_value": 1.0,
        "churn_probability": 0.1,
        "rfm_segment": "Lost",
        "value_rank_pct": 50.0,
        "profile": {"drivers": []},
        "model_version": "v1",
        "scored_at": "now",
        **kw,
    }


def test_failed_replace_keeps_previous_profiles(tmp_path):
    store = ProfileStore(tmp_path / "s.db", create=True)
    store.replace_all([_row("a"), _row("b")], {"model_version": "v1"})
    with pytest.raises(Exception):
        store.replace_all([_row("c"), _row("d", tier=None)], {"model_version": "v2"})  # NOT NULL violation mid-write
    assert store.count() == 2 and store.get("a") is not None and store.get("c") is None
    assert store.meta()["model_version"] == "v1"


def test_replace_from_row_batches_is_one_transaction(tmp_path):
    """Batches (e.g. Dask partitions) stream into one transaction: a failure mid-stream, or in before_commit, replaces
    nothing."""
    store = ProfileStore(tmp_path / "s.db", create=True)
    store.replace_all([_row("a"), _row("b")], {"model_version": "v1"})

    def failing_batches():
        yield [_row("c"), _row("d")]
        raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError, match="worker lost"):
        store.replace_all(failing_batches(), {"model_version": "v2"})
    assert store.count() == 2 and store.get("a") is not None and store.get("c") is None
    assert store.meta()["model_version"] == "v1"

    def boom():
        raise OSError("index write failed")

    with pytest.raises(OSError, match="index write failed"):
        store.replace_all(iter([[_row("e")]]), {"model_version": "v3"}, before_commit=boom)
    assert store.count() == 2 and store.meta()["model_version"] == "v1"

    called = []
    store.replace_all(
        iter([[_row("e"), _row("f")], [], [_row("g")]]), {"model_version": "v4"}, before_commit=lambda: called.append(1)
    )
    assert store.count() == 3 and store.get("a") is None and store.get("g") is not None
    assert store.meta()["model_version"] == "v4" and called == [1]
    store.replace_all([], {"model_version": "v5"})  # an empty list is one (empty) batch, not an iterable of batches
    assert store.count() == 0


def test_store_json_keeps_numbers_exactly_and_writes_nan_as_null(tmp_path):
    """The store's JSON text (orjson): floats round-trip bit for bit, numpy scalars and int keys are written,
    NaN and infinities become null (not JSON; PostgreSQL refuses them) in profiles and metadata alike."""
    import numpy as np

    store = ProfileStore(tmp_path / "s.db", create=True)
    profile = {
        "drivers": [{"feature": "frequency", "impact": np.float64(0.1 + 0.2), "n": np.int64(3)}],
        "features": {"a": float("nan"), "b": float("inf"), "c": 1e-7},
        "by_year": {2024: 1.5},
    }
    store.replace_all([_row("a", profile=profile)], {"model_version": "v1", "gini": float("nan")})
    got = store.get("a")["profile"]
    assert got["drivers"] == [{"feature": "frequency", "impact": 0.1 + 0.2, "n": 3}]
    assert got["features"] == {"a": None, "b": None, "c": 1e-7}
    assert got["by_year"] == {"2024": 1.5}
    assert store.meta()["gini"] is None


def test_store_errors(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        ProfileStore(tmp_path / "missing.db")
    empty = ProfileStore(tmp_path / "empty.db", create=True)
    with pytest.raises(StoreError, match="no scored profiles"):
        empty.meta()
    (tmp_path / "junk.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StoreError):
        ProfileStore(tmp_path / "junk.db").meta()
