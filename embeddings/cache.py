"""On-disk content-hash embedding cache (SQLite) and an encoder wrapper that uses it.

Key = sha256(model_id + "\\0" + text): the same text under the same model is embedded once, ever;
a different model (or a changed model folder, see ``model_fingerprint``) gets different keys, so a
cache can never serve another model's vectors.  One file may hold several models; each model's
dimension is recorded and checked on every read and write.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .encoder import TextEncoder, check_texts
from .interface import check_batch_size

__all__ = ["CachedEncoder", "EmbeddingCache", "EmbeddingCacheError"]

# Marks the file as ours, so a foreign SQLite database is refused instead of written into.
_APPLICATION_ID = 0x45_4D_42_43  # "EMBC"
_SCHEMA_VERSION = 1
log = logging.getLogger("insight.embeddings")

_CHUNK = 500  # keys per SELECT ... IN (...): well under SQLite's bound-parameter limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY,
    model_id TEXT NOT NULL UNIQUE,
    dim INTEGER NOT NULL CHECK (dim > 0)
);
CREATE TABLE IF NOT EXISTS vectors (
    key BLOB PRIMARY KEY,
    model INTEGER NOT NULL REFERENCES models(id),
    vec BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS vectors_model ON vectors(model);
"""


class EmbeddingCacheError(ValueError):
    """The cache file is unusable (corrupt, foreign, newer schema) or disagrees with the caller."""


