"""The DuckDB query behind ``service.features``: point-in-time features and targets of every customer at a cutoff,
and the typed frames it reads.

``QUERY`` is a template (``non_spend``, ``trend``, ``trend2`` and ``recent_events`` are filled in by
``service.features.FeatureBuilder``; ``$cutoff`` and ``$horizon_end`` are query parameters). ``service.features_small``
reproduces it step by step in Python for small inputs, so a change here must be mirrored there (the probe of
``service.features.agrees_with_duckdb`` turns the Python path off when the two differ).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from service.tables import NON_SPEND_STATUSES

QUERY = """
WITH o AS (
    SELECT customer_id, order_id, order_ts, amount, status, n_items, category,
           CASE WHEN lower(status) IN {non_spend} THEN 0 ELSE 1 END AS is_purchase
    FROM orders WHERE order_ts <= $cutoff
),
p AS (  -- purchases with the gap to the previous purchase, in whole microseconds
    SELECT customer_id, order_id, order_ts, amount, n_items, category,
           epoch_us(order_ts)
               - epoch_us(lag(order_ts) OVER (PARTITION BY customer_id ORDER BY order_ts, order_id)) AS gap_us
    FROM o WHERE is_purchase = 1
),
-- Aggregates below give the same bits whatever the row order, the threads or the other customers in the batch
-- (a customer's score must not depend on its batch): money is summed as exact decimals, gaps as exact integers,
-- and "the last one" breaks timestamp ties. A float sum(), avg() or stddev_samp() adds in scan order.
pagg AS (
    SELECT customer_id,
           count(*) AS frequency,
           sum(amount::DECIMAL(38, 9))::DOUBLE AS monetary_total,
           avg(amount::DECIMAL(38, 9)) AS avg_order_value,
           max(amount) AS max_order_value,
           avg(n_items::DECIMAL(38, 9)) AS items_per_order,
           min(order_ts) AS first_purchase,
           max(order_ts) AS last_purchase,
           avg(gap_us) / 86400e6 AS ipi_mean_days,
           sqrt((count(gap_us) * sum(gap_us::HUGEINT * gap_us) - sum(gap_us::HUGEINT) * sum(gap_us::HUGEINT))::DOUBLE
                / nullif(count(gap_us) * (count(gap_us) - 1), 0)) / 86400e6 AS ipi_std_days,
           arg_max(gap_us, (order_ts, order_id)) / 86400e6 AS ipi_last_days,
           count(DISTINCT category) AS n_categories,
           sum(amount::DECIMAL(38, 9)) FILTER (WHERE order_ts > $cutoff - INTERVAL '{trend} days')::DOUBLE
               AS spend_recent,
           count(*) FILTER (WHERE order_ts > $cutoff - INTERVAL '{trend} days') AS orders_recent,
           sum(amount::DECIMAL(38, 9)) FILTER (WHERE order_ts > $cutoff - INTERVAL '{trend2} days'
                                 AND order_ts <= $cutoff - INTERVAL '{trend} days')::DOUBLE AS spend_prior
    FROM p GROUP BY customer_id
),
oagg AS (
    SELECT customer_id, min(order_ts) AS first_order, count(*) AS n_orders_all,
           count(*) FILTER (WHERE is_purchase = 0) AS n_returned
    FROM o GROUP BY customer_id
),
ragg AS (
    SELECT customer_id, count(*) AS review_count, avg(rating::DECIMAL(38, 9)) AS rating_mean, min(rating) AS rating_min,
           arg_max(rating, (review_ts, rating)) AS rating_last,
           (epoch($cutoff) - epoch(max(review_ts))) / 86400.0 AS days_since_last_review
    FROM reviews WHERE review_ts <= $cutoff GROUP BY customer_id
),
eagg AS (
    SELECT customer_id, count(*) AS n_events,
           count(*) FILTER (WHERE event_type = 'view') AS n_views,
           count(*) FILTER (WHERE event_type = 'search') AS n_searches,
           count(*) FILTER (WHERE event_type = 'cart') AS n_carts,
           count(*) FILTER (WHERE event_ts > $cutoff - INTERVAL '{recent_events} days') AS events_recent,
           (epoch($cutoff) - epoch(max(event_ts))) / 86400.0 AS days_since_last_event
    FROM events WHERE event_ts <= $cutoff GROUP BY customer_id
),
fut AS (
    SELECT customer_id, sum(amount::DECIMAL(38, 9))::DOUBLE AS future_value, count(*) AS future_orders
    FROM orders
    WHERE order_ts > $cutoff AND order_ts <= $horizon_end AND lower(status) NOT IN {non_spend}
    GROUP BY customer_id
)
SELECT oagg.customer_id,
       (epoch($cutoff) - epoch(coalesce(pagg.last_purchase, oagg.first_order))) / 86400.0 AS recency_days,
       coalesce(pagg.frequency, 0) AS frequency,
       coalesce(pagg.frequency, 0) * 30.0 / greatest(tenure.days, 30.0) AS orders_per_month,
       coalesce(pagg.orders_recent, 0) AS orders_recent,
       coalesce(pagg.monetary_total, 0) AS monetary_total,
       coalesce(pagg.avg_order_value, 0) AS avg_order_value,
       coalesce(pagg.max_order_value, 0) AS max_order_value,
       pagg.items_per_order,
       tenure.days AS tenure_days,
       (epoch($cutoff) - epoch(pagg.first_purchase)) / 86400.0 AS first_purchase_days,
       pagg.ipi_mean_days, pagg.ipi_std_days, pagg.ipi_last_days,
       -- how long since the last purchase relative to the customer's usual gap (>1: overdue)
       (epoch($cutoff) - epoch(pagg.last_purchase)) / 86400.0 / nullif(pagg.ipi_mean_days, 0) AS overdue_ratio,
       coalesce(pagg.spend_recent, 0) AS spend_recent,
       coalesce(pagg.spend_prior, 0) AS spend_prior,
       (coalesce(pagg.spend_recent, 0) - coalesce(pagg.spend_prior, 0))
           / (coalesce(pagg.spend_recent, 0) + coalesce(pagg.spend_prior, 0) + 1.0) AS spend_trend,
       oagg.n_returned,
       oagg.n_returned * 1.0 / oagg.n_orders_all AS return_rate,
       coalesce(pagg.n_categories, 0) AS n_categories,
       coalesce(ragg.review_count, 0) AS review_count,
       ragg.rating_mean, ragg.rating_min, ragg.rating_last, ragg.days_since_last_review,
       coalesce(eagg.n_events, 0) AS n_events,
       coalesce(eagg.n_views, 0) AS n_views,
       coalesce(eagg.n_searches, 0) AS n_searches,
       coalesce(eagg.n_carts, 0) AS n_carts,
       coalesce(eagg.events_recent, 0) AS events_recent,
       eagg.days_since_last_event,
       coalesce(eagg.n_carts, 0) * 1.0 / greatest(coalesce(pagg.frequency, 0), 1) AS carts_per_order,
       coalesce(fut.future_value, 0) AS future_value,
       coalesce(fut.future_orders, 0) AS future_orders
FROM oagg
LEFT JOIN pagg USING (customer_id)
LEFT JOIN ragg USING (customer_id)
LEFT JOIN eagg USING (customer_id)
LEFT JOIN fut USING (customer_id)
LEFT JOIN customers c USING (customer_id)
CROSS JOIN LATERAL (
    SELECT (epoch($cutoff) - epoch(least(oagg.first_order, coalesce(c.signup_ts, oagg.first_order)))) / 86400.0 AS days
) tenure
ORDER BY oagg.customer_id
"""


def naive_utc(ts):
    """UTC timestamps without zone: DuckDB's zone-aware arithmetic needs the ICU extension, which may not be
    installable offline."""
    if isinstance(ts, pd.Series):
        return ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.tz_convert("UTC").tz_localize(None).to_pydatetime()


def prepare_tables(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Give optional columns a typed default so one query serves every input shape."""
    orders = tables["orders"]
    prepared_orders = pd.DataFrame(
        {
            "customer_id": orders["customer_id"].astype(str),
            "order_id": orders["order_id"].astype(str),
            "order_ts": naive_utc(orders["order_ts"]),
            "amount": orders["amount"].astype("float64"),
            "status": orders["status"].astype(str) if "status" in orders else "completed",
            "n_items": orders["n_items"].astype("float64") if "n_items" in orders else np.nan,
            "category": orders["category"].astype(object) if "category" in orders else None,
        }
    )
    customers = tables.get("customers", pd.DataFrame({"customer_id": pd.Series(dtype=object)}))
    prepared_customers = pd.DataFrame(
        {
            "customer_id": customers["customer_id"].astype(str),
            "signup_ts": (
                naive_utc(customers["signup_ts"])
                if "signup_ts" in customers
                else pd.Series(pd.NaT, index=customers.index, dtype="datetime64[ns]")
            ),
        }
    )
    reviews = tables["reviews"]
    events = tables["events"]
    return {
        "orders": prepared_orders,
        "customers": prepared_customers,
        "reviews": pd.DataFrame(
            {
                "customer_id": reviews["customer_id"].astype(str),
                "review_ts": naive_utc(reviews["review_ts"]),
                "rating": reviews["rating"].astype("float64"),
            }
        ),
        "events": pd.DataFrame(
            {
                "customer_id": events["customer_id"].astype(str),
                "event_ts": naive_utc(events["event_ts"]),
                "event_type": events["event_type"].astype(str),
            }
        ),
    }


def non_spend_sql() -> str:
    """The statuses that are not spend, as the query's SQL list literal."""
    return "(" + ", ".join(f"'{s}'" for s in NON_SPEND_STATUSES) + ")"
