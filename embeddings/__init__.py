"""Text to vectors: encoder interface and backends, content-hash cache, per-customer pooling, reducer, FAISS index."""

# Cheap to import: torch, sentence-transformers, faiss and scikit-learn load only when first used.
from .cache import CachedEncoder, EmbeddingCache, EmbeddingCacheError
from .encoder import (
    EncoderError,
    SentenceTransformerEncoder,
    TextEncoder,
    clear_encoder_cache,
    load_encoder,
    resolve_model,
)
from .index import SimilarityIndex, SimilarityIndexError
from .pooling import pool_by_key, recency_weights
from .reducer import TextReducer

__all__ = [
    "CachedEncoder",
    "EmbeddingCache",
    "EmbeddingCacheError",
    "EncoderError",
    "SentenceTransformerEncoder",
    "SimilarityIndex",
    "SimilarityIndexError",
    "TextEncoder",
    "TextReducer",
    "clear_encoder_cache",
    "load_encoder",
    "pool_by_key",
    "recency_weights",
    "resolve_model",
]
