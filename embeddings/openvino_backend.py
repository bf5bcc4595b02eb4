"""The ``openvino`` and ``openvino-int8`` backends: the model converted to OpenVINO IR (float32), and that IR statically
quantized to int8 by NNCF, calibrated on synthetic texts from ``service.synth`` (never on user data). Needs the
optional OpenVINO stack (``pip install -e '.[openvino]'``, which ``make install`` includes).

The int8 recipe (``INT8_RECIPE``, part of the int8 file name so that a model cached by another recipe is never
loaded as this one): 600 calibration texts (``int8_calibration_texts``: a quarter short synthetic texts, the rest
synthetic texts joined up to 4-128 tokens, a third of those with the inner letters of each word shuffled so that
the calibration also sees the subword-heavy token streams of words outside the English vocabulary, e.g.
Portuguese reviews), SmoothQuant alpha 0.7 on MatMuls, min-max activation ranges. The int8 model encodes texts of
equal token length together, unpadded (``_unpadded_model``), so a text's vector is exactly its vector alone,
whatever the batch; with padding, the padded positions change float sums inside attention by an ulp, which can
tip an activation onto the next int8 step (up to 8e-3 per vector component).

Cosine to plain torch (mean / 1st percentile / min), this recipe against the short-text one it replaced: the
benchmark's 1,500 Olist review comments 0.9971 / 0.9944 / 0.9877 (was 0.9840 / 0.9601 / 0.7698); 1,000 other Olist
comments (the development set) 0.9971 / 0.9947 / 0.9725 (was 0.9840 / 0.9594 / 0.9216); 1,000 UCI Online Retail
product descriptions 0.9975 / 0.9944 / 0.9899 (was 0.9971 / 0.9903 / 0.8513). Speed on distinct texts (the
benchmark's median of per-repeat ratios, side by side on 2 shared cores): x3.5-4.0 plain torch on those Olist
comments, x3.0-3.8 on short synthetic texts (x5.2 with padded batches); x2.2-2.3 on a first pass of Olist
comments, while OpenVINO still compiles kernels for input shapes it has not met.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
from pathlib import Path

import numpy as np

from .exports import build_in_place, export_and_save, file_hash, quiet_export, ready_export
from .interface import EncoderError

# The static int8 recipe; change it whenever the calibration texts or the NNCF parameters change.
INT8_RECIPE = "r2-mixed600-sq07-minmax"
OV_FP32_FILE = "openvino/openvino_model.xml"
OV_INT8_FILE = f"openvino/openvino_model_qint8_static_{INT8_RECIPE}.xml"
# Calibration of the static int8 model: texts of the synthetic generator at a fixed seed (product titles,
# searches, short reviews); the benchmark evaluates on texts outside ``calibration_texts()``.
CALIBRATION_SEED, CALIBRATION_CUSTOMERS, CALIBRATION_TEXTS = 20_231_130, 2_000, 300
# int8_calibration_texts(): CALIBRATION_SHORT of calibration_texts(), then CALIBRATION_JOINED joined texts of
# 4-CALIBRATION_MAX_TOKENS tokens, CALIBRATION_SCRAMBLED of them with shuffled inner letters.
CALIBRATION_SHORT, CALIBRATION_JOINED, CALIBRATION_SCRAMBLED, CALIBRATION_MAX_TOKENS = 150, 450, 150, 128
SMOOTH_QUANT_ALPHA = 0.7
# OpenVINO runs float32 everywhere it is not int8: on CPUs with bf16 units it would otherwise pick bf16, and the
# vectors would depend on the machine.  LATENCY: one inference at a time on all cores (the encoder calls it in a loop).
OV_CONFIG = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32", "CACHE_DIR": ""}
# The int8 model runs unpadded groups (see _unpadded_model), so more distinct input shapes than padded batches: a
# larger cache of the kernels compiled per shape than the default 5,000 entries, which these would keep evicting.
OV_INT8_CONFIG = {**OV_CONFIG, "CPU_RUNTIME_CACHE_CAPACITY": 50_000}


def load_openvino(folder: str, device: str, quantized: bool, export_dir: str | os.PathLike | None):
    """(model, weights hash): the sentence-transformers model of ``folder`` on OpenVINO (converted, and quantized when
    asked, first if need be) and a hash of its weights file, which depend on the calibration run."""
    from sentence_transformers import SentenceTransformer

    ov_folder, file_name = openvino_export(folder, quantized=quantized, export_dir=export_dir)
    cls = _unpadded_model() if quantized else SentenceTransformer
    with quiet_export():
        model = cls(
            ov_folder,
            device=device,
            backend="openvino",
            local_files_only=True,
            model_kwargs={"file_name": file_name, "ov_config": dict(OV_INT8_CONFIG if quantized else OV_CONFIG)},
        )
    return model, file_hash(Path(ov_folder) / file_name.replace(".xml", ".bin"))


def _synthetic_pool(seed: int) -> list[str]:
    from service.synth import generate

    t = generate(CALIBRATION_CUSTOMERS, seed=seed)
    return list(dict.fromkeys(t["reviews"]["text"].tolist() + t["events"]["text"].tolist()))


def calibration_texts(n: int = CALIBRATION_TEXTS, seed: int = CALIBRATION_SEED) -> list[str]:
    """``n`` distinct synthetic review and browsing texts (a fixed seed); the first ``CALIBRATION_SHORT`` of them
    start the static int8 model's calibration set (``int8_calibration_texts``)."""
    texts = _synthetic_pool(seed)
    rng = np.random.default_rng(seed)
    return [texts[i] for i in sorted(rng.permutation(len(texts))[:n])]


