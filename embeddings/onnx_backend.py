"""The ``onnx`` and ``onnx-int8`` backends: the model exported to ONNX (and int8 dynamically quantized) once per model
folder, run by onnxruntime.
"""

from __future__ import annotations

import os
from pathlib import Path

from .exports import build_in_place, export_and_save, quiet_export, ready_export
from .interface import EncoderError

# Quantization preset of sentence-transformers' export_dynamic_quantized_onnx_model; the quantized file
# runs on any x86-64 CPU (onnxruntime picks kernels at run time), avx2 is the widely available choice.
INT8_CONFIG = "avx2"
FP32_FILE, INT8_FILE = "onnx/model.onnx", f"onnx/model_quint8_{INT8_CONFIG}.onnx"  # the names that preset writes


def load_onnx(folder: str, device: str, quantized: bool, export_dir: str | os.PathLike | None):
    """The sentence-transformers model of ``folder`` on onnxruntime (exported first if need be)."""
    from sentence_transformers import SentenceTransformer

    onnx_folder, file_name = onnx_export(folder, quantized=quantized, export_dir=export_dir)
    return SentenceTransformer(
        onnx_folder,
        device=device,
        backend="onnx",
        local_files_only=True,
        model_kwargs={
            "file_name": file_name,
            "provider": "CPUExecutionProvider",
            "session_options": ort_session_options(),
        },
    )


def onnx_export(folder: str, quantized: bool, export_dir: str | os.PathLike | None = None) -> tuple[str, str]:
    """(folder, file name) of the ONNX model for the sentence-transformers folder ``folder``.

    A folder that already ships ``onnx/model.onnx`` is used as is.  Otherwise sentence-transformers
    exports it (through optimum) into ``export_dir/<fingerprint>/``, plus an int8 dynamically quantized
    copy when asked; both are written to a temporary folder and renamed into place, so an interrupted
    export never leaves a half-written model behind.
    """
    file_name = INT8_FILE if quantized else FP32_FILE
    src = Path(folder)
    target, ready = ready_export(src, export_dir, "onnx-models", FP32_FILE, file_name)
    if ready is not None:
        return str(ready), file_name

    from sentence_transformers import export_dynamic_quantized_onnx_model

    def build(tmp: Path) -> None:
        model = export_and_save(src, tmp, "onnx", {"provider": "CPUExecutionProvider"})
        with quiet_export():
            export_dynamic_quantized_onnx_model(model, INT8_CONFIG, str(tmp))
        if not (tmp / INT8_FILE).is_file():  # pragma: no cover - naming changed in sentence-transformers
            raise EncoderError(
                f"quantized export did not produce {INT8_FILE}: {sorted(p.name for p in (tmp / 'onnx').iterdir())}"
            )

    build_in_place(target, build, f"could not export {folder!r} to ONNX")
    return str(target), file_name


def ort_session_options():
    """onnxruntime threads that sleep when idle instead of spinning: on 2 shared cores a spinning pool steals the
    cycles its own next batch (and every other process) needs; bench/results.md measures it side by side."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so
