"""A batch of customers scored: predictions, SHAP drivers, evidence and the profile rows the store keeps.

Every number is computed per customer, so a customer scores the same alone, in any batch, in any Dask partition and
through POST /v1/score (tests/test_batch_independence.py); only ``value_rank_pct`` depends on the population.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from service.activity import customer_activity
from service.btyd import ClassicFeatures
from service.bundle import ModelBundle
from service.design import design_matrix, driver_inputs
from service.drivers import FamilyGrouper, driver_records, scaled_contributions
from service.evidence import evidence_quotes
from service.features import TABULAR_FEATURES, FeatureBuilder
from service.runs import (
    Reporter,
    bundle_backend,
    encoder_backend,
    make_encoder,
    text_embeddings,
)
from service.similarity import CustomerVectorizer
from service.tables import DataError, LoadedData
from service.text_features import TextEmbeddings


def value_rank_pct(value: np.ndarray) -> np.ndarray:
    """Share of scored customers with a strictly lower prediction, floored to 0.1 so the top one never reads "100%".

    It depends on the whole scored population, so a partitioned run computes it once over all customers.
    """
    return np.floor((pd.Series(value).rank(method="min").to_numpy() - 1) / len(value) * 1000) / 10


def with_population_ranks(frame: pd.DataFrame, batches: Iterable[list[dict]]) -> Iterator[list[dict]]:
    """Rank ``frame`` (every scored customer) now, and patch those ranks into row batches that arrive in frame order.

    A run scored in parts (customer ranges, Dask partitions) made each part's rows with ranks among that part only.
    """
    frame["value_rank_pct"] = value_rank_pct(frame["predicted_value"].to_numpy())
    ranks = frame["value_rank_pct"].astype(np.float64).tolist()

    def patched() -> Iterator[list[dict]]:
        start = 0
        for rows in batches:
            for row, pct in zip(rows, ranks[start : start + len(rows)]):
                row["value_rank_pct"] = pct
            start += len(rows)
            yield rows

    return patched()


def _records(df: pd.DataFrame) -> list[dict]:
    """``df.astype(object).where(df.notna(), None).to_dict("records")`` column-wise: one ``tolist`` per column, no
    pandas per row. The float64 columns are read as one block: per-column pandas access cost ~5 ms for one customer's
    ~800 model-input columns (POST /v1/score)."""
    floats = [c for c, t in df.dtypes.items() if t == np.float64]
    block = df[floats].to_numpy(np.float64) if floats else np.zeros((len(df), 0))
    where = {c: j for j, c in enumerate(floats)}  # other dtypes are read column by column
    block_missing = np.isnan(block)
    cols = []
    for c in df.columns:
        j = where.get(c)
        if j is not None:
            vals, missing = block[:, j].tolist(), block_missing[:, j]
        else:
            vals, missing = df[c].to_numpy().tolist(), df[c].isna().to_numpy()
        if missing.any():
            vals = [None if m else x for x, m in zip(vals, missing.tolist())]
        cols.append(vals)
    names = list(df.columns)
    return [dict(zip(names, row)) for row in zip(*cols)] if cols else [{} for _ in range(len(df))]


def _outlook_records(outlook: pd.DataFrame) -> list[dict]:
    """Profile fields from ``customer_outlook``: money rounded to cents, counts to 0.01, the interval as [low, high]."""
    o = outlook
    cols = {
        "historic_value": o["historic_value"].round(2),
        "expected_orders": o["expected_orders"].round(2),
        "avg_days_between_orders": o["avg_days_between_orders"].round(1),
        "next_order_date": o["next_order_date"],
        "value_low": o["value_low"].round(2),
        "value_high": o["value_high"].round(2),
    }
    recs = _records(pd.DataFrame(cols))
    for r in recs:
        low, high = r.pop("value_low"), r.pop("value_high")
        r["value_interval"] = [low, high] if low is not None and high is not None else None
    return recs


@dataclass
class Scored:
    """One scoring pass up to the predictions: the snapshot, the model input and what the models say."""

    snapshot: pd.DataFrame
    X: pd.DataFrame
    pooled: dict
    emb: TextEmbeddings | None
    value: np.ndarray
    churn: np.ndarray
    outlook: pd.DataFrame


def predict(
    bundle: ModelBundle,
    loaded: LoadedData,
    cutoff: pd.Timestamp,
    encoder=None,
    reporter: Reporter | None = None,
    threads: int = 2,
) -> Scored:
    reporter = reporter or Reporter()
    with reporter.step("features"):
        fb = FeatureBuilder(loaded.tables, threads=threads)
        snap = fb.snapshot(cutoff, bundle.config["horizon_days"])
        fb.close()
    if len(snap) == 0:
        raise DataError(f"no customer has an order at or before the cutoff {cutoff.isoformat()}")
    sources = tuple(bundle.text.sources)
    emb = None
    if sources:
        encoder = encoder or make_encoder(bundle.config.get("embedding_model_arg"), None, bundle_backend(bundle))
        if encoder.model_id != bundle.config.get("embedding_model"):
            raise DataError(
                f"the bundle was trained with embedding model {bundle.config.get('embedding_model')} "
                f"(backend {bundle_backend(bundle)}), but {encoder.model_id} "
                f"(backend {encoder_backend(encoder)}) is configured; "
                "set INSIGHT_EMBEDDING_MODEL to the training model"
            )
        with reporter.step("embeddings"):
            emb = text_embeddings(loaded, sources, encoder, bundle.config["half_life_days"], reporter)
    classic = bundle_classic(bundle)
    with reporter.step("pool texts + design matrix"):
        X, pooled = design_matrix(snap, bundle.text, emb, cutoff, classic)
        X = X[bundle.feature_names]
    with reporter.step("predict (in place)"):
        value = bundle.value_model.predict(X)
        churn = bundle.churn_model.predict_proba(X)
        extra = customer_outlook(bundle, classic, snap, X, value, cutoff, churn)
    return Scored(snap, X, pooled, emb, value, churn, extra)


def bundle_classic(bundle: ModelBundle) -> ClassicFeatures:
    """The BG/NBD and Gamma-Gamma fitted at the bundle's cutoff (bundles without one: a do-nothing model)."""
    spec = bundle.config.get("classic")
    return ClassicFeatures.from_dict(spec) if spec else ClassicFeatures(bundle.config["horizon_days"])


