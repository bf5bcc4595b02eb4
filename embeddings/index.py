"""Cosine-similarity nearest-neighbour index over customer vectors (FAISS), with atomic save/load.

Exact inner-product search below ``approximate_above`` vectors (brute force is fast and exact
there), HNSW above it; IVF (inverted lists over k-means cells) and ``hnsw-pca`` (the HNSW graph
built over a PCA projection, its candidates re-ranked exactly on the full vectors) on request.
Rows are L2-normalised on the way in, so inner product is cosine.  ``bench/index.py`` measures
them at 100k and 1M vectors.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .interface import l2_normalize

__all__ = ["SimilarityIndex", "SimilarityIndexError"]

_FORMAT_VERSION = 1
_INDEX_FILE, _IDS_FILE, _META_FILE = "index.faiss", "ids.json", "meta.json"
KINDS = ("flat", "hnsw", "ivf", "hnsw-pca")


class SimilarityIndexError(ValueError):
    """An index directory is incomplete or corrupt, or an index was misused."""


def _faiss():
    import faiss  # lazy: keeps `import embeddings` cheap

    return faiss


def _check_vectors(vectors, dim: int | None = None, what: str = "vectors") -> np.ndarray:
    x = np.asarray(vectors)
    if x.ndim == 1 and dim is not None:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"{what} must be 2-d (n, dim), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
        raise ValueError(f"{what} must be finite numbers (no NaN or inf)")
    if dim is not None and x.shape[1] != dim:
        raise ValueError(f"{what} have dim {x.shape[1]} but the index has dim {dim}")
    return np.ascontiguousarray(l2_normalize(x))


def fsync_path(path: Path) -> None:
    """Flush a written file to disk before it is renamed into place (the bundle and the index both do)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SimilarityIndex:
    """Nearest customers by cosine similarity; build with :meth:`build`, or :meth:`load` a saved one."""

    def __init__(self, index, ids: list[str], kind: str):
        # Not meant to be called directly: build() and load() validate before getting here.
        self._index = index
        self._ids = list(ids)
        self._pos = {id_: i for i, id_ in enumerate(self._ids)}
        self.kind = kind

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        ids: Sequence[str],
        vectors: np.ndarray,
        approximate_above: int = 50_000,
        *,
        kind: str = "auto",
        hnsw_m: int = 32,
        ef_construction: int = 80,
        ef_search: int = 64,
        nprobe: int = 32,
        seed: int = 0,
        pca_dim: int = 128,
        refine_factor: int = 4,
    ) -> SimilarityIndex:
        """Index ``vectors`` (one row per id).

        ``kind="auto"``: exact up to ``approximate_above`` rows, HNSW above.  ``"ivf"``: 4 * sqrt(n)
        k-means cells (trained on at most 256 vectors per cell), ``nprobe`` of them searched per query.
        ``"hnsw-pca"``: HNSW over the first ``pca_dim`` principal components (fit on at most 100,000 rows),
        its best ``refine_factor * k`` candidates re-ranked by exact cosine on the full vectors: a graph
        ``dim / pca_dim`` times cheaper to build, for the memory of the full vectors plus the projection.
        """
        if kind not in KINDS + ("auto",):
            raise ValueError(f"unknown index kind {kind!r}; valid kinds: auto, {', '.join(KINDS)}")
        ids = _check_ids(ids)
        x = _check_vectors(vectors)
        if x.shape[0] != len(ids):
            raise ValueError(f"ids and vectors disagree on length: {len(ids)} ids, {x.shape[0]} vectors")
        if not ids:
            raise ValueError("cannot build an index with no vectors")
        if x.shape[1] == 0:
            raise ValueError("vectors must have at least one column")
        if approximate_above < 0:
            raise ValueError(f"approximate_above must be >= 0, got {approximate_above}")

        faiss = _faiss()
        d = x.shape[1]
        if kind == "auto":
            kind = "hnsw" if len(ids) > approximate_above else "flat"
        if kind == "hnsw":
            index = _hnsw_graph(faiss, d, hnsw_m, ef_construction, ef_search)
        elif kind == "ivf":
            index = _trained_ivf(faiss, x, nprobe, seed)
        elif kind == "hnsw-pca":
            p = max(1, min(int(pca_dim), d))
            graph = _hnsw_graph(faiss, p, hnsw_m, ef_construction, ef_search)
            index = _trained_hnsw_pca(faiss, x, graph, p, seed, refine_factor)
        else:
            index = faiss.IndexFlatIP(d)
        index.add(x)
        if kind == "ivf":
            index.make_direct_map()  # vector_of() / vectors() reconstruct by position
        return cls(index, ids, kind)

    # -- properties -----------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        return int(self._index.d)

    @property
    def ids(self) -> list[str]:
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, id_: object) -> bool:
        return id_ in self._pos

    @property
    def ef_search(self) -> int | None:
        """HNSW breadth of search (recall vs speed); None for an exact index."""
        return int(self._hnsw().efSearch) if self.kind in ("hnsw", "hnsw-pca") else None

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        if self.kind not in ("hnsw", "hnsw-pca"):
            raise SimilarityIndexError("ef_search only applies to an HNSW index")
        if int(value) < 1:
            raise ValueError(f"ef_search must be >= 1, got {value}")
        self._hnsw().efSearch = int(value)

    @property
    def refine_factor(self) -> int | None:
        """``hnsw-pca``: candidates per wanted neighbour re-ranked exactly (recall vs speed); None for other kinds."""
        return int(_faiss().downcast_index(self._index).k_factor) if self.kind == "hnsw-pca" else None

    @refine_factor.setter
    def refine_factor(self, value: int) -> None:
        if self.kind != "hnsw-pca":
            raise SimilarityIndexError("refine_factor only applies to an hnsw-pca index")
        if int(value) < 1:
            raise ValueError(f"refine_factor must be >= 1, got {value}")
        _faiss().downcast_index(self._index).k_factor = float(int(value))

    def _hnsw(self):
        if self.kind == "hnsw-pca":
            faiss = _faiss()
            coarse = faiss.downcast_index(faiss.downcast_index(self._index).base_index)
            return faiss.downcast_index(coarse.index).hnsw
        return self._index.hnsw

    @property
    def nprobe(self) -> int | None:
        """IVF cells searched per query (recall vs speed); None for other kinds."""
        return int(self._faiss_ivf().nprobe) if self.kind == "ivf" else None

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        if self.kind != "ivf":
            raise SimilarityIndexError("nprobe only applies to an IVF index")
        if int(value) < 1:
            raise ValueError(f"nprobe must be >= 1, got {value}")
        self._faiss_ivf().nprobe = int(value)

    def _faiss_ivf(self):
        return _faiss().extract_index_ivf(self._index)

    def vectors(self) -> np.ndarray:
        """All stored (normalised) vectors in id order, in one call (no per-row Python)."""
        return self._index.reconstruct_n(0, len(self._ids))

    # -- queries --------------------------------------------------------------------------------

    def search(self, vectors: np.ndarray, k: int = 10) -> tuple[list[list[str]], np.ndarray]:
        """The ``k`` most similar ids for each query row (a 1-d vector is one query).

        Returns ``(ids, scores)``: ``ids[i]`` best first, ``scores`` float32 ``(n_queries, min(k, len))``
        cosine similarities.  If HNSW finds fewer than k neighbours (rare), ``ids[i]`` is shorter
        and the missing scores are NaN.
        """
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        q = _check_vectors(vectors, dim=self.dim, what="query vectors")
        k = min(int(k), len(self._ids))
        scores, labels = self._index.search(q, k)
        scores = scores.astype(np.float32)
        scores[labels < 0] = np.nan
        ids = [[self._ids[j] for j in row if j >= 0] for row in labels]
        return ids, scores

    def vector_of(self, id_: str) -> np.ndarray:
        """The stored (normalised) vector of ``id_``; KeyError for an unknown id."""
        pos = self._pos.get(id_)
        if pos is None:
            raise KeyError(id_)
        return self._index.reconstruct(pos)

    def neighbours_of(self, id_: str, k: int = 10) -> tuple[list[str], np.ndarray]:
        """The ``k`` ids most similar to ``id_``, excluding itself: ``(ids, scores)``, best first."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        pos = self._pos.get(id_)
        if pos is None:
            raise KeyError(id_)
        ids, scores = self.search(self.vector_of(id_)[None, :], k + 1)
        # Drop the query by position, not by score: another customer may have an identical vector.
        keep = [j for j, other in enumerate(ids[0]) if other != id_][:k]
        return [ids[0][j] for j in keep], scores[0, keep]

    # -- persistence ----------------------------------------------------------------------------

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``index.faiss``, ``ids.json`` and ``meta.json`` into ``directory`` atomically.

        Files go to a temp dir beside the target, which then replaces it by rename, so a reader never
        sees a half-written directory.  Replacing an existing index takes two renames (old aside, new
        in); between them the directory is briefly absent, and load() then says so.
        """
        target = Path(directory)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and not target.is_dir():
            raise SimilarityIndexError(f"{target} exists and is not a directory")
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
        try:
            try:
                _faiss().write_index(self._index, str(tmp / _INDEX_FILE))
            except RuntimeError as exc:  # faiss reports a full disk or an I/O error this way, with its C++ trace
                first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "write failed"
                raise OSError(f"could not write the similarity index into {target.parent} ({first})") from exc
            (tmp / _IDS_FILE).write_text(json.dumps(self._ids), encoding="utf-8")
            meta: dict = {
                "format_version": _FORMAT_VERSION,
                "kind": self.kind,
                "dim": self.dim,
                "count": len(self._ids),
                "metric": "cosine",
                "faiss_version": _faiss().__version__,
            }
            if self.kind in ("hnsw", "hnsw-pca"):
                meta["ef_search"] = self.ef_search
            if self.kind == "hnsw-pca":
                meta["refine_factor"] = self.refine_factor
            if self.kind == "ivf":
                meta["nprobe"] = self.nprobe
            meta["sha256"] = {name: file_sha256(tmp / name) for name in (_INDEX_FILE, _IDS_FILE)}
            (tmp / _META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
            for name in (_INDEX_FILE, _IDS_FILE, _META_FILE):
                fsync_path(tmp / name)
            os.chmod(tmp, 0o755)  # mkdtemp makes it 0700
            if target.exists():
                # rename() cannot replace a non-empty directory: move the old one aside first.
                old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
                os.replace(target, old / "index")
                os.replace(tmp, target)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return target

    @classmethod
    def load(cls, directory: str | os.PathLike) -> SimilarityIndex:
        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"similarity index directory {directory} does not exist")
        missing = [n for n in (_INDEX_FILE, _IDS_FILE, _META_FILE) if not (directory / n).is_file()]
        if missing:
            raise SimilarityIndexError(f"similarity index {directory} is incomplete: missing {', '.join(missing)}")
        try:
            meta = json.loads((directory / _META_FILE).read_text(encoding="utf-8"))
            ids = json.loads((directory / _IDS_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SimilarityIndexError(
                f"similarity index {directory}: unreadable {_META_FILE} or {_IDS_FILE} ({exc})"
            ) from exc
        if not isinstance(meta, dict) or meta.get("format_version") != _FORMAT_VERSION or meta.get("kind") not in KINDS:
            raise SimilarityIndexError(
                f"similarity index {directory}: {_META_FILE} is not a supported index description"
            )
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(set(ids)) != len(ids):
            raise SimilarityIndexError(f"similarity index {directory}: {_IDS_FILE} must be a list of distinct strings")
        # The files as written: random bytes over the vectors, or two ids swapped, had loaded and served wrong
        # neighbours (and a similarity of 3.8e36). Indexes saved before the checksums load unchecked.
        sums = meta.get("sha256")
        if isinstance(sums, dict):
            for name in (_INDEX_FILE, _IDS_FILE):
                if sums.get(name) != file_sha256(directory / name):
                    raise SimilarityIndexError(
                        f"similarity index {directory}: {name} does not match the checksum written with it (damaged "
                        "or changed since); run `insight score` again to rebuild it"
                    )

        faiss = _faiss()
        try:
            index = faiss.read_index(str(directory / _INDEX_FILE))
        except Exception as exc:  # faiss raises RuntimeError with its C++ message
            raise SimilarityIndexError(f"similarity index {directory}: {_INDEX_FILE} is corrupt ({exc})") from exc
        expected = {
            "hnsw": faiss.IndexHNSWFlat,
            "ivf": faiss.IndexIVFFlat,
            "flat": faiss.IndexFlatIP,
            "hnsw-pca": faiss.IndexRefineFlat,
        }[meta["kind"]]
        problems = []
        if not isinstance(index, expected):
            problems.append(f"index type {type(index).__name__}, expected {expected.__name__}")
        if index.metric_type != faiss.METRIC_INNER_PRODUCT:
            problems.append("metric is not inner product")
        if index.d != meta.get("dim"):
            problems.append(f"dim {index.d} vs meta {meta.get('dim')}")
        if not (index.ntotal == len(ids) == meta.get("count")):
            problems.append(f"{index.ntotal} vectors, {len(ids)} ids, meta count {meta.get('count')}")
        if problems:
            raise SimilarityIndexError(f"similarity index {directory} is inconsistent: {'; '.join(problems)}")
        return cls(index, ids, meta["kind"])

    def __repr__(self) -> str:
        return f"SimilarityIndex(kind={self.kind!r}, count={len(self)}, dim={self.dim})"


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes (read in blocks)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _check_ids(ids: Sequence[str]) -> list[str]:
    """``ids`` as a list of distinct strings; TypeError or ValueError (naming up to five duplicates) otherwise."""
    if isinstance(ids, (str, bytes)):
        raise TypeError("ids must be a sequence of strings, not a single string")
    ids = list(ids)
    for i, id_ in enumerate(ids):
        if not isinstance(id_, str):
            raise TypeError(f"ids[{i}] is {type(id_).__name__}, expected str")
    if len(set(ids)) != len(ids):
        seen, dupes = set(), []
        for id_ in ids:
            if id_ in seen and id_ not in dupes:
                dupes.append(id_)
            seen.add(id_)
        raise ValueError(
            f"duplicate ids ({len(dupes)}): {', '.join(map(repr, dupes[:5]))}{' ...' if len(dupes) > 5 else ''}"
        )
    return ids


def _hnsw_graph(faiss, d: int, hnsw_m: int, ef_construction: int, ef_search: int):
    """An empty HNSW graph over ``d``-dimensional vectors, by inner product."""
    index = faiss.IndexHNSWFlat(d, int(hnsw_m), faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = int(ef_construction)
    index.hnsw.efSearch = int(ef_search)
    return index


def _trained_ivf(faiss, x: np.ndarray, nprobe: int, seed: int):
    """An IVF index with 4 * sqrt(n) k-means cells, trained on at most 256 of the vectors ``x`` per cell."""
    d = x.shape[1]
    nlist = max(1, min(int(4 * np.sqrt(len(x))), len(x) // 39))  # faiss wants >= 39 points per cell
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = int(seed)
    sample = x if len(x) <= 256 * nlist else x[np.random.default_rng(seed).choice(len(x), 256 * nlist, replace=False)]
    index.train(sample)
    index.nprobe = min(int(nprobe), nlist)
    return index


def _trained_hnsw_pca(faiss, x: np.ndarray, graph, p: int, seed: int, refine_factor: int):
    """``graph`` (over ``p`` dimensions) behind a PCA of ``x`` to ``p`` components, fitted on at most 100,000 of its
    rows; the graph's candidates are re-ranked by exact inner product on the full vectors."""
    pca = faiss.PCAMatrix(x.shape[1], p)
    coarse = faiss.IndexPreTransform(pca, graph)
    sample = x if len(x) <= 100_000 else x[np.sort(np.random.default_rng(seed).choice(len(x), 100_000, replace=False))]
    coarse.train(sample)
    index = faiss.IndexRefineFlat(coarse)
    index.k_factor = float(refine_factor)
    return index
