"""Cold-start scoring of a few customers (``POST /v1/score``): the batch code, with the embedding overlapped.

A request's scoring is the batch path (``service.pipeline.score_tables``) on a small ``LoadedData``, so a customer gets
the very numbers a batch run gives it. What costs on a few rows is fixed overhead, and the largest single piece is
embedding the request's new texts (one model call per text source). ``PrefetchEncoder`` starts that embedding, in one
model call for every source, on a background thread as soon as the rows are validated, and hands the vectors to the
scoring code when it asks: the feature query (DuckDB) and the model's runtime (OpenVINO or onnxruntime) release the
GIL, so on two cores they run side by side.

The vectors are the encoder's own (its content-hash cache included): a text embedded here is cached like any other,
and a later batch run reads the same vectors from the cache.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pandas as pd

# Review and browsing texts by text source, as service.text_features embeds them.
TEXT_COLUMNS = {"review": "reviews", "browse": "events"}

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="insight-prefetch")
        return _pool


def texts_to_embed(tables: dict[str, pd.DataFrame], sources: Sequence[str]) -> list[str]:
    """The distinct texts the scoring code will embed for ``sources``, in sorted order (as it numbers them)."""
    texts: set[str] = set()
    for src in sources:
        df = tables.get(TEXT_COLUMNS.get(src, ""))
        if df is not None and len(df) and "text" in df:
            texts.update(df["text"].astype(str).tolist())
    return sorted(texts)


class PrefetchEncoder:
    """``encoder`` with ``texts`` already on their way: ``encode`` waits for them instead of embedding them again.

    Texts it was not given (or any text, when the background call failed) go to ``encoder`` as usual, so the
    results are always the encoder's. Has the ``TextEncoder`` surface (``model_id``, ``dim``, ``encode``) and, like
    ``CachedEncoder``, the model behind it as ``encoder`` (what ``encoder_backend`` reads).
    """

    def __init__(self, encoder, texts: Sequence[str]):
        self.wrapped = encoder
        self.encoder = getattr(encoder, "encoder", encoder)
        self.model_id = encoder.model_id
        self.dim = encoder.dim
        self._texts = list(texts)
        self._future: Future | None = _executor().submit(encoder.encode, self._texts) if self._texts else None
        self._vectors: dict[str, np.ndarray] | None = None

    def _ready(self) -> dict[str, np.ndarray]:
        if self._vectors is None:
            self._vectors = {}
            if self._future is not None:
                try:
                    vectors = np.asarray(self._future.result())
                except Exception:  # noqa: BLE001 - the caller's own encode() call below raises it where it belongs
                    vectors = None
                if vectors is not None and vectors.shape == (len(self._texts), self.dim):
                    self._vectors = dict(zip(self._texts, vectors))
        return self._vectors

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        texts = list(texts)
        got = self._ready()
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        if not all(t in got for t in texts):
            return self.wrapped.encode(texts, batch_size=batch_size)
        return np.stack([got[t] for t in texts]).astype(np.float32, copy=False)

    def wait(self) -> None:
        """Until the background call has finished (so nothing of this request still runs after it returns)."""
        if self._future is not None:
            try:
                self._future.result()
            except Exception:  # noqa: BLE001 - reported by encode(), if the scoring code needed the texts at all
                pass
