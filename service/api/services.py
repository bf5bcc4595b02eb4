"""The glue between the routers and the application layer: each function takes a snapshot and returns a
response model. Routers stay thin (parse, authorise, call one of these); the logic lives in
service.ask, service.whatif, service.explain, service.pipeline and service.tables.
"""

from __future__ import annotations

import time
from typing import Literal, cast

import numpy as np
import pandas as pd

from service.api.problems import ProblemException
from service.api.schemas import (
    CustomerList,
    CustomerProfile,
    CustomerSummary,
    ExplanationResponse,
    ModelInfo,
    RFMScores,
    ScoredProfile,
    ScoreRequest,
    ScoreResponse,
    SimilarResponse,
    TierInfo,
    TiersResponse,
)
from service.api.state import AppState, Snapshot
from service.ask import AskAnswer, CustomerContext, SimilarCustomer, answer, explain_customer
from service.drivers import UNITS
from service.explain import TOP_DRIVERS, Driver, Evidence
from service.privacy import redact_profile
from service.tiers import TIER_ORDER


def not_found(customer_id: str, snap: Snapshot | None = None) -> ProblemException:
    if snap is not None and customer_id in snap.unscored:
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
    pb = get_playbook()
    if churn_band:
        a, b = pb.band_range(churn_band)
        idx = idx[(cat.churn[idx] >= a) & (cat.churn[idx] < b)]
    if sort == "value":
        key = cat.value[idx]
    elif sort == "churn":
        key = cat.churn[idx]
    else:
        key = np.arange(len(idx), dtype=np.float64)  # already in id order
    ordered = idx[np.argsort(-key if order == "desc" else key, kind="stable")]
    total = len(ordered)
    pages = max((total + page_size - 1) // page_size, 1)
    chunk = ordered[(page - 1) * page_size : page * page_size]
    items = [
        CustomerSummary(
            customer_id=str(cat.ids[i]),
            tier=str(cat.tier[i]),
            predicted_value=round(float(cat.value[i]), 2),
            churn_probability=round(float(cat.churn[i]), 4),
            churn_band=pb.band(float(cat.churn[i])),
            rfm_segment=str(cat.segment[i]),
            value_rank_pct=float(cat.rank_pct[i]),
        )
        for i in chunk
    ]
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


def _drivers(profile: dict, top: int) -> list[Driver]:
    return [
        Driver(
            unit=UNITS.get(d.get("feature") or ""),
            **{k: d.get(k) for k in ("name", "value", "contribution", "percentile", "feature", "churn_contribution")},
        )
        for d in profile["profile"]["drivers"][:top]
    ]


def profile_view(snap: Snapshot, profile: dict, mask: bool, top: int = TOP_DRIVERS, cls=CustomerProfile, **extra):
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


def _similar_customers(snap: Snapshot, pairs: list[tuple[str, float]]) -> list[SimilarCustomer]:
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
    return SimilarResponse(
        customer_id=customer_id, k=k, index=_index_kind(snap), similar=_similar_customers(snap, pairs)
    )


def ask(snap: Snapshot, customer_id: str, question: str, narrator, mask: bool, encoder=None) -> AskAnswer:
    """``encoder``: the product's sentence encoder, for routing the question by meaning (words only without it)."""
    profile = stored_profile(snap, customer_id)

    def neighbours(k: int) -> list[SimilarCustomer]:
        try:
            return _similar_customers(snap, snap.neighbours(customer_id, k))
        except KeyError:
            return []

    ctx = CustomerContext(
        profile=profile,
        meta=snap.meta,
        narrator=narrator,
        bundle=snap.bundle,
        similar=neighbours,
        population_churn=snap.population_churn,
        mask=mask,
        encoder=encoder,
    )
    return answer(question, ctx)


def _index_kind(snap: Snapshot) -> Literal["flat", "hnsw"]:
    """The kind of the served similar-customer index, as the response models spell it (snapshots build only these)."""
    return cast(Literal["flat", "hnsw"], snap.index.kind)


def question_encoder(state: AppState, snap: Snapshot):
    """The sentence encoder questions are routed with: the bundle's (already loaded for scoring), or None when the
    bundle has no text model or it cannot be loaded (routing then uses words only)."""
    try:
        return state.encoder(snap.bundle)
    except Exception:  # noqa: BLE001 - a missing encoder degrades routing, it does not fail the question
        return None


def tiers(snap: Snapshot) -> TiersResponse:
    policy = snap.bundle.tiers
    thresholds = policy.thresholds_ or {}
    counts = snap.store.tier_counts()
    shares = policy.shares or {}
    rows = []
    for t in TIER_ORDER:
        c = counts.get(t, {})
        share = shares.get(t) if policy.shares else None
        if policy.shares and t == "Low":
            share = round(1 - sum(shares.values()), 6)
        rows.append(
            TierInfo(
                tier=t,
                min_predicted_value=round(thresholds[t], 2) if t in thresholds else None,
                share=share,
                customers=int(c.get("customers", 0)),
                mean_predicted_value=None
                if c.get("mean_predicted_value") is None
                else round(c["mean_predicted_value"], 2),
                mean_churn_probability=None
                if c.get("mean_churn_probability") is None
                else round(c["mean_churn_probability"], 4),
            )
        )
    return TiersResponse(
        tiers=rows,
        policy="amounts" if policy.amounts else "shares",
        horizon_days=int(snap.meta["horizon_days"]),
        currency=snap.meta.get("currency", "$"),
        customers=sum(r.customers for r in rows),
        model_version=snap.model_version,
    )


def model_info(snap: Snapshot) -> ModelInfo:
    b = snap.bundle
    return ModelInfo(
        model_version=b.model_version,
        created_at=b.created_at,
        horizon_days=int(b.config["horizon_days"]),
        cutoff=b.config["cutoff"],
        value_objective=b.metrics.get("value_objective"),
        features=len(b.feature_names),
        text_sources=list(b.text.sources),
        embedding_model=b.config.get("embedding_model"),
        metrics=_finite(b.metrics),
        data_fingerprint=b.fingerprint,
        versions=b.versions,
        store_scored_at=snap.meta.get("scored_at"),
        store_cutoff=snap.meta.get("cutoff"),
        index=_index_kind(snap),
        index_size=len(snap.index),
        loaded_at=snap.loaded_at,
    )


def _finite(obj):
    """JSON has no NaN: metrics that could not be computed become null."""
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


# ----------------------------------------------------------------------------- cold-start scoring

TS_COLUMNS = {"orders": "order_ts", "reviews": "review_ts", "events": "event_ts"}


def _frame(rows: list[dict]) -> pd.DataFrame:
    from service.tables import object_frame

    return object_frame(rows)  # object columns: a lone surrogate must reach validation (and its 422), not crash pandas


def _check_texts(sent: dict[str, list[dict]], settings) -> None:
    """Bound the embedding work of one request: texts are what makes cold-start scoring slow (3,000 held it for
    27 s)."""
    texts: set[str] = set()
    for name in ("reviews", "events"):
        for i, row in enumerate(sent.get(name, [])):
            text = row.get("text")
            if isinstance(text, str):
                if len(text) > settings.api_score_max_text_chars:
                    msg = (
                        f"text of {len(text):,} characters; at most {settings.api_score_max_text_chars:,} are accepted"
                    )
                    raise ProblemException(
                        422,
                        f"tables.{name}[{i}].text: {msg}",
                        errors=[{"field": f"tables.{name}[{i}].text", "message": msg, "type": "too_long"}],
                    )
                texts.add(text.strip())
    if len(texts) > settings.api_score_max_texts:
        raise ProblemException(
            413,
            f"{len(texts):,} distinct review and browsing texts in one request; "
            f"at most {settings.api_score_max_texts:,} are embedded per request (split the request)",
            errors=[{"field": "tables", "message": "too many distinct texts", "type": "too_many"}],
        )


def _field_for(reason: str, columns) -> str | None:
    for word in reason.replace(",", " ").split():
        if word in columns:
            return word
    return None


def score(snap: Snapshot, state: AppState, req: ScoreRequest, settings, metrics=None) -> ScoreResponse:
    """Validate raw rows with the batch rules (service.tables.validate_tables), score them with the batch code
    (service.pipeline.score_tables) and, when asked, write the profiles; known customers' batch history is merged."""
    from service.cold_start import PrefetchEncoder, texts_to_embed
    from service.pipeline import parse_cutoff, score_tables
    from service.tables import REASON_COLUMN, ROW_COLUMN, DataError, validate_tables

    t0 = time.perf_counter()
    sent = {
        name: [r.model_dump(exclude_unset=True) for r in rows]
        for name in ("customers", "orders", "reviews", "events")
        if (rows := getattr(req.tables, name))
    }
    _check_texts(sent, settings)
    frames = {name: _frame(rows) for name, rows in sent.items()}
    ids: list[str] = []
    for df in frames.values():
        if "customer_id" in df.columns:
            ids += [str(v).strip() for v in df["customer_id"] if v is not None and str(v).strip()]
    ids = list(dict.fromkeys(ids))
    if len(ids) > settings.api_score_max_customers:
        raise ProblemException(
            422,
            f"{len(ids)} customers in one request; at most {settings.api_score_max_customers} are scored at once",
            errors=[{"field": "tables", "message": "too many customers", "type": "too_many"}],
        )

    # Merge the batch history of known customers in front of the rows sent (history rows first, so a row
    # the client re-sends is the one reported as a duplicate).
    hist = snap.history
    merged, n_hist = {}, {}
    in_history = {c for c in ids if hist is not None and hist.knows(c)}
    for name in ("customers", "orders", "reviews", "events"):
        mine = frames.get(name)
        past = hist.rows_for(name, sorted(in_history)) if hist is not None and in_history else None
        if name == "customers":
            if mine is not None and past is not None:
                sent_ids = {str(v).strip() for v in mine["customer_id"] if v is not None}
                past = past[~past["customer_id"].map(lambda v, ids=sent_ids: str(v).strip() in ids)]
            elif mine is None and past is not None:
                # No customers rows sent: the others are customers by their orders, as in a batch without the table.
                new = [c for c in ids if c not in in_history]
                past = pd.concat([past, pd.DataFrame({"customer_id": new})], ignore_index=True) if new else past
        parts = [p for p in (past, mine) if p is not None and len(p)]
        if parts:
            merged[name] = pd.concat(parts, ignore_index=True).astype(object)
            merged[name] = merged[name].where(merged[name].notna(), None)
            n_hist[name] = len(past) if past is not None else 0
    try:
        # validate_tables only prints a source, so a field name serves as well as a path
        loaded = validate_tables(merged, sources={name: f"tables.{name}" for name in merged})  # type: ignore[misc]
    except DataError as exc:
        field = next((f"tables.{n}" for n in merged if f"tables.{n}" in str(exc)), "tables")
        raise ProblemException(
            422, str(exc), errors=[{"field": field, "message": str(exc), "type": "data_error"}]
        ) from exc
    errors = []
    for name, rej in loaded.rejects.items():
        if not len(rej):
            continue
        for _, r in rej.iterrows():
            pos = int(r[ROW_COLUMN]) - 1 - n_hist.get(name, 0)
            if pos < 0:
                continue  # a row of the stored history that the batch rejected too
            reason = str(r[REASON_COLUMN])
            col = _field_for(reason, rej.columns)
            msg = reason
            if reason == "unknown customer_id":
                msg += " (no customers row and no order for this id)"
            elif reason.startswith("duplicate") and hist is not None:
                msg += " (already in the request or in the customer's history)"
            errors.append(
                {"field": f"tables.{name}[{pos}]" + (f".{col}" if col else ""), "message": msg, "type": "row_rejected"}
            )
    if errors:
        raise ProblemException(
            422,
            f"{len(errors)} row(s) break the input contract; first: {errors[0]['field']}: {errors[0]['message']}",
            errors=errors,
        )

    meta_cut = pd.Timestamp(snap.meta["cutoff"])
    if req.cutoff:
        try:
            cutoff = parse_cutoff(req.cutoff, meta_cut)
        except DataError as exc:
            raise ProblemException(
                422, str(exc), errors=[{"field": "cutoff", "message": str(exc), "type": "value_error"}]
            ) from exc
    else:
        latest = [loaded.tables[n][c].max() for n, c in TS_COLUMNS.items() if n in sent and len(loaded.tables[n])]
        latest = [t for t in latest if pd.notna(t)]
        cutoff = max([meta_cut] + latest)

    if not state.score_gate.acquire(timeout=settings.api_score_timeout_s):
        raise ProblemException(503, "the scorer is busy; retry shortly", title="Busy", headers={"Retry-After": "5"})
    prefetch = None
    try:
        encoder = state.encoder(snap.bundle)
        if encoder is not None:
            # The request's texts are embedded on a background thread while the features are computed (both release
            # the GIL); the scoring code then takes the vectors from it (service.cold_start).
            prefetch = encoder = PrefetchEncoder(encoder, texts_to_embed(loaded.tables, snap.bundle.text.sources))
        frame, rows, vectors = score_tables(snap.bundle, loaded, cutoff, encoder=encoder, threads=2)
    except DataError as exc:
        if "no customer has an order" in str(exc):
            raise ProblemException(
                422, str(exc), errors=[{"field": "tables.orders", "message": str(exc), "type": "data_error"}]
            ) from exc
        raise ProblemException(503, f"scoring is unavailable: {exc}", title="Scoring unavailable") from exc
    finally:
        if prefetch is not None:
            prefetch.wait()  # a request that failed early leaves no embedding running behind the gate
        state.score_gate.release()

    for row in rows:  # rank among the stored population, not within this request
        row["value_rank_pct"] = snap.rank_pct(row["predicted_value"])
    keep = [i for i, r in enumerate(rows) if r["customer_id"] in set(ids)]
    rows = [rows[i] for i in keep]
    vectors = vectors[keep] if len(keep) else np.zeros((0, vectors.shape[1]), np.float32)

    known_before = {c for c in ids if snap.roster_row(c) is not None}
    written = False
    if req.write:
        from service.store import ProfileStore, StoreError, VersionConflict

        try:
            live = ProfileStore(settings.store)
            try:
                # Only into a store still scored with the model this snapshot serves: never a mix of versions.
                live.upsert(rows, expect_model_version=snap.model_version)
            finally:
                live.close()
        except VersionConflict as exc:
            raise ProblemException(
                409,
                f"{exc}; reload the service (POST /v1/admin/reload) and send the request again",
                title="Store re-scored",
                type_="store-rescored",
            ) from exc
        except StoreError as exc:
            raise ProblemException(503, f"cannot write to the profile store: {exc}", title="Store unavailable") from exc
        snap.add_profiles(rows, vectors)
        written = True
    if metrics:
        metrics.scored.labels(str(written).lower()).inc(len(rows))

    mask = settings.api_mask_pii
    profiles = []
    for row, vec in zip(rows, vectors):
        cid = row["customer_id"]
        sims = _similar_customers(snap, snap.search(vec, req.similar_k, exclude=cid)) if req.similar_k else []
        profiles.append(
            profile_view(
                snap,
                row,
                mask,
                TOP_DRIVERS,
                cls=ScoredProfile,
                known=cid in known_before,
                history_merged=cid in in_history,
                similar=sims,
            )
        )
    return ScoreResponse(
        profiles=profiles,
        cutoff=cutoff.isoformat(),
        written=written,
        rows={n: len(r) for n, r in sent.items()},
        model_version=snap.model_version,
        seconds=round(time.perf_counter() - t0, 3),
    )
