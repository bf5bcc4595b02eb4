"""What a scored customer's stored row must say the same way on every scoring path (a batch, a customer alone, a
Dask partition, POST /v1/score): shared by tests/test_batch_independence.py and tests/test_cold_start.py.

value_rank_pct is a rank among the customers scored together, by design (the store recomputes it over everyone), so
it is left out.
"""

from __future__ import annotations

import json

FIELDS = ("predicted_value", "churn_probability", "tier", "rfm_segment")
PROFILE_FIELDS = (
    "drivers",
    "evidence",
    "features",
    "model_input",
    "rfm",
    "cutoff",
    "activity",
    # per-customer outlook, where the bundle provides it
    "historic_value",
    "expected_orders",
    "avg_days_between_orders",
    "next_order_date",
    "value_interval",
)


def stored_facts(row: dict) -> dict:
    """``FIELDS`` and ``PROFILE_FIELDS`` of a profile row, as stored (JSON; floats round-trip exactly)."""
    out = {k: row[k] for k in FIELDS}
    out.update({k: row["profile"][k] for k in PROFILE_FIELDS if k in row["profile"]})
    return json.loads(json.dumps(out))


def store_facts(store) -> dict[str, dict]:
    """``stored_facts`` of every row of the profile store ``store``, by customer id."""
    import pandas as pd

    from service.store import ProfileStore

    ps = ProfileStore(store)
    try:
        with ps.engine.connect() as con:
            df = pd.read_sql("SELECT * FROM profiles ORDER BY customer_id", con)
    finally:
        ps.close()
    return {r["customer_id"]: stored_facts({**r, "profile": json.loads(r["profile"])}) for r in df.to_dict("records")}
