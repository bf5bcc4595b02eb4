"""What the rest of the project needs from a text encoder (``TextEncoder``), and the checks every encoder applies.

Every encoder returns float32 ``(n, dim)`` arrays with L2-normalised rows, so cosine similarity is a dot product
everywhere downstream (cache, pooling, FAISS index).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["EncoderError", "TextEncoder", "check_batch_size", "check_texts", "l2_normalize"]


class EncoderError(ValueError):
    """A model cannot be resolved or loaded, or an encoder was misused."""


@runtime_checkable
class TextEncoder(Protocol):
    """What the rest of the project needs from an encoder.

    ``model_id`` is a stable identity (it goes into cache keys, so it must change whenever the
    vectors would); ``encode`` returns float32 ``(len(texts), dim)`` with unit-norm rows, and
    ``(0, dim)`` for empty input. ``batch_size`` None means the encoder's own best batch size.
    """

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray: ...


def check_texts(texts: Sequence[str]) -> list[str]:
    """Validate encoder input and return it as a list of str.

    A bare string is a Sequence[str] too; encoding it character by character is never what
    the caller meant, so it is rejected.
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError("texts must be a sequence of strings, not a single string; wrap it in a list")
    if isinstance(texts, np.ndarray) and texts.ndim != 1:
        raise ValueError(f"texts must be 1-d, got an array of shape {texts.shape}")
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise TypeError(
                f"texts[{i}] is {type(t).__name__}, expected str (missing texts should be dropped or set to '')"
            )
    return out


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Row-normalise to unit L2 norm in float32; all-zero rows stay zero instead of becoming NaN."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def check_batch_size(batch_size: int | None, default: int = 64) -> int:
    """``batch_size`` as an int (``default`` for None); anything but a positive integer is a ValueError."""
    if batch_size is None:
        return default
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)
