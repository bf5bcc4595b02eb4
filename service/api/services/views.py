"""The response models built from a stored profile, shared by the endpoints: the profile view (drivers, outlook,
masking), the similar customers with their roster rows, the index kind, and the 404 problems of an unknown customer."""

from __future__ import annotations

from typing import Literal, cast

from service.api.problems import ProblemException
from service.api.schemas import CustomerProfile, RFMScores
from service.api.snapshot import Snapshot
from service.ask import SimilarCustomer
from service.drivers import UNITS
from service.explain import TOP_DRIVERS, Driver, Evidence
from service.privacy import redact_profile
from service.store_checks import reading_stored


def not_found(customer_id: str, snap: Snapshot | None = None) -> ProblemException:
    """The 404 problem for a customer without a profile: known but never scored, or unknown."""
    if snap is not None and snap.is_unscored(customer_id):
        return ProblemException(
            404,
            f"customer {customer_id!r} is known, no orders yet, so not scored",
            title="Customer not scored",
            type_="unscored-customer",
        )
    return ProblemException(
        404,
        f"customer {customer_id!r} is not in the profile store",
        title="Customer not found",
        type_="unknown-customer",
    )


def stored_profile(snap: Snapshot, customer_id: str) -> dict:
    profile = snap.profile(customer_id)
    if profile is None:
        raise not_found(customer_id, snap)
    return profile


def _drivers(profile: dict, top: int) -> list[Driver]:
    return [
        Driver(
            unit=UNITS.get(d.get("feature") or ""),
            **{k: d.get(k) for k in ("name", "value", "contribution", "percentile", "feature", "churn_contribution")},
        )
        for d in profile["profile"]["drivers"][:top]
    ]


def profile_view(snap: Snapshot, profile: dict, mask: bool, top: int = TOP_DRIVERS, cls=CustomerProfile, **extra):
    with reading_stored(profile):
        return _profile_view(snap, profile, mask, top, cls, **extra)


def _profile_view(snap: Snapshot, profile: dict, mask: bool, top: int, cls, **extra):
    if mask:
        profile = redact_profile(profile)
    inner = profile["profile"]
    rfm = inner.get("rfm")
    return cls(
        customer_id=profile["customer_id"],
        tier=profile["tier"],
        predicted_value=round(float(profile["predicted_value"]), 2),
        churn_probability=round(float(profile["churn_probability"]), 4),
        value_rank_pct=float(profile["value_rank_pct"]),
        rfm_segment=profile["rfm_segment"],
        rfm=RFMScores(**rfm) if rfm else None,
        horizon_days=int(snap.meta["horizon_days"]),
        currency=snap.meta.get("currency", "$"),
        cutoff=inner.get("cutoff"),
        drivers=_drivers(profile, top),
        evidence=[Evidence(**e) for e in inner.get("evidence", [])],
        features=inner.get("features") or {},
        model_version=profile["model_version"],
        scored_at=profile["scored_at"],
        **_outlook(profile),
        **extra,
    )


def _outlook(profile: dict) -> dict:
    """The profile fields beside the prediction (historic value, expected orders, rhythm, next order date, 80% interval)
    where the store has them, and the churn band; absent fields stay None."""
    import math

    from service.playbook import PlaybookError, get_playbook

    inner = profile["profile"]
    out: dict = {}
    for key in ("historic_value", "expected_orders", "avg_days_between_orders"):
        v = inner.get(key)
        out[key] = round(float(v), 2) if isinstance(v, (int, float)) and math.isfinite(v) else None
    nod = inner.get("next_order_date")
    out["next_order_date"] = nod if isinstance(nod, str) and nod else None
    iv = inner.get("value_interval")
    out["value_interval"] = (
        [round(float(x), 2) for x in iv]
        if isinstance(iv, (list, tuple))
        and len(iv) == 2
        and all(isinstance(x, (int, float)) and math.isfinite(x) for x in iv)
        else None
    )
    try:
        out["churn_band"] = get_playbook().band(float(profile["churn_probability"]))
    except PlaybookError:
        out["churn_band"] = None
    return out


def similar_customers(snap: Snapshot, pairs: list[tuple[str, float]]) -> list[SimilarCustomer]:
    """The ``(customer id, similarity)`` hits of the index with each customer's tier, value, churn and segment."""
    out = []
    for cid, score in pairs:
        row = snap.roster_row(cid)
        tier, value, churn, seg = row if row else (None, None, None, None)
        out.append(
            SimilarCustomer(
                customer_id=cid,
                similarity=round(score, 4),
                tier=tier,
                predicted_value=None if value is None else round(value, 2),
                churn_probability=None if churn is None else round(churn, 4),
                rfm_segment=seg,
            )
        )
    return out


def index_kind(snap: Snapshot) -> Literal["flat", "hnsw"]:
    """The kind of the served similar-customer index, as the response models spell it (snapshots build only these)."""
    return cast(Literal["flat", "hnsw"], snap.index.kind)
