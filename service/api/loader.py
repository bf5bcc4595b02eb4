"""Loading a snapshot: the private copy of the store (service.api.store_copy), then the bundle, the similar-customer
index and the batch history, cross-checked.

Before a new snapshot is swapped in it must load completely and agree with itself: the bundle loads
and its model version is the one the store was scored with, and the similar-customer index holds
exactly the store's scored customers. Otherwise the reload is refused and the old snapshot keeps
serving.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from embeddings.index import SimilarityIndex, SimilarityIndexError
from service.api.snapshot import RawHistory, Snapshot, SnapshotError
from service.api.store_copy import private_copy
from service.bundle import BundleError, ModelBundle
from service.store import ProfileStore, StoreError, index_dir, profiles, safe_url
from service.store_checks import DamagedProfile, checked_meta, columns_problem, profile_subject


def load_history(data_dir: Path) -> RawHistory:
    from service.tables import TABLES, find_table_file, read_raw

    tables, positions = {}, {}
    for name in TABLES:
        path = find_table_file(Path(data_dir), name)
        if path is None:
            continue
        df = read_raw(path).reset_index(drop=True)
        if "customer_id" not in df.columns:
            continue
        ids = df["customer_id"].map(lambda v: v.strip() if isinstance(v, str) else v)
        tables[name] = df
        positions[name] = {k: np.asarray(v) for k, v in ids.groupby(ids, sort=False).indices.items()}
    if "orders" not in tables:
        raise SnapshotError(f"{data_dir}: no orders table to take customers' history from")
    return RawHistory(tables, positions, str(data_dir))


def _roster(ps: ProfileStore) -> dict[str, tuple]:
    q = sa.select(
        profiles.c.customer_id,
        profiles.c.tier,
        profiles.c.predicted_value,
        profiles.c.churn_probability,
        profiles.c.rfm_segment,
    )
    try:
        with ps.engine.connect() as con:
            rows = con.execute(q).all()
    except (ValueError, TypeError) as exc:  # a value the column type cannot read back
        raise SnapshotError(str(DamagedProfile("a profile row of the store", str(exc)))) from exc
    roster: dict[str, tuple] = {}
    for cid, tier, value, churn, segment in rows:
        # the columns every request reads from memory; the rest of a row is checked when a request reads it
        problem = columns_problem(tier, value, churn)
        if problem:
            raise SnapshotError(str(DamagedProfile(profile_subject(cid), problem)))
        roster[cid] = (tier, float(value), float(churn), segment)
    return roster


def load_snapshot(settings, seq: int, previous: Snapshot | None = None) -> Snapshot:
    """Load and cross-check a complete snapshot; SnapshotError (with a clear message) when anything is off."""
    t0 = time.perf_counter()
    store = str(settings.store)
    ps, copy_path = private_copy(settings, seq, first=previous is None)
    try:
        try:
            meta = checked_meta(ps.meta(), safe_url(store))
        except StoreError as exc:
            raise SnapshotError(str(exc)) from exc
        model_dir, bundle = _matching_bundle(settings, meta)
        roster = _roster(ps)
        index = _matching_index(settings, store, meta, roster)
        history = load_history(settings.data_dir) if settings.data_dir else None
        values = np.sort(np.fromiter((v[1] for v in roster.values()), dtype=np.float64, count=len(roster)))
        churn = float(np.mean([v[2] for v in roster.values()])) if roster else float("nan")
        snap = Snapshot(
            seq=seq,
            bundle=bundle,
            store=ps,
            index=index,
            meta=meta,
            model_dir=model_dir.resolve(),
            store_source=store,
            loaded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            population_values=values,
            population_churn=churn,
            roster=roster,
            history=history,
            copy_path=copy_path,
            load_seconds=round(time.perf_counter() - t0, 3),
            response_cache_size=int(getattr(settings, "api_response_cache", 0) or 0),
        )
        if previous is not None and previous.model_version == snap.model_version:
            # Customers written through the API since the last batch score keep their vectors (same model, same space).
            for cid, vec in previous.extra_vectors.items():
                if cid not in index and cid in roster:
                    snap.extra_vectors[cid] = vec
        return snap
    except BaseException:
        ps.close()
        shutil.rmtree(copy_path.parent, ignore_errors=True)
        raise


def _matching_bundle(settings, meta: dict) -> tuple[Path, ModelBundle]:
    """The model bundle (given, or the one the store records) and its folder; refused unless it scored the store."""
    model_dir = Path(settings.model_dir or meta.get("model_dir") or "")
    if not str(model_dir):
        raise SnapshotError("no model bundle given and the store does not record one (pass --model)")
    try:
        bundle = ModelBundle.load(model_dir)
    except (BundleError, OSError, ValueError) as exc:
        raise SnapshotError(f"model bundle refused: {exc}") from exc
    if bundle.model_version != meta.get("model_version"):
        raise SnapshotError(
            f"the store was scored with model {meta.get('model_version')} but the bundle in {model_dir} is "
            f"{bundle.model_version}; re-score the store with this bundle (or point --model at the right one)"
        )
    return model_dir, bundle


def _matching_index(settings, store: str, meta: dict, roster: dict[str, tuple]) -> SimilarityIndex:
    """The similar-customer index of the store's version, refused unless it holds exactly the scored customers;
    rebuilt as HNSW when a flat one is above the approximation threshold."""
    try:
        idx_path = index_dir(store, meta)  # the version named by the metadata of this very snapshot
        index = SimilarityIndex.load(idx_path)
    except (FileNotFoundError, SimilarityIndexError, StoreError) as exc:
        raise SnapshotError(f"similar-customer index refused: {exc}") from exc
    try:
        customers = int(meta.get("customers", -1))
    except (TypeError, ValueError) as exc:
        raise SnapshotError(f"store metadata: 'customers' is {meta.get('customers')!r}, not a count") from exc
    if len(index) != customers or any(i not in roster for i in index.ids):
        raise SnapshotError(
            f"similar-customer index {idx_path} ({len(index)} customers) does not match the store "
            f"({meta.get('customers')} scored); a score run may be in progress, retry when it is done"
        )
    if index.kind == "flat" and len(index) > settings.index_approximate_above:
        ids = index.ids
        index = SimilarityIndex.build(
            ids,
            index.vectors(),
            approximate_above=settings.index_approximate_above,
            ef_search=settings.index_hnsw_ef_search,
        )
    elif index.kind == "hnsw":
        index.ef_search = settings.index_hnsw_ef_search
    return index
