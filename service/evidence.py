"""Evidence for a profile: up to two review quotes and one browsing text per customer, verbatim (capped in length).

Reviews are picked to match the review-text driver: the best-rated recent ones when the text lifts the prediction,
the worst-rated when it lowers it. The browsing text is the latest one the customer looked at.

A few rows (POST /v1/score) go through ``_few_quotes``: the same quotes in plain Python, because the pandas version's
sorts and groupbys cost ~7 ms of fixed overhead for one customer. It follows each pandas step: sorts are stable
(ties keep the input order), strings compare by code point as pandas' do, ``head(n)`` keeps the first n.
tests/test_cold_start.py compares the two on fuzzed tables. Inputs it does not claim to reproduce (many rows, missing
values, ratings that are not finite) go to the pandas version.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from service.facts import one_line_quote
from service.text_features import TextEmbeddings

EVIDENCE_MAX_CHARS = 300
REVIEW_QUOTES = 2
FEW_ROWS = 2_000


def evidence_quotes(
    emb: TextEmbeddings | None,
    customer_ids: pd.Series,
    cutoff: pd.Timestamp,
    review_direction: np.ndarray,
    reviews: pd.DataFrame,
) -> dict[str, list[dict]]:
    """``{customer_id: [{"text", "source"}, ...]}``: review quotes first, then the browsing text."""
    browse = emb.texts_of("browse") if emb is not None and "browse" in emb.sources else None
    if len(reviews) <= FEW_ROWS and (browse is None or len(browse) <= FEW_ROWS):
        few = _few_quotes(browse, customer_ids, cutoff, review_direction, reviews)
        if few is not None:
            return few
    return _pandas_quotes(browse, customer_ids, cutoff, review_direction, reviews)


def _review_quote(text: str, ts: pd.Timestamp, rating: float) -> dict:
    return {"text": one_line_quote(text)[:EVIDENCE_MAX_CHARS], "source": f"review {ts.date()}, {rating:.0f}/5"}


def _browse_quote(text: str, ts) -> dict:
    return {"text": one_line_quote(text)[:EVIDENCE_MAX_CHARS], "source": f"browsing {pd.Timestamp(ts).date()}"}


def _pandas_quotes(
    browse: pd.DataFrame | None,
    customer_ids: pd.Series,
    cutoff: pd.Timestamp,
    review_direction: np.ndarray,
    reviews: pd.DataFrame,
) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {cid: [] for cid in customer_ids}
    if len(reviews):
        r = reviews[reviews["review_ts"] <= cutoff][["customer_id", "review_ts", "rating", "text"]].copy()
        direction = pd.Series(review_direction, index=customer_ids.to_numpy())
        r = r[r["customer_id"].isin(direction.index)]
        r["key"] = -r["rating"] * np.sign(direction.reindex(r["customer_id"]).fillna(1).to_numpy() + 1e-9)
        # The text breaks ties, so the quotes do not depend on the order of the input rows.
        r = (
            r.sort_values(["customer_id", "key", "review_ts", "text"], ascending=[True, True, False, True])
            .groupby("customer_id")
            .head(REVIEW_QUOTES)
        )
        for cid, ts, rating, text in r[["customer_id", "review_ts", "rating", "text"]].itertuples(index=False):
            out[cid].append(_review_quote(text, ts, rating))
    if browse is not None:
        e = browse[(pd.to_datetime(browse["ts"], utc=True) <= cutoff) & browse["customer_id"].isin(out.keys())]
        e = (
            e.sort_values(["customer_id", "ts", "text"], ascending=[True, False, True])
            .drop_duplicates(["customer_id", "text"])
            .groupby("customer_id")
            .head(1)
        )
        for cid, ts, text in e[["customer_id", "ts", "text"]].itertuples(index=False):
            out[cid].append(_browse_quote(text, ts))
    return out


def _few_quotes(
    browse: pd.DataFrame | None,
    customer_ids: pd.Series,
    cutoff: pd.Timestamp,
    review_direction: np.ndarray,
    reviews: pd.DataFrame,
) -> dict[str, list[dict]] | None:
    """``_pandas_quotes`` in plain Python, or None where it does not claim the same answer."""
    ids = customer_ids.tolist()
    if not all(isinstance(c, str) for c in ids) or len(set(ids)) != len(ids):
        return None
    out: dict[str, list[dict]] = {cid: [] for cid in ids}
    cut = pd.Timestamp(cutoff)
    if len(reviews):
        direction = dict(zip(ids, np.asarray(review_direction, dtype=np.float64).tolist()))
        ts = reviews["review_ts"]
        if not isinstance(ts.dtype, pd.DatetimeTZDtype) or ts.isna().any():
            return None
        rows = []
        for i, (cid, when, rating, text) in enumerate(
            zip(reviews["customer_id"].tolist(), ts.tolist(), reviews["rating"].tolist(), reviews["text"].tolist())
        ):
            if when > cut or cid not in direction:
                continue
            if not isinstance(text, str) or isinstance(rating, bool) or not isinstance(rating, (int, float)):
                return None
            if not math.isfinite(rating):
                return None
            d = direction[cid]
            sign = float(np.sign((1.0 if math.isnan(d) else d) + 1e-9))
            rows.append((cid, -rating * sign, -when.value, text, i, when, rating))
        rows.sort(key=lambda r: r[:5])  # (customer, key, newest first, text, input order): pandas' stable sort
        taken: dict[str, int] = {}
        for cid, _key, _neg, text, _i, when, rating in rows:
            if taken.get(cid, 0) < REVIEW_QUOTES:
                taken[cid] = taken.get(cid, 0) + 1
                out[cid].append(_review_quote(text, when, rating))
    if browse is not None and len(browse):
        when_all = pd.to_datetime(browse["ts"], utc=True)
        if when_all.isna().any():
            return None
        latest: dict[str, tuple] = {}
        for i, (cid, when, text, ts) in enumerate(
            zip(browse["customer_id"].tolist(), when_all.tolist(), browse["text"].tolist(), browse["ts"].tolist())
        ):
            if when > cut or cid not in out:
                continue
            if not isinstance(text, str):
                return None
            key = (-when.value, text, i)  # newest first, then text, then input order
            if cid not in latest or key < latest[cid][0]:
                latest[cid] = (key, text, ts)
        for cid in sorted(latest):  # pandas appends in customer order; each customer's list is its own
            _key, text, ts = latest[cid]
            out[cid].append(_browse_quote(text, ts))
    return out
