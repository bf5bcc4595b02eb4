"""Embedding speed and quality of each backend, measured side by side in one process.

    python -m bench.embeddings --json bench/out/embeddings.json

The same texts (the synthetic reviews and browsing texts of --customers customers, duplicates
included, as a pipeline sees them) go through:

- plain torch: `SentenceTransformer.encode` on every text as given (no deduplication, the model's
  own 256-token limit, its default batch of 32): what a first implementation does;
- the project's encoder on each backend (torch, onnx, onnx-int8): distinct texts only, sorted by
  length, capped at 128 tokens.

Reported: texts/s over the full list (duplicates count as delivered texts), speed-up over plain
torch, and the cosine similarity of every vector to plain torch's. Then the holdout Gini of the
value model trained with each backend on the same synthetic customers (--gini-customers).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402


def texts_of(customers: int, seed: int, limit: int) -> list[str]:
    from service.synth import generate

    t = generate(customers, seed=seed)
    texts = t["reviews"]["text"].tolist() + t["events"]["text"].tolist()
    rng = np.random.default_rng(seed)
    return [texts[i] for i in rng.permutation(len(texts))[:limit]]


def plain_torch(texts: list[str]) -> tuple[np.ndarray, float]:
    from sentence_transformers import SentenceTransformer

    from embeddings.encoder import resolve_model

    model = SentenceTransformer(resolve_model(None), device="cpu", local_files_only=True)
    model.encode(texts[:64])  # warm-up, as for the others
    t0 = time.perf_counter()
    v = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    return v.astype(np.float32), time.perf_counter() - t0


def project_encoder(backend: str, texts: list[str]) -> tuple[np.ndarray, float, str]:
    from embeddings.encoder import load_encoder

    enc = load_encoder(None, backend)
    enc.encode(texts[:64])
    t0 = time.perf_counter()
    unique, inverse = np.unique(np.asarray(texts, dtype=object).astype(str), return_inverse=True)
    v = enc.encode(unique.tolist())[inverse]
    return v, time.perf_counter() - t0, enc.model_id


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
            train(loaded, Path(tmp) / f"model-{b}", TrainOptions(seed=seed, cutoff=cutoff, horizon_days=horizon_days,
                                                                 compare_tabular=False), encoder=enc)
            f = score(loaded, Path(tmp) / f"model-{b}", Path(tmp) / f"profiles-{b}.db", cutoff=cutoff, encoder=enc).frame
            out[b] = {"holdout_value_gini": float(normalized_gini(f["future_value"], f["predicted_value"])),
                      "holdout_churn_auc": float(roc_auc_score(f["churn"], f["churn_probability"])), "customers": len(f)}
    return out


def compare(texts: list[str]) -> list[dict]:
    n_distinct = len(set(texts))
    ref, t_ref = plain_torch(texts)
    rows = [{"encoder": "plain torch (every text, 256 tokens, batch 32)", "seconds": t_ref, "texts_per_s": len(texts) / t_ref,
             "model_texts_per_s": len(texts) / t_ref, "speedup": 1.0, "cos_mean": 1.0, "cos_p01": 1.0, "cos_min": 1.0}]
    for backend in ("torch", "onnx", "onnx-int8"):
        v, t, model_id = project_encoder(backend, texts)
        cos = (v * ref).sum(axis=1)
        rows.append({"encoder": f"project encoder, {backend} (distinct texts, length-sorted, 128 tokens)", "backend": backend,
                     "model_id": model_id, "seconds": t, "texts_per_s": len(texts) / t, "speedup": t_ref / t,
                     "model_texts_per_s": n_distinct / t,
                     "cos_mean": float(cos.mean()), "cos_p01": float(np.quantile(cos, 0.01)), "cos_min": float(cos.min())})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=10_000, help="synthetic customers whose texts are embedded")
    ap.add_argument("--texts", type=int, default=20_000, help="texts drawn from them (duplicates kept)")
    ap.add_argument("--gini-customers", type=int, default=5_000, help="customers for the holdout-Gini comparison (0: skip)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()

    texts = texts_of(args.customers, args.seed, args.texts)
    result = {"texts": len(texts), "distinct_texts": len(set(texts)), "rows": compare(texts)}
    # The engines alone: every text distinct, so deduplication cannot help.
    distinct = list(dict.fromkeys(texts_of(args.customers * 4, args.seed + 1, args.texts * 4)))[:args.texts]
    result["distinct_only"] = {"texts": len(distinct), "rows": compare(distinct)}
    if args.gini_customers:
        result["gini"] = gini_by_backend(["torch", "onnx", "onnx-int8"], args.gini_customers, args.seed)
        result["gini_customers"] = args.gini_customers
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1))
    for r in result["rows"] + result["distinct_only"]["rows"]:
        print(f"{r['encoder']:<75} {r['texts_per_s']:8.0f} texts/s  x{r['speedup']:5.1f}  cos mean {r['cos_mean']:.4f} min {r['cos_min']:.4f}")
    if "gini" in result:
        print(json.dumps(result["gini"], indent=1))


if __name__ == "__main__":
    main()
