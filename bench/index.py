"""Similar-customer search at scale: exact FAISS vs HNSW vs IVF, latency per query and recall@10.

    python -m bench.index --sizes 100000 1000000 --json bench/out/index.json

Vectors: with --real INDEX_DIR (the similar-customer index a `bench.pipeline` run scored, kept by
`bench.run`), the real customer vectors of that run; sizes above its count are filled with convex
mixes of two real customers plus a little noise, a continuous cloud around the real ones. Without
it, a clustered cloud of dimension --dim (cluster centres in a 64-d latent space mapped up by a
random matrix, plus noise), which is easier than real vectors (recall reads higher). Queries are
stored customers (a "customers like this one" lookup), the customer itself excluded, as the API does.
Each index kind goes through `embeddings.index.SimilarityIndex`, the class the service uses.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def customer_like_vectors(n: int, dim: int, seed: int, clusters: int = 2000, latent: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, latent)).astype(np.float32)
    proj = (rng.normal(size=(latent, dim)) / np.sqrt(latent)).astype(np.float32)
    x = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):  # in blocks: bounded temporary memory at 1M x 800
        m = min(100_000, n - start)
        z = centres[rng.integers(0, clusters, m)] + rng.normal(scale=0.6, size=(m, latent)).astype(np.float32)
        x[start:start + m] = z @ proj + rng.normal(scale=0.15, size=(m, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def real_based_vectors(real: np.ndarray, n: int, seed: int) -> np.ndarray:
    if n <= len(real):
        return np.ascontiguousarray(real[:n])
    rng = np.random.default_rng(seed)
    extra = n - len(real)
    x = np.empty((n, real.shape[1]), np.float32)
    x[:len(real)] = real
    for start in range(0, extra, 100_000):
        m = min(100_000, extra - start)
        a, b = rng.integers(0, len(real), m), rng.integers(0, len(real), m)
        w = rng.uniform(0, 1, (m, 1)).astype(np.float32)
        x[len(real) + start:len(real) + start + m] = w * real[a] + (1 - w) * real[b] + rng.normal(0, 0.02, (m, real.shape[1])).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def recall_at_10(exact_ids, approx_ids, query_names) -> float:
    hits = [len(set([i for i in e if i != q][:10]) & set([i for i in a if i != q][:10])) / 10
            for q, e, a in zip(query_names, exact_ids, approx_ids)]
    return float(np.mean(hits))


def bench_size(n: int, dim: int, queries: int, seed: int, real: np.ndarray | None = None) -> list[dict]:
    from embeddings.index import SimilarityIndex

    x = customer_like_vectors(n, dim, seed) if real is None else real_based_vectors(real, n, seed)
    dim = x.shape[1]
    source = "synthetic cloud" if real is None else (f"real ({n:,})" if n <= len(real) else f"{len(real):,} real + {n - len(real):,} mixed")
    names = [f"c{i}" for i in range(n)]
    rng = np.random.default_rng(seed + 1)
    q_idx = rng.choice(n, queries, replace=False)
    q = x[q_idx]
    q_names = [names[i] for i in q_idx]
    rows = []

    def timed_search(index, k=11):
        index.search(q[:5], k)  # warm-up
        t0 = time.perf_counter()
        ids, _ = index.search(q, k)
        return ids, (time.perf_counter() - t0) / len(q) * 1000

    def one_by_one(index, k=11, m=100):
        t0 = time.perf_counter()
        for v in q[:m]:
            index.search(v[None, :], k)
        return (time.perf_counter() - t0) / m * 1000

    t0 = time.perf_counter()
    exact = SimilarityIndex.build(names, x, kind="flat")
    build = time.perf_counter() - t0
    exact_ids, ms = timed_search(exact)
    rows.append({"n": n, "dim": dim, "vectors": source, "kind": "flat (exact)", "param": "-", "build_s": build, "ms_per_query_batch": ms,
                 "ms_per_query_single": one_by_one(exact), "recall_at_10": 1.0})
    del exact

    for kind, knob, values in (("hnsw", "ef_search", (64, 128)), ("ivf", "nprobe", (16, 64))):
        t0 = time.perf_counter()
        index = SimilarityIndex.build(names, x, kind=kind)
        build = time.perf_counter() - t0
        for value in values:
            setattr(index, knob, value)
            ids, ms = timed_search(index)
            rows.append({"n": n, "dim": dim, "vectors": source, "kind": kind, "param": f"{knob}={value}", "build_s": build, "ms_per_query_batch": ms,
                         "ms_per_query_single": one_by_one(index), "recall_at_10": recall_at_10(exact_ids, ids, q_names)})
        del index
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--dim", type=int, default=800)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--real", type=Path, default=None, help="similar-customer index folder whose vectors to use")
    ap.add_argument("--json", type=Path, required=True)
    args = ap.parse_args()
    real = None
    if args.real is not None:
        from embeddings.index import SimilarityIndex

        real = SimilarityIndex.load(args.real).vectors()
    rows = []
    for n in args.sizes:
        rows += bench_size(n, args.dim, args.queries, args.seed, real)
        for r in rows[-5:]:
            print(f"{r['n']:>9,} {r['kind']:<13} {r['param']:<13} build {r['build_s']:7.1f} s  "
                  f"{r['ms_per_query_single']:7.2f} ms/query  recall@10 {r['recall_at_10']:.3f}", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": rows, "dim": args.dim, "queries": args.queries}, indent=1))


if __name__ == "__main__":
    main()