class EmbeddingCache:
    """Vectors for (model_id, text) pairs in a SQLite file, float32 bytes keyed by content hash.

    ``get_many`` returns ``(vectors, found)``: a float32 ``(n, dim)`` array (zeros where missing)
    and a boolean mask.  WAL mode lets readers proceed while another process writes.
    """

    def __init__(self, path: str | os.PathLike, model_id: str):
        if not isinstance(model_id, str) or not model_id:
            raise ValueError("model_id must be a non-empty string")
        self.path = Path(path)
        self.model_id = model_id
        self._lock = threading.Lock()
        if self.path.exists() and not self.path.is_file():
            raise EmbeddingCacheError(f"embedding cache {self.path} is not a file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False + our lock: one cache object may be shared by API worker threads.
            self._conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.OperationalError) as exc:
            raise EmbeddingCacheError(
                f"embedding cache {self.path} cannot be opened ({exc}): its folder must be writable "
                "(set INSIGHT_CACHE_DIR to another folder)"
            ) from exc
        try:
            self._open()
        except sqlite3.OperationalError as exc:
            # not damage: a file or folder this process may not write (the cache is written as it is read)
            self._conn.close()
            raise EmbeddingCacheError(
                f"embedding cache {self.path} cannot be used ({exc}); check that this user may write the file and "
                "its folder, or set INSIGHT_CACHE_DIR to another folder"
            ) from exc
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise EmbeddingCacheError(
                f"embedding cache {self.path} is not a readable cache database ({exc}); delete it to start afresh"
            ) from exc
        except BaseException:
            self._conn.close()
            raise

    # -- setup ---------------------------------------------------------------------------------

    def _open(self) -> None:
        c = self._conn
        app_id = c.execute("PRAGMA application_id").fetchone()[0]
        n_tables = c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != _APPLICATION_ID and (app_id != 0 or n_tables):
            raise EmbeddingCacheError(
                f"{self.path} is a SQLite database but not an embedding cache; refusing to write into it"
            )
        version = c.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            raise EmbeddingCacheError(
                f"embedding cache {self.path} has schema version {version}, newer than this code ({_SCHEMA_VERSION})"
            )
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA synchronous=NORMAL")  # durable enough in WAL mode; a crash loses at most the last commit
        if n_tables == 0:
            c.executescript(
                f"BEGIN; {_SCHEMA} PRAGMA application_id={_APPLICATION_ID}; PRAGMA user_version={_SCHEMA_VERSION}; "
                "COMMIT;"
            )
        row = c.execute("SELECT id, dim FROM models WHERE model_id = ?", (self.model_id,)).fetchone()
        self._model_rowid: int | None
        self._dim: int | None
        self._model_rowid, self._dim = (row[0], int(row[1])) if row else (None, None)

    # -- public API ----------------------------------------------------------------------------

    @property
    def dim(self) -> int | None:
        """Dimension recorded for this model_id, or None before the first ``put_many``."""
        return self._dim

    def check_dim(self, dim: int) -> None:
        """Raise if this cache already holds vectors of another dimension for this model_id."""
        if self._dim is not None and int(dim) != self._dim:
            raise EmbeddingCacheError(
                f"embedding cache {self.path} holds {self._dim}-d vectors for model {self.model_id!r}, got "
                f"{int(dim)}-d; the model changed without its model_id changing, delete the cache file"
            )

    def key(self, text: str) -> bytes:
        return hashlib.sha256(self.model_id.encode() + b"\0" + text.encode("utf-8", "surrogatepass")).digest()

    damaged = 0  # vectors read back damaged (not of unit length) since this cache was opened

    def get_many(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Look up ``texts``; returns ``(vectors, found)`` with vectors float32 ``(n, dim)``, zero rows where not found.

        Before anything was stored for this model the dimension is unknown and vectors is ``(n, 0)``.
        """
        texts = check_texts(texts)
        n = len(texts)
        found = np.zeros(n, dtype=bool)
        with self._lock:
            self._refresh_model()
        if self._dim is None:
            return np.zeros((n, 0), dtype=np.float32), found
        out = np.zeros((n, self._dim), dtype=np.float32)
        positions: dict[bytes, list[int]] = {}
        for i, t in enumerate(texts):
            positions.setdefault(self.key(t), []).append(i)
        keys = list(positions)
        expected = self._dim * 4
        damaged_before = self.damaged
        with self._lock:
            for s in range(0, len(keys), _CHUNK):
                chunk = keys[s : s + _CHUNK]
                sql = f"SELECT key, vec FROM vectors WHERE model = ? AND key IN ({','.join('?' * len(chunk))})"
                try:
                    rows = self._conn.execute(sql, (self._model_rowid, *chunk)).fetchall()
                except sqlite3.DatabaseError as exc:
                    raise EmbeddingCacheError(f"embedding cache {self.path} is corrupt ({exc}); delete it") from exc
                for key, blob in rows:
                    if len(blob) != expected:
                        raise EmbeddingCacheError(
                            f"embedding cache {self.path} has a {len(blob)}-byte vector where {expected} bytes "
                            f"({self._dim} float32) were expected; the file is corrupt, delete it"
                        )
                    vec = np.frombuffer(blob, dtype="<f4")
                    if not _unit_norm(vec):
                        # every encoder returns L2-normalised rows: one that is not was damaged on disk (a flipped
                        # bit had changed 729 of 955 customers' similar customers without a word). Not found: the
                        # text is embedded again and its entry overwritten.
                        self.damaged += 1
                        continue
                    idx = positions[key]
                    out[idx] = vec
                    found[idx] = True
        if self.damaged > damaged_before:
            log.warning(
                "embedding cache %s: %d damaged vectors (not of unit length) ignored; their texts are embedded again",
                self.path,
                self.damaged - damaged_before,
            )
        return out, found

    def put_many(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one vector per text (existing entries are overwritten); records the dimension on first use."""
        texts = check_texts(texts)
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ValueError(f"vectors must have shape ({len(texts)}, dim) to match texts, got {vectors.shape}")
        if not texts:
            return
        if vectors.shape[1] == 0:
            raise ValueError("vectors must have at least one column")
        if not np.isfinite(vectors).all():
            raise ValueError("vectors contain NaN or infinite values; refusing to cache them")
        dim = int(vectors.shape[1])
        blobs = np.ascontiguousarray(vectors, dtype="<f4")
        with self._lock:
            self._refresh_model()
            self.check_dim(dim)
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    if self._model_rowid is None:
                        self._conn.execute(
                            "INSERT OR IGNORE INTO models(model_id, dim) VALUES (?, ?)", (self.model_id, dim)
                        )
                        row = self._conn.execute(
                            "SELECT id, dim FROM models WHERE model_id = ?", (self.model_id,)
                        ).fetchone()
                        self._model_rowid, self._dim = row[0], int(row[1])
                        self.check_dim(dim)  # another process may have registered this model first
                    self._conn.executemany(
                        "INSERT OR REPLACE INTO vectors(key, model, vec) VALUES (?, ?, ?)",
                        ((self.key(t), self._model_rowid, blobs[i].tobytes()) for i, t in enumerate(texts)),
                    )
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:  # SQLite may have rolled back itself (a full disk): keep its error
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.DatabaseError as exc:
                raise EmbeddingCacheError(f"could not write to embedding cache {self.path}: {exc}") from exc

    def _refresh_model(self) -> None:
        # Another process may have registered this model since we opened the file.
        if self._model_rowid is None:
            row = self._conn.execute("SELECT id, dim FROM models WHERE model_id = ?", (self.model_id,)).fetchone()
            if row:
                self._model_rowid, self._dim = row[0], int(row[1])

    def __len__(self) -> int:
        """Number of vectors stored for this model_id."""
        with self._lock:
            self._refresh_model()
            if self._model_rowid is None:
                return 0
            return int(
                self._conn.execute("SELECT count(*) FROM vectors WHERE model = ?", (self._model_rowid,)).fetchone()[0]
            )

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.path)!r}, model_id={self.model_id!r}, dim={self._dim})"


