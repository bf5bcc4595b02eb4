"""HTTP service settings: the shared ``Settings`` (INSIGHT_ prefix) plus the API's own knobs.

Parsing of ``INSIGHT_API_KEYS`` lives here too. Keys never appear in messages or logs: an entry
that cannot be parsed is reported by its position only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from service.config import Settings

Role = Literal["agent", "admin"]
ROLES: tuple[str, ...] = ("agent", "admin")


class ApiSettings(Settings):
    """``Settings`` plus the HTTP service's limits; every field reads ``INSIGHT_<NAME>`` from the environment."""

    model_dir: Path | None = Field(
        default=None, description="Model bundle to serve; default: the one recorded in the store's metadata."
    )
    data_dir: Path | None = Field(
        default=None,
        description="Input tables of the batch run: POST /v1/score then merges a known customer's history "
        "with their new rows.",
    )
    api_max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted (413 above)."
    )
    api_body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        allow_inf_nan=False,
        description="How long a client may take to send a request body (408 after): a body that never ends must not "
        "hold memory and a connection for ever.",
    )
    api_max_connections: int = Field(
        default=1000, ge=1, description="Most connections served at once (503 above; `insight serve`)."
    )
    api_mask_pii: bool = Field(
        default=True, description="Mask e-mail addresses and phone numbers in customer texts of every response."
    )
    api_score_max_customers: int = Field(
        default=100, ge=1, description="Most customers one POST /v1/score may contain."
    )
    api_score_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        allow_inf_nan=False,  # inf would let a request wait forever on a stuck scorer
        description="How long a score request waits for the scorer before 503.",
    )
    api_score_max_texts: int = Field(
        default=500,
        ge=0,
        description="Most distinct review and browsing texts one POST /v1/score may send (413 above): "
        "embedding them is the slow part, and one request at a time holds the scorer.",
    )
    api_score_max_text_chars: int = Field(
        default=5000, ge=1, description="Longest review or browsing text one POST /v1/score may send (422 above)."
    )
    api_similar_max_k: int = Field(default=100, ge=1, description="Largest k of the similar-customers endpoint.")
    index_approximate_above: int = Field(
        default=50_000,
        ge=0,
        description="Serve an approximate (HNSW) similar-customer index above this many customers; exact below.",
    )
    index_hnsw_ef_search: int = Field(
        default=128, ge=1, description="HNSW breadth of search (recall vs speed) when the index is approximate."
    )
    api_snapshot_dir: Path | None = Field(
        default=None, description="Where private copies of the SQLite store are kept while served; default a temp dir."
    )
    api_response_cache: int = Field(
        default=20_000,
        ge=0,
        description="Customers whose serialised profile and template explanation are kept per "
        "snapshot (per worker; about 10 KB each); 0 turns the cache off. A reload starts a new, empty cache.",
    )
    api_prewarm: int = Field(
        default=0,
        ge=0,
        description="When a snapshot starts serving, serialise the profile and template explanation of up to "
        "this many customers (highest predicted value first) in a background thread, so their first read is a kept "
        "body (about 5 ms of CPU per customer and worker); 0: bodies are made on first read only.",
    )
    api_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Worker processes of `insight serve` (each loads its own snapshot; a reload reaches every worker).",
    )
    api_preload_encoder: bool = Field(
        default=True, description="Load the embedding model at start-up so the first POST /v1/score is fast."
    )

    # A file where a folder is meant had been reported as "cannot read the profile store" or "no orders table", with
    # the setting unnamed; said here, the message names the variable (service.cli.errors.settings_message).
    @field_validator("data_dir")
    @classmethod
    def _data_dir_is_a_folder(cls, v: Path | None) -> Path | None:
        if v is not None and not v.is_dir():
            raise ValueError("is not a folder of input tables" if v.exists() else "no such folder")
        return v

    @field_validator("api_snapshot_dir")
    @classmethod
    def _snapshot_dir_can_be_a_folder(cls, v: Path | None) -> Path | None:
        if v is not None and v.exists() and not v.is_dir():
            raise ValueError("exists and is not a folder")
        return v


def api_settings(settings: Settings | None = None, **overrides) -> ApiSettings:
    """An ``ApiSettings`` from the environment, from a plain ``Settings`` or from an ``ApiSettings`` (copied), with
    overrides."""
    base = {} if settings is None else settings.model_dump()
    return ApiSettings(**{**base, **{k: v for k, v in overrides.items() if v is not None}})


@dataclass(frozen=True)
class ApiKey:
    digest: bytes  # sha256 of the key: compared in constant time, equal length whatever the key
    role: str
    label: str  # "key #2", for logs


def parse_api_keys(spec: str) -> list[ApiKey]:
    """``"key1:agent,key2:admin"`` -> keys; ValueError naming the entry's position (never the key) when malformed."""
    keys: list[ApiKey] = []
    seen: set[bytes] = set()
    for i, entry in enumerate((e.strip() for e in (spec or "").split(",")), start=1):
        if not entry:
            continue
        key, sep, role = entry.rpartition(":")
        role = role.strip().lower()
        if not sep or not key.strip():
            raise ValueError(f"INSIGHT_API_KEYS entry {i} is not of the form key:role")
        if role not in ROLES:
            # the text after the last colon is never shown: written role-first ("agent:<key>") it is the key
            first = entry.partition(":")[0].strip().lower()
            hint = f" (written role-first? it is key:{first})" if first in ROLES else ""
            raise ValueError(
                f"INSIGHT_API_KEYS entry {i} does not end with a role; write key:role, roles {', '.join(ROLES)}{hint}"
            )
        if not key.strip().isascii() or not key.strip().isprintable():
            # HTTP headers carry bytes that servers read as Latin-1: a key with other characters could never match
            # what curl or a browser sends, and one with a control character cannot be sent at all
            raise ValueError(f"INSIGHT_API_KEYS entry {i}: a key must be printable ASCII characters")
        digest = hashlib.sha256(key.strip().encode()).digest()
        if digest in seen:
            raise ValueError(f"INSIGHT_API_KEYS entry {i} repeats an earlier key")
        seen.add(digest)
        keys.append(ApiKey(digest=digest, role=role, label=f"key #{i}"))
    return keys
