"""POST /v1/score: cold-start scoring of raw rows, as named steps.

The rows sent are bounded (texts, customers), merged behind the stored batch history of known customers, validated
with the batch rules (service.tables.validate_tables) and scored with the batch code (service.pipeline.score_tables),
one request at a time; the profiles are then ranked among the stored population, written when asked, and returned with
their similar customers.
"""

from __future__ import annotations

import dataclasses
import logging
import time

import numpy as np
import pandas as pd

from embeddings import EmbeddingCacheError, EncoderError
from service.api.problems import ProblemException
from service.api.schemas import ScoredProfile, ScoreRequest, ScoreResponse
from service.api.services.views import profile_view, similar_customers
from service.api.snapshot import RawHistory, Snapshot
from service.api.state import AppState
from service.ask.context import stored_features
from service.explain import TOP_DRIVERS
from service.store import ProfileStore, StoreError, VersionConflict
from service.store_location import StoreBusy
from service.tables import REASON_COLUMN, ROW_COLUMN, DataError, LoadedData, object_frame, validate_tables

log = logging.getLogger("insight.api")

TABLE_NAMES = ("customers", "orders", "reviews", "events")
TS_COLUMNS = {"orders": "order_ts", "reviews": "review_ts", "events": "event_ts"}


def score(snap: Snapshot, state: AppState, req: ScoreRequest, settings, metrics=None) -> ScoreResponse:
    """Validate raw rows with the batch rules (service.tables.validate_tables), score them with the batch code
    (service.pipeline.score_tables) and, when asked, write the profiles; known customers' batch history is merged."""
    t0 = time.perf_counter()
    sent = {
        name: [r.model_dump(exclude_unset=True) for r in rows]
        for name in TABLE_NAMES
        if (rows := getattr(req.tables, name))
    }
    _check_texts(sent, settings)
    # object columns: a lone surrogate must reach validation (and its 422), not crash pandas
    frames = {name: object_frame(rows) for name, rows in sent.items()}
    ids = _customer_ids(frames, settings)
    hist = snap.history
    in_history = {c for c in ids if hist is not None and hist.knows(c)}
    merged, n_hist = _with_history(hist, frames, ids, in_history)
    loaded = _validated(merged, n_hist, with_history=hist is not None)
    groups = _cutoff_groups(req, snap, loaded, sent)
    rows, vectors = _scored_rows(snap, state, groups, settings)
    cutoff = max(c for c, _ in groups)

    for row in rows:  # rank among the stored population, not within this request
        row["value_rank_pct"] = snap.rank_pct(row["predicted_value"])
    keep = [i for i, r in enumerate(rows) if r["customer_id"] in set(ids)]
    rows = [rows[i] for i in keep]
    vectors = vectors[keep] if len(keep) else np.zeros((0, vectors.shape[1]), np.float32)

    known_before = {c for c in ids if snap.roster_row(c) is not None}
    written = False
    if req.write:
        _check_nothing_is_replaced(snap, rows, in_history)
        _write(snap, state, rows, vectors, settings)
        written = True
    if metrics:
        metrics.scored.labels(str(written).lower()).inc(len(rows))

    profiles = [
        _scored_profile(snap, row, vec, req.similar_k, settings.api_mask_pii, known_before, in_history)
        for row, vec in zip(rows, vectors)
    ]
    return ScoreResponse(
        profiles=profiles,
        cutoff=cutoff.isoformat(),
        written=written,
        rows={n: len(r) for n, r in sent.items()},
        model_version=snap.model_version,
        seconds=round(time.perf_counter() - t0, 3),
    )


# ----------------------------------------------------------------------------- bounds on one request


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


def _customer_ids(frames: dict[str, pd.DataFrame], settings) -> list[str]:
    """The customer ids of the rows sent, in order of appearance; 422 above the per-request limit."""
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
    return ids


# ----------------------------------------------------------------------------- history and validation


