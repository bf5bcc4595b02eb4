"""get_narrator(settings): the one place the CLI and the HTTP API get their narrator from.

``INSIGHT_LLM_PROVIDER`` picks it: ``template`` (default: offline, deterministic), ``openai`` (any
OpenAI-compatible server: vLLM, llama.cpp server, Ollama, OpenAI; ``INSIGHT_LLM_BASE_URL``,
``INSIGHT_LLM_MODEL``, ``INSIGHT_LLM_API_KEY``) or ``hf`` (a local transformers model folder,
``INSIGHT_LLM_MODEL_PATH``). Call behaviour comes from :class:`NarratorOptions` (``INSIGHT_LLM_TIMEOUT_S``,
``INSIGHT_LLM_MAX_RETRIES``, ``INSIGHT_LLM_MAX_CONCURRENCY``, ``INSIGHT_LLM_MAX_TOKENS``,
``INSIGHT_LLM_TEMPERATURE``, ``INSIGHT_LLM_JSON_MODE``, ``INSIGHT_LLM_CACHE``).

Narrators are built once per configuration and shared, so the concurrency limit holds across requests
and a local model is loaded once.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.config import Settings, get_settings
from service.explain import Narrator, TemplateNarrator


class NarratorConfigError(ValueError):
    """The LLM settings are incomplete or point at nothing usable (a user mistake: exit code 2 in the CLI)."""


class NarratorOptions(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INSIGHT_LLM_", env_file=".env", extra="ignore")

    # Bounded: a timeout of 0, inf or NaN, or a million retries, would make an agent wait forever or never ask.
    timeout_s: float = Field(default=60.0, gt=0, le=3600, allow_inf_nan=False)
    max_retries: int = Field(default=1, ge=0, le=10)  # transport retries (connection errors, 429, 5xx) of one call
    max_concurrency: int = Field(default=4, ge=1, le=256)  # calls in flight at once per narrator (hf: always 1)
    max_tokens: int = Field(default=700, ge=16, le=32_768)
    temperature: float = Field(default=0.0, ge=0, le=2, allow_inf_nan=False)
    json_mode: bool = (
        False  # ask an openai server for response_format=json_object (vLLM, llama.cpp, Ollama and OpenAI support it)
    )
    cache: str = "on"  # "off", "on" (<INSIGHT_CACHE_DIR>/explanations.sqlite) or a file path
    text_cap: int = Field(default=400, ge=0, le=20_000)  # characters of one customer text sent to the model


_narrators: dict[tuple, Narrator] = {}
_build_lock = threading.Lock()


def _cache(settings: Settings, opts: NarratorOptions):
    from service.narrators.cache import ExplanationCache

    if opts.cache.lower() in ("off", "0", "false", "no", "none"):
        return None
    path = (
        Path(settings.cache_dir) / "explanations.sqlite"
        if opts.cache.lower() in ("on", "1", "true", "yes")
        else Path(opts.cache)
    )
    try:
        return ExplanationCache(path)
    except (OSError, sqlite3.Error) as exc:
        raise NarratorConfigError(
            f"INSIGHT_LLM_CACHE: cannot keep the explanation cache at {path} ({exc}); set it to a writable file, "
            "or 'off'"
        ) from exc


def _openai(settings: Settings, opts: NarratorOptions):
    from langchain_openai import ChatOpenAI

    from service.narrators.llm import LLMNarrator

    if not settings.llm_model:
        raise NarratorConfigError(
            "INSIGHT_LLM_PROVIDER=openai needs INSIGHT_LLM_MODEL (the model name the server serves)"
        )
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    if not key:
        if not settings.llm_base_url:
            raise NarratorConfigError(
                "INSIGHT_LLM_PROVIDER=openai without INSIGHT_LLM_BASE_URL talks to api.openai.com and needs "
                "INSIGHT_LLM_API_KEY"
            )
        key = "not-needed"  # local servers ignore the key, the client insists on one
    kwargs: dict[str, Any] = dict(
        model=settings.llm_model,
        api_key=key,
        base_url=settings.llm_base_url,
        timeout=opts.timeout_s,
        max_retries=opts.max_retries,
        temperature=opts.temperature,
        max_tokens=opts.max_tokens,
    )
    if settings.llm_base_url:
        # Older vLLM / Ollama / llama.cpp servers read max_tokens, not max_completion_tokens.
        kwargs["extra_body"] = {"max_tokens": opts.max_tokens}
    if opts.json_mode:
        kwargs["model_kwargs"] = {"response_format": {"type": "json_object"}}
    model = ChatOpenAI(**kwargs)
    where = settings.llm_base_url or "api.openai.com"
    # The whole call (all transport retries) must finish within the narrator's timeout.
    return LLMNarrator(
        model,
        name="openai",
        model_id=f"{settings.llm_model}@{where}",
        timeout_s=opts.timeout_s * (opts.max_retries + 1) + 5,
        retries=0,
        max_concurrency=opts.max_concurrency,
        text_cap=opts.text_cap,
        cache=_cache(settings, opts),
    )


def _hf(settings: Settings, opts: NarratorOptions):
    from service.narrators.hf import LocalModelError, LocalTransformersChat
    from service.narrators.llm import LLMNarrator

    if not settings.llm_model_path:
        raise NarratorConfigError(
            "INSIGHT_LLM_PROVIDER=hf needs INSIGHT_LLM_MODEL_PATH (a local transformers model folder)"
        )
    try:
        model = LocalTransformersChat(
            model_path=settings.llm_model_path,
            max_new_tokens=opts.max_tokens,
            max_time_s=opts.timeout_s,
            temperature=opts.temperature,
        ).load()
    except LocalModelError as exc:
        raise NarratorConfigError(str(exc)) from exc
    path = Path(settings.llm_model_path).resolve()
    stamp = hashlib.sha256(
        b"".join(
            p.name.encode() + str(p.stat().st_size).encode() + str(p.stat().st_mtime_ns).encode()
            for p in sorted(path.iterdir())
            if p.is_file()
        )
    ).hexdigest()[:8]
    return LLMNarrator(
        model,
        name="hf",
        model_id=f"{path.name}-{stamp}",
        timeout_s=opts.timeout_s + 10,
        retries=0,
        max_concurrency=1,
        text_cap=opts.text_cap,
        cache=_cache(settings, opts),
    )


def get_narrator(settings: Settings | None = None, options: NarratorOptions | None = None) -> Narrator:
    """The narrator the configuration asks for (shared per configuration)."""
    settings = settings or get_settings()
    if settings.llm_provider == "template":
        return TemplateNarrator()
    opts = options or NarratorOptions()
    key = (
        settings.llm_provider,
        settings.llm_base_url,
        settings.llm_model,
        hashlib.sha256((settings.llm_api_key.get_secret_value() if settings.llm_api_key else "").encode()).hexdigest(),
        settings.llm_model_path,
        str(settings.cache_dir),
        opts.model_dump_json(),
    )
    with _build_lock:
        if key not in _narrators:
            if settings.llm_provider == "openai":
                _narrators[key] = _openai(settings, opts)
            elif settings.llm_provider == "hf":
                _narrators[key] = _hf(settings, opts)
            else:  # pragma: no cover - Settings validates the literal
                raise NarratorConfigError(f"unknown INSIGHT_LLM_PROVIDER {settings.llm_provider!r}")
        return _narrators[key]


def reset_narrators() -> None:
    """Forget the shared narrators (tests; a reload after a settings change)."""
    with _build_lock:
        for n in _narrators.values():
            close = getattr(n, "close", None)
            if close:
                close()
        _narrators.clear()