_LONG_WORD = re.compile(r"[A-Za-z]{4,}")


def _scramble(text: str, rng: np.random.Generator) -> str:
    """Shuffle the inner letters of every word of 4+ letters: out-of-vocabulary, subword-heavy text."""

    def shuffle(m: re.Match[str]) -> str:
        inner = list(m.group(0)[1:-1])
        rng.shuffle(inner)
        return m.group(0)[0] + "".join(inner) + m.group(0)[-1]

    return _LONG_WORD.sub(shuffle, text)


def int8_calibration_texts(tokenizer, seed: int = CALIBRATION_SEED) -> list[str]:
    """The static int8 model's calibration texts, all synthetic (a fixed seed): ``CALIBRATION_SHORT`` short
    texts, then ``CALIBRATION_JOINED`` texts joined from random synthetic texts up to a token length drawn
    uniformly in 4-``CALIBRATION_MAX_TOKENS``, ``CALIBRATION_SCRAMBLED`` of them with shuffled inner letters."""
    pool = _synthetic_pool(seed)
    rng = np.random.default_rng(seed + 1)
    joined = []
    for _ in range(CALIBRATION_JOINED):
        target, parts, length = int(rng.integers(4, CALIBRATION_MAX_TOKENS + 1)), [], 2
        while length < target:
            parts.append(pool[int(rng.integers(len(pool)))])
            length += len(tokenizer(parts[-1], add_special_tokens=False)["input_ids"])
        joined.append(" ".join(parts))
    rng = np.random.default_rng(seed + 2)
    for i in rng.permutation(len(joined))[:CALIBRATION_SCRAMBLED]:
        joined[i] = _scramble(joined[i], rng)
    return calibration_texts(CALIBRATION_SHORT, seed) + joined