def customer_outlook(
    bundle: ModelBundle,
    classic: ClassicFeatures,
    snap: pd.DataFrame,
    X: pd.DataFrame,
    value: np.ndarray,
    cutoff: pd.Timestamp,
    churn: np.ndarray | None = None,
) -> pd.DataFrame:
    """The per-customer fields a CRM shows beside value and churn, all computed per customer (batch-independent).

    historic_value: net spend to date (purchases, without returns and cancellations);
    expected_orders: BG/NBD orders over the horizon, levelled on the latest training snapshot;
    avg_days_between_orders: mean gap between purchases (empty below two purchases);
    next_order_date: BG/NBD's median date of the next order, given one falls inside the horizon;
    value_low / value_high: the 80% interval of the predicted value (in cells of churn risk when ``churn`` is given).
    """
    H = int(bundle.config["horizon_days"])
    tab = snap.reset_index(drop=True)
    low, high = bundle.value_model.interval(value, X, churn)
    days = classic.next_order_days(tab, H)
    next_date = (pd.Timestamp(cutoff).normalize() + pd.to_timedelta(np.round(days), unit="D")).strftime("%Y-%m-%d")
    return pd.DataFrame(
        {
            "historic_value": tab["monetary_total"].to_numpy(float),
            "expected_orders": classic.orders(tab, H) * float(bundle.config.get("orders_scale", 1.0)),
            "avg_days_between_orders": tab["ipi_mean_days"].to_numpy(float),
            "next_order_days": days,
            "next_order_date": np.asarray(next_date, dtype=object),
            "value_low": low,
            "value_high": high,
        }
    )


def predict_tables(
    bundle: ModelBundle,
    loaded: LoadedData,
    cutoff: pd.Timestamp,
    encoder=None,
    reporter: Reporter | None = None,
    threads: int = 2,
) -> pd.DataFrame:
    """Predictions only (no SHAP, evidence or profile rows) for every customer with an order at or before ``cutoff``.

    The evaluation harness calls this; the numbers are exactly those ``score_tables`` stores.
    Columns: customer_id, predicted_value, churn_probability, future_value, churn (these two are the
    outcomes when the tables reach past the cutoff, else 0 / 1), then ``customer_outlook``'s columns.
    """
    s = predict(bundle, loaded, cutoff, encoder, reporter, threads)
    out = pd.DataFrame(
        {
            "customer_id": s.snapshot["customer_id"].to_numpy(),
            "predicted_value": s.value,
            "churn_probability": s.churn,
            "future_value": s.snapshot["future_value"].to_numpy(),
            "churn": s.snapshot["churn"].to_numpy(),
        }
    )
    return pd.concat([out, s.outlook], axis=1)


def summary_frame(bundle: ModelBundle, s: Scored) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The store's per-customer columns (tier, value, churn, RFM segment, rank among this batch) and the RFM scores."""
    snap = s.snapshot.reset_index(drop=True)
    rfm = bundle.rfm.transform(snap)
    frame = pd.DataFrame(
        {
            "customer_id": snap["customer_id"].to_numpy(),
            "tier": bundle.tiers.assign(s.value),
            "predicted_value": s.value,
            "churn_probability": s.churn,
            "rfm_segment": rfm["rfm_segment"].to_numpy(),
            "value_rank_pct": value_rank_pct(s.value),
            "future_value": snap["future_value"].to_numpy(),
            "churn": snap["churn"].to_numpy(),
        }
    )
    return frame, rfm


