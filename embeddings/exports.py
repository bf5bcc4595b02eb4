"""Local, one-off model exports (ONNX, OpenVINO): where they are kept, how they are written (a temporary folder renamed
into place) and the library noise silenced while they run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from .interface import EncoderError
from .model_files import model_fingerprint

ENV_CACHE_DIR = "INSIGHT_CACHE_DIR"
ENV_EXPORT_DIR = "INSIGHT_EXPORT_DIR"


def default_cache_dir() -> Path:
    """``$INSIGHT_CACHE_DIR``, else ``~/.cache/customer-insight``: embedding cache and model exports."""
    base = os.environ.get(ENV_CACHE_DIR, "").strip()
    return Path(base).expanduser() if base else Path.home() / ".cache" / "customer-insight"


def default_export_dir(kind: str) -> Path:
    """Where model exports of ``kind`` live: ``$INSIGHT_EXPORT_DIR/<kind>``, else ``<default_cache_dir()>/<kind>``.

    Exports derive from the model files alone (no customer text), so several caches can share one set of them; the
    int8 one costs about 20 s to build."""
    base = os.environ.get(ENV_EXPORT_DIR, "").strip()
    return (Path(base).expanduser() if base else default_cache_dir()) / kind


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


def ready_export(
    src: Path, export_dir: str | os.PathLike | None, kind: str, base_file: str, file_name: str
) -> tuple[Path, Path | None]:
    """(where the export of the model folder ``src`` goes, the folder that already holds it or None).

    The export goes to ``export_dir`` (else ``default_export_dir(kind)``) under the model's fingerprint; ``src``
    itself serves when it ships the files. Ready means both the base model ``base_file`` and ``file_name`` exist.
    """
    target = (Path(export_dir) if export_dir is not None else default_export_dir(kind)) / model_fingerprint(src)
    ready = next((d for d in (src, target) if (d / base_file).is_file() and (d / file_name).is_file()), None)
    return target, ready


def export_and_save(src: Path, tmp: Path, backend: str, model_kwargs: dict):
    """sentence-transformers exports the model folder ``src`` to ``backend`` (library noise silenced) and saves it
    into ``tmp``; the exported model is returned for the quantization step."""
    from sentence_transformers import SentenceTransformer

    with quiet_export():
        kwargs = {"export": True, **model_kwargs}
        model = SentenceTransformer(str(src), device="cpu", backend=backend, local_files_only=True, model_kwargs=kwargs)
        model.save_pretrained(str(tmp))
    return model


def build_in_place(target: Path, build, failure: str) -> None:
    """Run ``build(tmp)`` on a temporary folder beside ``target`` and rename it into
    place, so an interrupted export never leaves a half-written model; any failure is an EncoderError.

    Processes can export at once (API workers starting on a fresh machine share the export folder): one that finds
    ``target`` already holding every file it made keeps that one, so nothing is deleted under a process loading it.
    The temporary and set-aside folders carry the process id (``service.crash``'s naming), so a later export removes
    those of a killed export, never a running one's."""
    import shutil
    import tempfile

    from service.crash import orphaned

    target.parent.mkdir(parents=True, exist_ok=True)
    for left in target.parent.glob(f".{target.name}.*"):
        if orphaned(left):  # what a killed export left (~120 MB each)
            shutil.rmtree(left, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=target.parent))
    aside: list[Path] = []
    try:
        build(tmp)
        made = [p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file()]
        for _ in range(3):
            if target.is_dir() and all((target / f).is_file() for f in made):
                # A concurrent export (another API worker, another run) finished first with every file this one
                # made: keep it, since that process may be loading from it right now.
                return
            if target.exists():  # an older or partial export: set aside, so the path is gone only between renames
                old = target.parent / f".{target.name}.old-{os.getpid()}-{len(aside)}"
                try:
                    os.rename(target, old)
                    aside.append(old)
                except FileNotFoundError:
                    pass
            try:
                os.replace(tmp, target)
                return
            except OSError:
                continue  # another export took the place between the two renames: look at it again
        raise EncoderError(f"{failure}: {target} keeps changing under concurrent exports")
    except Exception as exc:
        if isinstance(exc, EncoderError):
            raise
        raise EncoderError(f"{failure}: {exc}") from exc
    finally:
        for d in (tmp, *aside):
            shutil.rmtree(d, ignore_errors=True)


def file_hash(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()[:16]