@functools.cache
def _unpadded_model():
    """SentenceTransformer whose ``encode`` runs the texts of equal token length together, unpadded.

    Static int8 fixes the activation scales, but padding changes the float sums inside attention by an ulp,
    and that can tip an activation onto the next int8 step; unpadded, a text's vector is exactly its vector
    encoded alone, whatever its batch-mates.  Calls with other options than the encoder's (prompts, tensors, token
    outputs) go to ``SentenceTransformer.encode`` as they are."""
    from sentence_transformers import SentenceTransformer

    handled = {"batch_size", "show_progress_bar", "convert_to_numpy", "normalize_embeddings"}  # what the encoder asks

    class UnpaddedSentenceTransformer(SentenceTransformer):
        def encode(self, sentences, *args, **kwargs):  # type: ignore[override]
            if (
                isinstance(sentences, str)
                or args
                or not set(kwargs) <= handled
                or not kwargs.get("convert_to_numpy", True)
                or len(sentences) < 2
            ):
                return super().encode(sentences, *args, **kwargs)
            import torch

            preprocess = getattr(self, "preprocess", None) or self.tokenize  # sentence-transformers < 5.7: tokenize
            features = preprocess(list(sentences))  # padded to the longest text, on the right
            width = features["input_ids"].shape[1]
            lengths = features["attention_mask"].sum(dim=1)
            out = None
            with torch.inference_mode():
                for length in torch.unique(lengths).tolist():
                    group = torch.nonzero(lengths == length).flatten()
                    while len(group):  # power-of-two runs: few distinct input shapes, so OpenVINO reuses kernels
                        run = 1 << (len(group).bit_length() - 1)
                        idx, group = group[:run], group[run:]
                        unpadded = {
                            k: v[idx, :length] if isinstance(v, torch.Tensor) and v.shape[-1:] == (width,) else v
                            for k, v in features.items()
                        }
                        vecs = self.forward(unpadded)["sentence_embedding"].float()
                        if kwargs.get("normalize_embeddings"):
                            vecs = torch.nn.functional.normalize(vecs, p=2, dim=1)
                        if out is None:
                            out = np.empty((len(sentences), vecs.shape[1]), dtype=np.float32)
                        out[idx.numpy()] = vecs.numpy()
            return out

    return UnpaddedSentenceTransformer


def openvino_export(folder: str, quantized: bool, export_dir: str | os.PathLike | None = None) -> tuple[str, str]:
    """(folder, file name) of the OpenVINO IR for the sentence-transformers folder ``folder``.

    Converted locally (optimum-intel traces the torch model) into ``export_dir/<fingerprint>/``; the int8
    copy is NNCF post-training static quantization (transformer preset, SmoothQuant alpha ``SMOOTH_QUANT_ALPHA``,
    min-max activation ranges, fast bias correction) with ``int8_calibration_texts()`` fed one at a time,
    unpadded, as the encoder will see them.  Written to a temporary folder and renamed into place, like the ONNX
    export; the int8 file name carries ``INT8_RECIPE``, so a folder with another recipe's file is rebuilt.
    """
    file_name = OV_INT8_FILE if quantized else OV_FP32_FILE
    src = Path(folder)
    target, ready = ready_export(src, export_dir, "openvino-models", OV_FP32_FILE, file_name)
    if ready is not None:
        return str(ready), file_name
    try:
        import openvino  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError as exc:
        raise EncoderError(
            f"the openvino backends need OpenVINO: pip install -e '.[openvino]' (make install does) ({exc})"
        ) from exc

    def build(tmp: Path) -> None:
        model = export_and_save(src, tmp, "openvino", {"ov_config": dict(OV_CONFIG)})
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
    for text in int8_calibration_texts(tokenizer):
        enc = tokenizer([text], truncation=True, max_length=max_length, return_tensors="np")
        samples.append({k: np.asarray(enc[k], dtype=np.int64) for k in names})
    # NNCF draws rich progress bars on stdout even with its logger at ERROR: a one-off step no user can act on
    with contextlib.redirect_stdout(io.StringIO()):
        quantized = _nncf_quantize(nncf, model, samples)
    ov.save_model(quantized, str(int8_xml))


def _nncf_quantize(nncf, model, samples):
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters, AdvancedSmoothQuantParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet

    return nncf.quantize(
        model,
        nncf.Dataset(samples),
        model_type=nncf.ModelType.TRANSFORMER,
        subset_size=len(samples),
        advanced_parameters=AdvancedQuantizationParameters(
            smooth_quant_alphas=AdvancedSmoothQuantParameters(matmul=SMOOTH_QUANT_ALPHA),
            activations_range_estimator_params=RangeEstimatorParametersSet.MINMAX,
        ),
    )
