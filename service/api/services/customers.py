"""GET /v1/customers (search), /v1/customers/{id} (profile), /explanation and /similar, over the snapshot; the
profile and the template explanation also as serialised bodies kept per snapshot."""

from __future__ import annotations

from typing import Literal

import numpy as np

from service.api.catalog import Catalog
from service.api.problems import ProblemException
from service.api.schemas import CustomerList, CustomerProfile, CustomerSummary, ExplanationResponse, SimilarResponse
from service.api.services.views import index_kind, not_found, profile_view, similar_customers, stored_profile
from service.api.snapshot import Snapshot
from service.ask import explain_customer

SORTS = ("value", "churn", "id")


def list_customers(
    snap: Snapshot,
    q: str | None = None,
    tier: str | None = None,
    segment: str | None = None,
    churn_band: str | None = None,
    sort: Literal["value", "churn", "id"] = "value",
    order: Literal["asc", "desc"] = "desc",
    page: int = 1,
    page_size: int = 25,
) -> CustomerList:
    """Customers whose id starts with ``q`` (case-insensitive), of a tier, RFM segment and churn band, sorted and
    paginated."""
    from service.playbook import get_playbook

    cat = snap.catalog()
    idx = _matching(cat, q, tier, segment)
    pb = get_playbook()
    if churn_band:
        a, b = pb.band_range(churn_band)
        idx = idx[(cat.churn[idx] >= a) & (cat.churn[idx] < b)]
    ordered = _in_order(cat, idx, sort, order)
    total = len(ordered)
    pages = max((total + page_size - 1) // page_size, 1)
    chunk = ordered[(page - 1) * page_size : page * page_size]
    items = [_summary(cat, i, pb.band(float(cat.churn[i]))) for i in chunk]
    unscored: list[str] = []
    if q and q.strip() and not (tier or segment or churn_band):
        p = q.strip().casefold()
        unscored = sorted(c for c in snap.unscored if c.casefold().startswith(p))[:10]
    return CustomerList(
        items=items,
        total=total,
        page=page,
        page_size=page_size,
        pages=pages,
        sort=sort,
        order=order,
        unscored_matches=unscored,
    )


def _matching(cat: Catalog, q: str | None, tier: str | None, segment: str | None) -> np.ndarray:
    """Catalog positions of the customers whose id starts with ``q``, of ``tier`` and ``segment`` (case-insensitive)."""
    lo, hi = cat.prefix_range(q.strip()) if q and q.strip() else (0, len(cat.ids))
    idx = np.arange(lo, hi)
    if tier:
        idx = idx[np.array([t.casefold() == tier.casefold() for t in cat.tier[idx]], dtype=bool)] if len(idx) else idx
    if segment:
        idx = (
            idx[np.array([(s or "").casefold() == segment.casefold() for s in cat.segment[idx]], dtype=bool)]
            if len(idx)
            else idx
        )
    return idx


def _in_order(cat: Catalog, idx: np.ndarray, sort: str, order: str) -> np.ndarray:
    """``idx`` sorted by value, churn or id (a stable sort: ties keep id order)."""
    if sort == "value":
        key = cat.value[idx]
    elif sort == "churn":
        key = cat.churn[idx]
    else:
        key = np.arange(len(idx), dtype=np.float64)  # already in id order
    return idx[np.argsort(-key if order == "desc" else key, kind="stable")]


def _summary(cat: Catalog, i, churn_band: str) -> CustomerSummary:
    return CustomerSummary(
        customer_id=str(cat.ids[i]),
        tier=str(cat.tier[i]),
        predicted_value=round(float(cat.value[i]), 2),
        churn_probability=round(float(cat.churn[i]), 4),
        churn_band=churn_band,
        rfm_segment=str(cat.segment[i]),
        value_rank_pct=float(cat.rank_pct[i]),
    )


def customer(snap: Snapshot, customer_id: str, mask: bool, top: int) -> CustomerProfile:
    return profile_view(snap, stored_profile(snap, customer_id), mask, top)


def explanation(snap: Snapshot, customer_id: str, narrator, mask: bool) -> ExplanationResponse:
    exp = explain_customer(stored_profile(snap, customer_id), snap.meta, narrator, mask=mask)
    return ExplanationResponse.model_validate(exp.model_dump())


# Serialised bodies. What FastAPI would write for the response model (by alias, nothing excluded), made once per
# customer and snapshot: a profile or a template explanation depends only on the stored profile, the store metadata and
# the masking switch, all fixed for the snapshot's life. Hits skip the store read, the masking, the narrator and
# pydantic.


def _dump(model) -> bytes:
    return model.__pydantic_serializer__.to_json(model, by_alias=True)


def customer_json(snap: Snapshot, customer_id: str, mask: bool, top: int) -> bytes:
    key = ("profile", top, mask)
    body = snap.cached_response(customer_id, key)
    if body is None:
        body = _dump(customer(snap, customer_id, mask, top))
        snap.cache_response(customer_id, key, body)
    return body


def deterministic(narrator) -> bool:
    """True for the template narrator: its explanation of a snapshot's profile never changes, so it may be kept."""
    from service.explain import TemplateNarrator

    return isinstance(narrator, TemplateNarrator)


def explanation_json(snap: Snapshot, customer_id: str, narrator, mask: bool) -> bytes:
    if not deterministic(narrator):  # an LLM narrative is drafted (and checked) per request, as before
        return _dump(explanation(snap, customer_id, narrator, mask))
    key = ("explanation", mask)
    body = snap.cached_response(customer_id, key)
    if body is None:
        body = _dump(explanation(snap, customer_id, narrator, mask))
        snap.cache_response(customer_id, key, body)
    return body


def similar(snap: Snapshot, customer_id: str, k: int) -> SimilarResponse:
    if snap.roster_row(customer_id) is None:
        raise not_found(customer_id, snap)
    try:
        pairs = snap.neighbours(customer_id, k)
    except KeyError:
        raise ProblemException(
            404,
            f"customer {customer_id!r} is not in the similar-customer index (it is rebuilt by `insight score`)",
            title="Customer not indexed",
            type_="not-indexed",
        ) from None
    return SimilarResponse(customer_id=customer_id, k=k, index=index_kind(snap), similar=similar_customers(snap, pairs))
