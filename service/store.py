"""The profile store: one row per scored customer plus run metadata, in SQLite by default (SQLAlchemy, so a
PostgreSQL URL works too: ``pip install 'customer-insight[postgres]'``). A batch score replaces all profiles inside
one transaction: a failed or killed run leaves the previous profiles intact.

The similar-customer index lives in versioned directories under the index root (``<store>.index/`` beside a SQLite
file, ``$INSIGHT_INDEX_DIR/<host>-<port>-<database>/`` for a database URL). A score run writes its index into a new
version directory first, then commits the profiles together with the store metadata that names that version
(``index_version``). So the committed store always points at a complete index: a run killed at any instant leaves the
old store and the old index it names, and the next run removes the dead run's directories. The previous version is
kept one more run, for a server that loaded the old metadata a moment before the commit.

Where a store and its index root are, and the check before a run: ``service.store_location``; the index's version
directories: ``service.store_index``. The names other modules use from those are importable from here.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import sqlalchemy as sa

from service.crash import fault_point
from service.store_checks import DamagedProfile, checked_meta, checked_row, profile_subject
from service.store_index import (
    INDEX_FILES,
    clean_index_root,
    new_index_version,
    prune_index_versions,
    recover_legacy_index,
)
from service.store_location import (
    StoreBusy,
    StoreError,
    VersionConflict,
    check_store,
    index_root,
    make_engine,
    rejects_dir,
    safe_url,
    store_url,
)

__all__ = [
    "DamagedProfile",
    "ProfileStore",
    "StoreError",
    "VersionConflict",
    "check_store",
    "index_dir",
    "index_root",
    "metadata_obj",
    "profiles",
    "rejects_dir",
    "safe_url",
    "store_meta",
    "store_url",
]

ID_MAX_CHARS = 128  # = service.tables.ID_MAX_CHARS: ids longer than the column are rejected at validation

metadata_obj = sa.MetaData()
profiles = sa.Table(
    "profiles",
    metadata_obj,
    sa.Column("customer_id", sa.String(ID_MAX_CHARS), primary_key=True),
    sa.Column("tier", sa.String(16), nullable=False, index=True),
    sa.Column("predicted_value", sa.Float, nullable=False),
    sa.Column("churn_probability", sa.Float, nullable=False),
    sa.Column("rfm_segment", sa.String(32), nullable=False),
    sa.Column("value_rank_pct", sa.Float, nullable=False),
    sa.Column("profile", sa.JSON, nullable=False),  # drivers, evidence, features, RFM scores
    sa.Column("model_version", sa.String(64), nullable=False),
    sa.Column("scored_at", sa.String(40), nullable=False),
)
store_meta = sa.Table(
    "store_meta",
    metadata_obj,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)


def index_dir(store: str | Path, meta: dict | None = None) -> Path:
    """The index directory the store's committed metadata names (``meta``: already read, e.g. from a snapshot).

    A store scored before index versions existed has its index directly in the root.
    """
    root = index_root(store)
    if meta is None:
        try:
            ps = ProfileStore(store)
            try:
                meta = ps.meta()
            finally:
                ps.close()
        except StoreError:
            meta = {}
    version = meta.get("index_version")
    if version:
        return root / version
    recover_legacy_index(root)
    return root


def write_failed(exc: sa.exc.DBAPIError, what: str, after: str = "") -> StoreError:
    """The error for a write the database refused: ``what (the database's reason)after``. StoreBusy when the same
    write may succeed later (locked, disk full, connection lost), a plain StoreError for a store that refuses writes
    (read-only), where sending it again cannot help."""
    reason = str(exc.orig).strip().splitlines()[0][:200] if str(exc.orig).strip() else type(exc.orig).__name__
    kind = StoreError if re.search(r"read-?only", reason, re.I) else StoreBusy
    return kind(f"{what} ({reason}){after}")


class ProfileStore:
    def __init__(self, store: str | Path, create: bool = False):
        self.source = str(store)
        self.url = store_url(store)
        if self.url.startswith("sqlite:///") and not create:
            path = Path(self.url.removeprefix("sqlite:///"))
            if not path.exists():
                raise StoreError(f"{path}: profile store does not exist (create it with `insight score`)")
        try:
            self.engine = make_engine(self.url)
        except (ImportError, sa.exc.NoSuchModuleError) as exc:
            raise StoreError(
                f"{safe_url(store)}: no database driver for this URL ({exc}); for PostgreSQL install the extra: "
                "pip install 'customer-insight[postgres]'"
            ) from None
        if create:
            try:
                metadata_obj.create_all(self.engine)
            except sa.exc.DBAPIError as exc:
                raise StoreError(
                    f"{safe_url(store)}: cannot create the store tables ({str(exc.orig).strip().splitlines()[0]})"
                ) from None

    def replace_all(
        self,
        rows: list[dict] | Iterable[list[dict]],
        meta: dict,
        before_commit: Callable[[], None] | None = None,
        index=None,
    ) -> Path | None:
        """Swap in a complete new set of profiles and metadata atomically; with ``index`` (a SimilarityIndex) also the
        index.

        ``rows`` is one list of profile rows, or an iterable of row batches (e.g. partitions of a Dask run,
        pulled as they are consumed). Either way it is ONE transaction: if the iterable raises, or
        ``before_commit`` raises, nothing is replaced and the previous profiles stay.

        The index is written first into a new version directory; the committed metadata names it (``index_version``),
        so store and index change together at the commit. Returns that directory.
        """
        batches = [rows] if isinstance(rows, list) and (not rows or isinstance(rows[0], dict)) else rows
        new_dir = root = None
        keep: set[str] = set()
        if index is not None:
            root = index_root(self.source)
            root.mkdir(parents=True, exist_ok=True)
            previous = self._current_index_version()
            keep = {previous} if previous else set(INDEX_FILES)
            clean_index_root(root, keep)
            version = new_index_version()
            new_dir = index.save(root / version)
            fault_point("score:index-written")
            meta = {**meta, "index_version": version}
            keep.add(version)
        try:
            with self.engine.begin() as con:
                # Metadata first: on PostgreSQL this locks it, so a concurrent API write (upsert) waits for this commit.
                con.execute(store_meta.delete())
                con.execute(profiles.delete())
                for batch in batches:
                    for start in range(0, len(batch), 5000):
                        con.execute(profiles.insert(), batch[start : start + 5000])
                con.execute(store_meta.insert(), [{"key": k, "value": v} for k, v in meta.items()])
                if before_commit is not None:
                    before_commit()
                fault_point("score:rows-written")
        except BaseException as exc:
            if new_dir is not None:
                shutil.rmtree(new_dir, ignore_errors=True)
            if isinstance(exc, (sa.exc.OperationalError, sa.exc.DatabaseError)):
                # locked by a writer past the busy timeout, a full disk, a read-only file: the transaction rolled back
                raise write_failed(
                    exc,
                    f"{safe_url(self.source)}: the profile store cannot be written",
                    "; nothing was replaced, the previous profiles stay",
                ) from exc
            raise
        fault_point("score:committed")
        if root is not None:
            prune_index_versions(root, keep)
        return new_dir

    def _current_index_version(self) -> str | None:
        try:
            with self.engine.connect() as con:
                return con.execute(sa.select(store_meta.c.value).where(store_meta.c.key == "index_version")).scalar()
        except sa.exc.DBAPIError:
            return None

    def upsert(self, rows: list[dict], expect_model_version: str | None = None) -> None:
        """Insert or replace single profiles (cold-start scoring with write).

        With ``expect_model_version`` the write happens only while the store is still scored with that model
        (VersionConflict otherwise): the check reads the metadata inside the same transaction, after the rows are
        written, so a batch re-score cannot commit in between (SQLite: the write lock; PostgreSQL: a share lock on
        the metadata, which a re-score deletes first).
        """
        try:
            with self.engine.begin() as con:
                ids = [r["customer_id"] for r in rows]
                con.execute(profiles.delete().where(profiles.c.customer_id.in_(ids)))
                con.execute(profiles.insert(), rows)
                if expect_model_version is not None:
                    q = sa.select(store_meta.c.value).where(store_meta.c.key == "model_version")
                    if not self.url.startswith("sqlite"):
                        q = q.with_for_update(read=True)
                    current = con.execute(q).scalar()
                    if current != expect_model_version:
                        raise VersionConflict(
                            f"the store was re-scored with model {current} "
                            f"since this service loaded model {expect_model_version}"
                        )
        except (sa.exc.OperationalError, sa.exc.DatabaseError) as exc:
            # locked by another writer past the busy timeout, a read-only file, a lost connection: nothing was written
            # (the transaction rolled back); said without the store's location, which callers may show to clients
            raise write_failed(exc, "the profile store cannot be written now") from exc

    @classmethod
    def read_profile(cls, store: str | Path, customer_id: str) -> tuple[dict, dict]:
        """(profile, store metadata) of one customer; KeyError when the customer is not in the store."""
        ps = cls(store)
        try:
            meta = ps.meta()
            profile = ps.get(customer_id)
        finally:
            ps.close()
        if profile is None:
            raise KeyError(customer_id)
        return profile, checked_meta(meta, safe_url(str(store)))

    def get(self, customer_id: str) -> dict | None:
        """The profile row of ``customer_id``, None when there is none; DamagedProfile when it cannot be read."""
        try:
            with self.engine.connect() as con:
                row = con.execute(sa.select(profiles).where(profiles.c.customer_id == customer_id)).mappings().first()
        except (ValueError, TypeError) as exc:  # a value the column type cannot read back (bad JSON, text as a float)
            raise DamagedProfile(profile_subject(customer_id), str(exc)) from exc
        except sa.exc.DBAPIError as exc:  # a damaged page of the file ("Could not decode to UTF-8", "malformed")
            raise DamagedProfile(profile_subject(customer_id), str(exc.orig).splitlines()[0][:200]) from exc
        return checked_row(dict(row)) if row else None

    def meta(self) -> dict:
        try:
            with self.engine.connect() as con:
                rows = con.execute(sa.select(store_meta)).all()
        except (sa.exc.OperationalError, sa.exc.DatabaseError) as exc:
            first = (str(exc.orig).strip().splitlines() or [""])[0]  # psycopg's message runs over several lines
            raise StoreError(f"{safe_url(self.url)}: not a profile store ({first})") from exc
        except (ValueError, TypeError) as exc:  # a value that is not JSON
            raise DamagedProfile(f"{safe_url(self.url)}: the store metadata", str(exc)) from exc
        if not rows:
            raise StoreError(f"{safe_url(self.url)}: the store has no scored profiles yet (run `insight score`)")
        return {k: v for k, v in rows}

    def tier_counts(self) -> dict[str, dict]:
        with self.engine.connect() as con:
            rows = con.execute(
                sa.select(
                    profiles.c.tier,
                    sa.func.count(),
                    sa.func.avg(profiles.c.predicted_value),
                    sa.func.min(profiles.c.predicted_value),
                    sa.func.avg(profiles.c.churn_probability),
                ).group_by(profiles.c.tier)
            ).all()
        return {
            t: {"customers": n, "mean_predicted_value": avg, "min_predicted_value": lo, "mean_churn_probability": ch}
            for t, n, avg, lo, ch in rows
        }

    def top(self, tier: str | None = None, limit: int = 10) -> list[dict]:
        q = sa.select(profiles).order_by(profiles.c.predicted_value.desc()).limit(limit)
        if tier:
            q = q.where(profiles.c.tier == tier)
        with self.engine.connect() as con:
            return [checked_row(dict(r)) for r in con.execute(q).mappings()]

    def count(self) -> int:
        with self.engine.connect() as con:
            return con.execute(sa.select(sa.func.count()).select_from(profiles)).scalar_one()

    def close(self) -> None:
        self.engine.dispose()