def _with_history(
    hist: RawHistory | None, frames: dict[str, pd.DataFrame], ids: list[str], in_history: set[str]
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The tables to validate, and how many history rows lead each: the batch history of known customers merged in
    front of the rows sent (history rows first, so a row the client re-sends is the one reported as a duplicate)."""
    merged, n_hist = {}, {}
    for name in TABLE_NAMES:
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
    return merged, n_hist


def _validated(merged: dict[str, pd.DataFrame], n_hist: dict[str, int], with_history: bool) -> LoadedData:
    """The merged tables through the batch rules; 422 naming every rejected row the client sent."""
    try:
        # validate_tables only prints a source, so a field name serves as well as a path
        loaded = validate_tables(merged, sources={name: f"tables.{name}" for name in merged})  # type: ignore[misc]
    except DataError as exc:
        field = next((f"tables.{n}" for n in merged if f"tables.{n}" in str(exc)), "tables")
        raise ProblemException(
            422, str(exc), errors=[{"field": field, "message": str(exc), "type": "data_error"}]
        ) from exc
    errors = _rejected_rows(loaded, n_hist, with_history)
    if errors:
        raise ProblemException(
            422,
            f"{len(errors)} row(s) break the input contract; first: {errors[0]['field']}: {errors[0]['message']}",
            errors=errors,
        )
    return loaded


def _rejected_rows(loaded: LoadedData, n_hist: dict[str, int], with_history: bool) -> list[dict]:
    """A field error per rejected row the client sent, at its position in the request."""
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
            elif reason.startswith("duplicate") and with_history:
                msg += " (already in the request or in the customer's history)"
            errors.append(
                {"field": f"tables.{name}[{pos}]" + (f".{col}" if col else ""), "message": msg, "type": "row_rejected"}
            )
    return errors


def _field_for(reason: str, columns) -> str | None:
    for word in reason.replace(",", " ").split():
        if word in columns:
            return word
    return None


# ----------------------------------------------------------------------------- scoring


def _cutoff_groups(
    req: ScoreRequest, snap: Snapshot, loaded: LoadedData, sent: dict[str, list[dict]]
) -> list[tuple[pd.Timestamp, LoadedData]]:
    """The request's customers grouped by the cutoff each is scored at, with their rows: the cutoff asked for, or else
    each customer's own, the store's cutoff or their latest timestamp sent, whichever is later. One request-wide
    cutoff had let one customer's mistyped year (an order in 2100) score every other customer of the request 75 years
    later, as lapsed, and write them so: a customer's score must not depend on who shares their request."""
    if req.cutoff:
        return [(_asked_cutoff(req.cutoff, req.write, snap), loaded)]
    meta_cut = pd.Timestamp(snap.meta["cutoff"])
    latest: dict[str, pd.Timestamp] = {}
    for name, col in TS_COLUMNS.items():
        frame = loaded.tables.get(name)
        if name in sent and frame is not None and len(frame):
            for cid, ts in frame.groupby("customer_id", sort=False)[col].max().items():
                if pd.notna(ts) and ts > latest.get(cid, meta_cut):
                    latest[cid] = ts
    by_cutoff: dict[pd.Timestamp, list[str]] = {}
    ids = set().union(*(set(f["customer_id"]) for f in loaded.tables.values() if "customer_id" in f))
    for cid in ids:
        by_cutoff.setdefault(latest.get(cid, meta_cut), []).append(cid)
    if len(by_cutoff) <= 1:
        return [(next(iter(by_cutoff), meta_cut), loaded)]
    return [
        (
            cut,
            dataclasses.replace(
                loaded, tables={n: f[f["customer_id"].isin(members)] for n, f in loaded.tables.items()}
            ),
        )
        for cut, members in sorted(by_cutoff.items())
    ]


def _asked_cutoff(cutoff: str, write: bool, snap: Snapshot) -> pd.Timestamp:
    """The cutoff the request asks for (422 when unreadable, or earlier than the store's for a write)."""
    from service.pipeline import parse_cutoff

    meta_cut = pd.Timestamp(snap.meta["cutoff"])
    try:
        asked = parse_cutoff(cutoff, meta_cut)
    except DataError as exc:
        raise ProblemException(
            422, str(exc), errors=[{"field": "cutoff", "message": str(exc), "type": "value_error"}]
        ) from exc
    if write and asked < meta_cut:
        # a profile as of an earlier date among the store's: its spend, periods and next order would be told
        # from a day the rest of the store has moved past, and the rows after it dropped without a word
        msg = (
            f"write: true needs a cutoff at or after the store's ({meta_cut.date()}), not {asked.date()}: a "
            "profile written as of an earlier date would be served beside profiles of a later one (send "
            "write: false to score as of that date)"
        )
        raise ProblemException(422, msg, errors=[{"field": "cutoff", "message": msg, "type": "value_error"}])
    return asked


def _scored_rows(
    snap: Snapshot, state: AppState, groups: list[tuple[pd.Timestamp, LoadedData]], settings
) -> tuple[list[dict], np.ndarray]:
    """Profile rows and fused vectors of the validated tables, each group at its cutoff, scored with the batch code
    behind the one-at-a-time gate; 503 when the scorer stays busy or cannot score, 422 when no customer has an
    order."""
    parts, last = [], None
    for cutoff, loaded in groups:
        try:
            parts.append(_scored_group(snap, state, loaded, cutoff, settings))
        except ProblemException as exc:
            if exc.status != 422 or len(groups) == 1:
                raise
            last = exc  # this group's customers have no order by their cutoff: they get no profile, as in a batch
    if not parts:
        assert last is not None
        raise last
    return [r for rows, _ in parts for r in rows], np.concatenate([v for _, v in parts])


def _scored_group(
    snap: Snapshot, state: AppState, loaded: LoadedData, cutoff, settings
) -> tuple[list[dict], np.ndarray]:
    from service.cold_start import PrefetchEncoder, texts_to_embed
    from service.pipeline import score_tables

    if not state.enter_scorer(settings.api_score_timeout_s):
        raise ProblemException(503, "the scorer is busy; retry shortly", title="Busy", headers={"Retry-After": "5"})
    prefetch = None
    try:
        encoder = state.encoder(snap.bundle)
        if encoder is not None:
            # The request's texts are embedded on a background thread while the features are computed (both release
            # the GIL); the scoring code then takes the vectors from it (service.cold_start).
            prefetch = encoder = PrefetchEncoder(encoder, texts_to_embed(loaded.tables, snap.bundle.text.sources))
        _frame, rows, vectors = score_tables(snap.bundle, loaded, cutoff, encoder=encoder, threads=2)
    except DataError as exc:
        if "no customer has an order" in str(exc):
            raise ProblemException(
                422, str(exc), errors=[{"field": "tables.orders", "message": str(exc), "type": "data_error"}]
            ) from exc
        raise ProblemException(503, f"scoring is unavailable: {exc}", title="Scoring unavailable") from exc
    except (EncoderError, EmbeddingCacheError) as exc:
        # the text encoder of the bundle cannot be loaded here (a model path or cache folder set wrong): the served
        # profiles are unaffected, new texts cannot be embedded; it had been a 500
        log.error("cold-start scoring: the text encoder is unavailable: %s", exc)
        raise ProblemException(
            503,
            "scoring new rows is unavailable: the text encoder cannot be loaded (see the server log)",
            title="Scoring unavailable",
        ) from exc
    finally:
        if prefetch is not None:
            prefetch.wait()  # a request that failed early leaves no embedding running behind the gate
        state.leave_scorer()
    return rows, vectors


# ----------------------------------------------------------------------------- writing and the response


def _check_nothing_is_replaced(snap: Snapshot, rows: list[dict], in_history: set[str]) -> None:
    """409 when a write would replace a stored customer's profile with one built from fewer purchases than it holds:
    the service has no history of theirs to merge the rows with (started without --data), and the rows sent are not
    their whole history. It had answered 200 "written" and turned a VIP of 29 purchases into a new Medium customer of
    one. Profiles built from at least as many purchases as the stored one (a client sending a customer's whole history
    again) are written as before. Compared on the profiles as scored, so an id sent with padding (" C000867") or rows
    that are mostly canceled count as they will be stored."""
    short = []
    for row in rows:
        cid = row["customer_id"]
        if cid in in_history or snap.roster_row(cid) is None:
            continue
        stored = stored_features(snap.profile(cid) or {}).get("frequency")
        n = stored_features(row).get("frequency")
        if stored is not None and n is not None and n < stored:
            short.append(f"{cid!r} ({n:.0f} against {stored:.0f})")
    if short:
        shown = ", ".join(short[:5]) + (f" and {len(short) - 5} more" if len(short) > 5 else "")
        raise ProblemException(
            409,
            f"the rows sent hold fewer purchases than the stored profile counts for {shown}, and this service "
            "has no history to merge them with (it was started without --data): writing would replace the stored "
            "profile with one built from these rows alone. Send each customer's whole history, send write: false to "
            "score only, or start the service with --data.",
            title="History unavailable",
            type_="history-unavailable",
        )


def _write(snap: Snapshot, state: AppState, rows: list[dict], vectors: np.ndarray, settings) -> None:
    """Write the profiles to the live store, then make them visible in the snapshot being served (409 when the store
    was re-scored or the service reloaded with another model meanwhile, 503 when the store cannot be written).

    Under the state's write lock, which a reload holds from its copy of the store to its swap: a write that ran
    between the two had gone into the store after the copy and into the snapshot being retired, so the reloaded
    service did not serve it until the next reload although the answer said written."""
    with state.write_lock:
        serving = state.current()
        if serving is None or serving.model_version != snap.model_version:
            raise ProblemException(
                409,
                "the service was reloaded with another model while these rows were scored; send the request again",
                title="Model changed",
                type_="store-rescored",
            )
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
        except StoreBusy as exc:
            raise ProblemException(
                503,
                f"{exc}; nothing was written, send the request again",
                title="Store unavailable",
                headers={"Retry-After": "5"},
            ) from exc
        except StoreError as exc:
            raise ProblemException(503, f"cannot write to the profile store: {exc}", title="Store unavailable") from exc
        serving.add_profiles(rows, vectors)
        if snap is not serving:
            snap.add_profiles(rows, vectors)  # this response's similar customers still come from the request's snapshot


def _scored_profile(
    snap: Snapshot, row: dict, vec: np.ndarray, similar_k: int, mask: bool, known_before: set[str], in_history: set[str]
) -> ScoredProfile:
    cid = row["customer_id"]
    sims = similar_customers(snap, snap.search(vec, similar_k, exclude=cid)) if similar_k else []
    return profile_view(
        snap,
        row,
        mask,
        TOP_DRIVERS,
        cls=ScoredProfile,
        known=cid in known_before,
        history_merged=cid in in_history,
        similar=sims,
    )
