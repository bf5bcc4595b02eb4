"""The ``openvino`` and ``openvino-int8`` backends: the model converted to OpenVINO IR (float32), and that IR statically
quantized to int8 by NNCF, calibrated on synthetic texts from ``service.synth`` (never on user data). Needs the
optional OpenVINO stack (``pip install -e '.[openvino]'``, which ``make install`` includes).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .exports import build_in_place, default_cache_dir, file_hash, quiet_export
from .interface import EncoderError
from .model_files import model_fingerprint

OV_FP32_FILE, OV_INT8_FILE = "openvino/openvino_model.xml", "openvino/openvino_model_qint8_static.xml"
# Calibration of the static int8 model: distinct texts of the synthetic generator at a fixed seed (product titles,
# searches, short reviews); the benchmark evaluates on texts outside this set.
CALIBRATION_SEED, CALIBRATION_CUSTOMERS, CALIBRATION_TEXTS = 20_231_130, 2_000, 300
# OpenVINO runs float32 everywhere it is not int8: on CPUs with bf16 units it would otherwise pick bf16, and the
# vectors would depend on the machine.  LATENCY: one inference at a time on all cores (the encoder calls it in a loop).
OV_CONFIG = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32", "CACHE_DIR": ""}


def load_openvino(folder: str, device: str, quantized: bool, export_dir: str | os.PathLike | None):
    """(model, weights hash): the sentence-transformers model of ``folder`` on OpenVINO (converted, and quantized when
    asked, first if need be) and a hash of its weights file, which depend on the calibration run."""
    from sentence_transformers import SentenceTransformer

    ov_folder, file_name = openvino_export(folder, quantized=quantized, export_dir=export_dir)
    with quiet_export():
        model = SentenceTransformer(
            ov_folder,
            device=device,
            backend="openvino",
            local_files_only=True,
            model_kwargs={"file_name": file_name, "ov_config": dict(OV_CONFIG)},
        )
    return model, file_hash(Path(ov_folder) / file_name.replace(".xml", ".bin"))


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
        with quiet_export():
            model = SentenceTransformer(
                str(src),
                device="cpu",
                backend="openvino",
                local_files_only=True,
                model_kwargs={"export": True, "ov_config": dict(OV_CONFIG)},
            )
            model.save_pretrained(str(tmp))
        _quantize_openvino(tmp / OV_FP32_FILE, tmp / OV_INT8_FILE, model.tokenizer)

    build_in_place(target, build, f"could not convert {folder!r} to OpenVINO")
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
