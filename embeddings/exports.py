"""Local, one-off model exports (ONNX, OpenVINO): where they are kept, how they are written (a temporary folder renamed
into place) and the library noise silenced while they run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from .interface import EncoderError

ENV_CACHE_DIR = "INSIGHT_CACHE_DIR"


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
def quiet_export():
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


def build_in_place(target: Path, build, failure: str) -> None:
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


def file_hash(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()[:16]
