"""What every run (train, score) shares: progress reporting, the run summary, reading the input, the encoder."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from service.bundle import ModelBundle
from service.features import to_utc
from service.rejects_files import StagedRejects
from service.tables import LoadedData, NoValidOrders, load_tables
from service.text_features import TextEmbeddings


class Reporter:
    """Progress hooks; the CLI passes one that draws rich progress bars, tests pass nothing."""

    @contextmanager
    def stage(self, name: str):
        yield

    def progress(self, name: str, total: int) -> Callable[[int], None]:
        return lambda n: None

    @contextmanager
    def step(self, name: str):
        """A timed part of a stage (features, SHAP, ...): the benchmark records it, the CLI shows only stages."""
        yield


@dataclass
class RunSummary:
    rows_read: int = 0
    rows_rejected: int = 0
    rejects: dict = field(default_factory=dict)
    rejects_dir: str | None = None
    customers: int = 0
    seconds: float = 0.0
    stages: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)


def parse_cutoff(value: str | None, default: pd.Timestamp) -> pd.Timestamp:
    """A date alone means the end of that day (UTC), so 'orders on the cutoff date' count as before it."""
    if value is None:
        return to_utc(default)
    from service.tables import parse_timestamp

    # Strict ISO 8601 inside the accepted date range: '01/02/2025' is refused, not read as 2 January.
    return parse_timestamp(value, "cutoff", end_of_day=True)


def make_encoder(model: str | None, cache_dir: Path | None, backend: str | None = None):
    """The embedding model (on ``backend``, default $INSIGHT_EMBEDDING_BACKEND or openvino-int8) behind the on-disk
    content-hash cache."""
    from embeddings.cache import CachedEncoder, EmbeddingCache
    from embeddings.encoder import default_cache_dir, load_encoder

    encoder = load_encoder(model, backend)
    cache_dir = Path(cache_dir or default_cache_dir())
    cache_dir.mkdir(parents=True, exist_ok=True)
    return CachedEncoder(encoder, EmbeddingCache(cache_dir / "embeddings.sqlite", encoder.model_id))


def timed(summary: RunSummary, reporter: Reporter, name: str):
    @contextmanager
    def cm():
        t0 = time.perf_counter()
        with reporter.stage(name):
            yield
        summary.stages[name] = round(time.perf_counter() - t0, 3)

    return cm()


def load_input(data: str | Path | LoadedData, rejects_to: Path | None = None) -> LoadedData:
    """The validated tables. When not one order is valid the run stops there, and with ``rejects_to`` the rejected
    rows go to its ``.failed`` folder, which the error names (they had been written nowhere)."""
    if isinstance(data, LoadedData):
        return data
    try:
        return load_tables(data)
    except NoValidOrders as exc:
        if rejects_to is None:
            raise
        with StagedRejects(rejects_to) as rejects:
            rejects.stage(exc.loaded)
            raise


def record_rejects(summary: RunSummary, loaded: LoadedData, rejects: StagedRejects) -> None:
    """Count the rows read and rejected in the summary, and stage the rejected ones (``rejects.commit`` moves them
    into place once the run's output is)."""
    summary.rows_read = loaded.n_read
    summary.rows_rejected = loaded.n_rejected
    summary.rejects = {k: len(v) for k, v in loaded.rejects.items() if len(v)}
    # Per table read = kept + rejected (a customers table derived from the orders was not read: not listed).
    summary.details["tables"] = {k: v for k, v in loaded.summary().items() if k in loaded.rows_read}
    rejects.stage(loaded)
    if loaded.n_rejected:
        summary.rejects_dir = str(rejects.final)


def text_embeddings(loaded: LoadedData, sources, encoder, half_life, reporter: Reporter) -> TextEmbeddings | None:
    if not sources:
        return None
    return TextEmbeddings(loaded.tables, ProgressEncoder(encoder, reporter), sources=sources, half_life_days=half_life)


class ProgressEncoder:
    """Encodes in chunks so the CLI can show a progress bar (TextEmbeddings passes distinct texts; the cache dedupes
    too)."""

    CHUNK = 4096

    def __init__(self, encoder, reporter: Reporter):
        self.encoder, self.reporter, self.dim = encoder, reporter, encoder.dim

    def encode(self, texts: list[str]) -> np.ndarray:
        advance = self.reporter.progress("embedding texts", len(texts))
        parts = []
        for start in range(0, len(texts), self.CHUNK):
            chunk = list(texts[start : start + self.CHUNK])
            parts.append(self.encoder.encode(chunk))
            advance(len(chunk))
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)


def encoder_spec(
    model: str | None, cache_dir: Path | None, encoder=None, backend: str | None = None
) -> tuple[str | None, str | None, str]:
    """(model, cache directory, backend) for workers, which load the encoder themselves (a model cannot travel
    between processes).

    When the caller passed an encoder with an on-disk cache, the workers share that cache file.
    """
    backend = encoder_backend(encoder, backend)
    cache = getattr(getattr(encoder, "cache", None), "path", None)
    if cache is not None:
        return model, str(Path(cache).parent), backend
    return model, (str(cache_dir) if cache_dir else None), backend


def bundle_backend(bundle: ModelBundle) -> str:
    """The embedding backend a bundle was trained with (bundles from before backends existed used torch)."""
    return bundle.config.get("embedding_backend") or "torch"


def encoder_backend(encoder=None, backend: str | None = None) -> str:
    """The backend of ``encoder`` (or of the one it wraps), else ``backend`` resolved (argument, env, default)."""
    from embeddings.encoder import resolve_backend

    inner = getattr(encoder, "encoder", encoder)
    return getattr(inner, "backend", None) or resolve_backend(backend)
