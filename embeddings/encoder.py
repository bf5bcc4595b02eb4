"""Text encoders: the ``TextEncoder`` interface, model resolution and the sentence-transformers backends.

One encoder class, five backends of sentence-transformers behind it: ``torch`` (the model as
shipped), ``onnx`` (the same weights exported to ONNX and run by onnxruntime), ``onnx-int8``
(that export with int8 dynamic quantization), ``openvino`` (the weights converted to OpenVINO IR,
run in float32) and ``openvino-int8`` (that IR statically quantized to int8 by NNCF, calibrated on
synthetic texts from ``service.synth``, never on user data).  Exports are made locally, once per
model folder, and kept in a cache folder (``$INSIGHT_CACHE_DIR``); nothing is downloaded.
``bench/embeddings.py`` measures speed and agreement with torch side by side.

Every encoder returns float32 ``(n, dim)`` arrays with L2-normalised rows, so cosine similarity is
a dot product everywhere downstream (cache, pooling, FAISS index).  Heavy libraries (torch,
sentence-transformers) are imported lazily so that ``import embeddings`` stays cheap.

This module is the entry point: the choice of backend, the encoder class and the per-process encoder cache
(``load_encoder``). The parts live beside it: ``interface`` (``TextEncoder``, ``EncoderError``, input checks),
``model_files`` (which model folder, its fingerprint), ``exports`` (where exports are kept, how they are written),
``onnx_backend`` and ``openvino_backend``; the embedding cache is ``cache``. The names other code uses are importable
from here.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .exports import default_cache_dir
from .interface import EncoderError, TextEncoder, check_batch_size, check_texts, l2_normalize
from .model_files import (
    BUNDLED_MODEL_NAME,
    ENV_MODEL,
    bundled_or_none,
    force_offline,
    hub_snapshot,
    model_fingerprint,
    resolve_model,
)

# The "X as X" imports are re-exports: bench/embeddings.py and tests/test_embeddings.py import them from here.
from .onnx_backend import FP32_FILE as FP32_FILE
from .onnx_backend import INT8_CONFIG, load_onnx, onnx_export
from .onnx_backend import INT8_FILE as INT8_FILE
from .openvino_backend import CALIBRATION_TEXTS as CALIBRATION_TEXTS
from .openvino_backend import calibration_texts as calibration_texts
from .openvino_backend import load_openvino, openvino_export

__all__ = [
    "BUNDLED_MODEL_NAME",
    "ENV_MODEL",
    "BACKENDS",
    "DEFAULT_BACKEND",
    "ENV_BACKEND",
    "EncoderError",
    "SentenceTransformerEncoder",
    "TextEncoder",
    "check_texts",
    "clear_encoder_cache",
    "l2_normalize",
    "load_encoder",
    "model_fingerprint",
    "default_cache_dir",
    "onnx_export",
    "openvino_available",
    "openvino_export",
    "resolve_backend",
    "resolve_model",
]

ENV_BACKEND = "INSIGHT_EMBEDDING_BACKEND"
BACKENDS = ("torch", "onnx", "onnx-int8", "openvino", "openvino-int8")
# Backends that need the optional OpenVINO stack (`pip install -e '.[openvino]'`, which `make install` includes).
OPENVINO_BACKENDS = ("openvino", "openvino-int8")
# The default is the fastest backend whose vectors stay within cosine 0.99 of torch's with no loss of holdout Gini
# (bench/results.md): OpenVINO static int8 (recipe r2: SmoothQuant, calibration on synthetic texts of every length and
# on scrambled words; texts of equal token length run together, unpadded, so a text's vector does not depend on its
# batch), x3.9-4.6 plain torch at cosine 0.997 mean / 0.988 min on real Olist reviews. ONNX fp32 (torch's vectors
# exactly, x1.8-2.1) is the fallback. Text gains as much on int8 vectors as on onnx's: 8 synthetic runs of 5,000
# customers (4 data, 2 model seeds), text check gain +0.025 on average on both; its bootstrap share was 0.85-1.0 on
# int8 (under the 0.9 asked in 2 runs) and 0.955-1.0 on onnx, 0.975-1.0 and 0.97-1.0 at 10,000 customers. The
# real-data reports match (README).
DEFAULT_BACKEND = "openvino-int8"
FALLBACK_BACKEND = "onnx"
# Texts per model call when the caller does not say: 64, or more for the unpadded int8 model, where a longer batch
# means longer runs of equal token length and so fewer, larger inferences (bench/results.md: x4.55 plain torch at
# 256 against x3.75 at 64 on distinct synthetic texts, x3.91 vs x3.70 on real Olist reviews; same vectors, bit for
# bit). Padded backends lose with longer batches (onnx, 2,500 synthetic texts: 3.2 s at 64, 3.9 s at 512). 256 keeps
# one call, which holds the model's lock, short for a concurrent API request.
BATCH_SIZES = {"openvino-int8": 256}


class SentenceTransformerEncoder:
    """sentence-transformers model on one of ``BACKENDS``, offline only.

    Texts are sorted by length before batching so each batch pads to similar lengths (less wasted
    compute on short reviews next to long ones); the output is put back in input order.
    ``max_seq_length`` (tokens; longer texts are truncated) is capped at the model's own limit, and
    is part of ``model_id`` because it changes the vectors of long texts; so is the backend
    (ONNX and int8 vectors differ slightly from torch's), except for torch itself so that caches
    filled before backends existed stay valid.
    """

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        device: str = "cpu",
        max_seq_length: int = 128,
        backend: str | None = None,
        export_dir: str | os.PathLike | None = None,
    ):
        if isinstance(max_seq_length, bool) or not isinstance(max_seq_length, int) or max_seq_length < 1:
            raise EncoderError(f"max_seq_length must be a positive integer, got {max_seq_length!r}")
        backend = resolve_backend(backend)
        resolved = resolve_model(model)
        is_dir = Path(resolved).is_dir()
        force_offline()
        folder = resolved if is_dir else hub_snapshot(resolved)
        self._model, weights_hash = _load_model(folder, backend, device, export_dir)

        # Truncation changes the vectors of long texts, so it is part of the identity below.
        self.max_seq_length = min(max_seq_length, int(self._model.max_seq_length or max_seq_length))
        self._model.max_seq_length = self.max_seq_length
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if not dim:
            raise EncoderError(f"model {resolved!r} does not report a sentence-embedding dimension")
        self.dim = int(dim)
        self.device = device
        self.backend = backend
        # optimum-intel's OpenVINO model holds one infer request: two threads at once (API requests, the cold-start
        # prefetch) fail with "Infer Request is busy", so its calls take turns. onnxruntime sessions are thread-safe.
        self._model_lock = threading.Lock() if backend in OPENVINO_BACKENDS else contextlib.nullcontext()
        self.model_path = folder
        self.model_id = _model_id(resolved, is_dir, folder, backend, self.max_seq_length, weights_hash)

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder(model_id={self.model_id!r}, dim={self.dim}, backend={self.backend!r})"

    # Characters of a text handed to the tokenizer per token the model reads. Why: the tokenizer splits the whole text
    # before it truncates, so one 200 MB review had taken 15 GB and minutes; a word piece is never more than 100
    # characters (longer words are one unknown token) plus a separator, so the first max_seq_length tokens always lie
    # within max_seq_length x 128 characters, and the cut changes no embedding.
    CHARS_PER_TOKEN = 128

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        limit = self.max_seq_length * self.CHARS_PER_TOKEN
        texts = [t[:limit] for t in check_texts(texts)]
        batch_size = check_batch_size(batch_size, BATCH_SIZES.get(self.backend, 64))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # Longest first (as sentence-transformers does): a too-long batch fails fast, not at the end.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            with self._model_lock:
                vecs = self._model.encode(
                    [texts[i] for i in idx],
                    batch_size=len(idx),
                    show_progress_bar=False,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                )
            out[idx] = vecs
        # Re-normalise in float32: the contract holds even for models without a Normalize module.
        return l2_normalize(out)


def _load_model(folder: str, backend: str, device: str, export_dir: str | os.PathLike | None) -> tuple[Any, str | None]:
    """The sentence-transformers model of ``folder`` on ``backend``, and (OpenVINO only) the hash of its weights file.

    Any failure is an EncoderError naming the folder and the backend."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise EncoderError(f"cannot import sentence-transformers, needed for the {backend!r} backend: {exc}") from exc
    try:
        if backend == "torch":
            return SentenceTransformer(folder, device=device, local_files_only=True), None
        if backend in OPENVINO_BACKENDS:
            return load_openvino(folder, device, quantized=backend == "openvino-int8", export_dir=export_dir)
        return load_onnx(folder, device, quantized=backend == "onnx-int8", export_dir=export_dir), None
    except EncoderError:
        raise
    except Exception as exc:
        raise EncoderError(f"could not load embedding model from {folder!r} on backend {backend!r}: {exc}") from exc


def _model_id(
    resolved: str, is_dir: bool, folder: str, backend: str, max_seq_length: int, weights_hash: str | None
) -> str:
    """``<label>:<fingerprint>``: the model's name and a hash of its files plus everything that changes its vectors
    (the sequence length; the backend, except torch so that caches filled before backends existed stay valid)."""
    label = (
        BUNDLED_MODEL_NAME
        if is_dir and resolved == bundled_or_none()
        else (Path(resolved).name if is_dir else resolved)
    )
    fingerprint_extra: tuple[str | int | None, ...] = ("max_seq_length", max_seq_length)
    if backend in OPENVINO_BACKENDS:
        # The int8 weights depend on the calibration run; their hash keeps cached vectors of another build apart.
        fingerprint_extra += ("backend", backend, weights_hash)
    elif backend != "torch":
        fingerprint_extra += ("backend", backend, INT8_CONFIG if backend == "onnx-int8" else "")
    return f"{label}:{model_fingerprint(folder, *fingerprint_extra)}"


# --------------------------------------------------------------------------- factory


@functools.lru_cache(maxsize=8)
def _load_cached(model: str, backend: str, device: str, max_seq_length: int) -> TextEncoder:
    return SentenceTransformerEncoder(model, device=device, max_seq_length=max_seq_length, backend=backend)


def openvino_available() -> bool:
    """Whether the optional OpenVINO stack (the ``openvino`` extra) is installed; nothing is imported."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("openvino", "nncf", "optimum.intel"))


def resolve_backend(backend: str | None = None) -> str:
    """The argument, else ``$INSIGHT_EMBEDDING_BACKEND``, else ``DEFAULT_BACKEND``; unknown names are an EncoderError.

    The default needs the ``openvino`` extra; without it the default is ``FALLBACK_BACKEND`` (an explicit
    openvino backend still fails, with the install command).  Bundles record the backend they were trained
    with, so a scored customer always gets vectors from the same engine as the training rows.
    """
    source = "backend"
    if backend is None or str(backend).strip() == "":
        env = os.environ.get(ENV_BACKEND, "").strip()
        if env:
            backend, source = env, f"${ENV_BACKEND}"
        else:
            backend = (
                DEFAULT_BACKEND
                if DEFAULT_BACKEND not in OPENVINO_BACKENDS or openvino_available()
                else FALLBACK_BACKEND
            )
            source = "default backend"
    if backend not in BACKENDS:
        raise EncoderError(f"{source}: unknown embedding backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    return backend


def load_encoder(
    model: str | os.PathLike | None = None,
    backend: str | None = None,
    *,
    device: str = "cpu",
    max_seq_length: int = 128,
) -> TextEncoder:
    """Load (once per process) the encoder for ``model`` on ``backend`` (see ``resolve_backend``).

    Loading takes seconds, so encoders are cached per resolved model, backend, device and
    sequence length; the model is resolved first so ``None`` and the explicit default share one entry.
    """
    return _load_cached(resolve_model(model), resolve_backend(backend), device, max_seq_length)


def clear_encoder_cache() -> None:
    """Drop the in-process encoder cache (frees the models; tests and reloads)."""
    _load_cached.cache_clear()
