"""The profile store: one row per scored customer plus run metadata, in SQLite by default (SQLAlchemy, so a
PostgreSQL URL works too). A batch score replaces all profiles inside one transaction: a failed run
leaves the previous profiles intact.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import sqlalchemy as sa

metadata_obj = sa.MetaData()
profiles = sa.Table(
    "profiles", metadata_obj,
    sa.Column("customer_id", sa.String(128), primary_key=True),
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
    "store_meta", metadata_obj,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)


class StoreError(ValueError):
    """The store is missing, unreadable, or has no scored profiles yet."""


def store_url(store: str | Path) -> str:
    """A path becomes a SQLite URL; anything with '://' is taken as a SQLAlchemy URL (e.g. postgresql://)."""
    s = str(store)
    if "://" in s:
        return s
    return f"sqlite:///{Path(s).resolve()}"


def index_dir(store: str | Path) -> Path:
    """Where the similar-customer index lives: beside the SQLite file, or INSIGHT_INDEX_DIR for server databases."""
    s = str(store)
    if "://" in s and not s.startswith("sqlite:///"):
        import os

        if not os.environ.get("INSIGHT_INDEX_DIR"):
            raise StoreError("a database URL store needs INSIGHT_INDEX_DIR for the similar-customer index")
        return Path(os.environ["INSIGHT_INDEX_DIR"])
    path = s.removeprefix("sqlite:///")
    return Path(path + ".index")


class ProfileStore:
    def __init__(self, store: str | Path, create: bool = False):
        self.url = store_url(store)
        if self.url.startswith("sqlite:///") and not create:
            path = Path(self.url.removeprefix("sqlite:///"))
            if not path.exists():
                raise StoreError(f"{path}: profile store does not exist (create it with `insight score`)")
        self.engine = sa.create_engine(self.url, future=True)
        if create:
            metadata_obj.create_all(self.engine)

    def replace_all(self, rows: list[dict] | Iterable[list[dict]], meta: dict,
                    before_commit: Callable[[], None] | None = None) -> None:
        """Swap in a complete new set of profiles and metadata atomically.

        ``rows`` is one list of profile rows, or an iterable of row batches (e.g. partitions of a Dask run,
        pulled as they are consumed). Either way it is ONE transaction: if the iterable raises, or
        ``before_commit`` (called after the last row, e.g. to put the matching index in place) raises,
        nothing is replaced and the previous profiles stay.
        """
        batches = [rows] if isinstance(rows, list) and (not rows or isinstance(rows[0], dict)) else rows
        with self.engine.begin() as con:
            con.execute(profiles.delete())
            for batch in batches:
                for start in range(0, len(batch), 5000):
                    con.execute(profiles.insert(), batch[start:start + 5000])
            con.execute(store_meta.delete())
            con.execute(store_meta.insert(), [{"key": k, "value": v} for k, v in meta.items()])
            if before_commit is not None:
                before_commit()

    def upsert(self, rows: list[dict]) -> None:
        """Insert or replace single profiles (cold-start scoring with write)."""
        with self.engine.begin() as con:
            ids = [r["customer_id"] for r in rows]
            con.execute(profiles.delete().where(profiles.c.customer_id.in_(ids)))
            con.execute(profiles.insert(), rows)

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
        return profile, meta

    def get(self, customer_id: str) -> dict | None:
        with self.engine.connect() as con:
            row = con.execute(sa.select(profiles).where(profiles.c.customer_id == customer_id)).mappings().first()
        return _decode(dict(row)) if row else None

    def meta(self) -> dict:
        try:
            with self.engine.connect() as con:
                rows = con.execute(sa.select(store_meta)).all()
        except (sa.exc.OperationalError, sa.exc.DatabaseError) as exc:
            raise StoreError(f"{self.url}: not a profile store ({exc.orig})") from exc
        if not rows:
            raise StoreError(f"{self.url}: the store has no scored profiles yet (run `insight score`)")
        return {k: v for k, v in rows}

    def tier_counts(self) -> dict[str, dict]:
        with self.engine.connect() as con:
            rows = con.execute(
                sa.select(profiles.c.tier, sa.func.count(), sa.func.avg(profiles.c.predicted_value),
                          sa.func.min(profiles.c.predicted_value), sa.func.avg(profiles.c.churn_probability))
                .group_by(profiles.c.tier)).all()
        return {t: {"customers": n, "mean_predicted_value": avg, "min_predicted_value": lo, "mean_churn_probability": ch}
                for t, n, avg, lo, ch in rows}

    def top(self, tier: str | None = None, limit: int = 10) -> list[dict]:
        q = sa.select(profiles).order_by(profiles.c.predicted_value.desc()).limit(limit)
        if tier:
            q = q.where(profiles.c.tier == tier)
        with self.engine.connect() as con:
            return [_decode(dict(r)) for r in con.execute(q).mappings()]

    def count(self) -> int:
        with self.engine.connect() as con:
            return con.execute(sa.select(sa.func.count()).select_from(profiles)).scalar_one()

    def close(self) -> None:
        self.engine.dispose()


def _decode(row: dict) -> dict:
    return row
