"""Embedding speed and quality of each backend, measured side by side in one process.

    python -m bench.embeddings --json bench/out/embeddings.json --results bench/results.md

Distinct texts only (nothing to deduplicate: the engines alone), outside the int8 calibration set:

- synthetic: distinct review and browsing texts of the project's generator (short: product titles, searches);
- real: distinct Olist review comments (Portuguese, longer), when the dataset is on disk (--olist).

Candidates: plain torch (`SentenceTransformer.encode` on the texts as given, its own 256-token limit and
batch of 32: what a first implementation does, and the reference vectors), then the project's encoder
(length-sorted batches, 128 tokens) on each backend, plus variants that are not backends (ONNX graph
optimisation levels, another int8 preset, onnxruntime static int8, thread and batch settings).

The machine is shared and noisy, so every candidate encodes the same chunk of texts in turn (the order rotates
from chunk to chunk) and the load falls on all of them alike; this repeats --repeats times and the tables give
the median seconds and the median of the per-repeat ratios to plain torch. Reported beside speed: cosine of
every vector to plain torch's (mean, 1st percentile, min), then the holdout Gini of the product trained with a
few backends on the same synthetic customers (--gini-customers).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the service runs (service/__init__.py); before torch loads

import numpy as np  # noqa: E402

OLIST_REVIEWS = (
    Path(__file__).resolve().parents[1].parent
    / "shared/data/olist-brazilian-ecommerce/olist_order_reviews_dataset.csv.gz"
)
PLAIN = "plain torch"


def texts_of(customers: int, seed: int, limit: int) -> list[str]:
    from service.synth import generate

    t = generate(customers, seed=seed)
    texts = t["reviews"]["text"].tolist() + t["events"]["text"].tolist()
    rng = np.random.default_rng(seed)
    return [texts[i] for i in rng.permutation(len(texts))[:limit]]


def synthetic_texts(n: int, seed: int, exclude: set[str]) -> list[str]:
    pool = [t for t in dict.fromkeys(texts_of(40_000, seed, 200_000)) if t not in exclude]
    return pool[:n]


def olist_texts(path: Path, n: int, seed: int) -> list[str]:
    import pandas as pd

    col = pd.read_csv(path, usecols=["review_comment_message"])["review_comment_message"].dropna().astype(str)
    texts = list(dict.fromkeys(t.strip() for t in col if t.strip()))
    rng = np.random.default_rng(seed)
    return [texts[i] for i in rng.permutation(len(texts))[:n]]


# --------------------------------------------------------------------------- candidates


class Candidate:
    def __init__(self, label: str, encode, *, backend: str | None = None, note: str = ""):
        self.label, self.encode, self.backend, self.note = label, encode, backend, note


def _st_sorted(model, batch_size: int):
    """The project encoder's batching (longest first, one batch at a time) around any SentenceTransformer."""

    def encode(texts):
        out = np.empty((len(texts), model.get_sentence_embedding_dimension()), np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            out[idx] = model.encode(
                [texts[i] for i in idx],
                batch_size=len(idx),
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return out

    return encode


def _ort_options(threads: int, spinning: bool):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    if not spinning:
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


def _onnx_variant(folder: str, file_name: str, threads: int = 2, spinning: bool = False, batch_size: int = 64):
    from sentence_transformers import SentenceTransformer

    from embeddings.exports import quiet_export

    with quiet_export():
        m = SentenceTransformer(
            folder,
            device="cpu",
            backend="onnx",
            local_files_only=True,
            model_kwargs={
                "file_name": file_name,
                "provider": "CPUExecutionProvider",
                "session_options": _ort_options(threads, spinning),
            },
        )
    m.max_seq_length = 128
    return _st_sorted(m, batch_size)


def build_onnx_variants(log) -> tuple[str, dict[str, str]]:
    """Bench-only ONNX files beside the product's export: graph optimisation levels O1-O3 (optimum's ORTOptimizer;
    O4 is O3 plus fp16, which optimum builds for GPUs only), the avx512_vnni dynamic int8 preset, and onnxruntime
    static int8 (QDQ, per-channel weights, MinMax calibration on the same synthetic calibration texts)."""
    from sentence_transformers import (
        SentenceTransformer,
        export_dynamic_quantized_onnx_model,
        export_optimized_onnx_model,
    )

    from embeddings.encoder import (
        FP32_FILE,
        calibration_texts,
        default_cache_dir,
        model_fingerprint,
        onnx_export,
        resolve_model,
    )
    from embeddings.exports import quiet_export

    src = resolve_model(None)
    folder, _ = onnx_export(src, quantized=False)
    out = default_cache_dir() / "bench-onnx-variants" / model_fingerprint(src)
    files = {
        "O1": "onnx/model_O1.onnx",
        "O2": "onnx/model_O2.onnx",
        "O3": "onnx/model_O3.onnx",
        "int8 avx512_vnni": "onnx/model_qint8_avx512_vnni.onnx",
        "static int8": "onnx/model_static_qint8.onnx",
    }
    if all((out / f).is_file() for f in files.values()):
        return str(out), files
    out.mkdir(parents=True, exist_ok=True)
    with quiet_export():
        m = SentenceTransformer(
            folder,
            device="cpu",
            backend="onnx",
            local_files_only=True,
            model_kwargs={"file_name": FP32_FILE, "provider": "CPUExecutionProvider"},
        )
        m.save_pretrained(str(out))
        for level in ("O1", "O2", "O3"):
            export_optimized_onnx_model(m, level, str(out))
        export_dynamic_quantized_onnx_model(m, "avx512_vnni", str(out))
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    tok = m.tokenizer
    import onnxruntime as ort

    names = [
        i.name for i in ort.InferenceSession(str(out / FP32_FILE), providers=["CPUExecutionProvider"]).get_inputs()
    ]
    samples = [
        {
            k: np.asarray(v, np.int64)
            for k, v in tok([t], truncation=True, max_length=128, return_tensors="np").items()
            if k in names
        }
        for t in calibration_texts()
    ]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(samples)

        def get_next(self):
            return next(self.it, None)

    with (
        tempfile.TemporaryDirectory() as tmp,
        contextlib.chdir(tmp),
    ):  # the pre-processing writes scratch files to the cwd
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(out / FP32_FILE), str(pre), skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(out / files["static int8"]),
            Reader(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            op_types_to_quantize=["MatMul", "Gemm"],
            extra_options={"MatMulConstBOnly": True},
        )
    log(f"built ONNX variants in {out}")
    return str(out), files


def candidates(log, variants: bool) -> list[Candidate]:
    from sentence_transformers import SentenceTransformer

    from embeddings.encoder import BACKENDS, SentenceTransformerEncoder, resolve_model

    plain = SentenceTransformer(resolve_model(None), device="cpu", local_files_only=True)
    cands = [
        Candidate(
            f"{PLAIN} (256 tokens, batch 32, 2 threads)",
            lambda t: plain.encode(
                t, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            ),
            note=PLAIN,
        )
    ]
    for backend in BACKENDS:
        t0 = time.perf_counter()
        enc = SentenceTransformerEncoder(None, backend=backend)
        log(f"loaded {backend} in {time.perf_counter() - t0:.1f} s ({enc.model_id})")
        cands.append(Candidate(f"encoder, {backend}", enc.encode, backend=backend))
    if not variants:
        return cands
    folder, files = build_onnx_variants(log)
    for name in ("O1", "O2", "O3", "int8 avx512_vnni", "static int8"):
        cands.append(Candidate(f"variant: onnx {name}", _onnx_variant(folder, files[name])))
    # Thread and batch settings (the encoder's: 2 threads, batch 64 or BATCH_SIZES, onnxruntime threads not spinning).
    from embeddings.encoder import FP32_FILE, INT8_FILE, onnx_export, resolve_model

    product, _ = onnx_export(resolve_model(None), quantized=True)
    cands.append(
        Candidate("variant: onnx, threads spinning (before)", _onnx_variant(product, FP32_FILE, spinning=True))
    )
    cands.append(
        Candidate("variant: onnx-int8, threads spinning (before)", _onnx_variant(product, INT8_FILE, spinning=True))
    )
    cands.append(Candidate("variant: onnx-int8, 1 thread", _onnx_variant(product, INT8_FILE, threads=1)))
    ov = SentenceTransformerEncoder(None, backend="openvino-int8")
    for bs in (16, 64):
        cands.append(Candidate(f"variant: openvino-int8, batch {bs}", lambda t, bs=bs: ov.encode(t, batch_size=bs)))
    return cands


# --------------------------------------------------------------------------- timing


def race(cands: list[Candidate], texts: list[str], repeats: int, chunk: int, log) -> list[dict]:
    """Seconds of every candidate per repeat, chunk by chunk in rotating order, and its vectors."""
    for c in cands:  # warm-up: first-call allocations, lazy session init
        c.encode(texts[:64])
    secs = np.zeros((repeats, len(cands)))
    vecs = [None] * len(cands)
    for r in range(repeats):
        parts = [[] for _ in cands]
        for i, start in enumerate(range(0, len(texts), chunk)):
            part = texts[start : start + chunk]
            for j in np.roll(np.arange(len(cands)), -i):
                t0 = time.perf_counter()
                v = cands[j].encode(part)
                secs[r, j] += time.perf_counter() - t0
                parts[j].append(np.asarray(v, np.float32))
        vecs = [np.concatenate(p) for p in parts]
        log(
            f"  repeat {r + 1}/{repeats}: "
            + ", ".join(f"{c.label.split(' (')[0]} {s:.1f}s" for c, s in zip(cands, secs[r]))
        )
    ref = vecs[0]
    rows = []
    for j, c in enumerate(cands):
        cos = (vecs[j] * ref).sum(axis=1)
        med = float(np.median(secs[:, j]))
        rows.append(
            {
                "encoder": c.label,
                "backend": c.backend,
                "seconds": med,
                "seconds_all": secs[:, j].tolist(),
                "texts_per_s": len(texts) / med,
                "model_texts_per_s": len(texts) / med,
                "speedup": float(np.median(secs[:, 0] / secs[:, j])),
                "cos_mean": float(cos.mean()),
                "cos_p01": float(np.quantile(cos, 0.01)),
                "cos_min": float(cos.min()),
            }
        )
    return rows


def gini_by_backend(backends: list[str], customers: int, seed: int, horizon_days: int = 90) -> dict:
    """Holdout metrics per backend: train with the cutoff one horizon before the data ends, score at that
    cutoff, compare with what the customers really spent (and whether they bought) in the horizon after it."""
    from sklearn.metrics import roc_auc_score

    from service.metrics import normalized_gini
    from service.pipeline import TrainOptions, make_encoder, score, train
    from service.synth import generate, write_tables
    from service.tables import load_tables

    out = {}
    with tempfile.TemporaryDirectory(prefix="insight-bench-emb-") as tmp:
        data = Path(tmp) / "data"
        write_tables(generate(customers, seed=seed), data)
        loaded = load_tables(data)
        cutoff = (loaded.tables["orders"]["order_ts"].max() - np.timedelta64(horizon_days, "D")).isoformat()
        for b in backends:
            enc = make_encoder(None, Path(tmp) / f"cache-{b}", b)
            train(
                loaded,
                Path(tmp) / f"model-{b}",
                TrainOptions(seed=seed, cutoff=cutoff, horizon_days=horizon_days, text_check=False),
                encoder=enc,
            )
            f = score(
                loaded, Path(tmp) / f"model-{b}", Path(tmp) / f"profiles-{b}.db", cutoff=cutoff, encoder=enc
            ).frame
            out[b] = {
                "holdout_value_gini": float(normalized_gini(f["future_value"], f["predicted_value"])),
                "holdout_churn_auc": float(roc_auc_score(f["churn"], f["churn_probability"])),
                "customers": len(f),
            }
    return out


# --------------------------------------------------------------------------- report


def _rows_md(rows: list[dict]) -> str:
    out = (
        "| encoder | seconds (median) | texts/s | × plain torch (median ratio) "
        "| cosine to plain torch: mean | 1st percentile | min |\n"
        "|---|---:|---:|---:|---:|---:|---:|\n"
    )
    return out + "".join(
        f"| {r['encoder']} | {r['seconds']:.1f} | {r['texts_per_s']:,.0f} | ×{r['speedup']:.2f} | "
        f"{r['cos_mean']:.4f} | {r['cos_p01']:.4f} | {r['cos_min']:.4f} |\n"
        for r in rows
    )


def markdown(result: dict) -> str:
    from embeddings.encoder import DEFAULT_BACKEND

    out = [
        f"Produced by `python -m bench.embeddings --json bench/out/embeddings.json --results bench/results.md`. "
        f"Distinct texts only (the engines alone; the pipeline also deduplicates and caches), none of them in the int8 "
        f"calibration set; every candidate encodes the same {result['chunk']}-text chunk in turn, rotating, "
        f"{result['repeats']} repeats: seconds are medians, the ratio is the median of per-repeat ratios. "
        f"Load average during the run: {result['load_before']} before, {result['load_after']} after (2 shared cores). "
        f"Default backend: **{DEFAULT_BACKEND}**.\n"
    ]
    for key, title in (
        ("synthetic", "synthetic review and browsing texts (short: median 14 tokens)"),
        ("real", "real Olist review comments (Portuguese, longer)"),
    ):
        if key in result["sets"]:
            s = result["sets"][key]
            out.append(f"\n{s['texts']:,} distinct {title}:\n\n{_rows_md(s['rows'])}")
    if result.get("gini"):
        out.append(
            f"\nHoldout on {result['gini_customers']:,} synthetic customers "
            "(trained to one horizon before the data ends, scored there, compared with the next 90 days):\n\n"
            "| backend | holdout value Gini | holdout churn ROC-AUC |\n|---|---:|---:|\n"
        )
        out.append(
            "".join(
                f"| {b} | {g['holdout_value_gini']:.4f} | {g['holdout_churn_auc']:.4f} |\n"
                for b, g in result["gini"].items()
            )
        )
    return "".join(out)


def write_section(results: Path, heading: str, body: str) -> None:
    """Replace the ``## heading`` section of results.md (up to the next ``## ``), or append it."""
    text = results.read_text() if results.exists() else "# Benchmark results\n\n"
    block = f"## {heading}\n\n{body.rstrip()}\n\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block
    results.write_text(text.rstrip() + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=3000, help="distinct synthetic texts")
    ap.add_argument("--real-texts", type=int, default=1500, help="distinct Olist review texts (0: skip)")
    ap.add_argument("--olist", type=Path, default=OLIST_REVIEWS, help="olist_order_reviews_dataset.csv(.gz)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument(
        "--no-variants", action="store_true", help="backends only (no ONNX levels, presets, thread or batch variants)"
    )
    ap.add_argument(
        "--gini-customers", type=int, default=5_000, help="customers for the holdout-Gini comparison (0: skip)"
    )
    ap.add_argument("--gini-backends", nargs="+", default=["torch", "onnx", "onnx-int8", "openvino-int8"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--results", type=Path, default=None, help="rewrite the embeddings section of this results.md")
    args = ap.parse_args()

    def log(msg):
        print(msg, flush=True)

    from embeddings.encoder import calibration_texts

    calib = set(calibration_texts())
    sets = {"synthetic": synthetic_texts(args.texts, args.seed, calib)}
    if args.real_texts and args.olist.is_file():
        sets["real"] = olist_texts(args.olist, args.real_texts, args.seed)
    result = {"repeats": args.repeats, "chunk": args.chunk, "load_before": round(os.getloadavg()[0], 1), "sets": {}}
    cands = candidates(log, variants=not args.no_variants)
    for name, texts in sets.items():
        log(f"{name}: {len(texts)} distinct texts, {len(cands)} candidates")
        result["sets"][name] = {"texts": len(texts), "rows": race(cands, texts, args.repeats, args.chunk, log)}
    result["load_after"] = round(os.getloadavg()[0], 1)
    # bench.run renders these keys too.
    result.update(
        texts=result["sets"]["synthetic"]["texts"],
        distinct_texts=result["sets"]["synthetic"]["texts"],
        rows=result["sets"]["synthetic"]["rows"],
    )
    for name, s in result["sets"].items():
        for r in s["rows"]:
            log(
                f"{name:<9} {r['encoder']:<48} {r['texts_per_s']:7.0f} texts/s  x{r['speedup']:5.2f}  "
                f"cos mean {r['cos_mean']:.4f} p01 {r['cos_p01']:.4f} min {r['cos_min']:.4f}"
            )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    if args.gini_customers:
        result["gini"] = gini_by_backend(args.gini_backends, args.gini_customers, args.seed)
        result["gini_customers"] = args.gini_customers
        log(json.dumps(result["gini"], indent=1))
        args.json.write_text(json.dumps(result, indent=1))
    if args.results is not None:
        write_section(args.results, "Embeddings: backends side by side", markdown(result))
        log(f"wrote the embeddings section of {args.results}")


if __name__ == "__main__":
    main()