class CachedEncoder:
    """Wraps a ``TextEncoder``: encodes each distinct text once, and only texts the cache lacks.

    Counters (cumulative until ``reset_counters``): ``requested`` texts passed in, ``hits`` and
    ``misses`` distinct texts found / not found in the cache (both 0 without a cache), ``encoded``
    texts actually sent to the model.  ``requested - hits - encoded`` is what deduplication saved.
    """

    def __init__(self, encoder: TextEncoder, cache: EmbeddingCache | None = None):
        if not isinstance(encoder, TextEncoder):
            raise TypeError(f"encoder must implement TextEncoder (model_id, dim, encode), got {type(encoder).__name__}")
        if cache is not None:
            # Storing this encoder's vectors under another model's keys would poison the cache.
            if cache.model_id != encoder.model_id:
                raise EmbeddingCacheError(
                    f"cache {cache.path} is for model {cache.model_id!r} but the encoder is {encoder.model_id!r}"
                )
            cache.check_dim(encoder.dim)
        self.encoder = encoder
        self.cache = cache
        self.reset_counters()

    @property
    def model_id(self) -> str:
        return self.encoder.model_id

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def reset_counters(self) -> None:
        self.requested = self.hits = self.misses = self.encoded = 0

    def stats(self) -> dict[str, int]:
        return {"requested": self.requested, "hits": self.hits, "misses": self.misses, "encoded": self.encoded}

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        texts = check_texts(texts)
        if batch_size is not None:  # None: the wrapped encoder's own best batch size
            check_batch_size(batch_size)
        dim = self.dim
        # Deduplicate, keeping first-seen order; inverse maps each input back to its distinct text.
        first: dict[str, int] = {}
        inverse = np.fromiter((first.setdefault(t, len(first)) for t in texts), dtype=np.intp, count=len(texts))
        unique = list(first)
        self.requested += len(texts)

        vectors = np.zeros((len(unique), dim), dtype=np.float32)
        if self.cache is not None and unique:
            cached, found = self.cache.get_many(unique)
            if found.any():
                vectors[found] = cached[found]
            self.hits += int(found.sum())
            self.misses += int((~found).sum())
            todo = np.flatnonzero(~found)
        else:
            todo = np.arange(len(unique))

        if len(todo):
            miss_texts = [unique[i] for i in todo]
            fresh = np.asarray(self.encoder.encode(miss_texts, batch_size=batch_size))
            if fresh.shape != (len(miss_texts), dim):
                raise ValueError(
                    f"encoder {self.model_id!r} returned shape {fresh.shape}, expected ({len(miss_texts)}, {dim})"
                )
            fresh = fresh.astype(np.float32, copy=False)
            self.encoded += len(miss_texts)
            if self.cache is not None:
                self.cache.put_many(miss_texts, fresh)
            vectors[todo] = fresh
        return vectors[inverse]


def _unit_norm(vec: np.ndarray) -> bool:
    """Finite and of length 1 (to float32 rounding): what every encoder stores."""
    norm = float(np.dot(vec.astype(np.float64), vec.astype(np.float64)))
    return np.isfinite(norm) and abs(norm - 1.0) < 1e-3
