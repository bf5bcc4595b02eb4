"""Settings from the environment (and an optional .env), all prefixed INSIGHT_ (DESIGN.md, Settings contract)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INSIGHT_", env_file=".env", extra="ignore")

    api_keys: SecretStr = Field(
        default=SecretStr(""), description="Comma-separated key:role pairs, roles agent or admin."
    )
    llm_provider: Literal["template", "openai", "hf"] = "template"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model_path: str | None = None
    embedding_model: str | None = Field(
        default=None, description="Model folder or name; default the bundled all-MiniLM-L6-v2."
    )
    embedding_backend: Literal["torch", "onnx", "onnx-int8", "openvino", "openvino-int8"] | None = Field(
        default=None,
        description=(
            "Embedding backend; default embeddings.encoder.DEFAULT_BACKEND (bench/results.md compares them). "
            "A bundle records the one it was trained with."
        ),
    )
    store: str = "insight.db"
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "customer-insight", description="Embedding cache location."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


ENV_FILE = Path(".env")


def load_env_file(path: Path = ENV_FILE) -> list[str]:
    """Put the INSIGHT_ settings of ``.env`` into the process environment (a variable already set wins), so the settings
    read outside ``Settings`` (input bounds, index, export and cache folders, playbook, embedding backend) follow
    ``.env`` as ``Settings`` does; they had ignored it. Called once where the CLI starts (``insight serve``'s worker
    processes inherit the environment).
    Returns the names it set. A file that is not UTF-8 raises UnicodeDecodeError (the CLI names the file)."""
    if not path.is_file():
        return []
    from dotenv import dotenv_values

    names = []
    for key, value in dotenv_values(path, encoding="utf-8").items():
        name = key.strip().upper()
        if name.startswith("INSIGHT_") and value is not None and name not in os.environ:
            os.environ[name] = value
            names.append(name)
    return names