def similarity_vectors(bundle: ModelBundle, s: Scored) -> np.ndarray:
    return CustomerVectorizer.from_dict(bundle.config["vectorizer"]).transform(s.snapshot[TABULAR_FEATURES], s.pooled)


def score_tables(
    bundle: ModelBundle,
    loaded: LoadedData,
    cutoff: pd.Timestamp,
    encoder=None,
    reporter: Reporter | None = None,
    threads: int = 2,
    scored_at: str | None = None,
) -> tuple[pd.DataFrame, list[dict], np.ndarray]:
    """Profiles for every customer with an order at or before ``cutoff``: (frame, profile rows, fused vectors).

    Shared by the batch `score`, the API's cold-start scoring and each partition of a Dask run, so all give
    the same answer (a partitioned run recomputes ``value_rank_pct`` over all customers).
    """
    reporter = reporter or Reporter()
    s = predict(bundle, loaded, cutoff, encoder, reporter, threads)
    snap, X = s.snapshot, s.X
    frame, rfm = summary_frame(bundle, s)
    with reporter.step("SHAP (batched)"):
        grouper = FamilyGrouper(bundle.feature_names)
        v_fam = grouper.transform(scaled_contributions(bundle.value_model.contributions(X), bundle.value_model.link))
        c_fam = grouper.transform(scaled_contributions(bundle.churn_model.contributions(X), bundle.churn_model.link))
    with reporter.step("drivers, evidence, profile rows"):
        feats = pd.concat([snap.reset_index(drop=True), X[driver_inputs(X.columns)].reset_index(drop=True)], axis=1)
        drivers = driver_records(feats, grouper.families, v_fam, c_fam, bundle.peers)
        review_dir = (
            v_fam[:, grouper.families.index("review text")]
            if "review text" in grouper.families
            else np.zeros(len(snap))
        )
        evidence = evidence_quotes(s.emb, snap["customer_id"], cutoff, review_dir, loaded.tables["reviews"])
        activity = customer_activity(loaded.tables, snap["customer_id"], cutoff)
        vectors = similarity_vectors(bundle, s)
        scored_at = scored_at or datetime.now(UTC).isoformat(timespec="seconds")
        rows = _profile_rows(bundle, s, frame, rfm, drivers, evidence, cutoff, scored_at)
    # What the customer did (service.activity): spend per month, categories, browsing, ratings, complaints.
    for row in rows:
        row["profile"]["activity"] = activity.get(row["customer_id"], {})
    return frame, rows, vectors


def _profile_rows(
    bundle: ModelBundle,
    s: Scored,
    frame: pd.DataFrame,
    rfm: pd.DataFrame,
    drivers: list,
    evidence: dict[str, list[dict]],
    cutoff: pd.Timestamp,
    scored_at: str,
) -> list[dict]:
    """The store's rows: ``summary_frame``'s columns, and the profile JSON (drivers, evidence, features, the exact model
    input, RFM scores, the outlook fields)."""
    snap = s.snapshot
    keep = [c for c in TABULAR_FEATURES if c in snap]
    feat_records = _records(snap[keep].round(4))
    # The exact model input, so what-if questions can re-run the model on one stored customer.
    model_inputs = _records(s.X)
    cutoff_iso, version = cutoff.isoformat(), bundle.model_version
    rfm_scores = [np.asarray(rfm[c]).astype(np.int64).tolist() for c in ("rfm_r", "rfm_f", "rfm_m")]
    # Plain Python lists zipped together: no pandas access per customer.
    outlook = _outlook_records(s.outlook)
    return [
        {
            "customer_id": cid,
            "tier": tier,
            "predicted_value": v,
            "churn_probability": ch,
            "rfm_segment": seg,
            "value_rank_pct": pct,
            "profile": {
                "drivers": drv,
                "evidence": evidence.get(cid, []),
                "features": feat,
                "model_input": mi,
                "rfm": {"r": r, "f": f, "m": m},
                "cutoff": cutoff_iso,
                **out,
            },
            "model_version": version,
            "scored_at": scored_at,
        }
        for cid, tier, v, ch, seg, pct, drv, feat, mi, r, f, m, out in zip(
            snap["customer_id"].tolist(),
            frame["tier"].tolist(),
            s.value.astype(np.float64).tolist(),
            s.churn.astype(np.float64).tolist(),
            rfm["rfm_segment"].tolist(),
            frame["value_rank_pct"].astype(np.float64).tolist(),
            drivers,
            feat_records,
            model_inputs,
            *rfm_scores,
            outlook,
        )
    ]
